"""Regression metrics and the loss functions used as metrics."""

from __future__ import annotations

from typing import Any

import corten
from corten import _C
from corten.keras import losses as losses_mod
from corten.keras.metrics.base_metric import Mean, MeanMetricWrapper

Tensor = _C.Tensor

__all__ = ["cosine_similarity", "MeanSquaredError", "RootMeanSquaredError", "MeanAbsoluteError",
           "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "CosineSimilarity",
           "LogCoshError"]


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """sum(l2_normalize(y_true) * l2_normalize(y_pred), axis): 1 for identical directions."""
    y_pred = losses_mod._pred(y_pred)
    y_true = losses_mod._true(y_true, y_pred)
    y_true = losses_mod.l2_normalize(y_true, axis=axis)
    y_pred = losses_mod.l2_normalize(y_pred, axis=axis)
    return corten.reduce_sum(corten.multiply(y_true, y_pred), axis=axis)


class MeanSquaredError(MeanMetricWrapper):
    """The mean of mean_squared_error over the samples seen."""

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None) -> None:
        super().__init__(losses_mod.mean_squared_error, name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """The mean of mean_absolute_error over the samples seen."""

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None) -> None:
        super().__init__(losses_mod.mean_absolute_error, name, dtype=dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: Any = None) -> None:
        super().__init__(losses_mod.mean_absolute_percentage_error, name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: Any = None) -> None:
        super().__init__(losses_mod.mean_squared_logarithmic_error, name, dtype=dtype)


class CosineSimilarity(MeanMetricWrapper):
    """The mean cosine similarity (positive: 1 is best) along ``axis``."""

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None, axis: int = -1) -> None:
        super().__init__(cosine_similarity, name, dtype=dtype, axis=axis)


class LogCoshError(MeanMetricWrapper):
    def __init__(self, name: str = "logcosh", dtype: Any = None) -> None:
        super().__init__(losses_mod.log_cosh, name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """sqrt of the (weighted) mean of the squared errors over every element seen."""

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true = corten.cast(corten.convert_to_tensor(y_true), self._dtype)
        y_pred = corten.cast(corten.convert_to_tensor(y_pred), self._dtype)
        y_pred, y_true = losses_mod.squeeze_or_expand_dimensions(y_pred, y_true)
        error_sq = corten.square(corten.subtract(y_pred, y_true))
        super().update_state(error_sq, sample_weight=sample_weight)

    def result(self) -> Tensor:
        return corten.sqrt(corten.divide_no_nan(self.total.read_value(), self.count.read_value()))
