"""Random ops: Philox known answers, distribution statistics, thread-count determinism, seed
semantics (TensorFlow 2), stateless variants and dropout."""

from __future__ import annotations

import math

import numpy as np
import pytest
from cases import FLOAT_DTYPES

import corten as tf
from corten import _C

# ---------------------------------------------------------------------------------------------
# Philox4x32-10 known-answer vectors (Random123 kat_vectors)

KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize(("counter", "key", "expected"), KAT)
def test_philox_known_answers(counter, key, expected):
    assert tuple(_C._philox4x32(list(counter), list(key))) == expected


def test_philox_counters_used():
    assert _C.philox_counters_used(0) == 0
    assert _C.philox_counters_used(1) == 1
    assert _C.philox_counters_used(4) == 2
    assert _C.philox_counters_used(5) == 3


# ---------------------------------------------------------------------------------------------
# Distributions

N = 1_000_000


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_normal_statistics(dtype):
    x = tf.random.stateless_normal([N], seed=[1, 2], mean=3.0, stddev=2.0, dtype=dtype).numpy()
    assert x.dtype == np.dtype(dtype)
    assert x.shape == (N,)
    # Standard errors: mean 2/1000 = 0.002, std about 0.0014; bounds are 5 sigma.
    assert abs(x.mean() - 3.0) < 0.01
    assert abs(x.std() - 2.0) < 0.007
    z = (x - 3.0) / 2.0
    assert abs(np.mean(z**3)) < 0.02  # skewness
    assert abs(np.mean(z**4) - 3.0) < 0.05  # kurtosis
    assert abs(np.mean(np.abs(z) < 1.0) - 0.6826894921) < 0.0025


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_uniform_statistics(dtype):
    x = tf.random.stateless_uniform([N], seed=[3, 4], minval=-2.0, maxval=3.0,
                                    dtype=dtype).numpy()
    assert x.dtype == np.dtype(dtype)
    assert x.min() >= -2.0
    assert x.max() < 3.0
    assert abs(x.mean() - 0.5) < 0.01  # std of the mean: 5 / sqrt(12 N) = 0.0014
    assert abs(x.std() - 5.0 / np.sqrt(12.0)) < 0.005
    hist, _ = np.histogram(x, bins=10, range=(-2.0, 3.0))
    assert np.all(np.abs(hist / N - 0.1) < 0.002)


def test_uniform_default_range_and_half_open():
    x = tf.random.stateless_uniform([10000], seed=[0, 0]).numpy()
    assert x.dtype == np.float32
    assert x.min() >= 0.0
    assert x.max() < 1.0
    # A range where minval + u * range rounds up to maxval in float32 for the top values.
    y = tf.random.stateless_uniform([200000], seed=[5, 5], minval=1.0, maxval=2.0).numpy()
    assert y.max() < 2.0
    assert y.min() >= 1.0


def test_uniform_float32_uses_24_bits():
    x = tf.random.stateless_uniform([100000], seed=[7, 7]).numpy().astype(np.float64)
    scaled = x * 2**24
    assert np.all(scaled == np.floor(scaled))
    assert np.mean(scaled % 2 == 1) > 0.45  # the lowest of the 24 bits is random


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_uniform_int(dtype):
    x = tf.random.stateless_uniform([N], seed=[1, 1], minval=-3, maxval=7, dtype=dtype).numpy()
    assert x.dtype == np.dtype(dtype)
    assert x.min() == -3
    assert x.max() == 6
    counts = np.bincount(x + 3, minlength=10)
    assert np.all(np.abs(counts / N - 0.1) < 0.002)


def test_uniform_int64_wide_range():
    lo, hi = -(2**62), 2**62
    x = tf.random.stateless_uniform([1000], seed=[1, 1], minval=lo, maxval=hi,
                                    dtype="int64").numpy()
    assert x.min() >= lo
    assert x.max() < hi
    assert len(np.unique(x)) == 1000


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_truncated_normal_statistics(dtype):
    x = tf.random.stateless_truncated_normal([N], seed=[5, 6], mean=1.0, stddev=3.0,
                                             dtype=dtype).numpy()
    assert x.dtype == np.dtype(dtype)
    assert np.all(np.abs(x - 1.0) <= 6.0 * (1 + 1e-6))
    assert abs(x.mean() - 1.0) < 0.015
    assert abs(x.std() / 3.0 - 0.8796256610) < 0.003
    # Rejected samples are redrawn, not clipped: no pile-up at the bounds.
    expected = (math.erf(2 / math.sqrt(2)) - math.erf(5.9 / 3 / math.sqrt(2))) / math.erf(
        2 / math.sqrt(2))
    assert abs(np.mean(np.abs(x - 1.0) > 5.9) - expected) < 0.0006


