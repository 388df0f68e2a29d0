"""Normalisation layers: LayerNormalization, GroupNormalization and UnitNormalization, each on
a fused C++ op (one kernel forward and one backward). BatchNormalization is in
batch_normalization.py."""

from __future__ import annotations

from typing import Any

import corten
from corten.keras import constraints, initializers, regularizers
from corten.keras.layers.base_layer import Layer
from corten.keras.layers.core import _maybe
from corten.ops import nn as nn_ops

__all__ = ["LayerNormalization", "GroupNormalization", "UnitNormalization"]


class LayerNormalization(Layer):
    """Normalises each sample over `axis` to mean 0 and variance 1, then scales by `gamma` and
    shifts by `beta` (tf.keras 2: epsilon 1e-3, biased variance).

    Axes other than the last are moved last for the fused kernel and moved back.

    Args:
        axis: an int or a list of ints: the axes to normalise over (default -1).
        epsilon: added to the variance.
        center, scale: whether to learn `beta` and `gamma`.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
        beta_constraint, gamma_constraint: of the two weights.
    """

    _statistics_in_float32 = True  # Note [Autocast variables]

    def __init__(self, axis: Any = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = _axis_arg(axis)
        self.epsilon = float(epsilon)
        _init_affine(self, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                     gamma_regularizer, beta_constraint, gamma_constraint)
        self.supports_masking = True

    def _axes(self, ndim: int) -> list[int]:
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        out = sorted({a % ndim if -ndim <= a < ndim else _bad_axis(a, ndim) for a in axes})
        return out

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        axes = self._axes(len(shape))
        param_shape = tuple(shape[a] for a in axes)
        if any(d is None for d in param_shape):
            raise ValueError(f"LayerNormalization: the normalised axes {axes} of input shape "
                             f"{shape} must be known")
        _build_affine(self, param_shape)
        self.built = True

    def call(self, inputs: Any) -> Any:
        axes = self._axes(inputs.ndim)
        n = 1
        for a in axes:
            n *= inputs.shape[a]
        gamma = None if self.gamma is None else corten.reshape(self.gamma, (n,))
        beta = None if self.beta is None else corten.reshape(self.beta, (n,))
        return _over_last_axis(inputs, axes,
                               lambda x: nn_ops.layer_norm(x, gamma, beta, self.epsilon))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return corten.TensorShape(tuple(input_shape))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "axis": self.axis, "epsilon": self.epsilon, **_affine_config(self),
        })
        return config


def _over_last_axis(inputs: Any, axes: list[int], fn: Any) -> Any:
    """fn applied to `inputs` with the (sorted) `axes` moved last and merged into one, and the
    result moved back: the row kernels normalise over the last axis."""
    ndim = inputs.ndim
    rest = [d for d in range(ndim) if d not in axes]
    moved = rest + axes
    x = inputs if moved == list(range(ndim)) else corten.transpose(inputs, moved)
    shape = tuple(x.shape)
    n = 1
    for a in axes:
        n *= inputs.shape[a]
    flat = corten.reshape(x, (*[-1 if d is None else d for d in shape[:len(rest)]], n)) \
        if len(axes) > 1 else x
    y = fn(flat)
    if len(axes) > 1:
        y = corten.reshape(y, tuple(-1 if d is None else d for d in shape))
    if moved != list(range(ndim)):
        y = corten.transpose(y, [moved.index(d) for d in range(ndim)])
    return y


class GroupNormalization(Layer):
    """Splits the channels of `axis` into `groups` groups and normalises each group of each
    sample over its channels and every other axis but the batch axis, then scales by `gamma`
    and shifts by `beta` per channel (tf.keras 2: epsilon 1e-3, biased variance). groups=1 is
    close to LayerNormalization, groups equal to the channels is instance normalisation.

    Args:
        groups: the number of groups (32); it must divide the channels; -1 means one group per
            channel.
        axis: the channel axis (-1).
        epsilon: added to the variance.
        center, scale: whether to learn `beta` and `gamma`.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
        beta_constraint, gamma_constraint: of the two weights.

    Returns:
        Called on a tensor (batch first), a tensor of the same shape.

    Raises:
        ValueError: when groups does not divide the channels, or a mask is passed (masked
            statistics are not supported).
    """

    _statistics_in_float32 = True  # Note [Autocast variables]

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True
        self.groups = int(groups)
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                raise ValueError(f"GroupNormalization: axis must be one axis. Received: "
                                 f"axis={axis}")
            axis = axis[0]
        self.axis = int(axis)
        self.epsilon = float(epsilon)
        _init_affine(self, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                     gamma_regularizer, beta_constraint, gamma_constraint)

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        ndim = len(shape)
        if not -ndim <= self.axis < ndim:
            _bad_axis(self.axis, ndim)
        dim = shape[self.axis]
        if dim is None:
            raise ValueError(f"Axis {self.axis} of input tensor should have a defined dimension "
                             f"but the layer received an input with shape {shape}.")
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups:
            raise ValueError(f"Number of groups ({self.groups}) cannot be more than the number "
                             f"of channels ({dim}).")
        if dim % self.groups != 0:
            raise ValueError(f"Number of groups ({self.groups}) must be a multiple of the "
                             f"number of channels ({dim}).")
        _build_affine(self, (dim,))
        self.built = True

    def call(self, inputs: Any, mask: Any = None) -> Any:
        if mask is not None:
            raise ValueError(f"GroupNormalization: masked statistics are not supported (input "
                             f"shape {tuple(inputs.shape)}, mask shape {tuple(mask.shape)})")
        return nn_ops.group_norm(inputs, self.gamma, self.beta, self.groups, self.axis,
                                 self.epsilon)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return corten.TensorShape(tuple(input_shape))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
            **_affine_config(self),
        })
        return config


