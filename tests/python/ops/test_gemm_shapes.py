"""GEMM on a compiled training step's shapes: the vectorised gelu epilogue (Note [Vectorised
gelu]) and the deterministic K split of small products with a deep sum (Note [GEMM blocking])."""

from __future__ import annotations

import math

import numpy as np
import pytest

import corten as tf
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
