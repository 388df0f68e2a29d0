"""The Metric base class and the reducing metrics (Sum, Mean, MeanMetricWrapper)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import corten
from corten import _C
from corten.keras import backend
from corten.keras import losses as losses_mod
from corten.keras.layers.base_layer import Layer

Tensor = _C.Tensor

__all__ = ["Metric", "Reduce", "Sum", "Mean", "MeanMetricWrapper"]


class Metric(Layer):
    """Base class of metrics: a stateful Layer whose state lives in non-trainable variables.

    Subclasses create their state with ``add_weight`` in ``__init__`` and implement
    ``update_state(...)`` (accumulate) and ``result()`` (compute the value from the state).
    ``reset_state()`` zeroes the state. Calling the metric updates it and returns the current
    result, with ``result._metric_obj`` set to the metric (so ``Layer.add_metric(metric(...))``
    tracks it).

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result (float32 by default).

    Example:
        >>> m = keras.metrics.Mean()
        >>> m.update_state([1.0, 3.0])
        >>> float(m.result())
        2.0
    """

    def __init__(self, name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        # As tf.keras 2: a metric computes in floatx, not in the global policy's dtype.
        super().__init__(name=name, dtype=dtype or backend.floatx(), **kwargs)
        self.__dict__["stateful"] = True
        self.__dict__["built"] = True

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        """Updates the state with the arguments of update_state and returns result()."""
        self.update_state(*args, **kwargs)
        result = self.result()
        if isinstance(result, Tensor):
            result._metric_obj = self
        return result

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("Must be implemented in subclasses.")

    def result(self) -> Tensor:
        raise NotImplementedError("Must be implemented in subclasses.")

    def reset_state(self) -> None:
        """Zeroes every state variable."""
        for v in self.variables:
            v.assign(corten.zeros(tuple(v.shape), dtype=v.dtype))

    def reset_states(self) -> None:
        """Deprecated alias of reset_state (Keras 2)."""
        self.reset_state()

    def merge_state(self, metrics: list[Metric]) -> None:
        """Adds the state of other metrics of the same type (for additive states)."""
        for metric in metrics:
            if len(metric.variables) != len(self.variables):
                raise ValueError(f"Metric {metric.name} is not compatible with {self.name}")
            for v, w in zip(self.variables, metric.variables):
                v.assign_add(w)

    def add_weight(self, name: str | None = None, shape: Any = (), aggregation: Any = None,
                   synchronization: Any = None, initializer: Any = "zeros", dtype: Any = None,
                   **kwargs: Any):
        """A non-trainable state variable (zeros unless another initializer is given)."""
        return super().add_weight(name=name, shape=shape, dtype=dtype or self._dtype,
                                  initializer=initializer or "zeros", trainable=False)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__name__} object name={self.name!r}>"


def _broadcast_weights(sample_weight: Tensor, values: Tensor) -> Tensor | None:
    """sample_weight broadcast to values' shape, or None when Keras' broadcast_weights would
    refuse (rank differs and is not 0, or a dimension is neither 1 nor equal)."""
    ws, vs = tuple(sample_weight.shape), tuple(values.shape)
    if ws == vs:
        return sample_weight
    if len(ws) != 0 and (len(ws) != len(vs) or any(w not in (1, v) for w, v in zip(ws, vs))):
        return None
    return corten.multiply(sample_weight, corten.ones_like(values))


class Reduce(Metric):
    """Reduces values to a sum (``reduction="sum"``) or a weighted mean (``"weighted_mean"``,
    or ``"sum_over_batch_size"`` where the count is the number of values)."""

    def __init__(self, reduction: str, name: str | None, dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        if reduction not in ("sum", "sum_over_batch_size", "weighted_mean"):
            raise ValueError(f"Reduce: unknown reduction. Received: reduction={reduction!r}")
        self.reduction = reduction
        self.total = self.add_weight("total", initializer="zeros")
        if reduction in ("sum_over_batch_size", "weighted_mean"):
            self.count = self.add_weight("count", initializer="zeros")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        """Accumulates values (optionally weighted; weights broadcast as in Keras)."""
        if type(values) is Tensor and values.dtype.name == self._dtype and (
                sample_weight is None or type(sample_weight) in (float, int)) \
                and values.device != "meta":
            # The per-step case of compiled metrics: no weights, or one number for all values
            # (the loss tracker's batch size), counted without tensor ops.
            if sample_weight is not None:
                values = corten.multiply(values, float(sample_weight))
            count: Any = float(math.prod(values._shape_tuple))
            if self.reduction == "weighted_mean" and sample_weight is not None:
                count *= float(sample_weight)
            if self.reduction == "sum":
                count = None
        else:
            values, count = self._weigh(values, sample_weight)
        self.total.assign_add(corten.reduce_sum(values))
        if self.reduction != "sum":
            self.count.assign_add(count)

    def _weigh(self, values: Any, sample_weight: Any) -> tuple[Tensor, Tensor | None]:
        """The weighted values and what they add to ``count`` (None for a sum), for any values
        and weights."""
        try:
            values = corten.convert_to_tensor(values)
        except (TypeError, ValueError):
            msg = ("The output of a metric function can only be a single Tensor. "
                   f"Received: {values}. ")
            if isinstance(values, dict):
                msg += "To return a dict of values, implement a custom Metric subclass."
            raise RuntimeError(msg) from None
        if values.dtype.name != self._dtype:
            values = corten.cast(values, self._dtype)
        if sample_weight is not None:
            sample_weight = corten.convert_to_tensor(sample_weight)
            if sample_weight.dtype.name != self._dtype:
                sample_weight = corten.cast(sample_weight, self._dtype)
            values, _, sample_weight = losses_mod.squeeze_or_expand_dimensions(
                values, sample_weight=sample_weight)
            broadcast = _broadcast_weights(sample_weight, values)
            if broadcast is None:
                # Reduce the values to the weights' rank.
                axes = list(range(sample_weight.ndim, values.ndim))
                if axes:
                    reduce = corten.reduce_sum if self.reduction == "sum" else corten.reduce_mean
                    values = reduce(values, axis=axes)
                try:
                    values = corten.multiply(values, sample_weight)
                except ValueError as e:
                    raise ValueError(
                        f"{self.name}: sample_weight of shape {tuple(sample_weight.shape)} "
                        f"cannot be broadcast to values of shape {tuple(values.shape)}") from e
                sample_weight = corten.multiply(sample_weight, corten.ones_like(values))
            else:
                sample_weight = broadcast
                values = corten.multiply(values, sample_weight)
        if self.reduction == "sum":
            return values, None
        if self.reduction == "weighted_mean" and sample_weight is not None:
            return values, corten.reduce_sum(sample_weight)
        return values, corten.cast(corten.size(values), self._dtype)

    def result(self) -> Tensor:
        if self.reduction == "sum":
            return corten.identity(self.total.read_value())
        return corten.divide_no_nan(self.total.read_value(), self.count.read_value())


class Sum(Reduce):
    """The (weighted) sum of the values seen."""

    def __init__(self, name: str = "sum", dtype: Any = None) -> None:
        super().__init__(reduction="sum", name=name, dtype=dtype)


class Mean(Reduce):
    """The (weighted) mean of the values seen: sum(values * w) / sum(w)."""

    def __init__(self, name: str = "mean", dtype: Any = None) -> None:
        super().__init__(reduction="weighted_mean", name=name, dtype=dtype)


class MeanMetricWrapper(Mean):
    """The mean of ``fn(y_true, y_pred, **kwargs)`` over every sample seen.

    Args:
        fn: a function of (y_true, y_pred) returning per-sample values.
        name: the metric's name.
        dtype: the dtype of the state.
        **kwargs: passed to fn.
    """

    def __init__(self, fn: Callable, name: str | None = None, dtype: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true = corten.convert_to_tensor(y_true)
        y_pred = corten.convert_to_tensor(y_pred)
        if y_true.dtype.name != self._dtype:
            y_true = corten.cast(y_true, self._dtype)
        if y_pred.dtype.name != self._dtype:
            y_pred = corten.cast(y_pred, self._dtype)
        y_pred, y_true = losses_mod.squeeze_or_expand_dimensions(y_pred, y_true)
        matches = self._fn(y_true, y_pred, **self._fn_kwargs)
        mask = losses_mod.get_mask(matches)
        sample_weight = losses_mod.apply_valid_mask(matches, sample_weight, mask, self.reduction)
        super().update_state(matches, sample_weight=sample_weight)

    def get_config(self) -> dict:
        config = {k: (np.asarray(v).tolist() if isinstance(v, Tensor) else v)
                  for k, v in self._fn_kwargs.items()}
        if type(self) is MeanMetricWrapper:
            config["fn"] = getattr(self._fn, "__name__", self._fn)
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        config = dict(config)
        if cls is MeanMetricWrapper and isinstance(config.get("fn"), str):
            from corten.keras import metrics as metrics_mod

            config["fn"] = metrics_mod.get(config["fn"])
        return cls(**config)
