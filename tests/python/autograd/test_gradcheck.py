"""Finite-difference checks of every backward rule.

CASES maps each differentiable op (every name in ``_C.differentiable_ops()``, plus composite
public functions such as clip_by_value) to float64 gradient checks over several shapes,
broadcasting where the op broadcasts, and non-contiguous inputs. A new differentiable op, or a new
public function of corten, corten.math or corten.nn, fails the coverage tests below until it gets
a case here (or, for functions, a reason in NON_DIFFERENTIABLE).

The ``*_grad`` ops (backward ops with their own backward) are checked through the function
``g -> tape.gradient(op(x), x, output_gradients=g)``, so their rows are second derivatives.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable

import numpy as np
import pytest
from gradcheck import check_gradients

from cases import OP_CASES, U, P, away, distinct

import corten as tf
from corten import _C


@dataclasses.dataclass
class Case:
    fn: Callable
    inputs: list
    layouts: list | None = None
    eps: float = 1e-6
    rtol: float = 1e-6
    atol: float = 1e-8


_rng = np.random.default_rng(20240618)


def vjp(op: Callable) -> Callable:
    """(x, g) -> the gradient of op at x for the output gradient g (recorded by outer tapes)."""

    def fn(x, g):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = op(x)
        return tape.gradient(y, x, output_gradients=g)

    return fn


def unary(f, gen, **kw) -> list[Case]:
    return [
        Case(f, [gen(3, 4)], **kw),
        Case(f, [gen(5)], **kw),
        Case(f, [gen()], **kw),
        Case(f, [gen(4, 3)], ["transposed"], **kw),
        Case(f, [gen(2, 3)], ["strided"], **kw),
    ]


def binary(f, gen_a, gen_b=None, **kw) -> list[Case]:
    gen_b = gen_b or gen_a
    return [
        Case(f, [gen_a(3, 4), gen_b(3, 4)], **kw),
        Case(f, [gen_a(3, 1), gen_b(1, 4)], **kw),
        Case(f, [gen_a(4), gen_b(2, 3, 4)], **kw),
        Case(f, [gen_a(), gen_b(3)], **kw),
        Case(f, [gen_a(4, 3), gen_b(4, 3)], ["transposed", "strided"], **kw),
    ]


def reductions(f, gen) -> list[Case]:
    return [
        Case(lambda x: f(x), [gen(3, 4)]),
        Case(lambda x: f(x, axis=1, keepdims=True), [gen(3, 4)]),
        Case(lambda x: f(x, axis=[0, 2]), [gen(2, 3, 4)]),
        Case(lambda x: f(x, axis=0), [gen(4, 3)], ["transposed"]),
        Case(lambda x: f(x, axis=-1), [gen(5)]),
    ]


def maxmin(f) -> list[Case]:
    # Operands at least 0.15 apart, also under broadcasting (no ties).
    a, b = distinct(3, 4), _rng.choice([-0.15, 0.15], (3, 4))
    c, d = distinct(4, 3), _rng.choice([-0.15, 0.15], (4, 3))
    return [
        Case(f, [a, a + b]),
        Case(f, [np.array([[0.0], [1.0], [2.0]]), np.array([[0.5, 1.5, 2.5, -0.5]])]),
        Case(f, [c, c + d], ["transposed", "strided"]),
        Case(f, [np.array(0.1), np.array([-1.0, 0.6, 2.0])]),
    ]


def floormod_inputs():
    b = _rng.choice([-1.0, 1.0], (3, 4)) * _rng.uniform(1.0, 2.0, (3, 4))
    a = b * (_rng.integers(-2, 3, (3, 4)) + _rng.uniform(0.2, 0.8, (3, 4)))
    bb = np.array([[1.5, -1.2, 2.0, 1.1]])
    ab = bb * (_rng.integers(-2, 3, (3, 4)) + _rng.uniform(0.2, 0.8, (3, 4)))
    return [Case(tf.math.floormod, [a, b]), Case(tf.math.floormod, [ab, bb]),
            Case(tf.math.floormod, [a.T, b.T], ["transposed", "strided"])]


_COND = np.array([[True, False, True, True],
                  [False, False, True, False],
                  [True, True, False, True]])
_COND_BC = np.array([[True], [False], [True]])


def _pad(mode, paddings, value=0.0):
    return lambda x: tf.pad(x, paddings, mode=mode, constant_values=value)


def _gather(indices, axis=None, batch_dims=0):
    idx = tf.constant(np.asarray(indices, dtype=np.int32))
    return lambda p: tf.gather(p, idx, axis=axis, batch_dims=batch_dims)


def _dropout(rate, noise_shape=None):
    # A fixed Philox key and offset: every call draws the same mask.
    return lambda x: _C.dropout(x, rate, noise_shape, 1234, 0)


def _attention(mask=None, causal=False, rate=0.0):
    # Dropout at a fixed Philox key and offset: every call draws the same mask.
    return lambda q, k, v: _C.scaled_dot_product_attention(q, k, v, mask, causal, None, rate,
                                                           99, 0 if rate else None)


_ATTENTION_MASK = np.array([[1, 1, 0, 1, 0], [0, 0, 0, 0, 0], [1, 0, 1, 1, 1]], bool)


def _clip(x, lo, hi):
    return tf.clip_by_value(x, lo, hi)


_P23 = [[1, 1], [2, 2]]
_P234 = [[1, 0], [0, 2], [2, 1]]

def _layer_norm(x, g, b, eps):
    from corten.ops.nn import layer_norm

    return layer_norm(x, g, b, eps)


def _batch_norm(x, g, b, axis, training, mask=None):
    from corten.ops.nn import batch_norm

    c = x.shape[axis]
    mm = tf.constant(np.linspace(-0.5, 0.5, c))
    mv = tf.constant(np.linspace(0.5, 2.0, c))
    return batch_norm(x, g, b, None if training else mm, None if training else mv, axis,
                      training, 0.9, 1e-3, mask=None if mask is None else np.array(mask, bool))


def _group_norm(x, g, b, groups, axis):
    from corten.ops.nn import group_norm

    return group_norm(x, g, b, groups, axis, 1e-3)


def _unit_norm(x):
    from corten.ops.nn import unit_norm

    return unit_norm(x)


def _rnn_sequence(cell, go_backwards=False, masked=False):
    """rnn_sequence's outputs flattened into one vector, for the inputs (xw, h0[, c0], U[, rb])."""
    def fn(xw, h0, *rest):
        c0 = rest[0] if cell == "lstm" else None
        u = rest[1] if cell == "lstm" else rest[0]
        rb = rest[1] if cell == "gru" else None
        mask = np.array([[1, 0, 1, 1], [0, 1, 1, 0]], bool) if masked else None
        outs = _C.rnn_sequence(cell, xw, h0, c0, u, rb, mask, None, "tanh", "sigmoid",
                               go_backwards, False)
        return tf.concat([tf.reshape(o, [-1]) for o in outs], 0)
    return fn


