"""keras.losses: loss functions and Loss classes (tf.keras 2 semantics).

A loss function ``fn(y_true, y_pred)`` returns one loss per sample (the last axis is averaged
or reduced). A ``Loss`` object calls its function, weights the per-sample losses with
``sample_weight`` and reduces them (``reduction``)::

    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    value = loss(labels, logits, sample_weight=w)

Everything is composed of corten ops, so losses are differentiable under a GradientTape; the
cross-entropies from logits use corten's fused, numerically stable kernels
(``softmax_cross_entropy_with_logits``, ``sparse_softmax_cross_entropy_with_logits``,
``sigmoid_cross_entropy_with_logits``). Probability inputs (``from_logits=False``) are clipped to
``[epsilon, 1 - epsilon]`` with ``keras.backend.epsilon()`` (1e-7), as in Keras.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import corten
from corten.keras import _lookup
from corten import _C
from corten.keras import backend

Tensor = _C.Tensor

__all__ = [
    "Reduction", "Loss", "LossFunctionWrapper",
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "Huber", "LogCosh", "BinaryCrossentropy",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "KLDivergence", "Poisson",
    "Hinge", "SquaredHinge", "CategoricalHinge", "CosineSimilarity",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "huber", "log_cosh", "logcosh", "binary_crossentropy",
    "categorical_crossentropy", "sparse_categorical_crossentropy", "kl_divergence",
    "kullback_leibler_divergence", "poisson", "hinge", "squared_hinge", "categorical_hinge",
    "cosine_similarity", "mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE", "kld", "KLD",
    "bce", "BCE", "get", "serialize", "deserialize",
]


class Reduction:
    """Types of loss reduction (Keras' ``ReductionV2``).

    * ``AUTO``: SUM_OVER_BATCH_SIZE here (Keras decides by distribution strategy).
    * ``NONE``: no reduction; the weighted per-sample losses are returned.
    * ``SUM``: the sum of the weighted losses.
    * ``SUM_OVER_BATCH_SIZE``: the sum of the weighted losses divided by their number.
    """

    AUTO = "auto"
    NONE = "none"
    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"

    @classmethod
    def all(cls) -> tuple[str, ...]:
        return (cls.AUTO, cls.NONE, cls.SUM, cls.SUM_OVER_BATCH_SIZE)

    @classmethod
    def validate(cls, key: Any) -> None:
        if key not in cls.all():
            raise ValueError(f'Invalid Reduction Key: {key}. Expected keys are "{cls.all()}"')


ReductionV2 = Reduction


# ----------------------------------------------------------------------------------- helpers
def _pred(y_pred: Any) -> Tensor:
    """y_pred as a floating tensor (integers and bools become floatx)."""
    y_pred = corten.convert_to_tensor(y_pred)
    if not y_pred.dtype.is_floating:
        y_pred = corten.cast(y_pred, backend.floatx())
    return y_pred


def _true(y_true: Any, like: Tensor) -> Tensor:
    """y_true cast to y_pred's dtype (Keras ``tf.cast(y_true, y_pred.dtype)``)."""
    y_true = corten.convert_to_tensor(y_true)
    return y_true if y_true.dtype == like.dtype else corten.cast(y_true, like.dtype)


def _scalar(value: float, like: Tensor) -> Tensor:
    return corten.constant(value, dtype=like.dtype)


def _shape(x: Tensor) -> tuple:
    return x._shape_tuple if type(x) is Tensor else tuple(x.shape)


def _mean_last(x: Tensor, axis: int = -1) -> Tensor:
    return corten.reduce_mean(x, axis=axis)


def _clip(x: Tensor, lo: float, hi: float) -> Tensor:
    return corten.clip_by_value(x, _scalar(lo, x), _scalar(hi, x))


def remove_squeezable_dimensions(labels: Tensor, predictions: Tensor,
                                 expected_rank_diff: int = 0) -> tuple[Tensor, Tensor]:
    """Squeezes a trailing size-1 dimension of one of them when their ranks differ by one more
    (or one less) than ``expected_rank_diff`` (Keras losses_utils)."""
    rank_diff = predictions.ndim - labels.ndim
    p_last = _shape(predictions)[-1] if predictions.ndim else None
    l_last = _shape(labels)[-1] if labels.ndim else None
    if rank_diff == expected_rank_diff + 1 and p_last in (1, None):
        predictions = corten.squeeze(predictions, [-1])
    elif rank_diff == expected_rank_diff - 1 and l_last in (1, None):
        labels = corten.squeeze(labels, [-1])
    return labels, predictions


def squeeze_or_expand_dimensions(y_pred: Tensor, y_true: Tensor | None = None,
                                 sample_weight: Tensor | None = None):
    """Makes y_true's and sample_weight's ranks match y_pred's where a size-1 dimension allows
    (Keras losses_utils.squeeze_or_expand_dimensions). Returns (y_pred, y_true) without
    sample_weight, (y_pred, y_true, sample_weight) with it."""
    if y_true is not None:
        if y_pred.ndim - y_true.ndim != 1 or (y_pred.ndim and _shape(y_pred)[-1] == 1):
            y_true, y_pred = remove_squeezable_dimensions(y_true, y_pred)
    if sample_weight is None:
        return y_pred, y_true
    w_rank = sample_weight.ndim
    if w_rank == 0:
        return y_pred, y_true, sample_weight
    if w_rank - y_pred.ndim == 1:
        sample_weight = corten.squeeze(sample_weight, [-1])
    elif y_pred.ndim - w_rank == 1:
        sample_weight = corten.expand_dims(sample_weight, -1)
    return y_pred, y_true, sample_weight


def get_mask(x: Any) -> Tensor | None:
    return getattr(x, "_keras_mask", None)


def apply_mask(losses: Tensor, sample_weight: Any, mask: Tensor | None) -> Any:
    """sample_weight multiplied by the mask (the mask alone without weights)."""
    if mask is None:
        return sample_weight
    mask = corten.cast(mask, losses.dtype)
    if sample_weight is None:
        return mask
    sample_weight = corten.cast(corten.convert_to_tensor(sample_weight), losses.dtype)
    mask, _, sample_weight = squeeze_or_expand_dimensions(mask, sample_weight=sample_weight)
    return corten.multiply(sample_weight, mask)


def apply_valid_mask(losses: Tensor, sample_weight: Any, mask: Tensor | None,
                     reduction: str) -> Any:
    """Masks the weights; for mean reductions the valid entries are rescaled so that the mean
    is over the valid entries only (Keras losses_utils.apply_valid_mask)."""
    if mask is not None:
        mask = corten.cast(mask, losses.dtype)
        if reduction in (Reduction.AUTO, Reduction.SUM_OVER_BATCH_SIZE):
            total = corten.cast(corten.size(mask), losses.dtype)
            valid = corten.reduce_sum(mask)
            mask = corten.multiply(mask, corten.divide_no_nan(total, valid))
    return apply_mask(losses, sample_weight, mask)


def reduce_weighted_loss(weighted_losses: Tensor,
                         reduction: str = Reduction.SUM_OVER_BATCH_SIZE) -> Tensor:
    if reduction == Reduction.NONE:
        return weighted_losses
    loss = corten.reduce_sum(weighted_losses)
    if reduction in (Reduction.SUM_OVER_BATCH_SIZE, Reduction.AUTO):
        shape = _shape(weighted_losses)
        if None in shape:  # symbolic: the count is a graph value
            count = corten.cast(corten.size(weighted_losses), loss.dtype)
        else:
            count = corten.constant(float(math.prod(shape)), dtype=loss.dtype)
        loss = corten.divide_no_nan(loss, count)
    return loss


def compute_weighted_loss(losses: Any, sample_weight: Any = None,
                          reduction: str = Reduction.SUM_OVER_BATCH_SIZE) -> Tensor:
    """Weights the per-sample losses and reduces them (Keras losses_utils).

    ``sample_weight`` is a scalar, or a tensor whose rank may differ from the losses' by a
    trailing size-1 dimension; it broadcasts against the losses.
    """
    Reduction.validate(reduction)
    if reduction == Reduction.AUTO:
        reduction = Reduction.SUM_OVER_BATCH_SIZE
    losses = corten.convert_to_tensor(losses)
    input_dtype = None
    if not losses.dtype.is_floating:
        input_dtype = losses.dtype
        losses = corten.cast(losses, "float32")
    if sample_weight is None:
        weighted = losses
    else:
        sample_weight = corten.convert_to_tensor(sample_weight)
        if sample_weight.dtype != losses.dtype:
            sample_weight = corten.cast(sample_weight, losses.dtype)
        losses, _, sample_weight = squeeze_or_expand_dimensions(losses, None, sample_weight)
        try:
            weighted = corten.multiply(losses, sample_weight)
        except ValueError as e:
            raise ValueError(
                f"sample_weight of shape {_shape(sample_weight)} cannot be broadcast to the "
                f"per-sample losses of shape {_shape(losses)}. Received: "
                f"sample_weight.shape={_shape(sample_weight)}") from e
    loss = reduce_weighted_loss(weighted, reduction)
    if input_dtype is not None:
        loss = corten.cast(loss, input_dtype)
    return loss


def _get_logits(output: Tensor, from_logits: bool, op_type: str, fn_name: str):
    """Uses the logits cached on a sigmoid/softmax output (``_keras_logits``), as Keras does."""
    logits = getattr(output, "_keras_logits", None)
    if logits is None:
        return output, from_logits
    if from_logits:
        warnings.warn(f'"`{fn_name}` received `from_logits=True`, but the `output` argument was '
                      f"produced by a {op_type} activation and thus does not represent logits. "
                      "Was this intended?", stacklevel=3)
    return logits, True


# ------------------------------------------------------------------------- loss functions
def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean(square(y_true - y_pred), axis=-1)."""
    y_pred = _pred(y_pred)
    y_true = _true(y_true, y_pred)
    return _mean_last(corten.square(corten.subtract(y_pred, y_true)))


def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean(abs(y_true - y_pred), axis=-1)."""
    y_pred = _pred(y_pred)
    y_true = _true(y_true, y_pred)
    return _mean_last(corten.abs(corten.subtract(y_pred, y_true)))


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Tensor:
    """100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)), axis=-1)."""
    y_pred = _pred(y_pred)
    y_true = _true(y_true, y_pred)
    denom = corten.maximum(corten.abs(y_true), _scalar(backend.epsilon(), y_true))
    diff = corten.abs(corten.divide(corten.subtract(y_true, y_pred), denom))
    return corten.multiply(_mean_last(diff), _scalar(100.0, y_pred))


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean(square(log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)), axis=-1)."""
    y_pred = _pred(y_pred)
    y_true = _true(y_true, y_pred)
    eps = _scalar(backend.epsilon(), y_pred)
    first = corten.log1p(corten.maximum(y_pred, eps))
    second = corten.log1p(corten.maximum(y_true, eps))
    return _mean_last(corten.square(corten.subtract(first, second)))


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Tensor:
    """mean(0.5 * e**2 if |e| <= delta else delta * |e| - 0.5 * delta**2, axis=-1), e = y_pred -
    y_true."""
    y_pred = _pred(y_pred)
    y_true = _true(y_true, y_pred)
    delta = float(delta)
    error = corten.subtract(y_pred, y_true)
    abs_error = corten.abs(error)
    quadratic = corten.multiply(corten.square(error), _scalar(0.5, error))
    linear = corten.subtract(corten.multiply(abs_error, _scalar(delta, error)),
                             _scalar(0.5 * delta * delta, error))
    return _mean_last(corten.where(corten.less_equal(abs_error, _scalar(delta, error)),
                                   quadratic, linear))


def log_cosh(y_true: Any, y_pred: Any) -> Tensor:
    """mean(log(cosh(y_pred - y_true)), axis=-1), computed as x + softplus(-2x) - log(2)."""
    y_pred = _pred(y_pred)
    y_true = _true(y_true, y_pred)
    x = corten.subtract(y_pred, y_true)
    lc = corten.subtract(corten.add(x, _C.softplus(corten.multiply(x, _scalar(-2.0, x)))),
                         _scalar(math.log(2.0), x))
    return _mean_last(lc)


logcosh = log_cosh


def _binary_crossentropy_backend(target: Tensor, output: Tensor, from_logits: bool) -> Tensor:
    output, from_logits = _get_logits(output, from_logits, "Sigmoid", "binary_crossentropy")
    if from_logits:
        return _C.sigmoid_cross_entropy_with_logits(target, output)
    eps = backend.epsilon()
    output = _clip(output, eps, 1.0 - eps)
    one = _scalar(1.0, output)
    bce = corten.multiply(target, corten.log(corten.add(output, _scalar(eps, output))))
    bce = corten.add(bce, corten.multiply(corten.subtract(one, target),
                                          corten.log(corten.add(corten.subtract(one, output),
                                                                _scalar(eps, output)))))
    return corten.negative(bce)


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Binary cross-entropy averaged over ``axis``.

    Args:
        from_logits: y_pred are logits (uses the fused sigmoid cross-entropy kernel).
        label_smoothing: in [0, 1]; labels become ``y * (1 - ls) + 0.5 * ls``.
        axis: the axis the mean is computed over.
    """
    y_pred = _pred(y_pred)
    y_true = _true(y_true, y_pred)
    ls = float(label_smoothing)
    if ls:
        y_true = corten.add(corten.multiply(y_true, _scalar(1.0 - ls, y_true)),
                            _scalar(0.5 * ls, y_true))
    return corten.reduce_mean(_binary_crossentropy_backend(y_true, y_pred, from_logits), axis=axis)


