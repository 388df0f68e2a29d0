"""The bfloat16 GEMM (Note [bfloat16 GEMM]): the VDPBF16PS kernels against the reference kernel
bit for bit, the AMX kernel (Note [AMX tiles]) within one unit of it, every kernel set against a
float64 product within the documented bound, the fused bias and activation, thread-count
invariance, and gradients through bfloat16 products."""

from __future__ import annotations

import corten as tf
import ml_dtypes
import numpy as np
import pytest
from corten.ops.linalg import linear, matmul

BF16 = ml_dtypes.bfloat16
HAS_BF16 = tf._C.cpu_has_avx512() and tf._C.cpu_has_avx512_bf16()
HAS_AMX = tf.config.cpu_has_amx()

# (batch_a, batch_b, m, k, n, transpose_a, transpose_b): tails of every tile width (12x16,
# 8x32, 6x64), an odd depth (zero-padded pair), transposed and broadcast batches, a depth of 0.
SHAPES = [
    ((), (), 1, 1, 1, False, False),
    ((), (), 13, 33, 70, False, False),
    ((), (), 64, 784, 128, False, False),
    ((), (), 200, 301, 17, True, False),
    ((), (), 7, 64, 31, False, True),
    ((), (), 50, 130, 129, True, True),
    ((3,), (3,), 9, 20, 40, False, False),
    ((2, 3), (3,), 17, 65, 8, False, True),
    ((4,), (), 6, 6, 6, False, False),
    ((), (), 5, 0, 9, False, False),
    # the AMX kernel's 32 x 32 tiles: a depth over several blocks of 16 pairs with a partial
    # last one, rows and columns past a tile, a transposed A in row-packed panels
    ((), (), 70, 515, 97, False, False),
    ((2,), (2,), 40, 64, 33, True, False),
]


def _operands(rng, shape):
    batch_a, batch_b, m, k, n, ta, tb = shape
    a = rng.standard_normal((*batch_a, *((k, m) if ta else (m, k)))).astype(BF16)
    b = rng.standard_normal((*batch_b, *((n, k) if tb else (k, n)))).astype(BF16)
    return a, b, ta, tb


def _product64(a, b, ta, tb):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if ta:
        a64 = np.swapaxes(a64, -1, -2)
    if tb:
        b64 = np.swapaxes(b64, -1, -2)
    return a64 @ b64, np.abs(a64) @ np.abs(b64), a64.shape[-1]


def _at_isa(isa, fn):
    before = tf.config.get_cpu_isa()
    tf.config.set_cpu_isa(isa)
    try:
        return fn()
    finally:
        tf.config.set_cpu_isa(before)


def _matmul(a, b, ta, tb):
    return matmul(tf.constant(a), tf.constant(b), ta, tb)


@pytest.mark.parametrize("shape", SHAPES)
def test_products_are_within_the_documented_bound_of_float64(shape, rng, amx):
    a, b, ta, tb = _operands(rng, shape)
    got = _matmul(a, b, ta, tb)
    assert got.dtype == tf.bfloat16
    want, scale, k = _product64(a, b, ta, tb)
    # The float32 sum's error (k units of 2^-24 of sum |a b|), then one rounding to bfloat16
    # (half a unit of 2^-7, relative).
    bound = k * 2.0**-24 * scale + 2.0**-8 * np.abs(want) + 1e-30
    err = np.abs(got.numpy().astype(np.float64) - want)
    assert (err <= bound).all(), err.max()


@pytest.mark.skipif(not HAS_BF16, reason="the CPU has no AVX-512 BF16 (VDPBF16PS)")
@pytest.mark.parametrize("shape", SHAPES)
def test_vdpbf16ps_kernels_equal_the_reference_kernel_bit_for_bit(shape, rng):
    a, b, ta, tb = _operands(rng, shape)
    amx = tf.config.amx_enabled()
    tf.config.set_amx(False)
    try:
        fast = _at_isa("avx512", lambda: _matmul(a, b, ta, tb).numpy())
    finally:
        tf.config.set_amx(amx)
    ref = _at_isa("baseline", lambda: _matmul(a, b, ta, tb).numpy())
    np.testing.assert_array_equal(fast.view(np.uint16), ref.view(np.uint16))


