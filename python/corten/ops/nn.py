"""Neural-network ops: activations, softmax, dropout."""

from __future__ import annotations

from typing import Any

from corten import _C
from corten.ops import _seed
from corten.ops import _symbolic as _sym

Tensor = _C.Tensor

__all__ = ["relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "softplus", "softsign", "silu",
           "swish", "softmax", "log_softmax", "softmax_cross_entropy_with_logits",
           "sparse_softmax_cross_entropy_with_logits", "sigmoid_cross_entropy_with_logits",
           "scaled_dot_product_attention"]


def relu(features: Any, name: str | None = None) -> Tensor:
    """max(features, 0)."""
    if _sym.active and (type(features) is _sym.KT):
        return _sym.op_node(relu, (features, name), {})
    return _C.relu(features)


def relu6(features: Any, name: str | None = None) -> Tensor:
    """min(max(features, 0), 6)."""
    if _sym.active and (type(features) is _sym.KT):
        return _sym.op_node(relu6, (features, name), {})
    return _C.relu6(features)


def leaky_relu(features: Any, alpha: float = 0.2, name: str | None = None) -> Tensor:
    """features if features > 0 else alpha * features."""
    if _sym.active and (type(features) is _sym.KT):
        return _sym.op_node(leaky_relu, (features, alpha, name), {})
    return _C.leaky_relu(features, float(alpha))


def elu(features: Any, name: str | None = None) -> Tensor:
    """features if features > 0 else exp(features) - 1."""
    if _sym.active and (type(features) is _sym.KT):
        return _sym.op_node(elu, (features, name), {})
    return _C.elu(features, 1.0)


def selu(features: Any, name: str | None = None) -> Tensor:
    """Scaled ELU with the constants of Klambauer et al. (2017)."""
    if _sym.active and (type(features) is _sym.KT):
        return _sym.op_node(selu, (features, name), {})
    return _C.selu(features)


def gelu(features: Any, approximate: bool = False, name: str | None = None) -> Tensor:
    """Gaussian error linear unit: x * Phi(x), or its tanh approximation."""
    if _sym.active and (type(features) is _sym.KT):
        return _sym.op_node(gelu, (features, approximate, name), {})
    return _C.gelu_tanh(features) if approximate else _C.gelu(features)


def softplus(features: Any, name: str | None = None) -> Tensor:
    """log(exp(features) + 1), computed without overflow."""
    if _sym.active and (type(features) is _sym.KT):
        return _sym.op_node(softplus, (features, name), {})
    return _C.softplus(features)


def softsign(features: Any, name: str | None = None) -> Tensor:
    """features / (abs(features) + 1)."""
    if _sym.active and (type(features) is _sym.KT):
        return _sym.op_node(softsign, (features, name), {})
    return _C.softsign(features)


def silu(features: Any, beta: float = 1.0, name: str | None = None) -> Tensor:
    """features * sigmoid(beta * features)."""
    if _sym.active and (type(features) is _sym.KT):
        return _sym.op_node(silu, (features, beta, name), {})
    if beta == 1.0:
        return _C.silu(features)
    return _C.multiply(features, _C.sigmoid(_C.multiply(features, beta)))


swish = silu


def hard_sigmoid(features: Any, name: str | None = None) -> Tensor:
    """clip(0.2 * features + 0.5, 0, 1): Keras 2's piecewise linear sigmoid (not in tf.nn;
    keras.activations.hard_sigmoid calls it)."""
    if _sym.active and (type(features) is _sym.KT):
        return _sym.op_node(hard_sigmoid, (features, name), {})
    return _C.hard_sigmoid(features)


def layer_norm(x: Any, gamma: Any = None, beta: Any = None, epsilon: float = 1e-3,
               name: str | None = None) -> Tensor:
    """(x - mean) / sqrt(var + epsilon) * gamma + beta over the last axis, one fused C++ kernel
    each way (keras.layers.LayerNormalization calls it; not in tf.nn)."""
    if _sym.active and (type(x) is _sym.KT or type(gamma) is _sym.KT or type(beta) is _sym.KT):
        return _sym.op_node(layer_norm, (x, gamma, beta, epsilon, name), {})
    return _C.layer_norm(x, gamma, beta, float(epsilon))


