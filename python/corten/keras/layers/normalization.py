"""Normalisation layers: LayerNormalization (one fused C++ kernel forward and backward)."""

from __future__ import annotations

from typing import Any

import corten
from corten.keras import constraints, initializers, regularizers
from corten.keras.layers.base_layer import Layer
from corten.ops import nn as nn_ops

__all__ = ["LayerNormalization"]


def _maybe(fn: Any, value: Any) -> Any:
    return None if value is None else fn(value)


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

    def __init__(self, axis: Any = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = list(axis)
        elif isinstance(axis, int):
            self.axis = axis
        else:
            raise TypeError(f"Expected an int or a list/tuple of ints for the argument 'axis', "
                            f"but received: {axis!r}")
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
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
        self.gamma = self.add_weight(
            name="gamma", shape=param_shape, initializer=self.gamma_initializer,
            regularizer=self.gamma_regularizer, constraint=self.gamma_constraint) \
            if self.scale else None
        self.beta = self.add_weight(
            name="beta", shape=param_shape, initializer=self.beta_initializer,
            regularizer=self.beta_regularizer, constraint=self.beta_constraint) \
            if self.center else None
        self.built = True

    def call(self, inputs: Any) -> Any:
        ndim = inputs.ndim
        axes = self._axes(ndim)
        rest = [d for d in range(ndim) if d not in axes]
        moved = rest + axes
        x = inputs if moved == list(range(ndim)) else corten.transpose(inputs, moved)
        shape = tuple(x.shape)
        lead = shape[:len(rest)]
        n = 1
        for a in axes:
            n *= inputs.shape[a]
        flat = corten.reshape(x, (*[-1 if d is None else d for d in lead], n)) \
            if len(axes) > 1 else x
        gamma = None if self.gamma is None else corten.reshape(self.gamma, (n,))
        beta = None if self.beta is None else corten.reshape(self.beta, (n,))
        y = nn_ops.layer_norm(flat, gamma, beta, self.epsilon)
        if len(axes) > 1:
            y = corten.reshape(y, tuple(-1 if d is None else d for d in shape))
        if moved != list(range(ndim)):
            inverse = [moved.index(d) for d in range(ndim)]
            y = corten.transpose(y, inverse)
        return y

    def compute_output_shape(self, input_shape: Any) -> Any:
        return corten.TensorShape(tuple(input_shape))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": _maybe(regularizers.serialize, self.beta_regularizer),
            "gamma_regularizer": _maybe(regularizers.serialize, self.gamma_regularizer),
            "beta_constraint": _maybe(constraints.serialize, self.beta_constraint),
            "gamma_constraint": _maybe(constraints.serialize, self.gamma_constraint),
        })
        return config


def _bad_axis(axis: int, ndim: int) -> int:
    raise ValueError(f"Invalid axis: {axis} for an input of rank {ndim}")
