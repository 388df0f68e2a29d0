"""Confusion-matrix metrics: TruePositives ... FalseNegatives, Precision, Recall, AUC.

Predictions are compared with thresholds (``prediction > threshold`` is a positive), labels are
positive when non-zero. The counts are accumulated in float32 state variables of shape
(num_thresholds,) (or (num_thresholds, num_labels) for multi-label AUC).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import corten
from corten import _C
from corten.keras import backend
from corten.keras import losses as losses_mod
from corten.keras.metrics.base_metric import Metric

Tensor = _C.Tensor

__all__ = ["TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "Precision",
           "Recall", "AUC"]

NEG_INF = -1e10

TP, FP, TN, FN = "tp", "fp", "tn", "fn"


def _to_list(x: Any) -> list:
    if isinstance(x, (list, tuple)):
        return list(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    return [x]


def _assert_thresholds_range(thresholds: list) -> None:
    invalid = [t for t in thresholds if t is None or t < 0 or t > 1]
    if invalid:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {invalid}")


def _parse_init_thresholds(thresholds: Any, default_threshold: float = 0.5) -> list:
    if thresholds is not None:
        _assert_thresholds_range(_to_list(thresholds))
    return [float(t) for t in _to_list(default_threshold if thresholds is None else thresholds)]


def _shape(x: Tensor) -> tuple:
    return tuple(x.shape)


def filter_top_k(x: Tensor, k: int) -> Tensor:
    """x where the entry is among the k largest of its last axis (ties: lower index first, as
    tf.math.top_k), NEG_INF elsewhere."""
    n = _shape(x)[-1]
    xi = corten.expand_dims(x, -1)    # (..., C, 1): the entry being ranked
    xj = corten.expand_dims(x, -2)    # (..., 1, C): the others
    idx = corten.range(n, dtype="int32")
    before = corten.less(corten.expand_dims(idx, 0), corten.expand_dims(idx, 1))  # j < i
    ahead = corten.logical_or(corten.greater(xj, xi),
                              corten.logical_and(corten.equal(xj, xi), before))
    rank = corten.reduce_sum(corten.cast(ahead, "int32"), axis=-1)
    keep = corten.less(rank, corten.constant(int(k), dtype="int32"))
    return corten.where(keep, x, corten.constant(NEG_INF, dtype=x.dtype))


def _broadcast_to(w: Tensor, like: Tensor, what: str) -> Tensor:
    try:
        return corten.multiply(w, corten.ones_like(like))
    except ValueError as e:
        raise ValueError(f"{what} of shape {_shape(w)} cannot be broadcast to the predictions' "
                         f"shape {_shape(like)}") from e


def update_confusion_matrix_variables(variables: dict, y_true: Any, y_pred: Any,
                                      thresholds: Any, top_k: int | None = None,
                                      class_id: int | None = None, sample_weight: Any = None,
                                      multi_label: bool = False, label_weights: Any = None,
                                      dtype: str = "float32") -> None:
    """Adds the (weighted) confusion-matrix counts at each threshold to ``variables``
    ({"tp": var, "fp": var, "tn": var, "fn": var}, any subset) (Keras metrics_utils)."""
    y_true = corten.cast(corten.convert_to_tensor(y_true), dtype)
    y_pred = corten.cast(corten.convert_to_tensor(y_pred), dtype)
    thresholds = corten.constant(np.asarray(thresholds, dtype=np.float64), dtype=dtype)
    if sample_weight is None:
        y_pred, y_true = losses_mod.squeeze_or_expand_dimensions(y_pred, y_true)
    else:
        sample_weight = corten.cast(corten.convert_to_tensor(sample_weight), dtype)
        y_pred, y_true, sample_weight = losses_mod.squeeze_or_expand_dimensions(
            y_pred, y_true, sample_weight)
    ps, ts = _shape(y_pred), _shape(y_true)
    if len(ps) != len(ts) or any(a is not None and b is not None and a != b
                                 for a, b in zip(ps, ts)):
        raise ValueError(f"Shapes {ps} and {ts} are incompatible: y_true and y_pred must have "
                         f"the same shape. Received: y_true.shape={ts}, y_pred.shape={ps}")
    if top_k is not None:
        y_pred = filter_top_k(y_pred, top_k)
    if class_id is not None:
        n = ps[-1] if ps else None
        if n is not None and not 0 <= class_id < n:
            raise ValueError(f"class_id {class_id} is out of range for predictions with {n} "
                             f"classes. Received: class_id={class_id}")
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]

    if sample_weight is not None:
        sample_weight = _broadcast_to(sample_weight, y_pred, "sample_weight")
    if label_weights is not None and not multi_label:
        lw = corten.cast(corten.convert_to_tensor(label_weights), dtype)
        lw = _broadcast_to(corten.expand_dims(lw, 0), y_pred, "label_weights")
        sample_weight = lw if sample_weight is None else corten.multiply(sample_weight, lw)

    if multi_label:
        # (T, N, L) comparisons, counts summed over the samples -> (T, L).
        preds = corten.expand_dims(y_pred, 0)
        labels = corten.expand_dims(corten.not_equal(y_true, corten.zeros_like(y_true)), 0)
        thresh = corten.reshape(thresholds, [-1] + [1] * y_pred.ndim)
        weights = None if sample_weight is None else corten.expand_dims(sample_weight, 0)
        sum_axes = list(range(1, y_pred.ndim))
    else:
        # (T, M) comparisons over the flattened predictions, counts -> (T,).
        preds = corten.reshape(y_pred, [1, -1])
        labels = corten.reshape(corten.not_equal(y_true, corten.zeros_like(y_true)), [1, -1])
        thresh = corten.reshape(thresholds, [-1, 1])
        weights = None if sample_weight is None else corten.reshape(sample_weight, [1, -1])
        sum_axes = [1]
    pred_is_pos = corten.greater(preds, thresh)
    pred_is_neg = corten.logical_not(pred_is_pos)
    label_is_neg = corten.logical_not(labels)
    conditions = {TP: (labels, pred_is_pos), FP: (label_is_neg, pred_is_pos),
                  TN: (label_is_neg, pred_is_neg), FN: (labels, pred_is_neg)}
    for key, var in variables.items():
        label_cond, pred_cond = conditions[key]
        hits = corten.cast(corten.logical_and(label_cond, pred_cond), dtype)
        if weights is not None:
            hits = corten.multiply(hits, weights)
        var.assign_add(corten.reduce_sum(hits, axis=sum_axes))


class _ConfusionMatrixConditionCount(Metric):
    _condition = TP

    def __init__(self, thresholds: Any = None, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _parse_init_thresholds(thresholds, default_threshold=0.5)
        self.accumulator = self.add_weight("accumulator", shape=(len(self.thresholds),),
                                           initializer="zeros")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        update_confusion_matrix_variables({self._condition: self.accumulator}, y_true, y_pred,
                                          self.thresholds, sample_weight=sample_weight,
                                          dtype=self._dtype)

    def result(self) -> Tensor:
        value = self.accumulator.read_value()
        return value[0] if len(self.thresholds) == 1 else value

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of true positives at each threshold (0.5 by default)."""

    _condition = TP


class FalsePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of false positives at each threshold."""

    _condition = FP


class TrueNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of true negatives at each threshold."""

    _condition = TN


class FalseNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of false negatives at each threshold."""

    _condition = FN


class _PrecisionRecall(Metric):
    _second = FP

    def __init__(self, thresholds: Any = None, top_k: int | None = None,
                 class_id: int | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = 0.5 if top_k is None else NEG_INF
        self.thresholds = _parse_init_thresholds(thresholds, default_threshold=default)
        n = len(self.thresholds)
        self.true_positives = self.add_weight("true_positives", shape=(n,), initializer="zeros")
        second = "false_positives" if self._second == FP else "false_negatives"
        setattr(self, second, self.add_weight(second, shape=(n,), initializer="zeros"))

    def _other(self):
        return self.false_positives if self._second == FP else self.false_negatives

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Accumulates TP and FP (Precision) or FN (Recall) at each threshold."""
        update_confusion_matrix_variables(
            {TP: self.true_positives, self._second: self._other()}, y_true, y_pred,
            self.thresholds, top_k=self.top_k, class_id=self.class_id,
            sample_weight=sample_weight, dtype=self._dtype)

    def result(self) -> Tensor:
        tp = self.true_positives.read_value()
        value = corten.divide_no_nan(tp, corten.add(tp, self._other().read_value()))
        return value[0] if len(self.thresholds) == 1 else value

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """TP / (TP + FP) at each threshold (0.5 by default), optionally for the ``top_k``
    predictions or one ``class_id`` only.

    Args:
        thresholds: a float or a list of floats in [0, 1]; the result has one value per
            threshold (a scalar for one).
        top_k: only the k largest predictions of each row count as positive.
        class_id: only this class (last axis index) is considered.
    """

    _second = FP