def batch_norm(x: Any, gamma: Any = None, beta: Any = None, moving_mean: Any = None,
               moving_variance: Any = None, axis: int = -1, training: bool = False,
               momentum: float = 0.99, epsilon: float = 1e-3, bessel: bool = False,
               mask: Any = None, name: str | None = None) -> Tensor:
    """Batch normalisation of `x` per channel along `axis`, one fused C++ kernel each way
    (keras.layers.BatchNormalization calls it; not in tf.nn).

    Args:
        x: a float32 or float64 tensor.
        gamma, beta: the scale and offset (C values each), or None.
        moving_mean, moving_variance: Variables of C values. In training they are updated in
            place (moving -= (moving - batch) * (1 - momentum)) when given; in inference they
            are the statistics used.
        axis: the channel axis.
        training: normalise with the batch statistics (True) or the moving ones (False).
        momentum: of the moving averages.
        epsilon: added to the variance.
        bessel: update the moving variance with the unbiased batch variance (Keras's fused path,
            Note [Batch norm variance] in csrc/cpu/batch_norm.cpp).
        mask: None, or weights of the positions (x.shape without its last axis, which must be
            `axis`; booleans are converted): in training the batch statistics are the weighted
            ones (Keras's masked moments). Every position is normalised.

    Returns:
        A tensor of x's shape and dtype.
    """
    if _sym.active and (type(x) is _sym.KT or type(gamma) is _sym.KT or type(beta) is _sym.KT):
        return _sym.op_node(batch_norm, (x, gamma, beta, moving_mean, moving_variance, axis,
                                         training, momentum, epsilon, bessel, mask, name), {})
    if mask is not None:
        from corten.ops.creation import convert_to_tensor
        from corten.ops.math import cast

        x = convert_to_tensor(x)
        mask = cast(convert_to_tensor(mask), x.dtype)
    return _C.batch_norm(x, gamma, beta, moving_mean, moving_variance, int(axis), bool(training),
                         float(momentum), float(epsilon), bool(bessel), mask)


def group_norm(x: Any, gamma: Any = None, beta: Any = None, groups: int = 32, axis: int = -1,
               epsilon: float = 1e-3, name: str | None = None) -> Tensor:
    """Group normalisation, one fused C++ kernel each way (keras.layers.GroupNormalization).

    Args:
        x: a float tensor of rank >= 2 (batch first).
        gamma, beta: per-channel scale and offset, or None.
        groups: how many groups the channels of `axis` form (it must divide them).
        axis: the channel axis (not 0).
        epsilon: added to each group's variance.

    Returns:
        A tensor of x's shape and dtype.
    """
    if _sym.active and (type(x) is _sym.KT or type(gamma) is _sym.KT or type(beta) is _sym.KT):
        return _sym.op_node(group_norm, (x, gamma, beta, groups, axis, epsilon, name), {})
    return _C.group_norm(x, gamma, beta, int(groups), int(axis), float(epsilon))


def unit_norm(x: Any, epsilon: float = 1e-12, name: str | None = None) -> Tensor:
    """x / sqrt(max(sum(x^2), epsilon)) over the last axis, one fused C++ kernel each way
    (keras.layers.UnitNormalization; tf.math.l2_normalize over the last axis).

    Args:
        x: a float tensor of rank >= 1.
        epsilon: the floor of the sum of squares.

    Returns:
        A tensor of x's shape and dtype.
    """
    if _sym.active and type(x) is _sym.KT:
        return _sym.op_node(unit_norm, (x, epsilon, name), {})
    return _C.unit_norm(x, float(epsilon))


def softmax(logits: Any, axis: int | None = None, name: str | None = None) -> Tensor:
    """exp(logits) / sum(exp(logits)) along `axis` (-1 when None), computed without overflow.

    Raises:
        ValueError: the axis is out of range or logits is a scalar.
        TypeError: the dtype is not floating.
    """
    if _sym.active and (type(logits) is _sym.KT):
        return _sym.op_node(softmax, (logits, axis, name), {})
    return _C.softmax(logits, -1 if axis is None else int(axis))


def log_softmax(logits: Any, axis: int | None = None, name: str | None = None) -> Tensor:
    """logits - log(sum(exp(logits))) along `axis` (-1 when None), computed without overflow."""
    if _sym.active and (type(logits) is _sym.KT):
        return _sym.op_node(log_softmax, (logits, axis, name), {})
    return _C.log_softmax(logits, -1 if axis is None else int(axis))


def softmax_cross_entropy_with_logits(labels: Any, logits: Any, axis: int = -1,
                                      name: str | None = None) -> Tensor:
    """-sum(labels * log_softmax(logits)) along `axis`: one loss per example, in one fused pass.

    Args:
        labels: class probabilities of the logits' shape.
        logits: unscaled log-probabilities.
        axis: the class dimension.

    Returns:
        The losses, of the logits' shape without `axis`.
    """
    if _sym.active and _sym.any_keras((labels, logits)):
        return _sym.op_node(softmax_cross_entropy_with_logits, (labels, logits, axis, name), {})
    return _C.softmax_cross_entropy_with_logits(labels, logits, int(axis))


