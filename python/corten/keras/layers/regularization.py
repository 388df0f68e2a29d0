"""Regularization layers. Noise and spatial dropout: GaussianNoise, GaussianDropout,
AlphaDropout and SpatialDropout1D/2D/3D act only when training (inside fit, or with
training=True) and draw from corten's Philox streams, so a fixed seed gives the same masks on any
thread count. ActivityRegularization adds an L1/L2 penalty of its inputs to the losses.
"""

from __future__ import annotations

import math
from typing import Any

import corten
from corten.keras.layers.base_layer import Layer

__all__ = ["ActivityRegularization", "GaussianNoise", "GaussianDropout", "AlphaDropout", "SpatialDropout1D",
           "SpatialDropout2D", "SpatialDropout3D"]


class ActivityRegularization(Layer):
    """Passes its inputs through and adds ``l1 * sum(|x|) + l2 * sum(x**2)`` of them, averaged
    over the batch, to the model's losses (tf.keras's layer of that name)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any) -> None:
        from corten.keras import regularizers

        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.supports_masking = True
        self.l1 = float(l1)
        self.l2 = float(l2)

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(l1=self.l1, l2=self.l2)
        return config


def _check_rate(rate: float, name: str) -> float:
    if not 0 <= rate < 1:
        raise ValueError(f"{name}: rate must be in [0, 1). Received: rate={rate}")
    return float(rate)


class _Noise(Layer):
    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.supports_masking = True

    def call(self, inputs: Any, training: Any = None) -> Any:
        if not training:
            return inputs
        return self._noisy(inputs)

    def _noisy(self, inputs: Any) -> Any:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Any) -> Any:
        return corten.TensorShape(tuple(input_shape))

    def get_config(self) -> dict:
        config = super().get_config()
        config["seed"] = self.seed
        return config


class GaussianNoise(_Noise):
    """Adds zero-mean Gaussian noise of standard deviation `stddev` when training."""

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.stddev = float(stddev)

    def _noisy(self, inputs):
        noise = corten.random.normal(corten.shape(inputs), 0.0, self.stddev, inputs.dtype,
                                     seed=self.seed)
        return corten.add(inputs, noise)

    def get_config(self):
        config = super().get_config()
        config["stddev"] = self.stddev
        return config


class GaussianDropout(_Noise):
    """Multiplies by Gaussian noise of mean 1 and variance ``rate / (1 - rate)`` when
    training."""

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_rate(rate, "GaussianDropout")

    def _noisy(self, inputs):
        if self.rate == 0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = corten.random.normal(corten.shape(inputs), 1.0, stddev, inputs.dtype,
                                     seed=self.seed)
        return corten.multiply(inputs, noise)

    def get_config(self):
        config = super().get_config()
        config["rate"] = self.rate
        return config


class AlphaDropout(_Noise):
    """Dropout that keeps the mean and variance of self-normalising (SELU) activations: dropped
    units take SELU's negative saturation value, then an affine correction (Klambauer et al.)."""

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_rate(rate, "AlphaDropout")
        self.noise_shape = noise_shape

    def _noisy(self, inputs):
        if self.rate == 0:
            return inputs
        alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
        alpha_p = -alpha * scale
        shape = corten.shape(inputs) if self.noise_shape is None else self.noise_shape
        u = corten.random.uniform(shape, 0.0, 1.0, inputs.dtype, seed=self.seed)
        kept = corten.cast(corten.greater_equal(u, corten.cast(self.rate, inputs.dtype)),
                           inputs.dtype)
        a = ((1 - self.rate) * (1 + self.rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * self.rate
        x = corten.add(corten.multiply(inputs, kept),
                       corten.multiply(corten.subtract(1.0, kept), alpha_p))
        return corten.add(corten.multiply(x, a), b)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": self.noise_shape})
        return config


class _SpatialDropout(_Noise):
    _rank = 1

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None,
                 noise_shape: Any = None, **kwargs: Any) -> None:
        # noise_shape: in tf.keras 2's config (inherited from Dropout), which ignores it too.
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_rate(rate, type(self).__name__)
        self.data_format = data_format or "channels_last"
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"{type(self).__name__}: data_format must be 'channels_last' or "
                             f"'channels_first'. Received: {data_format!r}")

    def _noisy(self, inputs):
        if inputs.ndim != self._rank + 2:
            raise ValueError(f"{type(self).__name__} needs inputs of rank {self._rank + 2}; got "
                             f"shape {tuple(inputs.shape)}")
        dims = [int(d) for d in corten.shape(inputs).numpy()]
        if self.data_format == "channels_last":
            noise = [dims[0]] + [1] * self._rank + [dims[-1]]
        else:
            noise = dims[:2] + [1] * self._rank
        return corten.nn.dropout(inputs, rate=self.rate, noise_shape=noise, seed=self.seed)

    def get_config(self):
        config = super().get_config()
        config["rate"] = self.rate
        if self._rank > 1:
            config["data_format"] = self.data_format
        return config


class SpatialDropout1D(_SpatialDropout):
    """Drops whole feature maps (channels) of (batch, steps, channels) inputs when training."""

    _rank = 1

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(rate, None, seed=seed, **kwargs)


class SpatialDropout2D(_SpatialDropout):
    """Drops whole feature maps of 4-D inputs when training."""

    _rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Drops whole feature maps of 5-D inputs when training."""

    _rank = 3
