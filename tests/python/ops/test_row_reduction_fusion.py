"""Row reductions at the end of fused groups (Note [Row reductions in fused nodes]): a sum or mean
over the last axis of a fused chain gives the unfused plan's and eager results bit for bit, in
tiles of whole rows and through the long-row path; the reduced value is stored only when
something other than reduce_grad's shape read needs it; gradients through such a loss match
eager execution exactly."""

from __future__ import annotations

import corten as tf
import numpy as np
import pytest
from corten import keras


def _ops(f):
    return f._last_plan.plan.ops


def _summary(f):
    return f._last_plan.plan.summary()


def _mse(a, b):
    return tf.reduce_mean(tf.square(a - b), axis=-1)


def _chain_sum(a, b, keepdims):
    return tf.reduce_sum(tf.exp(a * 0.25) * b + 1.0, axis=-1, keepdims=keepdims)


# Rows in one tile (784 = 49 x 16 floats), rows that do not fill a vector (10), a tile not a
# multiple of the vector width (1020 = 102 x 10), rows longer than a tile (1500: the full-array
# path), rank 1 (one row) and rank 3.
SHAPES = [(64, 784), (8, 10), (300, 10), (3, 1500), (37,), (2, 3, 50)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_fused_mean_matches_unfused_and_eager_bit_for_bit(shape, dtype):
    rng = np.random.default_rng(len(shape) * 100 + shape[-1])
    a = rng.standard_normal(shape).astype(dtype)
    b = rng.standard_normal(shape).astype(dtype)
    fused = tf.function(_mse)
    plain = tf.function(_mse, jit_compile=False)
    got = fused(a, b).numpy()
    np.testing.assert_array_equal(got, plain(a, b).numpy())
    np.testing.assert_array_equal(got, _mse(tf.constant(a), tf.constant(b)).numpy())
    assert got.shape == shape[:-1]
    assert _ops(fused) == ["fused[subtract,square,reduce_mean]"]
    assert _ops(plain) == ["subtract", "square", "reduce_mean"]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape", [(64, 784), (300, 10), (3, 1500)], ids=str)
def test_fused_sum_with_keepdims_and_a_transcendental(shape, keepdims):
    rng = np.random.default_rng(7)
    a = rng.standard_normal(shape).astype("float32")
    b = rng.standard_normal(shape).astype("float32")
    fused = tf.function(_chain_sum)
    got = fused(a, b, keepdims).numpy()
    want = _chain_sum(tf.constant(a), tf.constant(b), keepdims).numpy()
    np.testing.assert_array_equal(got, want)
    assert got.shape == (shape[0], 1) if keepdims else (shape[0],)
    assert _ops(fused) == ["fused[multiply,exp,multiply,add,reduce_sum]"]


@pytest.mark.parametrize("threads", [1, 2])
def test_fused_reduction_does_not_depend_on_the_thread_count(threads):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4096, 100)).astype("float32")
    b = rng.standard_normal((4096, 100)).astype("float32")
    before = tf.config.threading.get_intra_op_parallelism_threads()
    f = tf.function(_mse)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        one = f(a, b).numpy()
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        np.testing.assert_array_equal(f(a, b).numpy(), one)
    finally:
        tf.config.threading.set_intra_op_parallelism_threads(before)


def test_other_axes_and_other_reductions_stay_nodes_of_their_own():
    x = np.random.default_rng(0).standard_normal((6, 5)).astype("float32")
    f = tf.function(lambda t: (tf.reduce_mean(t * t, axis=0), tf.reduce_max(t + 1.0, axis=-1),
                               tf.reduce_sum(tf.exp(t))))
    f(x)
    assert _ops(f) == ["multiply", "reduce_mean", "add", "reduce_max", "exp", "reduce_sum"]


def test_a_reduced_value_read_elsewhere_is_stored():
    a = np.random.default_rng(1).standard_normal((16, 40)).astype("float32")

    @tf.function
    def f(x):
        sq = tf.square(x - 1.0)
        return tf.reduce_mean(sq, axis=-1), sq * 3.0

    m, s3 = f(a)
    sq = np.square(a - np.float32(1.0))
    np.testing.assert_array_equal(s3.numpy(), sq * np.float32(3.0))
    np.testing.assert_array_equal(m.numpy(), _mse(tf.constant(a), tf.constant(1.0)).numpy())
    assert _ops(f)[0] == "fused[subtract,square,reduce_mean]"
    line = next(ln for ln in _summary(f).splitlines() if "reduce_mean]" in ln)
    assert line.split("->")[1].count("float32(16, 40)") == 1, line  # sq, for the other reader


def test_reduce_grad_reads_another_value_for_the_shape():
    # The MSE's backward reads the squares only for their shape: they never leave the tiles.
    rng = np.random.default_rng(2)
    a = tf.Variable(rng.standard_normal((32, 300)).astype("float32"))
    b = rng.standard_normal((32, 300)).astype("float32")

    def grads(y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(_mse(a, y))
        return loss, tape.gradient(loss, a)

    fused = tf.function(grads)
    loss, g = fused(b)
    eager_loss, eager_g = grads(tf.constant(b))
    np.testing.assert_array_equal(loss.numpy(), eager_loss.numpy())
    np.testing.assert_array_equal(g.numpy(), eager_g.numpy())
    line = next(ln for ln in _summary(fused).splitlines() if "reduce_mean]" in ln)
    outputs = line.split("->")[1]
    assert outputs.count("float32(32, 300)") == 1, line  # the difference, not the squares


def test_mse_training_steps_match_eager_bit_for_bit():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((64, 20)).astype("float32")
    y = rng.standard_normal((64, 5)).astype("float32")
    weights = []
    for run_eagerly in (False, True):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(5, activation="sigmoid")])
        model.compile("adam", "mse", run_eagerly=run_eagerly)
        model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    for w_compiled, w_eager in zip(*weights, strict=True):
        np.testing.assert_array_equal(w_compiled, w_eager)
