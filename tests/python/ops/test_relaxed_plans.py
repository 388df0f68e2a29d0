"""corten.function(reduce_retracing=True): a plan that two traces at different sizes agree on
serves every size (Note [Relaxed plans]); a size that reaches an attribute, a constant or a
Python result keeps plans per shape."""

from __future__ import annotations

import corten as tf
import numpy as np
import pytest
from corten import keras
from corten.testing import mse_train_step


def _x(*shape, seed=0):
    return tf.constant(np.random.default_rng(seed).standard_normal(shape).astype("float32"))


def test_a_dense_layer_traces_twice_for_every_batch_size():
    w = tf.constant(np.linspace(-1, 1, 12, dtype="float32").reshape(4, 3))

    def dense(x):
        return tf.nn.relu(tf.matmul(x, w)) * 2.0 + tf.reduce_mean(x, axis=1, keepdims=True)

    f = tf.function(dense, reduce_retracing=True)
    for n in (2, 3, 7, 64, 1, 5):
        x = _x(n, 4, seed=n)
        np.testing.assert_array_equal(f(x).numpy(), dense(x).numpy())
    assert f.experimental_get_tracing_count() == 2
    # Without reduce_retracing: one plan per shape.
    g = tf.function(dense)
    for n in (2, 3, 7):
        g(_x(n, 4))
    assert g.experimental_get_tracing_count() == 3


def test_only_the_dimensions_that_changed_are_relaxed():
    f = tf.function(lambda x: tf.reduce_sum(x * x, axis=0), reduce_retracing=True)
    f(_x(2, 3))
    f(_x(5, 3))
    assert f.experimental_get_tracing_count() == 2
    np.testing.assert_allclose(f(_x(9, 3)).numpy(), np.sum(_x(9, 3).numpy() ** 2, axis=0),
                               rtol=1e-6)
    assert f.experimental_get_tracing_count() == 2
    f(_x(9, 4))  # the feature dimension was the same in both traces: a new plan
    assert f.experimental_get_tracing_count() == 3
    f(_x(4))     # another rank
    f(tf.constant(np.ones((4, 3))))  # another dtype
    assert f.experimental_get_tracing_count() == 5


@pytest.mark.parametrize("make", [
    lambda x: tf.reshape(x, (x.shape[0] * 2, -1)),          # a size in an attribute
    lambda x: x + tf.ones((x.shape[0], 1)),                  # a size in a captured constant
    lambda x: x * (1.0 / x.shape[0]),                        # a size in a scalar constant
    lambda x: (x * 2.0, x.shape[0]),                         # a size returned to Python
])
def test_a_size_that_reaches_the_plan_keeps_one_plan_per_shape(make):
    f = tf.function(make, reduce_retracing=True)
    for n in (2, 4, 6):
        x = _x(n, 4, seed=n)
        got, want = f(x), make(x)
        for a, b in zip(tf.nest.flatten(got), tf.nest.flatten(want), strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert f.experimental_get_tracing_count() == 3


def test_a_relaxed_training_step_matches_eager_steps():
    def run(compiled: bool):
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(2)])
        model.build((None, 5))
        opt = keras.optimizers.Adam(0.01)

        step = mse_train_step(model, opt)

        fn = tf.function(step, reduce_retracing=True) if compiled else step
        losses = [float(fn(_x(n, 5, seed=n), _x(n, 2, seed=n + 1)))
                  for n in (4, 6, 3, 8, 4, 1)]
        return losses, [w.numpy() for w in model.weights], fn

    eager_losses, eager_weights, _ = run(False)
    losses, weights, fn = run(True)
    assert fn.experimental_get_tracing_count() == 2
    np.testing.assert_array_equal(losses, eager_losses)
    for a, b in zip(weights, eager_weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_fused_chains_run_at_any_size():
    f = tf.function(lambda x, y: tf.exp(x) * y - tf.sigmoid(y) * 3.0, reduce_retracing=True)
    for n in (3, 10, 1000, 7):
        x, y = _x(n, 2, seed=n), _x(n, 2, seed=n + 50)
        want = np.exp(x.numpy()) * y.numpy() - 1 / (1 + np.exp(-y.numpy())) * 3.0
        np.testing.assert_allclose(f(x, y).numpy(), want, rtol=2e-6, atol=1e-6)
    assert "fused[" in f.plan_summary()
    assert f.experimental_get_tracing_count() == 2


def test_plans_with_different_attributes_are_different_computations():
    a = tf.function(lambda x: tf.reduce_sum(x, axis=0))
    b = tf.function(lambda x: tf.reduce_sum(x, axis=1))
    x = _x(3, 3)
    a(x)
    b(x)
    plan_a = a._last_plan.plan
    plan_b = b._last_plan.plan
    assert plan_a.same_computation(plan_a)
    assert not plan_a.same_computation(plan_b)
    with pytest.raises(ValueError, match="different computations"):
        plan_a.relaxed(plan_b)
