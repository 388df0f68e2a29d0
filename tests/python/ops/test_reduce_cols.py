"""Column reductions (sum / mean over axes outer to a kept contiguous axis) on the vector
column kernel: the numpy float64 reference, bit identity with the baseline loop and across
thread counts (Note [Vector column sums] in csrc/cpu/reduce_cols.h)."""

from __future__ import annotations

import corten as tf
import numpy as np
import pytest
from cases import FLOAT_DTYPES, SUPPORTED_ISAS

# Widths past the 64-column blocks of every remainder class: 63 (eight groups of 8, the last
# of 7), 57, 127 = 64 + 63, and 62 from two coalesced rows of 31.
SHAPES = [((64, 784), 0), ((3, 5), 0), ((100, 33), 0), ((7, 1000), 0), ((2, 50, 36), (0, 1)),
          ((4, 6, 40), 1), ((1, 31), 0), ((300, 4), 0), ((37, 63), 0), ((9, 57), 0),
          ((200, 127), 0), ((9, 2, 31), 0)]


@pytest.mark.usefixtures("restore_config")
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize(("shape", "axis"), SHAPES)
def test_column_sums_match_reference_and_baseline(shape, axis, dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape).astype(dtype)
    # A contiguous tensor and a strided view of the same values.
    for t in (tf.constant(a), tf.constant(np.repeat(a, 2, axis=-1))[..., ::2]):
        v = a
        tf.config.set_cpu_isa("baseline")
        tf.config.threading.set_intra_op_parallelism_threads(1)
        want_sum = tf.reduce_sum(t, axis=axis).numpy()
        want_mean = tf.reduce_mean(t, axis=axis).numpy()
        ref = v.astype(np.float64).sum(axis=axis)
        tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == "float32" else {"rtol": 1e-12,
                                                                      "atol": 1e-12}
        np.testing.assert_allclose(want_sum, ref, **tol)
        np.testing.assert_allclose(want_mean, v.astype(np.float64).mean(axis=axis), **tol)
        for isa in SUPPORTED_ISAS:
            for threads in (1, 2):
                tf.config.set_cpu_isa(isa)
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                assert tf.reduce_sum(t, axis=axis).numpy().tobytes() == want_sum.tobytes()
                assert tf.reduce_mean(t, axis=axis).numpy().tobytes() == want_mean.tobytes()


@pytest.mark.usefixtures("restore_config")
@pytest.mark.skipif(not tf._C.cpu_has_avx512(), reason="needs AVX-512")
@pytest.mark.parametrize("n", [16, 17, 31, 32, 33, 40, 47, 63, 64, 784, 1001, 70000])
def test_avx512_row_sums_match_avx2_bit_for_bit(n):
    a = np.random.default_rng(n).standard_normal((3, n)).astype(np.float32) * 1e3
    got = {}
    for isa in ("avx2", "avx512"):
        tf.config.set_cpu_isa(isa)
        got[isa] = (tf.reduce_sum(a, axis=1).numpy(), tf.reduce_mean(a, axis=-1).numpy(),
                    tf.reduce_sum(a).numpy())
    for x, y in zip(got["avx2"], got["avx512"], strict=True):
        assert x.tobytes() == y.tobytes()
    np.testing.assert_allclose(got["avx512"][0], a.astype(np.float64).sum(axis=1), rtol=1e-5)


@pytest.mark.usefixtures("restore_config")
@pytest.mark.parametrize(("shape", "axis"), SHAPES + [((5, 6, 7), None), ((9, 70), 1),
                                                      ((0, 8), 0), ((2, 3, 4), (0, 2))])
def test_bfloat16_sums_are_the_float32_sums_rounded_once(shape, axis):
    # Note [Half-precision compute]: read in place, the same bits as the float32 sum of the
    # widened input and a cast, on every ISA and thread count, contiguous or strided.
    bf16 = pytest.importorskip("ml_dtypes", reason="bfloat16 arrays need ml_dtypes").bfloat16
    a = (np.random.default_rng(1).standard_normal(shape) * 50).astype(bf16)
    for t in (tf.constant(a), tf.constant(np.repeat(a, 2, axis=-1))[..., ::2]):
        tf.config.set_cpu_isa("baseline")
        want = tf.cast(tf.reduce_sum(tf.cast(t, tf.float32), axis=axis), tf.bfloat16).numpy()
        for isa in SUPPORTED_ISAS:
            for threads in (1, 2):
                tf.config.set_cpu_isa(isa)
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                got = tf.reduce_sum(t, axis=axis)
                assert got.dtype == tf.bfloat16
                assert got.numpy().tobytes() == want.tobytes()


def test_a_traced_bfloat16_sum_reads_its_input_in_place():
    bf16 = pytest.importorskip("ml_dtypes", reason="bfloat16 arrays need ml_dtypes").bfloat16
    x = tf.constant(np.ones((64, 32), bf16))

    @tf.function
    def bias_gradient(g):
        return tf.reduce_sum(g, axis=0)

    ops = [name for name, _ in bias_gradient.profile(x, runs=1)]
    assert ops == ["reduce_sum"], ops
    assert bias_gradient(x).numpy().astype(np.float32).tolist() == [64.0] * 32
