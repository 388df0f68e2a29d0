"""The activation-derivative fusion pass of traced plans (Note [Activation-derivative fusion]):
a Dense backward's matmul and its activation's gradient nodes become one
matmul_activation_grad node, and the fused plan gives the unfused plan's and eager mode's
results bit for bit."""

from __future__ import annotations

import corten as tf
import numpy as np
import pytest
from corten import keras
from corten.keras import layers
from corten.testing import mse_train_step


def _mlp(dtype="float32", sizes=(20, 24, 16, 12, 3)):
    keras.utils.set_random_seed(3)
    acts = ["relu", "sigmoid", "tanh"][: len(sizes) - 2] + [None]
    return keras.Sequential([keras.Input((sizes[0],))] + [
        layers.Dense(units, act, dtype=dtype) for units, act in zip(sizes[1:], acts, strict=True)])


def _train(mode, threads, dtype="float32", steps=3, sizes=(20, 24, 16, 12, 3)):
    """Weights after `steps` SGD steps of a relu-sigmoid-tanh MLP: `mode` is "fused" (the
    default plan), "unfused" (jit_compile=False) or "eager"."""
    before = tf.config.threading.get_intra_op_parallelism_threads()
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    try:
        model = _mlp(dtype, sizes)
        opt = keras.optimizers.SGD(0.1)

        step = mse_train_step(model, opt)

        fn = step if mode == "eager" else tf.function(step, jit_compile=mode != "unfused")
        rng = np.random.default_rng(0)
        x = rng.standard_normal((64, sizes[0])).astype(dtype)
        y = rng.standard_normal((64, sizes[-1])).astype(dtype)
        for _ in range(steps):
            fn(tf.constant(x), tf.constant(y))
        summary = fn.plan_summary() if mode != "eager" else ""
        return [w.numpy() for w in model.trainable_variables], summary
    finally:
        tf.config.threading.set_intra_op_parallelism_threads(before)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_plan_matches_unfused_and_eager_bit_for_bit(threads, dtype):
    fused, summary = _train("fused", threads, dtype)
    unfused, plain_summary = _train("unfused", threads, dtype)
    eager, _ = _train("eager", threads, dtype)
    # One fused node per hidden layer (relu, sigmoid and tanh), none without fusion.
    assert summary.count("matmul_activation_grad(") == 3
    assert "matmul_activation_grad" not in plain_summary
    assert "relu_grad" not in summary
    for f, u, e in zip(fused, unfused, eager, strict=True):
        np.testing.assert_array_equal(f, u)
        np.testing.assert_array_equal(f, e)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_deep_product_fuses_through_the_k_split(threads):
    # 784 -> 64 (relu) -> 784: the relu layer's gx is 64x784 . (64x784)^T, summed in two K
    # chunks (Note [GEMM blocking]) before the derivative is applied.
    sizes = (784, 64, 784)
    fused, summary = _train("fused", threads, sizes=sizes, steps=2)
    unfused, _ = _train("unfused", threads, sizes=sizes, steps=2)
    eager, _ = _train("eager", threads, sizes=sizes, steps=2)
    assert summary.count("matmul_activation_grad(") == 1
    for f, u, e in zip(fused, unfused, eager, strict=True):
        np.testing.assert_array_equal(f, u)
        np.testing.assert_array_equal(f, e)


def test_fused_results_do_not_depend_on_the_thread_count():
    one, _ = _train("fused", 1)
    two, _ = _train("fused", 2)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_product_read_elsewhere_is_not_fused():
    w = tf.Variable(np.linspace(-1, 1, 12, dtype="float32").reshape(3, 4))

    @tf.function
    def f(g, y):
        p = tf.matmul(g, w, transpose_b=True)
        d = p * (y * (1.0 - y))  # the sigmoid derivative's chain
        return d, tf.reduce_sum(p)  # p is also read by the reduction

    g = np.ones((5, 4), np.float32)
    y = np.full((5, 3), 0.25, np.float32)
    d, s = f(g, y)
    assert "matmul_activation_grad" not in f.plan_summary()
    np.testing.assert_allclose(d.numpy(), (g @ w.numpy().T) * (0.25 * 0.75), rtol=1e-6)
    np.testing.assert_allclose(s.numpy(), (g @ w.numpy().T).sum(), rtol=1e-6)


@pytest.mark.parametrize("chain", ["sigmoid", "tanh", "relu"])
def test_a_hand_written_chain_fuses_and_matches(chain):
    rng = np.random.default_rng(5)
    w = tf.Variable(rng.standard_normal((7, 9)).astype("float32"))

    def f(g, y):
        p = tf.matmul(g, w)
        if chain == "sigmoid":
            return p * (y * (1.0 - y))
        if chain == "tanh":
            return p * (1.0 - y * y)
        with tf.GradientTape() as tape:
            tape.watch(y)
            r = tf.nn.relu(y)
        return tape.gradient(r, y, output_gradients=p)

    g = rng.standard_normal((6, 7)).astype("float32")
    y = rng.uniform(-0.5, 1, (6, 9)).astype("float32")
    fused, plain = tf.function(f), tf.function(f, jit_compile=False)
    got, want = fused(g, y).numpy(), plain(g, y).numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, f(tf.constant(g), tf.constant(y)).numpy())
    assert "matmul_activation_grad(" in fused.plan_summary()