class Recall(_PrecisionRecall):
    """TP / (TP + FN) at each threshold; arguments as Precision."""

    _second = FN


_CURVES = {"roc": "ROC", "pr": "PR"}
_SUMMATIONS = {"interpolation": "interpolation", "minoring": "minoring", "majoring": "majoring"}


class AUC(Metric):
    """Area under the ROC or PR curve, from confusion matrices at ``num_thresholds`` thresholds
    (Riemann sums, as Keras).

    Args:
        num_thresholds: number of thresholds (> 1), evenly spaced in [0, 1].
        curve: "ROC" or "PR".
        summation_method: "interpolation" (trapezoids for ROC; the Davis & Goadrich
            interpolation for PR), "minoring" or "majoring".
        thresholds: explicit thresholds in [0, 1] (num_thresholds is then ignored).
        multi_label: one curve per label (last axis), averaged (weighted by
            ``label_weights``); otherwise all predictions are pooled.
        num_labels: the number of labels when multi_label (else taken from the first batch).
        label_weights: per-label weights.
        from_logits: apply a sigmoid to the predictions first.
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", name: str | None = None,
                 dtype: Any = None, thresholds: Any = None, multi_label: bool = False,
                 num_labels: int | None = None, label_weights: Any = None,
                 from_logits: bool = False) -> None:
        super().__init__(name=name, dtype=dtype)
        key = str(curve).lower()
        if key not in _CURVES:
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are '
                             '["PR", "ROC"]')
        self.curve = _CURVES[key]
        key = str(summation_method).lower()
        if key not in _SUMMATIONS:
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". '
                             'Expected values are ["interpolation", "majoring", "minoring"]')
        self.summation_method = _SUMMATIONS[key]
        if thresholds is not None:
            thresholds = sorted(float(t) for t in _to_list(thresholds))
            _assert_thresholds_range(thresholds)
            self.num_thresholds = len(thresholds) + 2
            inner = np.array([0.0] + thresholds + [1.0])
            deltas = np.diff(inner)
            self._thresholds_distributed_evenly = bool(np.allclose(deltas, deltas[0])) \
                if len(deltas) else True
        else:
            if int(num_thresholds) <= 1:
                raise ValueError("Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = int(num_thresholds)
            thresholds = [(i + 1) * 1.0 / (self.num_thresholds - 1)
                          for i in range(self.num_thresholds - 2)]
            self._thresholds_distributed_evenly = True
        eps = backend.epsilon()
        self._thresholds = np.array([0.0 - eps] + thresholds + [1.0 + eps])
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        self._from_logits = bool(from_logits)
        if label_weights is not None:
            lw = np.asarray(label_weights, dtype=np.float64)
            if np.any(lw < 0):
                raise ValueError("All values of `label_weights` must be non-negative. "
                                 f"Received: label_weights={label_weights}")
            self.label_weights = lw
        else:
            self.label_weights = None
        self._built_state = False
        if self.multi_label:
            if num_labels:
                self._build_state(int(num_labels))
        else:
            if num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build_state(None)

    @property
    def thresholds(self) -> list:
        """The thresholds, including the endpoints below 0 and above 1."""
        return list(self._thresholds)

    def _build_state(self, num_labels: int | None) -> None:
        shape = (self.num_thresholds,) if num_labels is None else (self.num_thresholds,
                                                                   num_labels)
        self._num_labels = num_labels
        self.true_positives = self.add_weight("true_positives", shape=shape)
        self.false_positives = self.add_weight("false_positives", shape=shape)
        self.true_negatives = self.add_weight("true_negatives", shape=shape)
        self.false_negatives = self.add_weight("false_negatives", shape=shape)
        self._built_state = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Accumulates the confusion matrices at every threshold."""
        y_pred = corten.convert_to_tensor(y_pred)
        if self.multi_label and not self._built_state:
            if y_pred.ndim != 2:
                raise ValueError("AUC(multi_label=True) expects predictions of shape "
                                 f"(batch_size, num_labels). Received: y_pred.shape="
                                 f"{_shape(y_pred)}")
            self._build_state(int(_shape(y_pred)[-1]))
        if self._from_logits:
            if not y_pred.dtype.is_floating:
                y_pred = corten.cast(y_pred, self._dtype)
            y_pred = corten.sigmoid(y_pred)
        label_weights = None if self.multi_label else self.label_weights
        update_confusion_matrix_variables(
            {TP: self.true_positives, TN: self.true_negatives, FP: self.false_positives,
             FN: self.false_negatives}, y_true, y_pred, self._thresholds,
            sample_weight=sample_weight, multi_label=self.multi_label,
            label_weights=label_weights, dtype=self._dtype)

    def _label_mean(self, by_label: Tensor) -> Tensor:
        if self.label_weights is None:
            return corten.reduce_mean(by_label)
        lw = corten.constant(self.label_weights, dtype=self._dtype)
        return corten.divide_no_nan(corten.reduce_sum(corten.multiply(by_label, lw)),
                             corten.reduce_sum(lw))

    def interpolate_pr_auc(self) -> Tensor:
        """PR AUC with the interpolation of Davis & Goadrich (2006), as Keras."""
        n = self.num_thresholds
        tp = self.true_positives.read_value()
        fp = self.false_positives.read_value()
        fn = self.false_negatives.read_value()
        dtp = corten.subtract(tp[: n - 1], tp[1:])
        p = corten.add(tp, fp)
        dp = corten.subtract(p[: n - 1], p[1:])
        zero = corten.zeros_like(dp)
        prec_slope = corten.divide_no_nan(dtp, corten.maximum(dp, zero))
        intercept = corten.subtract(tp[1:], corten.multiply(prec_slope, p[1:]))
        both_pos = corten.logical_and(corten.greater(p[: n - 1], zero),
                                      corten.greater(p[1:], zero))
        safe_p_ratio = corten.where(both_pos,
                                    corten.divide_no_nan(p[: n - 1], corten.maximum(p[1:], zero)),
                                    corten.ones_like(p[1:]))
        increment = corten.divide_no_nan(
            corten.multiply(prec_slope,
                            corten.add(dtp, corten.multiply(intercept, corten.log(safe_p_ratio)))),
            corten.maximum(corten.add(tp[1:], fn[1:]), zero))
        if self.multi_label:
            return self._label_mean(corten.reduce_sum(increment, axis=0))
        return corten.reduce_sum(increment)

    def result(self) -> Tensor:
        if not self._built_state:
            return corten.constant(0.0, dtype=self._dtype)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self.interpolate_pr_auc()
        n = self.num_thresholds
        tp = self.true_positives.read_value()
        fp = self.false_positives.read_value()
        tn = self.true_negatives.read_value()
        fn = self.false_negatives.read_value()
        recall = corten.divide_no_nan(tp, corten.add(tp, fn))
        if self.curve == "ROC":
            x = corten.divide_no_nan(fp, corten.add(fp, tn))
            y = recall
        else:
            x = recall
            y = corten.divide_no_nan(tp, corten.add(tp, fp))
        if self.summation_method == "interpolation":
            heights = corten.multiply(corten.add(y[: n - 1], y[1:]),
                                      corten.constant(0.5, dtype=y.dtype))
        elif self.summation_method == "minoring":
            heights = corten.minimum(y[: n - 1], y[1:])
        else:
            heights = corten.maximum(y[: n - 1], y[1:])
        areas = corten.multiply(corten.subtract(x[: n - 1], x[1:]), heights)
        if self.multi_label:
            return self._label_mean(corten.reduce_sum(areas, axis=0))
        return corten.reduce_sum(areas)

    def reset_state(self) -> None:
        if self._built_state:
            super().reset_state()

    def get_config(self) -> dict:
        config = {
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self._from_logits,
        }
        if not self._thresholds_distributed_evenly:
            config["thresholds"] = [float(t) for t in self._thresholds[1:-1]]
        return {**super().get_config(), **config}
