"""The pointwise fusion pass of traced plans (Note [Pointwise fusion]): which nodes fuse, that a
fused plan gives the unfused plan's results bit for bit (the fused kernel against the op-by-op
kernels it replaces), and the rules that keep fused groups correct."""

from __future__ import annotations

import corten as tf
import numpy as np
import pytest
from corten import keras
from corten.keras import layers


def _ops(f):
    return f._last_plan.plan.ops


def _chain(x, y):
    a = tf.exp(x * 0.5) - y
    b = tf.tanh(a) * tf.sigmoid(y) + 1.0
    return tf.square(b) / (tf.abs(a) + 2.0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [1, 15, 256, 1000, 70_001])
def test_fused_chain_matches_the_unfused_plan_bit_for_bit(dtype, n):
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(dtype) * 3
    y = rng.standard_normal(n).astype(dtype)
    fused = tf.function(_chain)
    plain = tf.function(_chain, jit_compile=False)
    got, want = fused(x, y).numpy(), plain(x, y).numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(want, _chain(tf.constant(x), tf.constant(y)).numpy())
    assert len(_ops(fused)) == 1
    assert _ops(fused)[0].startswith("fused[")
    assert len(_ops(plain)) == 11
    plan = fused._last_plan.plan
    assert plan.num_fused_groups == 1
    assert plan.num_fused_nodes == 11


@pytest.mark.parametrize("threads", [1, 2])
def test_fused_results_do_not_depend_on_the_thread_count(threads):
    x = np.random.default_rng(0).standard_normal(300_001).astype("float32")
    before = tf.config.threading.get_intra_op_parallelism_threads()
    f = tf.function(lambda t: tf.tanh(t) * t + tf.exp(-t * t))
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        one = f(x).numpy()
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        np.testing.assert_array_equal(f(x).numpy(), one)
    finally:
        tf.config.threading.set_intra_op_parallelism_threads(before)


def test_a_value_read_outside_the_group_is_stored_and_the_rest_stay_in_tiles():
    @tf.function
    def f(x):
        a = x * 2.0 + 1.0  # read by the reduction: stored
        s = tf.reduce_max(a)  # not a sum or mean: a node of its own
        b = tf.sqrt(a * a + 1.0)  # a new group, after the reduction closed the first
        return s, b

    x = np.linspace(-1, 1, 64, dtype="float32")
    s, b = f(x)
    a = x * 2 + 1
    np.testing.assert_allclose(s.numpy(), a.max(), rtol=1e-6)
    np.testing.assert_allclose(b.numpy(), np.sqrt(a * a + 1), rtol=1e-6)
    ops = _ops(f)
    assert ops[:2] == ["fused[multiply,add]", "reduce_max"]
    assert ops[2] == "fused[multiply,add,sqrt]"


def test_a_write_between_members_keeps_them_apart():
    v = tf.Variable(np.ones(4, dtype="float32"))

    @tf.function
    def f(x):
        a = x * v  # reads v before the assign
        v.assign(v * 10.0)
        return a + v  # reads v after it

    out = f(np.full(4, 2.0, dtype="float32")).numpy()
    np.testing.assert_array_equal(out, [12, 12, 12, 12])  # 2 * 1 + 10
    out = f(np.full(4, 2.0, dtype="float32")).numpy()
    np.testing.assert_array_equal(out, [120, 120, 120, 120])  # 2 * 10 + 100


def test_broadcasts_comparisons_and_integers_are_not_fused():
    @tf.function
    def f(x, row, k):
        a = x * row + 1.0  # row broadcasts along the columns: not a member
        m = tf.cast(tf.greater(a, 0.0), "float32") * a  # a comparison ends the chain
        return m, k * 2 + 1  # int32: not fused

    x = np.ones((3, 4), "float32")
    m, k = f(x, np.arange(4, dtype="float32"), np.arange(3, dtype="int32"))
    np.testing.assert_array_equal(m.numpy(), np.ones((3, 1)) * (np.arange(4) + 1))
    np.testing.assert_array_equal(k.numpy(), [1, 3, 5])
    assert not any(op.startswith("fused[") and "greater" in op for op in _ops(f))
    assert {"multiply", "add"} <= set(_ops(f))


def test_a_broadcast_view_of_one_value_is_a_scalar_operand():
    @tf.function
    def f(x):
        c = tf.broadcast_to(tf.constant(3.0), x.shape)
        return (x + c) * c

    x = np.arange(8, dtype="float32").reshape(2, 4)
    np.testing.assert_array_equal(f(x).numpy(), (x + 3) * 3)
    assert _ops(f) == ["fused[add,multiply]"]


def test_compiled_fit_with_fusion_matches_eager_training():
    def make():
        tf.keras.utils.set_random_seed(7)
        m = keras.Sequential([keras.Input((6,)), layers.Dense(8, activation="sigmoid"),
                              layers.Dense(2)])
        return m

    rng = np.random.default_rng(1)
    x = rng.standard_normal((48, 6)).astype("float32")
    y = rng.standard_normal((48, 2)).astype("float32")
    histories = []
    for eager in (False, True):
        m = make()
        m.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", run_eagerly=eager)
        histories.append(m.fit(x, y, batch_size=16, epochs=3, shuffle=False,
                               verbose=0).history["loss"])
    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-6)


def _broadcast_chain(x, row, col, t):
    # Operands of other shapes and layouts: a row vector, a column of per-row means, a
    # transposed view, a broadcast view, as a normalisation or a loss gradient has them.
    centred = x - tf.reduce_mean(x, axis=1, keepdims=True)
    return tf.tanh(centred * row + col) * tf.transpose(t) + tf.broadcast_to(col, x.shape)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(3, 5), (64, 784), (1, 7), (300, 2), (5, 1)])
@pytest.mark.parametrize("nthreads", [1, 2])
def test_operands_that_broadcast_or_are_strided_fuse_bit_for_bit(dtype, shape, nthreads, threads):
    threads(nthreads)
    rng = np.random.default_rng(sum(shape))
    m, n = shape
    x = rng.standard_normal(shape).astype(dtype)
    row = rng.standard_normal(n).astype(dtype)
    col = rng.standard_normal((m, 1)).astype(dtype)
    t = rng.standard_normal((n, m)).astype(dtype)
    fused = tf.function(_broadcast_chain)
    plain = tf.function(_broadcast_chain, jit_compile=False)
    got, want = fused(x, row, col, t).numpy(), plain(x, row, col, t).numpy()
    np.testing.assert_array_equal(got, want)
    eager = _broadcast_chain(*(tf.constant(a) for a in (x, row, col, t))).numpy()
    np.testing.assert_array_equal(want, eager)
    fused_ops = [op for op in _ops(fused) if op.startswith("fused[")]
    assert len(fused_ops) == 1
    assert fused_ops[0].count(",") >= 5  # subtract, multiply, add, tanh, multiply, add


def test_a_relaxed_fused_plan_broadcasts_at_every_size():
    f = tf.function(lambda x, b: tf.nn.relu(x * 2.0 + b) - b, reduce_retracing=True)
    b = tf.constant(np.linspace(-1, 1, 6, dtype="float32"))
    for rows in (2, 5, 33, 1):
        x = np.random.default_rng(rows).standard_normal((rows, 6)).astype("float32")
        want = np.maximum(x * 2.0 + b.numpy(), 0) - b.numpy()
        np.testing.assert_array_equal(f(x, b).numpy(), want)
    assert f.experimental_get_tracing_count() == 2
    assert any(op.startswith("fused[") for op in _ops(f))