def _check_axis(axis: Any, fn: str) -> int:
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis} of type "
                         f"{type(axis)}")
    return axis


def _check_categorical_shapes(y_true: Tensor, y_pred: Tensor, fn: str) -> None:
    ts, ps = _shape(y_true), _shape(y_pred)
    ok = len(ts) == len(ps) and all(a is None or b is None or a == b for a, b in zip(ts, ps))
    if ok:
        return
    msg = (f"{fn}: Shapes {ts} and {ps} are incompatible: y_true and y_pred must have the same "
           f"shape. Received: y_true.shape={ts}, y_pred.shape={ps}.")
    looks_sparse = (len(ps) >= 2 and (len(ts) == len(ps) - 1 and ts == ps[:-1]
                                      or (len(ts) == len(ps) and ts[:-1] == ps[:-1] and ts[-1] == 1)))
    if looks_sparse:
        msg += (f" y_true looks like integer class indices of shape {ts}, while y_pred has "
                f"{ps[-1]} classes; use sparse_categorical_crossentropy "
                "(keras.losses.SparseCategoricalCrossentropy) for integer labels, or one-hot "
                f"encode them to shape {ps}.")
    raise ValueError(msg)


def _categorical_crossentropy_backend(target: Tensor, output: Tensor, from_logits: bool,
                                      axis: int) -> Tensor:
    output, from_logits = _get_logits(output, from_logits, "Softmax", "categorical_crossentropy")
    if from_logits:
        return _C.softmax_cross_entropy_with_logits(target, output, axis)
    # Scale the predictions so that each sample's class probabilities sum to 1.
    output = corten.divide(output, corten.reduce_sum(output, axis=axis, keepdims=True))
    eps = backend.epsilon()
    output = _clip(output, eps, 1.0 - eps)
    return corten.negative(corten.reduce_sum(corten.multiply(target, corten.log(output)),
                                             axis=axis))


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Categorical cross-entropy over the class ``axis`` (one-hot or probability labels).

    Args:
        from_logits: y_pred are logits (uses the fused softmax cross-entropy kernel).
        label_smoothing: labels become ``y * (1 - ls) + ls / num_classes``.
        axis: the class axis.

    Raises:
        ValueError: y_true's shape differs from y_pred's (integer labels of shape (N,) or
            (N, 1) get a hint to use sparse_categorical_crossentropy).
    """
    axis = _check_axis(axis, "categorical_crossentropy")
    y_pred = _pred(y_pred)
    y_true = _true(y_true, y_pred)
    _check_categorical_shapes(y_true, y_pred, "categorical_crossentropy")
    if y_pred.ndim and _shape(y_pred)[-1] == 1:
        warnings.warn("In loss categorical_crossentropy, expected y_pred.shape to be "
                      "(batch_size, num_classes) with num_classes > 1. Received: y_pred.shape="
                      f"{_shape(y_pred)}. Consider using 'binary_crossentropy' if you only have "
                      "2 classes.", SyntaxWarning, stacklevel=2)
    ls = float(label_smoothing)
    if ls:
        num_classes = _shape(y_true)[axis]
        y_true = corten.add(corten.multiply(y_true, _scalar(1.0 - ls, y_true)),
                            _scalar(ls / num_classes, y_true))
    return _categorical_crossentropy_backend(y_true, y_pred, from_logits, axis)


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    axis: int = -1, ignore_class: int | None = None) -> Tensor:
    """Cross-entropy between integer labels and class scores along ``axis``.

    Labels have y_pred's shape without the class axis, or with a trailing size-1 dimension
    instead (``(N, 1)``); float labels are truncated to integers as in Keras.

    Args:
        from_logits: y_pred are logits; probabilities are otherwise clipped to [eps, 1 - eps]
            and their logarithm is used as logits (so rows are renormalised).
        axis: the class axis of y_pred.
        ignore_class: a label value whose entries get loss 0 and are excluded from the mean
            (the result carries ``_keras_mask``).

    Raises:
        IndexError: a label is outside [0, num_classes).
        ValueError: the label shape does not fit y_pred's.
    """
    y_pred = _pred(y_pred)
    y_true = corten.convert_to_tensor(y_true)
    target = y_true if y_true.dtype.name in ("int32", "int64") else corten.cast(y_true, "int64")
    output, from_logits = _get_logits(y_pred, from_logits, "Softmax",
                                      "sparse_categorical_crossentropy")
    if not from_logits:
        eps = backend.epsilon()
        output = corten.log(_clip(output, eps, 1.0 - eps))
    nd = output.ndim
    if nd == 0:
        raise ValueError("sparse_categorical_crossentropy: y_pred must have rank >= 1 (a class "
                         f"axis). Received: y_pred.shape={_shape(y_pred)}")
    if not -nd <= axis < nd:
        raise ValueError(f"sparse_categorical_crossentropy: axis {axis} is out of range for "
                         f"y_pred of rank {nd}. Received: axis={axis}")
    a = axis % nd
    expected = _shape(output)[:a] + _shape(output)[a + 1:]
    if _shape(target) != expected:
        n_t = math.prod(d for d in _shape(target) if d is not None)
        n_e = math.prod(d for d in expected if d is not None)
        if None in expected or None in _shape(target) or n_t != n_e:
            raise ValueError(
                "sparse_categorical_crossentropy: y_true must hold one integer label per sample: "
                f"shape {expected} (or {expected + (1,)}). Received: "
                f"y_true.shape={_shape(y_true)}, y_pred.shape={_shape(y_pred)}")
        target = corten.reshape(target, expected)
    if ignore_class is None:
        return _C.sparse_softmax_cross_entropy_with_logits(target, output, a)
    valid = corten.not_equal(target, corten.constant(int(ignore_class), dtype=target.dtype))
    safe = corten.where(valid, target, corten.zeros_like(target))
    res = _C.sparse_softmax_cross_entropy_with_logits(safe, output, a)
    res = corten.where(valid, res, corten.zeros_like(res))
    res._keras_mask = valid
    return res


def kl_divergence(y_true: Any, y_pred: Any) -> Tensor:
    """sum(y_true * log(y_true / y_pred), axis=-1), both clipped to [epsilon, 1]."""
    y_pred = _pred(y_pred)
    y_true = _true(y_true, y_pred)
    eps = backend.epsilon()
    y_true = _clip(y_true, eps, 1.0)
    y_pred = _clip(y_pred, eps, 1.0)
    return corten.reduce_sum(corten.multiply(y_true, corten.log(corten.divide(y_true, y_pred))),
                             axis=-1)


kullback_leibler_divergence = kl_divergence


def poisson(y_true: Any, y_pred: Any) -> Tensor:
    """mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)."""
    y_pred = _pred(y_pred)
    y_true = _true(y_true, y_pred)
    log_pred = corten.log(corten.add(y_pred, _scalar(backend.epsilon(), y_pred)))
    return _mean_last(corten.subtract(y_pred, corten.multiply(y_true, log_pred)))


def _maybe_convert_labels(y_true: Tensor) -> Tensor:
    """Labels in {0, 1} become {-1, 1} (decided on the values, as Keras does)."""
    zero, one = _scalar(0.0, y_true), _scalar(1.0, y_true)
    is_binary = corten.reduce_all(corten.logical_or(corten.equal(y_true, zero),
                                                    corten.equal(y_true, one)))
    converted = corten.subtract(corten.multiply(y_true, _scalar(2.0, y_true)), one)
    return corten.where(is_binary, converted, y_true)


def hinge(y_true: Any, y_pred: Any) -> Tensor:
    """mean(maximum(1 - y_true * y_pred, 0), axis=-1); 0/1 labels are converted to -1/1."""
    y_pred = _pred(y_pred)
    y_true = _maybe_convert_labels(_true(y_true, y_pred))
    margin = corten.subtract(_scalar(1.0, y_pred), corten.multiply(y_true, y_pred))
    return _mean_last(corten.maximum(margin, _scalar(0.0, y_pred)))


def squared_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1); 0/1 labels become -1/1."""
    y_pred = _pred(y_pred)
    y_true = _maybe_convert_labels(_true(y_true, y_pred))
    margin = corten.subtract(_scalar(1.0, y_pred), corten.multiply(y_true, y_pred))
    return _mean_last(corten.square(corten.maximum(margin, _scalar(0.0, y_pred))))