def _rnn_projected(cell, batch_major=False, masked=False, return_sequences=True):
    """rnn_sequence projecting its input itself, for the inputs (x, h0[, c0], U[, rb], kernel,
    bias)."""
    def fn(x, h0, *rest):
        rest = list(rest)
        c0 = rest.pop(0) if cell == "lstm" else None
        u = rest.pop(0)
        rb = rest.pop(0) if cell == "gru" else None
        w, b = rest
        mask = np.array([[1, 0, 1, 1], [0, 1, 1, 0]], bool) if masked else None
        outs = _C.rnn_sequence(cell, x, h0, c0, u, rb, mask, None, "tanh", "sigmoid", False,
                               False, kernel=w, bias=b, batch_major=batch_major,
                               return_sequences=return_sequences)
        return tf.concat([tf.reshape(o, [-1]) for o in outs], 0)
    return fn


def _linear(x, w, b, act):
    from corten.ops.linalg import linear

    return linear(x, w, b, act)


def _pool(kind, k, s, padding, cf=False):
    from corten import _C

    fn = _C.max_pool if kind == "max" else _C.avg_pool
    return lambda x: fn(x, k, s, padding, cf)


def _depthwise(s, padding, d, cf=False):
    from corten.ops.pooling import depthwise_conv

    return lambda x, w, b=None: depthwise_conv(x, w, b, s, padding, d, cf)


def _resize(size, method, cf=False):
    from corten.ops.pooling import resize

    return lambda x: resize(x, size, method, channels_first=cf)


# Elementwise ops whose gradient check needs special inputs; the others are generated from
# their OpCase's gradient samplers (tests/python/ops/cases.py).
CUSTOM_ELEMENTWISE: dict[str, list[Case]] = {
    "maximum": maxmin(tf.maximum),
    "minimum": maxmin(tf.minimum),
    "floormod": floormod_inputs(),
    "leaky_relu": unary(lambda x: tf.nn.leaky_relu(x, alpha=0.3), away),
    "silu": unary(tf.nn.silu, U) + [Case(lambda x: tf.nn.silu(x, beta=1.5), [U(3, 4)])],
}


def _elementwise_cases(op) -> list[Case]:
    if op.name in CUSTOM_ELEMENTWISE:
        return CUSTOM_ELEMENTWISE[op.name]
    return unary(op.fn, *op.grad) if op.arity == 1 else binary(op.fn, *op.grad)