def sparse_softmax_cross_entropy_with_logits(labels: Any, logits: Any,
                                             name: str | None = None) -> Tensor:
    """-log_softmax(logits)[labels] over the last dimension: one loss per example.

    Args:
        labels: int32 or int64 class indices, of the logits' shape without its last dimension.
        logits: unscaled log-probabilities (..., num_classes).

    Returns:
        The losses, of the labels' shape.

    Raises:
        ValueError: for mismatched shapes, or a label outside [0, num_classes) (naming it).
    """
    if _sym.active and _sym.any_keras((labels, logits)):
        return _sym.op_node(sparse_softmax_cross_entropy_with_logits, (labels, logits, name), {})
    return _C.sparse_softmax_cross_entropy_with_logits(labels, logits, -1)


def sigmoid_cross_entropy_with_logits(labels: Any = None, logits: Any = None,
                                      name: str | None = None) -> Tensor:
    """Elementwise logistic loss max(x, 0) - x * z + log(1 + exp(-|x|)), x the logits and z
    the labels, stable for any x.

    Args:
        labels: targets in [0, 1], of the logits' shape.
        logits: unscaled log-odds.

    Returns:
        The losses, of the logits' shape.
    """
    if labels is None or logits is None:
        raise ValueError("sigmoid_cross_entropy_with_logits: both labels and logits must be "
                         f"given; got labels={labels!r}, logits={logits!r}")
    if _sym.active and _sym.any_keras((labels, logits)):
        return _sym.op_node(sigmoid_cross_entropy_with_logits, (labels, logits, name), {})
    return _C.sigmoid_cross_entropy_with_logits(labels, logits)


def scaled_dot_product_attention(query: Any, key: Any, value: Any, attention_mask: Any = None,
                                 causal: bool = False, scale: float | None = None,
                                 dropout_rate: float = 0.0, seed: int | None = None,
                                 reference: bool = False, name: str | None = None,
                                 kernel: str = "auto") -> Tensor:
    """softmax(query key^T * scale + masks) value per batch entry and head, one fused tiled C++
    kernel each way (the flash-attention scheme; MultiHeadAttention's core), or for at most 64
    keys the same computation as batched matmul, softmax and dropout ops, which measured faster
    there (Note [Direct attention for few keys]).

    Args:
        query: (batch, Tq, heads, depth), float32 or float64.
        key: (batch, Tk, heads, depth), the query's dtype.
        value: (batch, Tk, heads, value_depth), the query's dtype.
        attention_mask: bool, broadcastable to (batch, heads, Tq, Tk); True where a query may
            attend a key (Keras's ``attention_mask``), or None. A row whose keys are all masked
            gets uniform weights over every key, as Keras's masked softmax gives in float32.
        causal: query i attends only keys j <= i (Keras's ``use_causal_mask``).
        scale: multiplies the scores; None means ``1 / sqrt(depth)``.
        dropout_rate: dropout of the attention probabilities, in [0, 1); the mask comes from
            the stateful random stream of ``seed`` (combined with the global seed), so that
            each call (and each replay of a traced function) draws a new one.
        reference: run the plain reference kernels that materialise the scores (for tests).
        kernel: "auto" (direct for at most 64 keys on the CPU, else tiled), "tiled" or
            "direct"; every choice gives the same values up to float32 rounding, and with
            dropout the same mask.

    Returns:
        (batch, Tq, heads, value_depth), the query's dtype.

    Raises:
        ValueError: ranks other than 4, mismatched batch, heads, depth or key/value lengths, a
            mask that does not broadcast, a dropout rate outside [0, 1).
        TypeError: non-floating or mixed dtypes, a non-bool mask.
    """
    if _sym.active and any(type(t) is _sym.KT for t in (query, key, value, attention_mask)):
        return _sym.op_node(scaled_dot_product_attention,
                            (query, key, value, attention_mask, causal, scale, dropout_rate,
                             seed, reference, name, kernel), {})
    dropout_rate = float(dropout_rate)
    seed_key = _seed.stateful_key(seed) if dropout_rate > 0 else 0
    return _C.scaled_dot_product_attention(query, key, value, attention_mask, bool(causal),
                                           None if scale is None else float(scale),
                                           dropout_rate, seed_key, None, bool(reference),
                                           str(kernel))
