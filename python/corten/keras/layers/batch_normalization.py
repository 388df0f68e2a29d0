"""BatchNormalization (tf.keras 2) on the fused C++ batch_norm op."""

from __future__ import annotations

import warnings
from typing import Any

import corten
from corten.keras import initializers
from corten.keras.layers.base_layer import Layer
from corten.keras.layers.normalization import (
    _affine_config,
    _axis_arg,
    _build_affine,
    _init_affine,
    _over_last_axis,
)
from corten.ops import nn as nn_ops

__all__ = ["BatchNormalization"]


class BatchNormalization(Layer):
    """Normalises its inputs per channel to mean 0 and variance 1, then scales by `gamma` and
    shifts by `beta` (tf.keras 2).

    In training (`training=True`, as inside `fit`) it uses the batch's mean and biased variance
    and updates the non-trainable `moving_mean` and `moving_variance` in place:
    `moving = moving * momentum + batch * (1 - momentum)`. In inference (the default, and in
    `predict`/`evaluate`) it uses the moving statistics and changes nothing.

    As in Keras 2, a layer with `trainable=False` always runs in inference mode, whatever
    `training` says: fine-tuning a model with frozen BatchNormalization layers keeps both their
    weights and their moving statistics unchanged, and normalises with the moving statistics.

    The moving variance is updated with the Bessel-corrected batch variance (n / (n - 1)) on
    Keras's fused path (float32, rank 4 or 5, the channel axis 1 or last, `fused` not False)
    and with the biased one otherwise (Note [Batch norm variance] in csrc/cpu/batch_norm.cpp);
    `self.fused` tells which after build. Masks (e.g. from Embedding(mask_zero=True)): in
    training the unfused path takes the mean and variance of the unmasked positions only (the
    channel axis must be the last one), and the fused path ignores the mask with a warning, as
    Keras.

    Args:
        axis: an int or a list of ints: the channel axis (axes), -1 by default.
        momentum: of the moving averages (0.99).
        epsilon: added to the variance (1e-3).
        center, scale: whether to learn `beta` and `gamma`.
        beta_initializer, gamma_initializer, moving_mean_initializer,
        moving_variance_initializer: zeros, ones, zeros, ones by default.
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: of the weights.
        synchronized: accepted (one device: nothing to synchronise); implies `fused=False`.
        fused: None (Keras's choice), True (raise ValueError where the fused path cannot be
            used) or False.
        renorm, virtual_batch_size, adjustment: only their defaults (False, None, None) are
            supported; other values raise ValueError.
        **kwargs: base layer arguments (name, dtype, trainable, ...).

    Returns:
        Called on a tensor, a tensor of the same shape.

    Example:
        >>> bn = keras.layers.BatchNormalization()
        >>> y = bn(x, training=True)   # batch statistics; moving statistics updated
    """

    _statistics_in_float32 = True  # Note [Autocast variables]

    def __init__(self, axis: Any = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", moving_mean_initializer: Any = "zeros",
                 moving_variance_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, synchronized: bool = False, renorm: bool = False,
                 renorm_clipping: Any = None, renorm_momentum: float = 0.99, fused: Any = None,
                 virtual_batch_size: Any = None, adjustment: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = _axis_arg(axis)
        if renorm:
            raise ValueError("BatchNormalization: batch renormalisation is not supported. "
                             f"Received: renorm={renorm!r}")
        if virtual_batch_size is not None:
            raise ValueError("BatchNormalization: ghost batches are not supported. "
                             f"Received: virtual_batch_size={virtual_batch_size!r}")
        if adjustment is not None:
            raise ValueError("BatchNormalization: adjustment is not supported. "
                             f"Received: adjustment={adjustment!r}")
        if synchronized and fused:
            raise ValueError("`fused=True` is not supported when `synchronized=True`.")
        self.synchronized = bool(synchronized)
        if self.synchronized:
            fused = False
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        _init_affine(self, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                     gamma_regularizer, beta_constraint, gamma_constraint)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.renorm = False
        self.virtual_batch_size = None
        self.adjustment = None
        if fused:
            self._raise_if_fused_cannot_be_used()
        elif fused is None and not self._fused_can_be_used():
            fused = False
        self.fused = fused
        self.supports_masking = True

    def _fused_problem(self) -> str | None:
        axis = [self.axis] if isinstance(self.axis, int) else self.axis
        if len(axis) != 1 or axis[0] not in (-4, -3, -1, 1, 3, 4):
            return ("Passing `fused=True` is only supported when axis is 1 or 3 for input "
                    f"rank = 4 or 1 or 4 for input rank = 5. Got axis {axis}")
        if self._dtype not in ("float16", "bfloat16", "float32", None):
            return ("Passing `fused=True` is only supported when the compute dtype is float16, "
                    f"bfloat16, or float32. Got dtype: {self._dtype}")
        return None

    def _raise_if_fused_cannot_be_used(self) -> None:
        problem = self._fused_problem()
        if problem:
            raise ValueError(problem)

    def _fused_can_be_used(self) -> bool:
        return self._fused_problem() is None

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        rank = len(shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for a in axes:
            if not -rank <= a < rank:
                raise ValueError(f"Invalid value for `axis` argument. Expected 0 <= axis < "
                                 f"inputs.rank (with inputs.rank={rank}). Received: axis={a}")
        axes = sorted({a % rank for a in axes})
        if len(axes) != len(self.axis if isinstance(self.axis, list) else [self.axis]):
            raise ValueError(f"Duplicate axis: {self.axis}")
        self.axis = axes
        if self.fused is None:
            # Keras's fused kernel: rank 4 or 5 with the channel axis 1 or last.
            self.fused = rank in (4, 5) and axes[0] in (1, rank - 1)
        elif self.fused:
            if rank not in (4, 5):
                raise ValueError("Batch normalization layers with `fused=True` only support 4D "
                                 f"or 5D input tensors. Received tensor with shape: {shape}")
            if axes[0] not in (1, rank - 1):
                raise ValueError("Unsupported axis. The use of `fused=True` is only possible "
                                 f"with `axis=1` or `axis={rank - 1}` for {rank}D input "
                                 f"tensors. Received: axis={tuple(axes)}")
        for a in axes:
            if shape[a] is None:
                raise ValueError(f"Input has undefined `axis` dimension. Received input with "
                                 f"shape {shape} and axis={tuple(axes)}")
        if len(axes) == 1:
            param_shape: tuple = (shape[axes[0]],)
        else:
            param_shape = tuple(shape[i] if i in axes else 1 for i in range(rank))
        self._param_shape = param_shape
        self._build_rank_shape = tuple(shape[i] if i in axes else None for i in range(rank))
        _build_affine(self, param_shape, trainable=True)
        self.moving_mean = self.add_weight(
            name="moving_mean", shape=param_shape, initializer=self.moving_mean_initializer,
            trainable=False)
        self.moving_variance = self.add_weight(
            name="moving_variance", shape=param_shape,
            initializer=self.moving_variance_initializer, trainable=False)
        self.built = True

    def _get_training_value(self, training: Any = None) -> bool:
        """Keras 2: None means inference; a non-trainable layer always runs in inference."""
        if training is None:
            training = False
        if not self.trainable:
            training = False
        return bool(training)

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        training = self._get_training_value(training)
        if mask is not None and training and self.fused:
            warnings.warn("Masking is not supported with `fused=True`. You should either turn off "
                          "fusing (`fused=False`) or you should not pass a `mask` argument when "
                          "calling the layer. For the moment `mask` will be ignored for the "
                          "normalization.", stacklevel=2)
        # The unfused path takes the moments of the unmasked positions (channels last only).
        weights = mask if training and not self.fused else None
        axes = self.axis
        self._check_input(inputs)
        kw = {"training": training, "momentum": self.momentum, "epsilon": self.epsilon,
              "bessel": bool(self.fused)}
        params = (self.gamma, self.beta, self.moving_mean, self.moving_variance)
        if len(axes) == 1:
            return nn_ops.batch_norm(inputs, *params, axis=axes[0], mask=weights, **kw)
        if weights is not None:
            raise ValueError(f"BatchNormalization: a mask needs a single channel axis, the last; "
                             f"got axis={axes}, input shape {tuple(inputs.shape)}")
        # Several axes: one channel per combination; the axes are moved last and merged.
        return _over_last_axis(inputs, axes,
                               lambda x: nn_ops.batch_norm(x, *params, axis=-1, **kw))

    def _check_input(self, inputs: Any) -> None:
        # Keras's InputSpec(ndim=rank, axes={axis: size}) message.
        shape = tuple(inputs.shape)
        rank = len(self._build_rank_shape)
        if len(shape) != rank:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: "
                             f"expected ndim={rank}, found ndim={len(shape)}. Full shape "
                             f"received: {shape}")
        for a in self.axis:
            want = self._build_rank_shape[a]
            if shape[a] is not None and shape[a] != want:
                raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the "
                                 f"layer: expected axis {a - rank if a == rank - 1 else a} of "
                                 f"input shape to have value {want}, but received input with "
                                 f"shape {shape}")

    def compute_output_shape(self, input_shape: Any) -> Any:
        return corten.TensorShape(tuple(input_shape))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
            **_affine_config(self, {
                "moving_mean_initializer": self.moving_mean_initializer,
                "moving_variance_initializer": self.moving_variance_initializer}),
        })
        if self.synchronized:
            # tf.keras leaves TensorFlow-specific keys out of the config unless they are set.
            config["synchronized"] = True
        return config