CASES: dict[str, list[Case]] = {
    **{op.name: _elementwise_cases(op) for op in OP_CASES.values() if op.grad is not None},
    "where": [
        Case(lambda x, y: tf.where(tf.constant(_COND), x, y), [U(3, 4), U(3, 4)]),
        Case(lambda x, y: tf.where(tf.constant(_COND), x, y), [U(3, 1), U(1, 4)]),
        Case(lambda x, y: tf.where(tf.constant(_COND_BC), x, y), [U(4), U(3, 4)],
             ["contiguous", "transposed"]),
    ],
    "cast": [
        # Through float32: the differences need a wider step and looser bounds.
        Case(lambda x: tf.cast(tf.square(tf.cast(x, tf.float32)), tf.float64), [U(3, 4)],
             eps=1e-3, rtol=1e-3, atol=1e-3),
        Case(lambda x: tf.cast(tf.cast(x, tf.float32) * 2.0, tf.float64), [U(4, 3)],
             ["transposed"], eps=1e-2, rtol=1e-4, atol=1e-4),
    ],
    "clip_by_value": [
        Case(_clip, [away(3, 4, kinks=(-0.5, 0.7)), np.array(-0.5), np.array(0.7)]),
        Case(_clip, [away(3, 4, kinks=(-1.0, -0.2, 0.5, 1.1, 1.6, 0.7, 1.3)),
                     np.array([[-1.0], [-0.2], [0.5]]), np.array([[1.1, 1.6, 0.7, 1.3]])]),
        Case(_clip, [away(4, 3, kinks=(-0.5, 0.7)), np.array(-0.5), np.array(0.7)],
             ["transposed", "contiguous", "contiguous"]),
    ],
    # Linear algebra.
    "linear": [
        Case(lambda x, w, b: _linear(x, w, b, act), [U(3, 4), U(4, 2), U(2)])
        for act in ("linear", "relu", "sigmoid", "tanh", "gelu")
    ] + [
        Case(lambda x, w: _linear(x, w, None, "tanh"), [U(2, 3, 4), U(4, 5)]),
        Case(lambda x, w, b: _linear(x, w, b, "sigmoid"), [U(3, 4), U(4, 2), U(2)],
             ["transposed", "strided", "contiguous"]),
    ],
    "softmax_cross_entropy_with_logits": [
        Case(lambda y, z: _C.softmax_cross_entropy_with_logits(y, z), [P(3, 4), U(3, 4)]),
        Case(lambda y, z: _C.softmax_cross_entropy_with_logits(y, z, axis=0), [P(4, 2), U(4, 2)],
             ["transposed", "strided"]),
    ],
    "reduce_grad": [
        Case(lambda g: _C.reduce_grad("mean", g, np.zeros((3, 4, 2)), [0, 1, 0], False), [U(3, 2)]),
        Case(lambda g: _C.reduce_grad("sum", g, np.zeros((3, 4)), [1, 1], True), [U(1, 1)]),
    ],
    "sparse_softmax_cross_entropy_with_logits": [
        Case(lambda z: _C.sparse_softmax_cross_entropy_with_logits(np.array([2, 0, 1]), z),
             [U(3, 4)]),
        Case(lambda z: _C.sparse_softmax_cross_entropy_with_logits(np.array([[1], [0]]), z),
             [U(2, 1, 3)]),
    ],
    "sigmoid_cross_entropy_with_logits": [
        Case(lambda y, z: _C.sigmoid_cross_entropy_with_logits(y, z), [P(3, 4, hi=1.0), U(3, 4)]),
        Case(lambda y, z: _C.sigmoid_cross_entropy_with_logits(y, z), [P(5, lo=0.0, hi=1.0), U(5)],
             ["strided", "transposed"]),
    ],
    "matmul": [
        Case(tf.matmul, [U(2, 3), U(3, 4)]),
        Case(tf.matmul, [U(2, 2, 3), U(1, 3, 4)]),
        Case(tf.matmul, [U(3, 2, 3), U(3, 2)]),
        Case(lambda a, b: tf.matmul(a, b, transpose_a=True), [U(3, 2), U(3, 4)]),
        Case(lambda a, b: tf.matmul(a, b, transpose_b=True), [U(2, 3), U(4, 3)]),
        Case(lambda a, b: tf.matmul(a, b, transpose_a=True, transpose_b=True),
             [U(2, 3, 2), U(4, 3)]),
        Case(tf.matmul, [U(2, 3), U(3, 4)], ["transposed", "strided"]),
    ],
    # Composite (ops/einsum.py): transposes, reshapes, matmul, reduce_sum, multiply, band_part.
    "einsum": [
        Case(lambda a, b: tf.einsum("abc,cde->abde", a, b), [U(2, 3, 2), U(2, 2, 3)]),
        Case(lambda k, q: tf.einsum("aecd,abcd->acbe", k, q), [U(2, 3, 2, 2), U(2, 2, 2, 2)],
             ["transposed", "strided"]),
        Case(lambda a, b: tf.einsum("...ij,...jk->...ik", a, b), [U(2, 1, 2, 3), U(1, 2, 3, 2)]),
        Case(lambda a, b, c: tf.einsum("ii,i,j->ij", a, b, c), [U(3, 3), U(3), U(2)]),
    ],
    # Composite: a mask from index comparisons and where.
    "band_part": [
        Case(lambda x: tf.linalg.band_part(x, 1, 0), [U(3, 4)]),
        Case(lambda x: tf.linalg.band_part(x, 0, -1), [U(2, 3, 3)], ["transposed"]),
    ],
    # Reductions.
    "reduce_sum": reductions(tf.reduce_sum, U),
    "reduce_mean": reductions(tf.reduce_mean, U),
    "reduce_max": reductions(tf.reduce_max, distinct),
    "reduce_min": reductions(tf.reduce_min, distinct),
    "reduce_prod": reductions(tf.reduce_prod, lambda *s: away(*s, margin=0.3, lo=-1.5, hi=1.5)) + [
        # One zero: only its gradient is nonzero; two zeros: all gradients are zero.
        Case(lambda x: tf.reduce_prod(x, axis=1), [np.array([[0.0, 2.0, -1.5], [1.2, 0.0, 0.0]])]),
    ],
    "reduce_logsumexp": reductions(tf.reduce_logsumexp, U),
    # Softmax and its backward ops.
    "softmax": [
        Case(tf.nn.softmax, [U(3, 4)]),
        Case(lambda x: tf.nn.softmax(x, axis=0), [U(3, 4)]),
        Case(lambda x: tf.nn.softmax(x, axis=1), [U(2, 3, 4)]),
        Case(tf.nn.softmax, [U(5)]),
        Case(lambda x: tf.nn.softmax(x, axis=0), [U(4, 3)], ["transposed"]),
        Case(tf.nn.softmax, [U(2, 3)], ["strided"]),
    ],
    "log_softmax": [
        Case(tf.nn.log_softmax, [U(3, 4)]),
        Case(lambda x: tf.nn.log_softmax(x, axis=0), [U(3, 4)]),
        Case(lambda x: tf.nn.log_softmax(x, axis=1), [U(2, 3, 4)]),
        Case(lambda x: tf.nn.log_softmax(x, axis=0), [U(4, 3)], ["transposed"]),
        Case(tf.nn.log_softmax, [U(2, 3)], ["strided"]),
    ],
    "softmax_grad": [
        Case(vjp(tf.nn.softmax), [U(3, 4), U(3, 4)]),
        Case(vjp(lambda x: tf.nn.softmax(x, axis=1)), [U(2, 3, 4), U(2, 3, 4)]),
        Case(vjp(lambda x: tf.nn.softmax(x, axis=0)), [U(4, 3), U(4, 3)],
             ["transposed", "strided"]),
    ],
    "log_softmax_grad": [
        Case(vjp(tf.nn.log_softmax), [U(3, 4), U(3, 4)]),
        Case(vjp(lambda x: tf.nn.log_softmax(x, axis=1)), [U(2, 3, 4), U(2, 3, 4)]),
        Case(vjp(lambda x: tf.nn.log_softmax(x, axis=0)), [U(4, 3), U(4, 3)],
             ["transposed", "strided"]),
    ],
    # Views.
    "reshape": [
        Case(lambda x: tf.reshape(x, [4, 3]), [U(3, 4)]),
        Case(lambda x: tf.reshape(x, [-1]), [U(4, 3)], ["transposed"]),  # a copy
        Case(lambda x: tf.reshape(x, [2, 1, 3]), [U(2, 3)], ["strided"]),
    ],
    "expand_dims": [
        Case(lambda x: tf.expand_dims(x, 1), [U(3, 4)]),
        Case(lambda x: tf.expand_dims(x, -1), [U(4, 3)], ["transposed"]),
        Case(lambda x: tf.expand_dims(x, 0), [U()]),
    ],
    "squeeze": [
        Case(tf.squeeze, [U(3, 1, 4)]),
        Case(lambda x: tf.squeeze(x, axis=[0]), [U(1, 3)], ["transposed"]),
    ],
    "transpose": [
        Case(tf.transpose, [U(3, 4)]),
        Case(lambda x: tf.transpose(x, [1, 2, 0]), [U(2, 3, 4)]),
        Case(lambda x: tf.transpose(x, [1, 0]), [U(2, 3)], ["strided"]),
    ],
    "broadcast_to": [
        Case(lambda x: tf.broadcast_to(x, [3, 4]), [U(3, 1)]),
        Case(lambda x: tf.broadcast_to(x, [2, 3, 4]), [U(4)]),
        Case(lambda x: tf.broadcast_to(x, [2, 3]), [U()]),
        Case(lambda x: tf.broadcast_to(x, [2, 4, 3]), [U(4, 3)], ["transposed"]),
    ],
    "identity": [Case(tf.identity, [U(3, 4)]), Case(tf.identity, [U(2, 3)], ["strided"])],
    "index": [
        Case(lambda x: x[1], [U(3, 4)]),
        Case(lambda x: x[:, ::-2], [U(3, 5)]),
        Case(lambda x: x[..., None, 1:3], [U(2, 3, 4)]),
        Case(lambda x: x[::2, 1], [U(5, 3)], ["transposed"]),
        Case(lambda x: x[0, -1], [U(2, 3)], ["strided"]),
        Case(lambda x: x[2:0:-1, 5:], [U(3, 4)]),  # an empty slice
    ],
    "index_grad": [
        Case(vjp(lambda x: x[:, ::-2]), [U(3, 5), U(3, 3)]),
        Case(vjp(lambda x: x[1, None]), [U(3, 4), U(1, 4)], ["contiguous", "strided"]),
        Case(vjp(lambda x: x[..., 1]), [U(2, 3, 4), U(2, 3)], ["contiguous", "transposed"]),
    ],
    # Joins and splits.
    "concat": [
        Case(lambda a, b: tf.concat([a, b], 1), [U(2, 3), U(2, 1)]),
        Case(lambda a, b, c: tf.concat([a, b, c], 0), [U(1, 3), U(2, 3), U(0, 3)]),
        Case(lambda a, b: tf.concat([a, b, a], -1), [U(3, 2), U(3, 4)],
             ["transposed", "strided"]),
    ],
    "stack": [
        Case(lambda a, b: tf.stack([a, b]), [U(3, 4), U(3, 4)]),
        Case(lambda a, b: tf.stack([a, b, a], axis=-1), [U(2, 3), U(2, 3)],
             ["transposed", "strided"]),
        Case(lambda a, b: tf.stack([a, b], axis=0), [U(), U()]),
    ],
    "split": [
        Case(lambda x: tf.split(x, 2, axis=1), [U(3, 4)]),
        Case(lambda x: tf.split(x, [1, -1, 2], axis=0), [U(5, 2)], ["transposed"]),
        Case(lambda x: tf.split(x, 3, axis=1)[1] * 2.0, [U(2, 6)]),  # pieces without gradient
        Case(lambda x: tf.split(x, [0, 3], axis=-1), [U(2, 3)], ["strided"]),
    ],
    "unstack": [
        Case(tf.unstack, [U(3, 4)]),
        Case(lambda x: tf.unstack(x, axis=1), [U(2, 3, 2)], ["transposed"]),
        Case(lambda x: tf.unstack(x, axis=-1)[0], [U(3, 4)]),  # pieces without gradient
    ],
    "tile": [
        Case(lambda x: tf.tile(x, [2, 1]), [U(2, 3)]),
        Case(lambda x: tf.tile(x, [2, 3, 2]), [U(2, 1, 3)]),
        Case(lambda x: tf.tile(x, [3, 2]), [U(3, 2)], ["transposed"]),
        Case(lambda x: tf.tile(x, [0, 2]), [U(2, 3)]),
        Case(lambda x: tf.tile(x, []), [U()]),
    ],
    "gather": [
        Case(_gather([0, 2, 2, 4, 0]), [U(5, 3)]),  # duplicates accumulate
        Case(_gather([[1, 0], [1, 1]], axis=1), [U(2, 3, 2)]),
        Case(_gather([[0, 3, 3], [1, 1, 2]], axis=1, batch_dims=1), [U(2, 4, 3)]),
        Case(_gather(np.array(2), axis=0), [U(3, 4)]),
        Case(_gather([3, 0, 3]), [U(4, 2)], ["transposed"]),
        Case(_gather(np.zeros((0,), np.int32)), [U(3, 2)]),
    ],
    "gather_grad": [
        Case(vjp(_gather([0, 2, 2, 4, 0])), [U(5, 3), U(5, 3)]),
        Case(vjp(_gather([[0, 3, 3], [1, 1, 2]], axis=1, batch_dims=1)),
             [U(2, 4, 3), U(2, 3, 3)], ["contiguous", "transposed"]),
    ],
    "pad": [
        Case(_pad("CONSTANT", _P23, 1.5), [U(3, 4)]),
        Case(_pad("REFLECT", _P23), [U(3, 4)]),
        Case(_pad("SYMMETRIC", [[2, 3], [1, 0]]), [U(3, 4)]),
        Case(_pad("REFLECT", _P234), [U(2, 3, 4)]),
        Case(_pad("SYMMETRIC", _P234), [U(2, 3, 4)], ["transposed"]),
        Case(_pad("CONSTANT", _P234), [U(2, 3, 4)], ["strided"]),
        Case(_pad("REFLECT", [[2, 2]]), [U(3)]),
    ],
    "pad_grad": [
        Case(vjp(_pad("CONSTANT", _P23)), [U(3, 4), U(5, 8)]),
        Case(vjp(_pad("REFLECT", _P234)), [U(2, 3, 4), U(3, 5, 7)], ["contiguous", "strided"]),
        Case(vjp(_pad("SYMMETRIC", [[2, 3], [1, 0]])), [U(3, 4), U(8, 5)],
             ["contiguous", "transposed"]),
    ],
    "fill": [
        Case(lambda v: tf.fill([2, 3], v), [U()]),
        Case(lambda v: tf.fill([], v), [U()]),
        Case(lambda v: tf.fill([0, 2], v), [U()]),
    ],
    "layer_norm": [
        Case(lambda x, g, b: _layer_norm(x, g, b, 1e-3), [U(3, 5), U(5), U(5)]),
        Case(lambda x: _layer_norm(x, None, None, 1e-2), [U(2, 3, 4)]),
        Case(lambda x, g: _layer_norm(x, g, None, 1e-3), [U(4, 3), U(3)],
             ["transposed", "contiguous"]),
        Case(lambda x, g, b: _layer_norm(x, g, b, 1e-3), [U(2, 6), U(6), U(6)],
             ["strided", "contiguous", "contiguous"]),
    ],
    "max_pool": [
        Case(_pool("max", [2, 2], [2, 2], "valid"), [distinct(2, 4, 4, 3)]),
        Case(_pool("max", [3], [2], "same", True), [distinct(2, 3, 7)]),
        Case(_pool("max", [2, 2, 2], [1, 1, 1], "same"), [distinct(1, 3, 3, 3, 2)]),
        Case(lambda x: tf.nn.max_pool(x, 2, 2, "SAME"), [distinct(2, 5, 5, 2)]),
    ],
    "avg_pool": [
        Case(_pool("avg", [2, 3], [1, 2], "same"), [U(2, 4, 5, 3)]),
        Case(_pool("avg", [3], [1], "valid", True), [U(2, 3, 6)], ["transposed"]),
        Case(_pool("avg", [2, 2, 2], [2, 2, 2], "same"), [U(1, 3, 3, 3, 2)]),
        Case(lambda x: tf.nn.avg_pool(x, 2, 1, "VALID"), [U(2, 5, 3)]),
    ],
    "depthwise_conv": [
        Case(_depthwise(1, "same", 1), [U(2, 4, 4, 3), U(3, 3, 3, 2), U(6)]),
        Case(_depthwise(2, "valid", 1, True), [U(2, 3, 5, 6), U(2, 2, 3, 1), U(3)]),
        Case(_depthwise(1, "same", 2), [U(2, 7, 2), U(3, 2, 2)]),
        Case(_depthwise(1, "valid", 1), [U(1, 3, 3, 3, 2), U(2, 2, 2, 2, 1), U(2)]),
        # Whole registers of channels (17 = 2 x 8 float64 lanes + 1) and edges.
        Case(_depthwise(1, "same", 1), [U(1, 4, 6, 17), U(3, 3, 17, 1), U(17)]),
        Case(_depthwise(2, "same", 1), [U(2, 5, 5, 9), U(3, 3, 9, 1), U(9)]),
        Case(_depthwise(1, "same", 1, True), [U(1, 17, 4, 5), U(3, 3, 17, 1), U(17)]),
    ],
    "resize": [
        Case(_resize([6, 8], "bilinear"), [U(2, 3, 4, 2)]),
        Case(_resize([7, 5], "bilinear", True), [U(2, 2, 4, 3)]),
        Case(_resize([6, 4], "nearest"), [U(1, 3, 2, 2)]),
        Case(_resize([4, 4, 6], "bilinear"), [U(1, 2, 2, 3, 2)]),
    ],
    "max_pool1d": [
        Case(lambda x: tf.nn.max_pool1d(x, 2, 1, "SAME"), [distinct(2, 5, 3)]),
        Case(lambda x: tf.nn.max_pool1d(x, 3, 2, "VALID", "NCW"), [distinct(2, 3, 7)]),
    ],
    "max_pool2d": [
        Case(lambda x: tf.nn.max_pool2d(x, 2, 2, "SAME"), [distinct(2, 5, 5, 2)]),
        Case(lambda x: tf.nn.max_pool2d(x, [3, 2], 1, "VALID", "NCHW"), [distinct(1, 2, 4, 4)]),
    ],
    "max_pool3d": [
        Case(lambda x: tf.nn.max_pool3d(x, 2, 2, "SAME"), [distinct(1, 3, 3, 3, 2)]),
        Case(lambda x: tf.nn.max_pool3d(x, 2, 1, "VALID"), [distinct(1, 3, 2, 3, 1)]),
    ],
    "avg_pool1d": [
        Case(lambda x: tf.nn.avg_pool1d(x, 2, 1, "SAME"), [U(2, 5, 3)]),
        Case(lambda x: tf.nn.avg_pool1d(x, 3, 2, "VALID", "NCW"), [U(2, 3, 7)]),
    ],
    "avg_pool2d": [
        Case(lambda x: tf.nn.avg_pool2d(x, 3, 2, "SAME"), [U(2, 5, 5, 2)]),
        Case(lambda x: tf.nn.avg_pool2d(x, 2, 1, "VALID", "NCHW"), [U(1, 2, 4, 4)]),
    ],
    "avg_pool3d": [
        Case(lambda x: tf.nn.avg_pool3d(x, 2, 2, "SAME"), [U(1, 3, 3, 3, 2)]),
        Case(lambda x: tf.nn.avg_pool3d(x, 2, 1, "VALID"), [U(1, 3, 2, 3, 1)]),
    ],
    "depthwise_conv2d": [
        Case(lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "SAME"),
             [U(2, 4, 4, 2), U(3, 3, 2, 2)]),
        Case(lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 1, 2, 2], "VALID", "NCHW"),
             [U(1, 2, 5, 5), U(2, 2, 2, 1)]),
    ],
    "separable_conv2d": [
        Case(lambda x, w, p: tf.nn.separable_conv2d(x, w, p, 1, "SAME"),
             [U(2, 4, 4, 2), U(3, 3, 2, 2), U(1, 1, 4, 3)]),
        Case(lambda x, w, p: tf.nn.separable_conv2d(x, w, p, [1, 1, 2, 2], "VALID", "NCHW"),
             [U(1, 2, 5, 5), U(2, 2, 2, 1), U(1, 1, 2, 3)]),
    ],
    "scaled_dot_product_attention": [
        Case(_attention(), [U(2, 3, 2, 4), U(2, 5, 2, 4), U(2, 5, 2, 3)]),
        Case(_attention(_ATTENTION_MASK, True), [U(1, 3, 2, 2), U(1, 5, 2, 2), U(1, 5, 2, 3)]),
        Case(_attention(None, True, 0.3), [U(2, 4, 1, 3), U(2, 4, 1, 3), U(2, 4, 1, 2)]),
    ],
    "dropout": [
        Case(_dropout(0.4), [U(3, 4)]),
        Case(_dropout(0.5, [1, 4]), [U(3, 4)]),
        Case(_dropout(0.3, [4, 1]), [U(4, 3)], ["transposed"]),
        Case(_dropout(0.0), [U(2, 3)]),
    ],
    "batch_norm": [
        Case(lambda x, g, b: _batch_norm(x, g, b, -1, True), [U(6, 3), U(3), U(3)]),
        Case(lambda x, g, b: _batch_norm(x, g, b, 1, True), [U(3, 2, 4), U(2), U(2)]),
        Case(lambda x: _batch_norm(x, None, None, 0, True), [U(3, 5)], ["transposed"]),
        Case(lambda x, g, b: _batch_norm(x, g, b, 1, False), [U(2, 3, 2), U(3), U(3)],
             ["strided", "contiguous", "contiguous"]),
        Case(lambda x, g, b: _batch_norm(x, g, b, -1, True, [[1, 0, 1], [1, 1, 0]]),
             [U(2, 3, 4), U(4), U(4)]),
    ],
    "group_norm": [
        Case(lambda x, g, b: _group_norm(x, g, b, 2, -1), [U(3, 4), U(4), U(4)]),
        Case(lambda x, g, b: _group_norm(x, g, b, 3, -1), [U(2, 3, 6), U(6), U(6)]),
        Case(lambda x, g, b: _group_norm(x, g, b, 2, 1), [U(2, 4, 3), U(4), U(4)]),
        Case(lambda x: _group_norm(x, None, None, 1, 2), [U(2, 2, 3, 2)], ["transposed"]),
    ],
    "unit_norm": [
        Case(lambda x: _unit_norm(x), [U(3, 4)]),
        Case(lambda x: _unit_norm(x), [U(2, 3, 5)], ["strided"]),
    ],
    "rnn_sequence": [
        Case(_rnn_sequence("lstm"), [U(3, 2, 8), U(2, 2), U(2, 2), U(2, 8)]),
        Case(_rnn_sequence("gru", go_backwards=True), [U(3, 2, 6), U(2, 2), U(2, 6), U(6)]),
        Case(_rnn_sequence("gru_reset_before"), [U(2, 3, 9), U(3, 3), U(3, 9)],
             ["transposed", "contiguous", "strided"]),
        Case(_rnn_sequence("simple_rnn", masked=True), [U(4, 2, 3), U(2, 3), U(3, 3)]),
        Case(_rnn_projected("lstm", batch_major=True, masked=True),
             [U(2, 4, 3), U(2, 2), U(2, 2), U(2, 8), U(3, 8), U(8)]),
        Case(_rnn_projected("gru", return_sequences=False),
             [U(4, 2, 3), U(2, 2), U(2, 6), U(6), U(3, 6), U(6)]),
        Case(_rnn_projected("simple_rnn", batch_major=True, masked=True, return_sequences=False),
             [U(2, 4, 3), U(2, 3), U(3, 3), U(3, 3), U(3)]),
    ],
}

