"""matmul_activation_grad: the GEMM with the activation-derivative epilogue (Note
[Activation-derivative epilogue]) against the unfused ops, bit for bit, and its errors."""

from __future__ import annotations

import corten as tf
import numpy as np
import pytest
from corten.ops.linalg import matmul, matmul_activation_grad


def _derivative_ref(p, out, activation):
    """The unfused ops' arithmetic, each step rounded to the dtype (as the row kernels do)."""
    one = p.dtype.type(1)
    if activation == "relu":
        return np.where(out > 0, p, p.dtype.type(0))
    if activation == "sigmoid":
        return p * (out * (one - out))
    return p * (one - out * out)


def _operands(rng, m, k, n, ta, tb, dtype, activation):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    out = rng.standard_normal((m, n)).astype(dtype)
    if activation == "sigmoid":
        out = 1 / (1 + np.exp(-out))
    elif activation == "tanh":
        out = np.tanh(out)
    return a, b, out.astype(dtype)


SHAPES = [(1, 1, 1), (5, 3, 7), (64, 64, 64), (64, 784, 64), (33, 20, 300), (130, 17, 9)]


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize(("m", "k", "n"), SHAPES)
@pytest.mark.parametrize(("ta", "tb"), [(False, False), (False, True), (True, False)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_equals_matmul_then_the_derivative_ops_bit_for_bit(activation, m, k, n, ta, tb, dtype,
                                                           rng):
    a, b, out = _operands(rng, m, k, n, ta, tb, dtype, activation)
    got = matmul_activation_grad(tf.constant(a), tf.constant(b), ta, tb, activation,
                                 tf.constant(out)).numpy()
    p = matmul(tf.constant(a), tf.constant(b), ta, tb).numpy()
    np.testing.assert_array_equal(got, _derivative_ref(p, out, activation))
    # ... the same as the corten ops a Dense backward runs.
    pt, ot = tf.constant(p), tf.constant(out)
    ops = {"relu": lambda: tf.where(ot > 0, pt, tf.zeros_like(pt)),
           "sigmoid": lambda: pt * (ot * (1.0 - ot)),
           "tanh": lambda: pt * (1.0 - ot * ot)}
    np.testing.assert_array_equal(got, ops[activation]().numpy())
    # and close to the float64 reference.
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    p64 = (a64.T if ta else a64) @ (b64.T if tb else b64)
    want = _derivative_ref(p64, out.astype(np.float64), activation)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == "float32" else dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(got, want, **tol)


def test_reads_a_non_contiguous_out(rng):
    a, b, out = _operands(rng, 12, 8, 10, False, False, "float32", "sigmoid")
    out_t = np.ascontiguousarray(out.T)
    view = tf.transpose(tf.constant(out_t))  # (12, 10), column-major
    got = matmul_activation_grad(tf.constant(a), tf.constant(b), False, False, "sigmoid", view)
    p = matmul(tf.constant(a), tf.constant(b)).numpy()
    np.testing.assert_array_equal(got.numpy(), _derivative_ref(p, out, "sigmoid"))


def test_empty_product(rng):
    a = np.zeros((0, 4), np.float32)
    b = np.ones((4, 3), np.float32)
    got = matmul_activation_grad(a, b, False, False, "relu", np.zeros((0, 3), np.float32))
    assert got.shape == (0, 3)
    got = matmul_activation_grad(np.ones((2, 0), np.float32), np.ones((0, 3), np.float32), False,
                                 False, "tanh", np.full((2, 3), 0.5, np.float32))
    np.testing.assert_array_equal(got.numpy(), np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("shape", [(64, 784, 64), (256, 300, 200)])
def test_identical_at_1_and_2_threads(shape, threads, rng):
    m, k, n = shape
    a, b, out = _operands(rng, m, k, n, False, True, "float32", "tanh")
    got = {}
    for t in (1, 2):
        threads(t)
        got[t] = matmul_activation_grad(a, b, False, True, "tanh", out).numpy()
    np.testing.assert_array_equal(got[1], got[2])


def test_errors_name_the_op_and_shapes():
    a = np.ones((2, 3), np.float32)
    b = np.ones((3, 4), np.float32)
    out = np.ones((2, 4), np.float32)
    with pytest.raises(ValueError, match=r"matmul_activation_grad: the inner dimensions differ "
                                         r"\(3 vs 4\); got a.shape=\(2, 3\), b.shape=\(4, 3\)"):
        matmul_activation_grad(a, np.ones((4, 3), np.float32), False, False, "relu", out)
    with pytest.raises(ValueError, match=r"matmul_activation_grad: out must have the product's "
                                         r"shape \(2, 4\); got out.shape=\(4, 2\)"):
        matmul_activation_grad(a, b, False, False, "relu", np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match=r"matmul_activation_grad: a and b must have rank 2; "
                                         r"got a.shape=\(1, 2, 3\)"):
        matmul_activation_grad(np.ones((1, 2, 3), np.float32), b, False, False, "relu", out)
    with pytest.raises(ValueError, match=r"activation must be 'relu', 'sigmoid' or 'tanh'; "
                                         r"got 'gelu'"):
        matmul_activation_grad(a, b, False, False, "gelu", out)
    with pytest.raises(ValueError, match=r"activation must be one of"):
        matmul_activation_grad(a, b, False, False, "swish", out)
    with pytest.raises(TypeError, match=r"matmul_activation_grad"):
        matmul_activation_grad(a.astype(np.int32), b.astype(np.int32), False, False, "relu",
                               out.astype(np.int32))
    with pytest.raises(TypeError, match=r"matmul_activation_grad"):
        matmul_activation_grad(a, b.astype(np.float64), False, False, "relu", out)
    with pytest.raises(TypeError, match=r"matmul_activation_grad"):
        matmul_activation_grad(a, b, False, False, "relu", out.astype(np.float64))


def test_differentiating_it_raises():
    a = tf.Variable(np.ones((2, 3), np.float32))
    b = tf.constant(np.ones((3, 4), np.float32))
    out = tf.constant(np.full((2, 4), 0.5, np.float32))
    with tf.GradientTape() as tape:
        y = matmul_activation_grad(a, b, False, False, "sigmoid", out)
        loss = tf.reduce_sum(y)
    with pytest.raises(NotImplementedError, match=r"matmul_activation_grad: no gradient"):
        tape.gradient(loss, a)
