"""Numeric preprocessing layers (tf.keras 2): Normalization and Discretization."""

from __future__ import annotations

from typing import Any

import numpy as np

import corten
from corten._tensor import Tensor
from corten.keras.layers.preprocessing_base import (
    COUNT,
    INT,
    MULTI_HOT,
    ONE_HOT,
    PreprocessingLayer,
    encode_categorical,
    encoded_shape,
    encoding_layer_kwargs,
    listify,
    validate_string_arg,
)

__all__ = ["Normalization", "Discretization"]

# backend.epsilon() of tf.keras 2: the floor of the standard deviation.
_EPSILON = 1e-7


class Normalization(PreprocessingLayer):
    """Shifts and scales inputs to zero mean and unit variance: ``(x - mean) / sqrt(var)``.

    The mean and variance are either given or computed by ``adapt``; adapted statistics are
    non-trainable weights (``mean``, ``variance``, ``count``), so saving keeps them.

    Args:
        axis: an int, a tuple of ints or None: the axes that keep a separate mean and
            variance per index (-1: the last axis; None: one scalar mean and variance).
        mean: the mean value(s), broadcast to the kept axes' shape (with `variance`).
        variance: the variance value(s), broadcast likewise.
        invert: apply the inverse transformation, ``mean + x * sqrt(var)``.
        **kwargs: base Layer arguments (name, dtype, ...).

    Returns:
        Called on a tensor, a tensor of the same shape in the layer's dtype.
    """

    def __init__(self, axis: Any = -1, mean: Any = None, variance: Any = None,
                 invert: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, (int, np.integer)):
            axis = (int(axis),)
        else:
            axis = tuple(int(a) for a in axis)
        self.axis = axis
        if isinstance(mean, corten.Variable) or isinstance(variance, corten.Variable):
            raise ValueError("Normalization does not support passing a Variable for the `mean` "
                             "or `variance` init arg.")
        if (mean is not None) != (variance is not None):
            raise ValueError("Normalization: when setting values directly, both `mean` and "
                             f"`variance` must be set. Received: mean={mean}, "
                             f"variance={variance}")
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)

    def build(self, input_shape: Any) -> None:
        shape = [None if d is None else int(d) for d in tuple(input_shape)]
        ndim = len(shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError("Normalization: all `axis` values must be in the range "
                             f"[-ndim, ndim). Received: ndim={ndim}, axis={self.axis}, "
                             f"input_shape={tuple(shape)}")
        self._keep_axis = sorted(a % ndim for a in self.axis)
        for d in self._keep_axis:
            if shape[d] is None:
                raise ValueError("Normalization: all `axis` values to be kept must have a known "
                                 f"shape. Received: axis={self.axis}, input_shape={tuple(shape)}"
                                 f", unknown axis at index {d}")
        self._reduce_axis = [d for d in range(ndim) if d not in self._keep_axis]
        self._broadcast_shape = [shape[d] if d in self._keep_axis else 1 for d in range(ndim)]
        stats_shape = tuple(shape[d] for d in self._keep_axis)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=stats_shape,
                                              initializer="zeros", trainable=False)
            self.adapt_variance = self.add_weight(name="variance", shape=stats_shape,
                                                  initializer="ones", trainable=False)
            self.count = self.add_weight(name="count", shape=(), dtype="int64",
                                         initializer="zeros", trainable=False)
        else:
            dtype = self.compute_dtype
            self._fixed = [self._broadcast(value, stats_shape, dtype, what)
                           for value, what in ((self.input_mean, "mean"),
                                               (self.input_variance, "variance"))]

    def _broadcast(self, value: Any, shape: tuple, dtype: str, what: str) -> Tensor:
        value = corten.cast(corten.convert_to_tensor(value), dtype)
        try:
            value = corten.broadcast_to(value, shape)
        except ValueError:
            raise ValueError(f"Normalization: `{what}` of shape {tuple(value.shape)} cannot be "
                             f"broadcast to the kept axes' shape {shape} (axis={self.axis})"
                             ) from None
        return corten.reshape(value, self._broadcast_shape)

    def _stats(self) -> tuple[Tensor, Tensor]:
        if self.input_mean is not None:
            return self._fixed[0], self._fixed[1]
        return (corten.reshape(self.adapt_mean, self._broadcast_shape),
                corten.reshape(self.adapt_variance, self._broadcast_shape))

    def update_state(self, data: Any) -> None:
        """Merges the mean and variance of one batch into the adapted statistics (the
        pairwise update tf.keras 2 uses, so that batching by any size gives the same result
        up to rounding).

        Args:
            data: a batch of inputs.

        Raises:
            ValueError: when the layer was given a fixed mean and variance.
        """
        if self.input_mean is not None:
            raise ValueError("Cannot `adapt` a Normalization layer that is initialized with "
                             f"static `mean` and `variance`, you passed mean {self.input_mean}"
                             f" and variance {self.input_variance}.")
        if not self.built:
            raise RuntimeError("Normalization: `build` must be called before `update_state`.")
        dtype = self.compute_dtype
        data = corten.cast(corten.convert_to_tensor(data), dtype)
        if data.ndim != len(self._broadcast_shape):
            raise ValueError(f"Normalization: a batch of rank {data.ndim} does not match the "
                             f"built rank {len(self._broadcast_shape)}. Received: batch "
                             f"shape={tuple(data.shape)}")
        if self._reduce_axis:
            batch_mean = corten.reduce_mean(data, axis=self._reduce_axis, keepdims=True)
            centered = corten.square(data - batch_mean)
            batch_var = corten.reduce_mean(centered, axis=self._reduce_axis)
            batch_mean = corten.reshape(batch_mean, tuple(self.adapt_mean.shape))
            batch_count = 1
            for d in self._reduce_axis:
                batch_count *= int(data.shape[d])
        else:
            batch_mean, batch_var, batch_count = data, corten.zeros_like(data), 1
        total_count = batch_count + int(self.count.numpy())
        batch_weight = corten.cast(corten.constant(batch_count, "int64"), dtype) / corten.cast(
            corten.constant(total_count, "int64"), dtype)
        existing_weight = 1.0 - batch_weight
        mean, var = self.adapt_mean, self.adapt_variance
        total_mean = mean * existing_weight + batch_mean * batch_weight
        total_var = ((var + corten.square(mean - total_mean)) * existing_weight
                     + (batch_var + corten.square(batch_mean - total_mean)) * batch_weight)
        self.adapt_mean.assign(total_mean)
        self.adapt_variance.assign(total_var)
        self.count.assign(corten.constant(total_count, "int64"))

    def reset_state(self) -> None:
        """Resets the adapted mean to 0, the variance to 1 and the count to 0."""
        if self.input_mean is not None or not self.built:
            return
        self.adapt_mean.assign(corten.zeros_like(self.adapt_mean))
        self.adapt_variance.assign(corten.ones_like(self.adapt_variance))
        self.count.assign(corten.zeros_like(self.count))

    def call(self, inputs: Any) -> Any:
        inputs = corten.cast(inputs, self.compute_dtype)
        mean, variance = self._stats()
        std = corten.maximum(corten.sqrt(variance), corten.cast(_EPSILON, self.compute_dtype))
        if self.invert:
            return mean + inputs * std
        return (inputs - mean) / std

    def compute_output_shape(self, input_shape: Any) -> Any:
        return corten.TensorShape(tuple(input_shape))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"axis": self.axis, "invert": self.invert,
                       "mean": listify(self.input_mean),
                       "variance": listify(self.input_variance)})
        return config

    @classmethod
    def from_config(cls, config: dict) -> Normalization:
        config = dict(config)
        if isinstance(config.get("axis"), list):
            config["axis"] = tuple(config["axis"])
        return cls(**config)