_W2 = np.random.default_rng(11).uniform(-1, 1, (3, 2, 2, 3))
_W1 = np.random.default_rng(12).uniform(-1, 1, (3, 2, 3))
_W3 = np.random.default_rng(13).uniform(-1, 1, (2, 2, 2, 2, 3))
CASES.update({
    # The full grid (strides, dilations, paddings, groups, data formats, 1-3-D) is in
    # test_conv_gradcheck.py.
    "conv": [
        Case(lambda x, w, b: tf.nn.bias_add(tf.nn.conv2d(x, w, 2, "SAME"), b),
             [U(1, 5, 4, 2), U(3, 2, 2, 3), U(3)]),
        Case(lambda x, w: tf.nn.convolution(x, w, padding="VALID", dilations=2),
             [U(1, 6, 5, 2), U(2, 2, 2, 3)]),
    ],
    "conv_transpose": [
        Case(lambda x, w: tf.nn.conv2d_transpose(x, w, [1, 6, 4, 2], 2, "SAME"),
             [U(1, 3, 2, 3), U(3, 2, 2, 3)]),
        Case(lambda x, w: tf.nn.conv1d_transpose(x, w, [1, 7, 2], 2, "VALID"),
             [U(2, 3, 3), U(3, 2, 3)]),
    ],
    "conv1d": [Case(lambda x: tf.nn.conv1d(x, tf.constant(_W1), 1, "SAME"), [U(2, 5, 2)]),
               Case(lambda x, w: tf.nn.conv1d(x, w, 2, "VALID", data_format="NCW"),
                    [U(1, 2, 7), U(3, 2, 3)])],
    "conv2d": [Case(lambda x: tf.nn.conv2d(x, tf.constant(_W2), 1, "VALID"), [U(1, 4, 4, 2)]),
               Case(lambda x: tf.nn.conv2d(x, tf.constant(_W2), 1, "SAME",
                                           data_format="NCHW"), [U(1, 2, 4, 3)])],
    "conv3d": [Case(lambda x: tf.nn.conv3d(x, tf.constant(_W3), 1, "SAME"), [U(1, 3, 2, 3, 2)]),
               Case(lambda x, w: tf.nn.conv3d(x, w, 1, "VALID"), [U(1, 3, 3, 2, 2),
                                                                   U(2, 2, 1, 2, 2)])],
    "convolution": [Case(lambda x: tf.nn.convolution(x, tf.constant(_W1), padding="SAME"),
                         [U(1, 5, 2)]),
                    Case(lambda x, w: tf.nn.convolution(x, w), [U(1, 4, 3, 2), U(2, 2, 2, 2)])],
    "conv2d_transpose": [
        Case(lambda x: tf.nn.conv2d_transpose(x, tf.constant(_W2), [1, 5, 4, 2], 1, "SAME"),
             [U(1, 5, 4, 3)]),
        Case(lambda x: tf.nn.conv2d_transpose(x, tf.constant(_W2), [1, 2, 5, 4], 2, "VALID",
                                              data_format="NCHW"), [U(1, 3, 2, 2)])],
    "conv1d_transpose": [
        Case(lambda x: tf.nn.conv1d_transpose(x, tf.constant(_W1), [1, 6, 2], 2), [U(1, 3, 3)]),
        Case(lambda x: tf.nn.conv1d_transpose(x, tf.constant(_W1), [2, 5, 2], 1, "VALID"),
             [U(2, 3, 3)])],
    "conv3d_transpose": [
        Case(lambda x: tf.nn.conv3d_transpose(x, tf.constant(_W3), [1, 4, 2, 2, 2], 2),
             [U(1, 2, 1, 1, 3)]),
        Case(lambda x: tf.nn.conv3d_transpose(x, tf.constant(_W3), [1, 3, 3, 2, 2], 1,
                                              "VALID"), [U(1, 2, 2, 1, 3)])],
    "bias_add": [Case(tf.nn.bias_add, [U(2, 3), U(3)]),
                 Case(lambda x, b: tf.nn.bias_add(x, b, data_format="NCHW"),
                      [U(2, 3, 2, 2), U(3)])],
})


