"""tf.random.shuffle and the permutation behind it (Note [Random permutation]): every result is
a permutation, uniform over all of them, reproducible from the seed on any thread count, and
drawn from the stateful streams like the other random ops (eagerly and in a traced plan)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import corten as tf
from corten import _C


@pytest.fixture
def restore_threads():
    previous = tf.config.threading.get_intra_op_parallelism_threads()
    yield
    tf.config.threading.set_intra_op_parallelism_threads(previous)


@pytest.mark.parametrize("n", [0, 1, 2, 7, 4096, 100_001])
def test_permutation_holds_every_index_once(n):
    perm = _C.random_permutation(n, 11, 0).numpy()
    assert perm.dtype == np.int64 and perm.shape == (n,)
    np.testing.assert_array_equal(np.sort(perm), np.arange(n))


def test_every_permutation_equally_likely():
    # 24,000 permutations of 4 indices, one per counter offset: a chi-square test over the
    # 24 orders (23 degrees of freedom; 70 is beyond the 1e-6 quantile, 56.4).
    draws = 24_000
    counts: dict[tuple[int, ...], int] = {}
    for offset in range(draws):
        key = tuple(_C.random_permutation(4, 5, offset * 2).numpy().tolist())
        counts[key] = counts.get(key, 0) + 1
    assert set(counts) == set(itertools.permutations(range(4)))
    expected = draws / 24
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi2 < 70, counts


def test_each_index_lands_anywhere_uniformly():
    # Where index 0 and index n-1 land over 20,000 shuffles of 16: 20,000 / 16 = 1250 per
    # position, binomial standard deviation 34; 6 sigma bounds.
    n, draws = 16, 20_000
    first = np.zeros(n, np.int64)
    last = np.zeros(n, np.int64)
    for offset in range(draws):
        perm = _C.random_permutation(n, 9, offset * 8).numpy()
        first[np.flatnonzero(perm == 0)[0]] += 1
        last[np.flatnonzero(perm == n - 1)[0]] += 1
    sd = math.sqrt(draws * (1 / n) * (1 - 1 / n))
    assert np.all(np.abs(first - draws / n) < 6 * sd), first
    assert np.all(np.abs(last - draws / n) < 6 * sd), last


def test_seed_determines_the_permutation():
    a = _C.random_permutation(1000, 3, 0).numpy()
    np.testing.assert_array_equal(a, _C.random_permutation(1000, 3, 0).numpy())
    assert not np.array_equal(a, _C.random_permutation(1000, 4, 0).numpy())
    assert not np.array_equal(a, _C.random_permutation(1000, 3, 500).numpy())


@pytest.mark.usefixtures("restore_threads")
def test_same_permutation_on_every_thread_count():
    results = []
    for threads in (1, 2, 3):
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        results.append(_C.random_permutation(300_000, 21, 7).numpy())
    for r in results[1:]:
        np.testing.assert_array_equal(results[0], r)


def test_stream_advances_by_the_counters_of_an_int64_draw():
    key = 123_456
    _C.set_philox_stream_offset(key, 0)
    first = _C.random_permutation(9, key).numpy()
    assert _C.philox_stream_offset(key) == _C.philox_counters_used(9)
    second = _C.random_permutation(9, key).numpy()
    np.testing.assert_array_equal(first, _C.random_permutation(9, key, 0).numpy())
    np.testing.assert_array_equal(second, _C.random_permutation(9, key, 5).numpy())


def test_shuffle_moves_whole_rows():
    x = np.arange(60, dtype=np.float32).reshape(20, 3)
    tf.random.set_seed(1)
    y = tf.random.shuffle(x).numpy()
    assert y.shape == x.shape and y.dtype == x.dtype
    assert not np.array_equal(x, y)
    order = (y[:, 0] // 3).astype(np.int64)
    np.testing.assert_array_equal(np.sort(order), np.arange(20))
    np.testing.assert_array_equal(y, x[order])


def test_shuffle_follows_the_seeds_as_other_stateful_ops():
    x = tf.range(50)
    tf.random.set_seed(7)
    a1, a2 = tf.random.shuffle(x, seed=2).numpy(), tf.random.shuffle(x, seed=2).numpy()
    assert not np.array_equal(a1, a2)  # successive calls continue the stream
    tf.random.set_seed(7)
    np.testing.assert_array_equal(a1, tf.random.shuffle(x, seed=2).numpy())
    np.testing.assert_array_equal(a2, tf.random.shuffle(x, seed=2).numpy())


def test_traced_shuffle_draws_anew_on_every_replay():
    x = tf.range(40)
    f = tf.function(lambda v: tf.random.shuffle(v, seed=3))
    tf.random.set_seed(5)
    eager = [tf.random.shuffle(x, seed=3).numpy() for _ in range(3)]
    tf.random.set_seed(5)
    traced = [f(x).numpy() for _ in range(3)]
    for e, t in zip(eager, traced, strict=True):
        np.testing.assert_array_equal(e, t)


def test_shuffle_errors():
    with pytest.raises(ValueError, match="shuffle: value must be at least 1-D"):
        tf.random.shuffle(3.0)
    with pytest.raises(ValueError, match="random_permutation: n must be non-negative; got -1"):
        _C.random_permutation(-1, 1, 0)
    with pytest.raises((ValueError, MemoryError), match="random_permutation"):
        _C.random_permutation(1 << 62, 1, 0)