def categorical_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """maximum(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0) over the last axis."""
    y_pred = _pred(y_pred)
    y_true = _true(y_true, y_pred)
    pos = corten.reduce_sum(corten.multiply(y_true, y_pred), axis=-1)
    neg = corten.reduce_max(corten.multiply(corten.subtract(_scalar(1.0, y_true), y_true), y_pred),
                            axis=-1)
    return corten.maximum(corten.add(corten.subtract(neg, pos), _scalar(1.0, pos)),
                          _scalar(0.0, pos))


def l2_normalize(x: Tensor, axis: int = -1, epsilon: float = 1e-12) -> Tensor:
    """x / sqrt(max(sum(x**2, axis), epsilon))."""
    square_sum = corten.reduce_sum(corten.square(x), axis=axis, keepdims=True)
    return corten.multiply(x, corten.rsqrt(corten.maximum(square_sum, _scalar(epsilon, x))))


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis): -1 for identical directions
    (a loss to minimise; keras.metrics.cosine_similarity is the positive value)."""
    y_pred = _pred(y_pred)
    y_true = _true(y_true, y_pred)
    y_true = l2_normalize(y_true, axis=axis)
    y_pred = l2_normalize(y_pred, axis=axis)
    return corten.negative(corten.reduce_sum(corten.multiply(y_true, y_pred), axis=axis))


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence
bce = BCE = binary_crossentropy


# ----------------------------------------------------------------------------- Loss classes
class Loss:
    """Base class of losses: ``call(y_true, y_pred)`` gives per-sample losses, and
    ``__call__(y_true, y_pred, sample_weight=None)`` weights and reduces them.

    Args:
        reduction: one of ``keras.losses.Reduction`` (AUTO by default, i.e.
            SUM_OVER_BATCH_SIZE).
        name: the loss's name.

    Raises:
        ValueError: for an unknown reduction.
    """

    def __init__(self, reduction: str = Reduction.AUTO, name: str | None = None) -> None:
        Reduction.validate(reduction)
        self.reduction = reduction
        self.name = name
        self._allow_sum_over_batch_size = False

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        losses = self.call(y_true, y_pred)
        in_mask = get_mask(y_pred)
        out_mask = get_mask(losses)
        if in_mask is not None and out_mask is not None:
            mask = corten.logical_and(in_mask, out_mask)
        else:
            mask = in_mask if in_mask is not None else out_mask
        reduction = self._get_reduction()
        if sample_weight is not None or mask is not None:
            losses_t = corten.convert_to_tensor(losses)
            sample_weight = apply_valid_mask(losses_t, sample_weight, mask, reduction)
        return compute_weighted_loss(losses, sample_weight, reduction=reduction)

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        """The per-sample losses; subclasses implement it."""
        raise NotImplementedError("Must be implemented in subclasses.")

    def _get_reduction(self) -> str:
        if self.reduction == Reduction.AUTO:
            return Reduction.SUM_OVER_BATCH_SIZE
        return self.reduction

    def get_config(self) -> dict:
        return {"reduction": self.reduction, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__name__} name={self.name!r}>"


class LossFunctionWrapper(Loss):
    """A Loss around a function ``fn(y_true, y_pred, **kwargs)``.

    y_true and y_pred are first made rank-compatible (a trailing size-1 dimension is squeezed
    where the ranks differ by one), as in Keras.
    """

    def __init__(self, fn: Callable, reduction: str = Reduction.AUTO, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(reduction=reduction, name=name)
        if isinstance(fn, str):
            fn = get(fn)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        y_pred = corten.convert_to_tensor(y_pred)
        y_true = corten.convert_to_tensor(y_true)
        y_pred, y_true = squeeze_or_expand_dimensions(y_pred, y_true)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict:
        config = dict(super().get_config())
        for k, v in self._fn_kwargs.items():
            config[k] = v.numpy().tolist() if isinstance(v, Tensor) else v
        if type(self) is LossFunctionWrapper:
            config["fn"] = getattr(self.fn, "__name__", None)
        return config

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        config = dict(config)
        if cls is LossFunctionWrapper and isinstance(config.get("fn"), str):
            config["fn"] = get(config["fn"])
        return cls(**config)


class MeanSquaredError(LossFunctionWrapper):
    """mean(square(y_true - y_pred)) per sample."""

    def __init__(self, reduction: str = Reduction.AUTO, name: str = "mean_squared_error"):
        super().__init__(mean_squared_error, name=name, reduction=reduction)


class MeanAbsoluteError(LossFunctionWrapper):
    """mean(abs(y_true - y_pred)) per sample."""

    def __init__(self, reduction: str = Reduction.AUTO, name: str = "mean_absolute_error"):
        super().__init__(mean_absolute_error, name=name, reduction=reduction)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """100 * mean(abs((y_true - y_pred) / y_true)) per sample."""

    def __init__(self, reduction: str = Reduction.AUTO,
                 name: str = "mean_absolute_percentage_error"):
        super().__init__(mean_absolute_percentage_error, name=name, reduction=reduction)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """mean(square(log(y_true + 1) - log(y_pred + 1))) per sample."""

    def __init__(self, reduction: str = Reduction.AUTO,
                 name: str = "mean_squared_logarithmic_error"):
        super().__init__(mean_squared_logarithmic_error, name=name, reduction=reduction)


class Huber(LossFunctionWrapper):
    """Quadratic for errors up to ``delta``, linear beyond."""

    def __init__(self, delta: float = 1.0, reduction: str = Reduction.AUTO,
                 name: str = "huber_loss"):
        super().__init__(huber, name=name, reduction=reduction, delta=delta)


class LogCosh(LossFunctionWrapper):
    """mean(log(cosh(y_pred - y_true))) per sample."""

    def __init__(self, reduction: str = Reduction.AUTO, name: str = "log_cosh"):
        super().__init__(log_cosh, name=name, reduction=reduction)


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy (sigmoid outputs, or logits with ``from_logits=True``)."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str = Reduction.AUTO, name: str = "binary_crossentropy"):
        super().__init__(binary_crossentropy, name=name, reduction=reduction,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits


class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy with one-hot (or probability) labels."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str = Reduction.AUTO, name: str = "categorical_crossentropy"):
        super().__init__(categorical_crossentropy, name=name, reduction=reduction,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy with integer labels; ``ignore_class`` entries are excluded."""

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str = Reduction.AUTO, name: str = "sparse_categorical_crossentropy"):
        super().__init__(sparse_categorical_crossentropy, name=name, reduction=reduction,
                         from_logits=from_logits, ignore_class=ignore_class)


