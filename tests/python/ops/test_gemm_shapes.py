"""GEMM on a compiled training step's shapes: the vectorised gelu epilogue (Note [Vectorised
gelu]) and the deterministic K split of small products with a deep sum (Note [GEMM blocking])."""

from __future__ import annotations

import math

import corten as tf
import numpy as np
import pytest
from corten.ops.linalg import linear, matmul

_ERFC = np.vectorize(math.erfc)


def _gelu64(x):
    x = np.asarray(x, np.float64)
    return 0.5 * x * _ERFC(-x / math.sqrt(2.0))


def test_gelu_float32_is_accurate_on_both_tails(cpu_isa):
    if cpu_isa == "baseline":
        pytest.skip("the portable kernel is std::erf's 0.5 x (1 + erf(x / sqrt 2))")
    x = np.linspace(-15.0, 15.0, 200_001, dtype=np.float32)
    got = tf.nn.gelu(x).numpy().astype(np.float64)
    want = _gelu64(x)
    # Relative accuracy on the negative tail too, where 1 + erf(x / sqrt 2) cancels.
    big = np.abs(want) > 1e-30
    assert (np.abs(got - want)[big] / np.abs(want[big])).max() < 2e-5
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_gelu_float32_edge_values():
    x = np.array([np.nan, np.inf, -100.0, 0.0, -0.0, 1e-30, 40.0], np.float32)
    got = tf.nn.gelu(x).numpy()
    assert np.isnan(got[0])
    np.testing.assert_array_equal(got[1:], [np.inf, 0.0, 0.0, 0.0, np.float32(5e-31), 40.0])
    assert np.signbit(got[4])


def test_gelu_float32_vector_isas_agree_bit_for_bit(rng):
    if not (tf._C.cpu_has_avx2() and tf._C.cpu_has_avx512()):
        pytest.skip("needs AVX2 and AVX-512")
    x = rng.standard_normal(4099).astype(np.float32) * 4
    before = tf.config.get_cpu_isa()
    try:
        got = {}
        for isa in ("avx512", "avx2"):
            tf.config.set_cpu_isa(isa)
            got[isa] = tf.nn.gelu(x).numpy()
    finally:
        tf.config.set_cpu_isa(before)
    np.testing.assert_array_equal(got["avx512"], got["avx2"])


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "gelu"])
def test_linear_epilogue_equals_the_activation_op(activation, rng):
    x = tf.constant(rng.standard_normal((64, 64)).astype(np.float32))
    w = tf.constant(rng.standard_normal((64, 784)).astype(np.float32) * 0.2)
    b = tf.constant(rng.standard_normal(784).astype(np.float32))
    fused = linear(x, w, b, activation).numpy()
    ops = {"relu": tf.nn.relu, "sigmoid": tf.sigmoid, "tanh": tf.tanh, "gelu": tf.nn.gelu}
    np.testing.assert_array_equal(fused, ops[activation](linear(x, w, b)).numpy())


# (m, k, n, transpose_b): a Dense backward's gx (64x784 . (64x784)^T), a 4-chunk depth, a
# narrow C; the K split is for a packed (not row-major) B only.
K_SPLIT_SHAPES = [(64, 784, 64, True), (30, 2100, 100, True), (128, 512, 17, True)]
# Row-major B, or a C too large: split by rows and columns only.
UNSPLIT_SHAPES = [(64, 784, 64, False), (64, 64, 784, False), (784, 64, 64, False),
                  (200, 784, 64, True)]


def _operands(rng, m, k, n, transpose_b, dtype):
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if transpose_b else (k, n)).astype(dtype)
    return a, b