def _traced(fn):
    """fn run inside a trace, as corten.function traces it, so that cond and while_loop on its
    inputs take their traced path and record their own tape ops (checked here); the plan is
    dropped. tests/python/ops/test_control_flow_traced.py checks them in replayed plans."""

    def run(*xs):
        _C.trace_begin(list(xs))
        try:
            out = fn(*xs)
        except BaseException:
            _C.trace_cancel()
            raise
        _C.trace_end(list(out) if isinstance(out, (list, tuple)) else [out])
        return out

    return run


CASES.update({
    "cond": [
        Case(_traced(lambda x, y: tf.cond(tf.reduce_sum(x) > 0, lambda: tf.sin(x) * y,
                                          lambda: x * y * y)), [P(3), U(3)]),
        Case(_traced(lambda x, w: tf.cond(tf.reduce_sum(x) < 0,
                                          lambda: [tf.matmul(tf.sin(x), w), w * 1.0],
                                          lambda: [tf.matmul(x, w), tf.tanh(w) * 2.0])),
             [P(2, 3), U(3, 2)], ["transposed", "strided"]),
    ],
    "while_loop": [
        Case(_traced(lambda x, w: tf.while_loop(lambda i, y: i < 3,
                                                lambda i, y: (i + 1, tf.tanh(y) * w),
                                                (0, x))[1]), [U(2, 3), U(3)]),
        Case(_traced(lambda x, w: tf.while_loop(
            lambda i, y, z: i < 2, lambda i, y, z: (i + 1, tf.matmul(y, w), z + tf.sin(y)),
            (0, x, x))[1:]), [U(2, 2), U(2, 2)], ["strided", "transposed"]),
    ],
})