class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence sum(y_true * log(y_true / y_pred)) per sample."""

    def __init__(self, reduction: str = Reduction.AUTO, name: str = "kl_divergence"):
        super().__init__(kl_divergence, name=name, reduction=reduction)


class Poisson(LossFunctionWrapper):
    """mean(y_pred - y_true * log(y_pred)) per sample."""

    def __init__(self, reduction: str = Reduction.AUTO, name: str = "poisson"):
        super().__init__(poisson, name=name, reduction=reduction)


class Hinge(LossFunctionWrapper):
    """mean(maximum(1 - y_true * y_pred, 0)) per sample (labels -1/1 or 0/1)."""

    def __init__(self, reduction: str = Reduction.AUTO, name: str = "hinge"):
        super().__init__(hinge, name=name, reduction=reduction)


class SquaredHinge(LossFunctionWrapper):
    """mean(square(maximum(1 - y_true * y_pred, 0))) per sample."""

    def __init__(self, reduction: str = Reduction.AUTO, name: str = "squared_hinge"):
        super().__init__(squared_hinge, name=name, reduction=reduction)


class CategoricalHinge(LossFunctionWrapper):
    """maximum(neg - pos + 1, 0) with one-hot labels."""

    def __init__(self, reduction: str = Reduction.AUTO, name: str = "categorical_hinge"):
        super().__init__(categorical_hinge, name=name, reduction=reduction)


class CosineSimilarity(LossFunctionWrapper):
    """-cosine similarity along ``axis`` (values in [-1, 1]; -1 is best)."""

    def __init__(self, axis: int = -1, reduction: str = Reduction.AUTO,
                 name: str = "cosine_similarity"):
        super().__init__(cosine_similarity, name=name, reduction=reduction, axis=axis)


# ---------------------------------------------------------------------- (de)serialization
_CLASSES = {c.__name__: c for c in (
    Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, Huber, LogCosh, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy, KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge,
    CosineSimilarity)}

_FUNCTIONS: dict[str, Callable] = {
    "mean_squared_error": mean_squared_error, "mse": mse, "MSE": MSE,
    "mean_absolute_error": mean_absolute_error, "mae": mae, "MAE": MAE,
    "mean_absolute_percentage_error": mean_absolute_percentage_error, "mape": mape,
    "MAPE": MAPE,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error, "msle": msle,
    "MSLE": MSLE,
    "huber": huber, "huber_loss": huber, "log_cosh": log_cosh, "logcosh": logcosh,
    "binary_crossentropy": binary_crossentropy, "bce": bce, "BCE": BCE,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "kl_divergence": kl_divergence, "kullback_leibler_divergence": kullback_leibler_divergence,
    "kld": kld, "KLD": KLD, "poisson": poisson, "hinge": hinge, "squared_hinge": squared_hinge,
    "categorical_hinge": categorical_hinge, "cosine_similarity": cosine_similarity,
}


def serialize(loss: Any) -> Any:
    """A Loss object as ``{"class_name": ..., "config": ...}``; a built-in loss function as its
    name ("mean_squared_error")."""
    if loss is None:
        return None
    if isinstance(loss, Loss):
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    name = getattr(loss, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize {loss!r}: expected a Loss object or a loss function. "
                         f"Received: loss={loss!r}")
    return name


def deserialize(name: Any, custom_objects: dict | None = None) -> Any:
    """A loss from ``serialize``'s output: a string (function or class name) or a dict.

    A class name given as a string is instantiated with its defaults; a function name gives the
    function.

    Raises:
        ValueError: for an unknown name.
    """
    return _lookup.deserialize(name, custom_objects, _CLASSES, _FUNCTIONS, "loss function")


def get(identifier: Any) -> Any:
    """A loss from an identifier: None, a name ("mse", "categorical_crossentropy",
    "MeanSquaredError"), a serialized dict, or a callable (returned as is).

    Raises:
        ValueError: the identifier cannot be interpreted.
    """
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret loss function identifier: {identifier}")