def test_truncated_normal_redraws_only_rejected_elements():
    # Elements whose first draw was within bounds equal the plain normal draw of the same seed.
    n = np.asarray(tf.random.stateless_normal([100000], seed=[9, 9]))
    t = np.asarray(tf.random.stateless_truncated_normal([100000], seed=[9, 9]))
    inside = np.abs(n) <= 2.0
    np.testing.assert_array_equal(t[inside], n[inside])
    assert np.all(t[~inside] != n[~inside])
    assert np.all(np.abs(t) <= 2.0)


@pytest.mark.parametrize("fn", ["normal", "uniform", "truncated_normal"])
@pytest.mark.parametrize("shape", [(), (0,), (1,), (0, 3), (5,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_shapes_and_dtypes(fn, shape, dtype):
    x = getattr(tf.random, fn)(shape, dtype=dtype, seed=1)
    assert x.dtype == tf.as_dtype(dtype)
    assert x._shape_tuple == shape
    assert np.all(np.isfinite(x.numpy()))


def test_shape_as_tensor_and_tensorshape():
    assert tf.random.normal(tf.constant([2, 3]))._shape_tuple == (2, 3)
    assert tf.random.uniform(tf.TensorShape([4]))._shape_tuple == (4,)


def test_prefix_is_stable_across_sizes():
    # Element i depends only on (key, offset, i): a longer draw extends a shorter one.
    for fn in (tf.random.stateless_normal, tf.random.stateless_uniform,
               tf.random.stateless_truncated_normal):
        for dtype in FLOAT_DTYPES:
            a = fn([7], seed=[1, 2], dtype=dtype).numpy()
            b = fn([1001], seed=[1, 2], dtype=dtype).numpy()
            np.testing.assert_array_equal(a, b[:7])
    a = tf.random.stateless_normal([2, 3], seed=[1, 2]).numpy()
    b = tf.random.stateless_normal([6], seed=[1, 2]).numpy()
    np.testing.assert_array_equal(a.reshape(-1), b)


# ---------------------------------------------------------------------------------------------
# Determinism across thread counts


@pytest.fixture
def restore_threads():
    previous = tf.config.threading.get_intra_op_parallelism_threads()
    yield
    tf.config.threading.set_intra_op_parallelism_threads(previous)


def _all_draws(seed):
    x = tf.constant(np.arange(1, 300001, dtype=np.float32).reshape(300, 1000))
    return [
        tf.random.stateless_normal([300001], seed=seed).numpy(),
        tf.random.stateless_normal([300001], seed=seed, dtype="float64").numpy(),
        tf.random.stateless_uniform([300001], seed=seed).numpy(),
        tf.random.stateless_uniform([300001], seed=seed, dtype="float64").numpy(),
        tf.random.stateless_uniform([300001], seed=seed, maxval=100, dtype="int32").numpy(),
        tf.random.stateless_uniform([300001], seed=seed, maxval=100, dtype="int64").numpy(),
        tf.random.stateless_truncated_normal([300001], seed=seed).numpy(),
        tf.random.stateless_truncated_normal([300001], seed=seed, dtype="float64").numpy(),
        _dropout_with_key(x, 0.3, None, seed).numpy(),
        _dropout_with_key(x, 0.3, [300, 1], seed).numpy(),
    ]


def _dropout_with_key(x, rate, noise_shape, seed):
    from corten.ops import _seed

    return _C.dropout(x, rate, noise_shape, _seed.stateless_key(seed), 0)


@pytest.mark.usefixtures("restore_threads")
def test_bit_identical_across_thread_counts():
    results = []
    for threads in (1, 2, 3):
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        results.append(_all_draws([11, 12]))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert a.tobytes() == b.tobytes()


@pytest.mark.usefixtures("restore_threads")
def test_stateful_bit_identical_across_thread_counts():
    results = []
    for threads in (1, 2):
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.random.set_seed(42)
        results.append([tf.random.normal([100000]).numpy(), tf.random.uniform([100000]).numpy(),
                        tf.nn.dropout(tf.ones([100000]), 0.5).numpy()])
    for a, b in zip(*results):
        assert a.tobytes() == b.tobytes()


# ---------------------------------------------------------------------------------------------
# Seeds


@pytest.fixture
def reset_seed():
    yield
    tf.random.set_seed(None)


@pytest.mark.usefixtures("reset_seed")
def test_set_seed_repeats_sequence():
    def program():
        return [tf.random.normal([5]).numpy(), tf.random.uniform([3]).numpy(),
                tf.random.normal([5], seed=7).numpy(), tf.random.normal([5], seed=7).numpy(),
                tf.random.truncated_normal([4]).numpy(),
                tf.nn.dropout(tf.ones([20]), 0.5).numpy()]

    tf.random.set_seed(1234)
    first = program()
    tf.random.set_seed(1234)
    second = program()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    # Successive calls differ, with and without an op seed.
    assert not np.array_equal(first[2], first[3])
    tf.random.set_seed(1234)
    a, b = tf.random.normal([5]).numpy(), tf.random.normal([5]).numpy()
    assert not np.array_equal(a, b)
    tf.random.set_seed(4321)
    assert not np.array_equal(tf.random.normal([5]).numpy(), first[0])


@pytest.mark.usefixtures("reset_seed")
def test_op_seed_sequences():
    tf.random.set_seed(5)
    a1, a2 = tf.random.uniform([4], seed=1).numpy(), tf.random.uniform([4], seed=1).numpy()
    tf.random.set_seed(5)
    b1 = tf.random.uniform([4], seed=2).numpy()  # other op seed, other sequence
    c1, c2 = tf.random.uniform([4], seed=1).numpy(), tf.random.uniform([4], seed=1).numpy()
    np.testing.assert_array_equal(a1, c1)
    np.testing.assert_array_equal(a2, c2)
    assert not np.array_equal(a1, b1)
    # The op-seeded sequence does not depend on unseeded draws in between.
    tf.random.set_seed(5)
    tf.random.normal([100])
    np.testing.assert_array_equal(tf.random.uniform([4], seed=1).numpy(), a1)


@pytest.mark.usefixtures("reset_seed")
def test_op_seed_without_global_seed_is_reproducible():
    tf.random.set_seed(None)
    a = tf.random.normal([6], seed=3).numpy()
    tf.random.set_seed(None)
    b = tf.random.normal([6], seed=3).numpy()
    np.testing.assert_array_equal(a, b)


@pytest.mark.usefixtures("reset_seed")
def test_no_seed_is_nondeterministic():
    tf.random.set_seed(None)
    a = tf.random.normal([16]).numpy()
    tf.random.set_seed(None)
    b = tf.random.normal([16]).numpy()
    assert not np.array_equal(a, b)
    assert not np.array_equal(tf.random.normal([16]).numpy(), tf.random.normal([16]).numpy())


@pytest.mark.usefixtures("reset_seed")
def test_failed_draw_leaves_state_untouched():
    tf.random.set_seed(9)
    a = tf.random.normal([3], seed=1).numpy()
    tf.random.set_seed(9)
    with pytest.raises(ValueError, match="non-negative"):
        tf.random.normal([-1, 3], seed=1)
    np.testing.assert_array_equal(tf.random.normal([3], seed=1).numpy(), a)


def test_key_derivation_is_fixed():
    from corten.ops import _seed

    # splitmix64 reference values (seed 0: first outputs of the generator with state 0).
    assert _seed.splitmix64(0) == 0xE220A8397B1DCDAF
    assert _seed.mix(3, 1, 2) == _seed.mix(3, 1, 2)
    assert _seed.mix(3, 1, 2) != _seed.mix(3, 2, 1)
    assert _seed.mix(3, -1, 0) == _seed.mix(3, 2**64 - 1, 0)


def test_set_seed_rejects_non_integers():
    with pytest.raises(TypeError, match="seed must be an integer"):
        tf.random.set_seed(1.5)


# ---------------------------------------------------------------------------------------------
# Stateless variants


@pytest.mark.parametrize("fn", ["stateless_normal", "stateless_uniform",
                                "stateless_truncated_normal"])
def test_stateless_same_seed_same_values(fn):
    f = getattr(tf.random, fn)
    a = f([3, 5], seed=[1, 2]).numpy()
    tf.random.set_seed(77)
    tf.random.normal([10])
    b = f([3, 5], seed=(1, 2)).numpy()
    c = f([3, 5], seed=tf.constant([1, 2])).numpy()
    d = f([3, 5], seed=np.array([1, 2], dtype=np.int64)).numpy()
    tf.random.set_seed(None)
    for other in (b, c, d):
        np.testing.assert_array_equal(a, other)
    assert not np.array_equal(a, f([3, 5], seed=[2, 1]).numpy())


def test_stateless_known_values():
    # Pins the stream layout (key derivation, counter use, Box-Muller) against regressions.
    u = tf.random.stateless_uniform([4], seed=[0, 0], maxval=2**31 - 1, dtype="int32").numpy()
    from corten.ops import _seed

    key = _seed.mix(3, 0, 0)
    words = _C._philox4x32([0, 0, 0, 0], [key & 0xFFFFFFFF, key >> 32])
    np.testing.assert_array_equal(u, [w % (2**31 - 1) for w in words])
    f = tf.random.stateless_uniform([4], seed=[0, 0]).numpy()
    np.testing.assert_array_equal(f, [(w >> 8) * 2.0**-24 for w in words])
    n = tf.random.stateless_normal([2], seed=[0, 0], dtype="float64").numpy()
    u1 = (((words[1] << 32 | words[0]) >> 11) + 1) * 2.0**-53
    u2 = ((words[3] << 32 | words[2]) >> 11) * 2.0**-53
    r = np.sqrt(-2 * np.log(u1))
    np.testing.assert_allclose(n, [r * np.cos(2 * np.pi * u2), r * np.sin(2 * np.pi * u2)],
                               rtol=1e-14)


def test_stateless_bad_seed():
    with pytest.raises(ValueError, match=r"seed must be a pair of integers"):
        tf.random.stateless_normal([2], seed=[1, 2, 3])
    with pytest.raises(ValueError, match=r"seed must be a pair of integers"):
        tf.random.stateless_uniform([2], seed=5)
    with pytest.raises(TypeError, match="seed must be an integer"):
        tf.random.stateless_normal([2], seed=[1.5, 2])


# ---------------------------------------------------------------------------------------------
# Argument errors


def test_random_errors():
    with pytest.raises(TypeError,
                       match="random_normal: dtype must be float32 or float64; got int32"):
        tf.random.normal([2], dtype="int32")
    with pytest.raises(TypeError, match="truncated_normal: dtype must be float32 or float64"):
        tf.random.truncated_normal([2], dtype="int64")
    with pytest.raises(TypeError, match=r"uniform: dtype must be .*Received: dtype=bool"):
        tf.random.uniform([2], dtype="bool")
    with pytest.raises(ValueError, match=r"random_normal: shape must be fully defined .*\(2, -3\)"):
        tf.random.normal([2, -3])
    with pytest.raises(ValueError, match=r"shape must be fully defined .*\(None, 3\)"):
        tf.random.uniform([None, 3])
    with pytest.raises(ValueError, match="Must specify maxval for integer dtype int32"):
        tf.random.uniform([2], dtype="int32")
    with pytest.raises(ValueError, match="minval must be less than maxval.*minval=5, maxval=5"):
        tf.random.uniform([2], minval=5, maxval=5, dtype="int64")
    with pytest.raises(ValueError, match="must fit in int32"):
        tf.random.uniform([2], maxval=2**40, dtype="int32")
    with pytest.raises(ValueError,
                       match="maxval must be an integer for dtype int32; got maxval=2.5"):
        tf.random.uniform([2], maxval=2.5, dtype="int32")
    with pytest.raises(ValueError, match="random_normal: stddev must be finite; got stddev=inf"):
        tf.random.normal([2], stddev=float("inf"))
    with pytest.raises(ValueError, match="random_uniform: minval, maxval and maxval - minval must "
                                         "be finite"):
        tf.random.uniform([2], minval=-3e308, maxval=3e308, dtype="float64")
    with pytest.raises(ValueError, match="non-negative"):
        tf.random.stateless_uniform([-1], seed=[1, 2])


# ---------------------------------------------------------------------------------------------
# Dropout


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_dropout_kept_fraction_and_scale(dtype, rate):
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 2.0, size=(400, 500)).astype(dtype)
    y = tf.nn.dropout(tf.constant(x), rate, seed=3).numpy()
    assert y.dtype == np.dtype(dtype)
    kept = y != 0
    assert abs(kept.mean() - (1 - rate)) < 0.005
    scale = np.asarray(1.0 / (1.0 - rate), dtype=dtype)
    np.testing.assert_array_equal(y[kept], x[kept] * scale)
    assert np.all(y[~kept] == 0)


def test_dropout_keeps_exactly_where_u_is_at_least_rate():
    # TensorFlow keeps an element when u = word / 2^32 >= rate; the kernels compare the word
    # with ceil(rate * 2^32). Rates equal to a drawn u, and one ulp above it, pin the boundary.
    from corten.ops import _seed

    key = _seed.stateless_key([5, 6])
    words = [w for b in range(4)
             for w in _C._philox4x32([b, 0, 0, 0], [key & 0xFFFFFFFF, key >> 32])]
    u = np.array(words, dtype=np.float64) * 2.0**-32
    x = tf.ones([16], dtype="float64")
    for k in range(6):
        for rate in (u[k], np.nextafter(u[k], 1.0), np.nextafter(u[k], 0.0)):
            if not 0 < rate < 1:
                continue
            y = _C.dropout(x, float(rate), None, key, 0).numpy()
            np.testing.assert_array_equal(y != 0, u >= rate, err_msg=f"rate {rate!r}")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_dropout_of_special_values(dtype):
    # Kept: x * scale (inf and NaN included); dropped: +0, whatever x's sign or value.
    from corten.ops import _seed

    key = _seed.stateless_key([2, 3])
    x = np.tile(np.array([np.inf, -np.inf, np.nan, -0.0, -1.5, 3.0], dtype=dtype), 200)
    y = _C.dropout(tf.constant(x), 0.5, None, key, 0).numpy()
    keep = _C.dropout(tf.ones(x.shape, dtype=dtype), 0.5, None, key, 0).numpy() != 0
    assert 0.3 < keep.mean() < 0.7
    np.testing.assert_array_equal(y[keep], x[keep] * np.asarray(2.0, dtype=dtype))
    assert np.all(y[~keep] == 0) and not np.signbit(y[~keep]).any()


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_bfloat16_dropout_is_the_float32_one_rounded(layout):
    # bfloat16 on the CPU is dropped in place: the same mask, the float32 product rounded once,
    # as through a float32 copy (Note [Half-precision compute]); dropped elements are +0.
    from corten.ops import _seed

    key = _seed.stateless_key([8, 1])
    x = np.random.default_rng(5).normal(size=(40, 70)).astype(np.float32)
    x[0, :6] = [np.inf, -np.inf, np.nan, -0.0, 3e38, -1.5]
    xb = tf.cast(tf.constant(x if layout == "contiguous" else np.ascontiguousarray(x.T)),
                 "bfloat16")
    if layout == "transposed":
        xb = tf.transpose(xb)
        assert not xb._is_contiguous()
    got = _C.dropout(xb, 0.3, None, key, 0)
    want = tf.cast(_C.dropout(tf.cast(xb, "float32"), 0.3, None, key, 0), "bfloat16")
    assert got.dtype == tf.bfloat16
    np.testing.assert_array_equal(np.asarray(got).view(np.uint16),
                                  np.asarray(want).view(np.uint16))


def test_dropout_rate_zero_is_identity():
    x = tf.constant([[1.0, -2.0], [3.0, 4.5]])
    y = tf.nn.dropout(x, 0.0)
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    assert not y._is_same(x)


def test_dropout_noise_shape_broadcast():
    x = tf.ones([200, 300], dtype="float64")
    rows = tf.nn.dropout(x, 0.5, noise_shape=[200, 1], seed=1).numpy()
    assert np.all((rows == 0).all(axis=1) | (rows == 2).all(axis=1))
    assert 0.35 < (rows[:, 0] == 0).mean() < 0.65
    cols = tf.nn.dropout(x, 0.5, noise_shape=[1, 300], seed=1).numpy()
    assert np.all((cols == 0).all(axis=0) | (cols == 2).all(axis=0))
    # Shorter noise shapes align to the right, None takes x's size.
    cols2 = tf.nn.dropout(x, 0.5, noise_shape=[300], seed=2).numpy()
    assert np.all((cols2 == 0).all(axis=0) | (cols2 == 2).all(axis=0))
    x3 = tf.ones([4, 5, 6])
    ch = tf.nn.dropout(x3, 0.5, noise_shape=[None, 1, None], seed=2).numpy()
    assert np.all((ch == 0).all(axis=1) | (ch == 2).all(axis=1))
    # The mask is a function of the noise shape's elements: same key, same whole-row pattern.
    from corten.ops import _seed

    key = _seed.stateless_key([1, 1])
    full = _C.dropout(tf.ones([200, 1]), 0.5, None, key, 0).numpy()
    bcast = _C.dropout(tf.ones([200, 300]), 0.5, [200, 1], key, 0).numpy()
    np.testing.assert_array_equal(np.broadcast_to(full, (200, 300)), bcast)


def test_dropout_non_contiguous_input():
    base = np.arange(1, 61, dtype=np.float32).reshape(6, 10)
    from corten.ops import _seed

    key = _seed.stateless_key([4, 4])
    xt = tf.transpose(tf.constant(base))
    assert not xt._is_contiguous()
    y = _C.dropout(xt, 0.5, None, key, 0).numpy()
    ref = _C.dropout(tf.constant(np.ascontiguousarray(base.T)), 0.5, None, key, 0).numpy()
    np.testing.assert_array_equal(y, ref)
    xs = tf.constant(base)[:, ::2]
    y = _C.dropout(xs, 0.5, None, key, 0).numpy()
    ref = _C.dropout(tf.constant(np.ascontiguousarray(base[:, ::2])), 0.5, None, key, 0).numpy()
    np.testing.assert_array_equal(y, ref)


@pytest.mark.parametrize("shape", [(), (0,), (1,), (0, 3), (3, 4)])
def test_dropout_shapes(shape):
    x = tf.ones(shape)
    y = tf.nn.dropout(x, 0.5, seed=1)
    assert y._shape_tuple == shape
    assert set(np.unique(y.numpy())) <= {0.0, 2.0}


def test_dropout_errors():
    x = tf.ones([3, 4])
    with pytest.raises(ValueError, match=r"dropout: rate must be in \[0, 1\); got 1.5"):
        tf.nn.dropout(x, 1.5)
    with pytest.raises(ValueError, match=r"dropout: rate must be in \[0, 1\); got 1"):
        tf.nn.dropout(x, 1.0)
    with pytest.raises(ValueError, match=r"dropout: rate must be in \[0, 1\); got -0.1"):
        tf.nn.dropout(x, -0.1)
    with pytest.raises(ValueError, match=r"dropout: rate must be in \[0, 1\); got nan"):
        tf.nn.dropout(x, float("nan"))
    with pytest.raises(TypeError, match="dropout: x must be a floating tensor .*got dtype int32"):
        tf.nn.dropout(tf.constant([1, 2]), 0.5)
    with pytest.raises(ValueError, match=r"noise_shape \(3, 5\) is not broadcastable to x.shape "
                                         r"\(3, 4\)"):
        tf.nn.dropout(x, 0.5, noise_shape=[3, 5])
    with pytest.raises(ValueError, match=r"noise_shape \(2, 3, 4\) has more dimensions"):
        tf.nn.dropout(x, 0.5, noise_shape=[2, 3, 4])


def test_namespaces():
    for name in ("set_seed", "normal", "uniform", "truncated_normal", "stateless_normal",
                 "stateless_uniform", "stateless_truncated_normal"):
        assert callable(getattr(tf.random, name))
    assert tf.nn.dropout is tf.ops.random.dropout
    assert not hasattr(tf.random, "dropout")