def _image_transform(t, size, interpolation, fill_mode):
    from corten.ops.image import image_transform

    t = np.asarray(t, "float32")
    return lambda x: image_transform(x, t, size, interpolation, fill_mode, 0.5)


CASES.update({
    "image_transform": [
        Case(_image_transform([[1.1, 0.2, -0.6, -0.15, 0.9, 0.4, 0.02, -0.01]], [4, 5],
                              "bilinear", "reflect"), [U(2, 4, 5, 2)]),
        Case(_image_transform([[0.8, -0.3, 1.3, 0.3, 0.8, -0.7, 0, 0],
                               [1, 0, 1.25, 0, 1, -0.5, 0, 0]], [5, 3], "bilinear", "constant"),
             [U(2, 3, 4, 3)]),
        Case(_image_transform([[0.7, 0.3, 0.2, -0.3, 0.7, 1.9, 0, 0]], [4, 6], "nearest", "wrap"),
             [U(1, 4, 4, 1)]),
        Case(_image_transform([[1.3, 0, -0.9, 0, 1.3, -0.9, 0, 0]], [3, 3], "bilinear", "nearest"),
             [U(1, 3, 3, 2)]),
    ],
})

# Public functions checked through a case of another name.
ALIASES = {
    "truediv": "divide",
    "swish": "silu",
}