class Discretization(PreprocessingLayer):
    """Buckets continuous features by ranges: index ``i`` holds the values in
    ``[bin_boundaries[i-1], bin_boundaries[i])`` (tf.keras 2's Bucketize: a value equal to a
    boundary goes to the upper bin).

    Args:
        bin_boundaries: the sorted boundaries (a list of floats), or None to ``adapt``.
        num_bins: the number of bins ``adapt`` computes (approximate quantiles).
        epsilon: the error tolerance of the quantile summary ``adapt`` keeps (0.01).
        output_mode: "int" (bin indices, int64 by default), "one_hot", "multi_hot" or
            "count" (vectors of ``len(bin_boundaries) + 1``, float32 by default).
        sparse: only False is supported.
        **kwargs: base Layer arguments; the dtype is the output dtype.

    Returns:
        Called on a numeric tensor, the bin indices (same shape) or their encoding.

    After ``adapt``, ``get_config`` holds the computed boundaries beside ``num_bins``, so a
    saved model keeps them (Keras 3 records them the same way).
    """

    def __init__(self, bin_boundaries: Any = None, num_bins: int | None = None,
                 epsilon: float = 0.01, output_mode: str = "int", sparse: bool = False,
                 **kwargs: Any) -> None:
        if "bins" in kwargs:
            bins = kwargs.pop("bins")
            if isinstance(bins, int) and num_bins is None:
                num_bins = bins
            elif bin_boundaries is None:
                bin_boundaries = bins
        validate_string_arg(output_mode, (INT, ONE_HOT, MULTI_HOT, COUNT), "Discretization",
                            "output_mode")
        super().__init__(**encoding_layer_kwargs("Discretization", output_mode, sparse, kwargs))
        if num_bins is not None and (not isinstance(num_bins, (int, np.integer))
                                     or num_bins < 0):
            raise ValueError("Discretization: `num_bins` must be an integer >= 0. "
                             f"Received: num_bins={num_bins}")
        bin_boundaries = listify(bin_boundaries)
        if num_bins is not None and bin_boundaries is not None \
                and len(bin_boundaries) >= max(int(num_bins), 1):
            raise ValueError("Discretization: both `num_bins` and `bin_boundaries` should not "
                             f"be set. Received: num_bins={num_bins}, "
                             f"bin_boundaries={bin_boundaries}")
        if bin_boundaries is not None:
            bin_boundaries = [float(b) for b in bin_boundaries]
            if any(b > a for a, b in zip(bin_boundaries[1:], bin_boundaries[:-1],
                                         strict=True)):
                raise ValueError("Discretization: `bin_boundaries` must be sorted. Received: "
                                 f"bin_boundaries={bin_boundaries}")
        # Boundaries given without num_bins are fixed; with num_bins they are an earlier
        # adapt's result (from a config) and a new adapt replaces them.
        self.input_bin_boundaries = bin_boundaries if num_bins is None else None
        self.bin_boundaries = bin_boundaries if bin_boundaries is not None else []
        self.num_bins = None if num_bins is None else int(num_bins)
        self.epsilon = float(epsilon)
        self.output_mode = output_mode
        self.sparse = False
        self._summary = np.zeros((2, 0), np.float32)

    def update_state(self, data: Any) -> None:
        """Merges the quantile summary of one batch into the running summary.

        The summary is tf.keras 2's (sorted values sampled every ``size * epsilon`` and
        their weights, merged and compressed by interpolation, as its numpy compress step
        does), computed on the host so that the boundaries equal tf.keras's.

        Args:
            data: a batch of numeric inputs.

        Raises:
            ValueError: when the layer was given fixed `bin_boundaries`.
        """
        if self.input_bin_boundaries is not None or self.num_bins is None:
            raise ValueError("Cannot adapt a Discretization layer that has been initialized "
                             "with `bin_boundaries`, use `num_bins` instead. You passed "
                             f"`bin_boundaries={self.input_bin_boundaries}`.")
        values = np.sort(np.asarray(corten.convert_to_tensor(data), np.float32).reshape(-1))
        increment = int(np.float32(values.size) / np.float32(1.0 / self.epsilon))
        step = max(increment, 1)
        points = values[increment::step]
        batch = np.stack([points, np.full(points.shape, step, np.float32)])
        merged = np.concatenate([batch, self._summary], axis=1)
        merged = merged[:, np.argsort(merged[0], kind="stable")]
        self._summary = _compress_summary(merged, self.epsilon)

    def reset_state(self) -> None:
        """Empties the quantile summary."""
        self._summary = np.zeros((2, 0), np.float32)

    def finalize_state(self) -> None:
        """Computes ``num_bins - 1`` boundaries from the summary."""
        if self.input_bin_boundaries is not None or self.num_bins is None:
            return
        bounds = _compress_summary(self._summary, 1.0 / self.num_bins)[0, :-1]
        self.bin_boundaries = [float(b) for b in bounds]

    def call(self, inputs: Any) -> Any:
        values = corten.cast(inputs, "float64")
        # Bucketize compares against float32 boundaries (its attribute type): round them
        # first so that values equal to a boundary land in the same bin as in tf.keras.
        bounds = corten.constant(np.asarray(self.bin_boundaries, np.float32).astype(np.float64),
                                 dtype="float64")
        above = corten.greater_equal(corten.expand_dims(values, -1), bounds)
        indices = corten.reduce_sum(corten.cast(above, "int64"), axis=-1)
        return encode_categorical("Discretization", indices, self.output_mode,
                                  len(self.bin_boundaries) + 1, self.compute_dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return corten.TensorShape(encoded_shape(input_shape, self.output_mode,
                                                len(self.bin_boundaries) + 1))

    def get_config(self) -> dict:
        config = super().get_config()
        adapted = self.num_bins is not None and self.bin_boundaries
        config.update({
            "bin_boundaries": list(self.bin_boundaries) if adapted else self.input_bin_boundaries,
            "num_bins": self.num_bins, "epsilon": self.epsilon,
            "output_mode": self.output_mode, "sparse": self.sparse})
        return config


def _compress_summary(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """tf.keras 2's summary compression: re-samples a (values, weights) summary at the
    cumulative-weight fractions ``epsilon, 2 * epsilon, ..., 1`` by linear interpolation."""
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + np.arange(0.0, 1.0, epsilon)
    cum_weights = summary[1].cumsum()
    cum_weight_percents = cum_weights / cum_weights[-1]
    new_bins = np.interp(percents, cum_weight_percents, summary[0])
    cum_weights = np.interp(percents, cum_weight_percents, cum_weights)
    new_weights = cum_weights - np.concatenate((np.array([0]), cum_weights[:-1]))
    return np.stack((new_bins, new_weights)).astype(np.float32)
