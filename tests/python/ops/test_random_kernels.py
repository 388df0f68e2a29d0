"""The vectorised random kernels: bit identity with the scalar reference on every ISA, thread
count and draw size (Note [Reproducible random transforms] in csrc/cpu/random_transform.h), and
the statistical quality of the reproducible Box-Muller map."""

from __future__ import annotations

import math

import corten as tf
import numpy as np
import pytest
from cases import FLOAT_DTYPES, SUPPORTED_ISAS
from corten import _C


def _draws(n, seed):
    out = []
    for dtype in FLOAT_DTYPES:
        out.append(tf.random.stateless_normal([n], seed=seed, mean=0.5, stddev=3.0,
                                              dtype=dtype).numpy())
        out.append(tf.random.stateless_uniform([n], seed=seed, minval=-1.0, maxval=2.0,
                                               dtype=dtype).numpy())
        out.append(tf.random.stateless_truncated_normal([n], seed=seed, dtype=dtype).numpy())
    from corten.ops import _seed

    out.append(_C.dropout(tf.ones([n]), 0.3, None, _seed.stateless_key(seed), 0).numpy())
    return out


@pytest.mark.usefixtures("restore_config")
@pytest.mark.parametrize("n", [1, 2, 3, 5, 31, 64, 65, 1023, 2048, 4099, 70001])
def test_vector_kernels_match_scalar_reference(n):
    tf.config.set_cpu_isa("baseline")
    tf.config.threading.set_intra_op_parallelism_threads(1)
    want = _draws(n, [7, 9])
    for isa in SUPPORTED_ISAS:
        for threads in (1, 2, 3):
            tf.config.set_cpu_isa(isa)
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            for a, b in zip(want, _draws(n, [7, 9]), strict=True):
                assert a.tobytes() == b.tobytes(), (isa, threads, n)


@pytest.mark.usefixtures("restore_config")
def test_values_depend_only_on_element_index():
    for isa in SUPPORTED_ISAS:
        tf.config.set_cpu_isa(isa)
        big = tf.random.stateless_normal([5000], seed=[1, 1]).numpy()
        for k in (1, 3, 16, 17, 33, 1025):
            np.testing.assert_array_equal(tf.random.stateless_normal([k], seed=[1, 1]).numpy(),
                                          big[:k])


def _normal_cdf(x):
    return 0.5 * (1.0 + np.frompyfunc(math.erf, 1, 1)(x / math.sqrt(2.0)).astype(np.float64))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_normal_kolmogorov_smirnov(dtype):
    n = 1_000_000
    x = np.sort(tf.random.stateless_normal([n], seed=[21, 22], dtype=dtype).numpy()
                .astype(np.float64))
    cdf = _normal_cdf(x)
    d = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))
    # The KS statistic exceeds 1.95 / sqrt(n) with probability 1e-3 under the null.
    assert d < 1.95 / math.sqrt(n)
    assert abs(x.mean()) < 0.005
    assert abs(x.std() - 1.0) < 0.0035
    # The tails reach as far as the 24 / 53 bits of u1 allow (about 5.8 / 8.6 sigma).
    assert x.min() < -4.0
    assert x.max() > 4.0


def test_normal_float32_is_box_muller_of_the_words():
    from corten.ops import _seed

    key = _seed.stateless_key([5, 6])
    words = np.array(_C._philox4x32([0, 0, 0, 0], [key & 0xFFFFFFFF, key >> 32]), np.uint64)
    z = tf.random.stateless_normal([4], seed=[5, 6]).numpy().astype(np.float64)
    u1 = ((words[0::2] >> 8) + 1) * 2.0**-24
    u2 = (words[1::2] >> 8) * 2.0**-24
    r = np.sqrt(-2.0 * np.log(u1))
    want = np.stack([r * np.cos(2 * np.pi * u2), r * np.sin(2 * np.pi * u2)], 1).reshape(-1)
    np.testing.assert_allclose(z, want, rtol=2e-6, atol=2e-6)