# Public functions with no gradient to check, with the reason.
NON_DIFFERENTIABLE = {
    # Composites of checked ops: reduce_sum divided by a constant.
    "compute_average_loss": "composite",
    # Not ops: a decorator and a context (tests/python/ops/test_function.py).
    "function": "decorator",
    "init_scope": "context",
    # Integer or boolean results.
    "argmax": "integer",
    "argmin": "integer",
    "floordiv": "step",
    "round": "step",
    "floor": "step",
    "ceil": "step",
    "equal": "bool",
    "not_equal": "bool",
    "less": "bool",
    "less_equal": "bool",
    "greater": "bool",
    "greater_equal": "bool",
    "logical_and": "bool",
    "logical_or": "bool",
    "logical_not": "bool",
    "reduce_any": "bool",
    "reduce_all": "bool",
    "shape": "shape",
    "rank": "shape",
    "size": "shape",
    # New tensors from Python values or shapes.
    "constant": "creation",
    "convert_to_tensor": "creation",
    "zeros": "creation",
    "ones": "creation",
    "zeros_like": "creation",
    "ones_like": "creation",
    "eye": "creation",
    "range": "creation",
    "one_hot": "creation",
    "from_dlpack": "interop",
    # Not ops.
    "as_dtype": "dtype",
    "get_include": "path",
    "get_library_dir": "path",
    "get_cmake_dir": "path",
    "stop_gradient": "autograd",
    "custom_gradient": "autograd",
}