@pytest.mark.parametrize(("m", "k", "n", "transpose_b"), K_SPLIT_SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_k_split_products_match_numpy(m, k, n, transpose_b, dtype, rng):
    a, b = _operands(rng, m, k, n, transpose_b, dtype)
    got = matmul(tf.constant(a), tf.constant(b), transpose_b=transpose_b).numpy()
    want = a.astype(np.float64) @ (b.T if transpose_b else b).astype(np.float64)
    tol = {"float32": dict(rtol=1e-4, atol=1e-3), "float64": dict(rtol=1e-12, atol=1e-11)}
    np.testing.assert_allclose(got, want, **tol[dtype])


def _by_chunks(a, b, transpose_b):
    """A 2-chunk K split's sum (512 <= k < 1024): each half's product (below the split's
    depth, so computed unsplit) added in chunk order."""
    k = a.shape[1]
    chunk = ((k + 1) // 2 + 15) // 16 * 16
    halves = []
    for p0, p1 in ((0, chunk), (chunk, k)):
        bb = b[:, p0:p1] if transpose_b else b[p0:p1]
        halves.append(matmul(tf.constant(np.ascontiguousarray(a[:, p0:p1])),
                             tf.constant(np.ascontiguousarray(bb)),
                             transpose_b=transpose_b).numpy())
    return halves[0] + halves[1]


@pytest.mark.parametrize(("m", "k", "n", "transpose_b"),
                         [s for s in K_SPLIT_SHAPES if s[1] < 1024])
def test_k_split_is_the_sum_of_its_chunks_in_order(m, k, n, transpose_b, rng):
    # The split depends on the shape only (Note [GEMM blocking]): the product equals its
    # chunks' products added in chunk order, bit for bit.
    a, b = _operands(rng, m, k, n, transpose_b, "float32")
    got = matmul(tf.constant(a), tf.constant(b), transpose_b=transpose_b).numpy()
    np.testing.assert_array_equal(got, _by_chunks(a, b, transpose_b))


@pytest.mark.parametrize("activation", [None, "relu", "sigmoid"])
def test_k_split_linear_applies_bias_and_activation_after_the_sum(activation, rng):
    x = rng.standard_normal((64, 784)).astype(np.float32)
    w = rng.standard_normal((784, 64)).astype(np.float32) * 0.05
    bias = rng.standard_normal(64).astype(np.float32)
    # w as a column-major view: a packed B, so the product is split along K.
    w_view = tf.transpose(tf.constant(np.ascontiguousarray(w.T)))
    got = linear(tf.constant(x), w_view, tf.constant(bias), activation).numpy()
    want = x.astype(np.float64) @ w + bias
    if activation == "relu":
        want = np.maximum(want, 0)
    elif activation == "sigmoid":
        want = 1 / (1 + np.exp(-want))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    plain = matmul(tf.constant(x), w_view) + tf.constant(bias)
    if activation is not None:
        plain = {"relu": tf.nn.relu, "sigmoid": tf.sigmoid}[activation](plain)
    np.testing.assert_array_equal(got, plain.numpy())


@pytest.mark.parametrize(("m", "k", "n", "transpose_b"),
                         K_SPLIT_SHAPES + UNSPLIT_SHAPES)
def test_products_are_identical_at_1_and_2_threads(m, k, n, transpose_b, threads, rng):
    a, b = _operands(rng, m, k, n, transpose_b, "float32")
    got = {}
    for t in (1, 2):
        threads(t)
        got[t] = matmul(tf.constant(a), tf.constant(b), transpose_b=transpose_b).numpy()
    np.testing.assert_array_equal(got[1], got[2])


@pytest.mark.parametrize(("m", "k", "n", "transpose_b"),
                         [(1, 784, 128, False), (3, 1024, 512, False), (1, 2048, 300, True),
                          (2, 512, 1024, False)])
def test_few_rows_read_a_large_b_in_place(m, k, n, transpose_b, threads, rng):
    # One row panel reads B once, so a B past the packing threshold is read where it lies
    # (a batch-1 Dense); the result is the product, at either thread count.
    a, b = _operands(rng, m, k, n, transpose_b, "float32")
    want = a.astype(np.float64) @ (b.T if transpose_b else b).astype(np.float64)
    got = {}
    for t in (1, 2):
        threads(t)
        got[t] = matmul(tf.constant(a), tf.constant(b), transpose_b=transpose_b).numpy()
        np.testing.assert_allclose(got[t], want, rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(got[1], got[2])



# (m, k, n): one row panel of the 6-row kernel, partial row and column panels, a training
# step's output layer; k within one K block of the kernels (256).
BIAS_SHAPES = [(6, 100, 70), (13, 200, 33), (64, 64, 784), (1, 50, 10)]


@pytest.mark.parametrize(("m", "k", "n"), BIAS_SHAPES)
def test_bias_in_the_accumulators_adds_it_once_to_the_sum(m, k, n, threads, rng):
    # Note [Bias in the accumulators]: the tile starts as the bias and a kernel adds its sum of
    # products to it once, so with one K block the bits are the product plus the bias.
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((k, n)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    for t in (1, 2):
        threads(t)
        got = linear(tf.constant(x), tf.constant(w), tf.constant(b)).numpy()
        want = (matmul(tf.constant(x), tf.constant(w)) + tf.constant(b)).numpy()
        np.testing.assert_array_equal(got, want)
        np.testing.assert_allclose(got, x.astype(np.float64) @ w + b, rtol=1e-4, atol=1e-4)