@pytest.mark.parametrize("isa", [
    pytest.param("avx2", id="float32-path", marks=pytest.mark.skipif(
        not tf._C.cpu_has_avx2(), reason="the float32 path runs at the avx2 level")),
    pytest.param("avx512", id="amx", marks=pytest.mark.skipif(
        not HAS_AMX, reason="the CPU (or OS) has no AMX-BF16 tiles")),
])
@pytest.mark.parametrize("shape", SHAPES)
def test_float32_path_and_amx_are_within_one_unit_of_the_pair_kernels(isa, shape, rng):
    a, b, ta, tb = _operands(rng, shape)
    got = _at_isa(isa, lambda: _matmul(a, b, ta, tb).numpy()).astype(np.float64)
    pairs = _at_isa("baseline", lambda: _matmul(a, b, ta, tb).numpy()).astype(np.float64)
    _, scale, k = _product64(a, b, ta, tb)
    # One unit in the last place, or the float32 sums' own difference where cancellation
    # leaves a result smaller than the sum of its terms.
    ulp = 2.0 ** (np.floor(np.log2(np.maximum(np.abs(pairs), 1e-30))) - 7)
    bound = np.maximum(ulp, 2 * k * 2.0**-24 * scale)
    assert (np.abs(got - pairs) <= bound).all()


@pytest.mark.parametrize("activation", ["linear", "relu", "sigmoid", "tanh", "gelu"])
def test_linear_rounds_once_after_bias_and_activation(activation, rng, amx):
    x = rng.standard_normal((37, 90)).astype(BF16)
    w = (rng.standard_normal((90, 70)) * 0.2).astype(BF16)
    bias = rng.standard_normal(70).astype(BF16)
    got = linear(tf.constant(x), tf.constant(w), tf.constant(bias), activation)
    assert got.dtype == tf.bfloat16
    # Float32 sums (in another order), bias and activation in float32, then one rounding.
    f32 = linear(tf.constant(x.astype(np.float32)), tf.constant(w.astype(np.float32)),
                 tf.constant(bias.astype(np.float32)), activation).numpy()
    ulp = 2.0 ** (np.floor(np.log2(np.maximum(np.abs(f32), 1e-30))) - 7)
    scale = np.abs(x.astype(np.float64)) @ np.abs(w.astype(np.float64))
    bound = np.maximum(ulp, 2 * 90 * 2.0**-24 * scale)
    assert (np.abs(got.numpy().astype(np.float64) - f32) <= bound).all()


def test_results_do_not_depend_on_the_thread_count(threads, rng, amx):
    a = rng.standard_normal((300, 517)).astype(BF16)
    b = rng.standard_normal((517, 260)).astype(BF16)
    threads(1)
    one = _matmul(a, b, False, False).numpy()
    threads(2)
    two = _matmul(a, b, False, False).numpy()
    np.testing.assert_array_equal(one.view(np.uint16), two.view(np.uint16))


def test_an_empty_depth_gives_the_bias():
    x = tf.zeros((4, 0), dtype=tf.bfloat16)
    w = tf.zeros((0, 3), dtype=tf.bfloat16)
    bias = tf.constant(np.array([1.5, -2.0, 0.25], BF16))
    np.testing.assert_array_equal(linear(x, w, bias).numpy(), np.tile(bias.numpy(), (4, 1)))


def test_gradients_flow_through_bfloat16_products(rng):
    x = tf.constant(rng.standard_normal((8, 20)).astype(BF16))
    w = tf.Variable(rng.standard_normal((20, 6)).astype(np.float32))
    with tf.GradientTape() as tape:
        y = linear(x, tf.cast(w, tf.bfloat16), None, "relu")
        loss = tf.reduce_sum(tf.cast(y, tf.float32))
    g = tape.gradient(loss, w)
    assert g.dtype == tf.float32
    x64 = x.numpy().astype(np.float64)
    z = x64 @ w.numpy().astype(BF16).astype(np.float64)
    want = x64.T @ (z > 0).astype(np.float64)
    np.testing.assert_allclose(g.numpy(), want, rtol=2e-2, atol=2e-2)


def test_bad_operands_name_the_op():
    a = tf.zeros((3, 4), dtype=tf.bfloat16)
    with pytest.raises(ValueError, match=r"matmul: the inner dimensions differ \(4 vs 5\)"):
        matmul(a, tf.zeros((5, 2), dtype=tf.bfloat16))
    with pytest.raises(TypeError, match="matmul"):
        matmul(a, tf.zeros((4, 2), dtype=tf.float32))
    with pytest.raises(TypeError, match="linear"):
        linear(a, tf.zeros((4, 2), dtype=tf.bfloat16), tf.zeros((2,), dtype=tf.float32))