def _public_functions() -> list[str]:
    names = set()
    for module in (tf, tf.math, tf.nn):
        for name, value in vars(module).items():
            if name.startswith("_") or inspect.isclass(value) or inspect.ismodule(value):
                continue
            if callable(value):
                names.add(name)
    return sorted(names)


_PARAMS = [pytest.param(op, i, id=f"{op}-{i}") for op, cases in CASES.items()
           for i in range(len(cases))]


@pytest.mark.parametrize(("op", "i"), _PARAMS)
def test_gradient_matches_finite_differences(op, i):
    case = CASES[op][i]
    check_gradients(case.fn, case.inputs, case.layouts, eps=case.eps, rtol=case.rtol,
                    atol=case.atol)


def test_every_differentiable_op_has_a_case():
    missing = [op for op in _C.differentiable_ops() if not CASES.get(op)]
    assert not missing, f"differentiable ops without a gradcheck case in CASES: {missing}"


def test_every_case_has_two_or_more_inputs_shapes():
    few = [op for op, cases in CASES.items() if len(cases) < 2]
    assert not few, f"ops with fewer than two gradcheck cases: {few}"


def test_every_public_function_is_checked_or_excluded():
    unaccounted = [name for name in _public_functions()
                   if name not in CASES and name not in ALIASES and name not in NON_DIFFERENTIABLE]
    assert not unaccounted, (
        "public functions with neither a gradcheck case (CASES / ALIASES) nor a reason in "
        f"NON_DIFFERENTIABLE: {unaccounted}")
    for name, reason in NON_DIFFERENTIABLE.items():
        assert reason.isidentifier() and " " not in reason, (name, reason)
        assert name not in CASES, f"{name} is both checked and listed as non-differentiable"
    for name, target in ALIASES.items():
        assert target in CASES, f"alias {name} -> {target} has no case"
