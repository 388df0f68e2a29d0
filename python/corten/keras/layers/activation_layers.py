"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, Softmax and ThresholdedReLU (tf.keras 2)."""

from __future__ import annotations

from typing import Any

import corten
from corten.keras import activations, constraints, initializers, regularizers
from corten.keras.layers.base_layer import Layer

__all__ = ["ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "ThresholdedReLU"]


class _Elementwise(Layer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_output_shape(self, input_shape: Any) -> Any:
        return corten.TensorShape(tuple(input_shape))


class ReLU(_Elementwise):
    """``max(x, 0)``, with an optional cap (`max_value`), slope below the threshold
    (`negative_slope`) and `threshold`, as ``keras.activations.relu``."""

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ValueError(f"max_value of a ReLU layer cannot be a negative value. "
                             f"Received: {max_value}")
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f"negative_slope of a ReLU layer cannot be a negative value. "
                             f"Received: {negative_slope}")
        if threshold is None or threshold < 0:
            raise ValueError(f"threshold of a ReLU layer cannot be a negative value. "
                             f"Received: {threshold}")
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold

    def call(self, inputs: Any) -> Any:
        return activations.relu(inputs, alpha=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config


class LeakyReLU(_Elementwise):
    """``x`` for ``x > 0``, ``alpha * x`` otherwise (Keras 2's default alpha is 0.3)."""

    def __init__(self, alpha: float = 0.3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if alpha is None:
            raise ValueError(f"The alpha value of a Leaky ReLU layer cannot be None. "
                             f"Received: alpha={alpha}")
        self.alpha = float(alpha)

    def call(self, inputs: Any) -> Any:
        return corten.nn.leaky_relu(inputs, alpha=self.alpha)

    def get_config(self) -> dict:
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class ELU(_Elementwise):
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise."""

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if alpha is None:
            raise ValueError(f"Alpha of an ELU layer cannot be None. Received: alpha={alpha}")
        self.alpha = float(alpha)

    def call(self, inputs: Any) -> Any:
        return activations.elu(inputs, alpha=self.alpha)

    def get_config(self) -> dict:
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class ThresholdedReLU(_Elementwise):
    """``x`` for ``x > theta``, 0 otherwise."""

    def __init__(self, theta: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if theta is None or theta < 0:
            raise ValueError(f"Theta of a Thresholded ReLU layer cannot be None or negative. "
                             f"Received: theta={theta}")
        self.theta = float(theta)

    def call(self, inputs: Any) -> Any:
        keep = corten.cast(corten.greater(inputs, corten.cast(self.theta, inputs.dtype)),
                           inputs.dtype)
        return corten.multiply(inputs, keep)

    def get_config(self) -> dict:
        config = super().get_config()
        config["theta"] = self.theta
        return config


class Softmax(_Elementwise):
    """Softmax along `axis`; positions where `mask` is False get no probability (tf.keras 2
    adds -1e9 to their logits).

    Args:
        axis: an int, or a list of axes normalised together (as tf.keras:
            ``exp(x - logsumexp(x, axis))``).
        robust_masking: when True, masked logits are replaced by -1e9 instead of shifted by
            it, so that very negative logits stay masked (tf.keras 2.13+).
    """

    def __init__(self, axis: Any = -1, robust_masking: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = axis
        self.robust_masking = bool(robust_masking)

    def call(self, inputs: Any, mask: Any = None) -> Any:
        if mask is not None:
            # float16 cannot hold -1e9: tf.keras uses half its lowest value.
            big = -1e9 if inputs.dtype.name != "float16" else -32752.0
            if self.robust_masking:
                if mask.dtype.name != "bool":
                    mask = corten.greater(mask, corten.cast(0.5, mask.dtype))
                inputs = corten.where(mask, inputs, corten.cast(big, inputs.dtype))
            else:
                adder = corten.multiply(
                    corten.subtract(corten.cast(1.0, inputs.dtype),
                                    corten.cast(mask, inputs.dtype)),
                    corten.cast(big, inputs.dtype))
                inputs = corten.add(inputs, adder)
        axis = self.axis
        if isinstance(axis, (list, tuple)):
            if len(axis) > 1:
                return corten.exp(corten.subtract(
                    inputs, corten.reduce_logsumexp(inputs, axis=list(axis), keepdims=True)))
            axis = axis[0]
        return corten.nn.softmax(inputs, axis=axis)

    def get_config(self) -> dict:
        config = super().get_config()
        config["axis"] = self.axis
        if self.robust_masking:
            config["robust_masking"] = True
        return config


class PReLU(_Elementwise):
    """``x`` for ``x > 0``, ``alpha * x`` otherwise, with a learned `alpha` per position
    (shared along `shared_axes`).

    Args:
        alpha_initializer, alpha_regularizer, alpha_constraint: of the alpha weight.
        shared_axes: the axes (1 = the first after the batch) along which alpha is shared.
    """

    def __init__(self, alpha_initializer: Any = "zeros", alpha_regularizer: Any = None,
                 alpha_constraint: Any = None, shared_axes: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = list(shared_axes)
        else:
            self.shared_axes = [shared_axes]

    def build(self, input_shape: Any) -> None:
        shape = list(tuple(input_shape)[1:])
        for axis in self.shared_axes or ():
            shape[axis - 1] = 1
        if any(d is None for d in shape):
            raise ValueError(f"PReLU needs known dimensions outside shared_axes; got input "
                             f"shape {tuple(input_shape)} and shared_axes={self.shared_axes}")
        self.alpha = self.add_weight(name="alpha", shape=tuple(shape),
                                     initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        self.built = True

    def call(self, inputs: Any) -> Any:
        pos = corten.nn.relu(inputs)
        neg = corten.multiply(corten.negative(self.alpha),
                              corten.nn.relu(corten.negative(inputs)))
        return corten.add(pos, neg)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": None if self.alpha_regularizer is None
            else regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": None if self.alpha_constraint is None
            else constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        })
        return config