class UnitNormalization(Layer):
    """Scales each sample to an L2 norm of 1 over `axis`: x / sqrt(max(sum(x^2), 1e-12))
    (tf.keras 2, tf.math.l2_normalize).

    Args:
        axis: an int or a list of ints, the axes to normalise over (-1).

    Returns:
        Called on a tensor, a tensor of the same shape.
    """

    def __init__(self, axis: Any = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = _axis_arg(axis, f"Invalid value for `axis` argument: expected an int or a "
                                    f"list/tuple of ints. Received: axis={axis}")
        self.supports_masking = True

    def _axes(self, ndim: int) -> list[int]:
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        return sorted({a % ndim if -ndim <= a < ndim else _bad_axis(a, ndim) for a in axes})

    def build(self, input_shape: Any) -> None:
        self._axes(len(tuple(input_shape)))
        self.built = True

    def call(self, inputs: Any) -> Any:
        return _over_last_axis(inputs, self._axes(inputs.ndim), nn_ops.unit_norm)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return corten.TensorShape(tuple(input_shape))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"axis": self.axis})
        return config


def _bad_axis(axis: int, ndim: int) -> int:
    raise ValueError(f"Invalid axis: {axis} for an input of rank {ndim}")


def _init_affine(layer: Layer, center: Any, scale: Any, beta_initializer: Any,
                 gamma_initializer: Any, beta_regularizer: Any, gamma_regularizer: Any,
                 beta_constraint: Any, gamma_constraint: Any) -> None:
    """Sets a normalisation layer's center/scale flags and its beta and gamma initializers,
    regularizers and constraints (the arguments every Keras normalisation layer takes).

    Args:
        layer: the layer being constructed.
        center, scale: whether it has beta and gamma.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
        beta_constraint, gamma_constraint: as Keras takes them (identifiers or objects).
    """
    layer.center, layer.scale = bool(center), bool(scale)
    layer.beta_initializer = initializers.get(beta_initializer)
    layer.gamma_initializer = initializers.get(gamma_initializer)
    layer.beta_regularizer = regularizers.get(beta_regularizer)
    layer.gamma_regularizer = regularizers.get(gamma_regularizer)
    layer.beta_constraint = constraints.get(beta_constraint)
    layer.gamma_constraint = constraints.get(gamma_constraint)


def _build_affine(layer: Layer, shape: tuple, **kwargs: Any) -> None:
    """Creates `layer.gamma` (when scale) and `layer.beta` (when center) of `shape`, in that
    order (Keras's weight order); None where the flag is off.

    Args:
        layer: the layer being built.
        shape: the weights' shape.
        **kwargs: passed on to add_weight.
    """
    layer.gamma = layer.add_weight(
        name="gamma", shape=shape, initializer=layer.gamma_initializer,
        regularizer=layer.gamma_regularizer, constraint=layer.gamma_constraint, **kwargs) \
        if layer.scale else None
    layer.beta = layer.add_weight(
        name="beta", shape=shape, initializer=layer.beta_initializer,
        regularizer=layer.beta_regularizer, constraint=layer.beta_constraint, **kwargs) \
        if layer.center else None


def _affine_config(layer: Layer, more_initializers: dict | None = None) -> dict:
    """The config entries of the arguments `_init_affine` sets, in Keras's key order.

    Args:
        layer: the layer.
        more_initializers: further initializers, serialized after gamma_initializer (as
            BatchNormalization's moving-statistics initializers in Keras's config).

    Returns:
        A dict for get_config.
    """
    config = {
        "center": layer.center, "scale": layer.scale,
        "beta_initializer": initializers.serialize(layer.beta_initializer),
        "gamma_initializer": initializers.serialize(layer.gamma_initializer),
    }
    for key, value in (more_initializers or {}).items():
        config[key] = initializers.serialize(value)
    config.update({
        "beta_regularizer": _maybe(regularizers.serialize, layer.beta_regularizer),
        "gamma_regularizer": _maybe(regularizers.serialize, layer.gamma_regularizer),
        "beta_constraint": _maybe(constraints.serialize, layer.beta_constraint),
        "gamma_constraint": _maybe(constraints.serialize, layer.gamma_constraint),
    })
    return config


def _axis_arg(axis: Any, error: str | None = None) -> Any:
    """A normalisation layer's `axis` argument: an int, or a list from a list or tuple.

    Args:
        axis: the argument.
        error: the TypeError's message (each Keras layer words its own); None for
            Layer/BatchNormalization's.

    Returns:
        The int, or the list of ints.
    """
    if isinstance(axis, (list, tuple)):
        return list(axis)
    if isinstance(axis, int):
        return axis
    raise TypeError(error or f"Expected an int or a list/tuple of ints for the argument 'axis', "
                             f"but received: {axis!r}")
