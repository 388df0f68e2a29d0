"""Plans that are a chain of Dense products run as direct GEMM calls (Note [Dense chains] in
csrc/trace/dense_chain.cpp), and the GEMM's single-panel path that a one-sample Dense takes
(gemm.cpp): the same results as the replayed nodes and the eager layers, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import corten as tf
from corten import _C, keras
from corten.keras import layers
from corten.ops.linalg import linear

CHAIN = "Runs as a chain of"


def _mlp(dtype="float32", activations=("relu", "relu", None), sizes=(64, 64, 10), width=784):
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(width,), dtype=dtype)
    x = inputs
    for n, act in zip(sizes, activations, strict=True):
        x = layers.Dense(n, activation=act, dtype=dtype)(x)
    return keras.Model(inputs, x)


@pytest.mark.parametrize("rows", [1, 3, 64])
def test_mlp_plan_runs_as_a_chain_and_equals_the_eager_layers(rows, rng):
    model = _mlp(activations=("relu", "sigmoid", None))
    forward = tf.function(lambda x: model(x, training=False))
    x = rng.standard_normal((rows, 784)).astype(np.float32)
    got = forward(tf.constant(x)).numpy()
    assert CHAIN + " 3 Dense products" in forward.plan_summary()
    np.testing.assert_array_equal(got, model(tf.constant(x), training=False).numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linear_chain_equals_the_eager_ops(dtype, rng):
    shapes = [(40, 24), (24, 16), (16, 3)]
    ws = [tf.constant(rng.standard_normal(s).astype(dtype)) for s in shapes]
    bs = [tf.constant(rng.standard_normal(s[1]).astype(dtype)) for s in shapes[:2]]

    def chain(x):
        h = linear(x, ws[0], bs[0], "tanh")
        h = linear(h, ws[1], bs[1], "gelu")
        return linear(h, ws[2])  # no bias

    forward = tf.function(chain)
    x = tf.constant(rng.standard_normal((7, 40)).astype(dtype))
    got = forward(x).numpy()
    assert CHAIN + " 3 Dense products" in forward.plan_summary()
    np.testing.assert_array_equal(got, chain(x).numpy())


def test_chain_follows_weights_assigned_after_tracing(rng):
    model = _mlp()
    forward = tf.function(lambda x: model(x, training=False))
    x = tf.constant(rng.standard_normal((2, 784)).astype(np.float32))
    forward(x)
    kernel = model.layers[1].kernel
    kernel.assign(rng.standard_normal(kernel.shape).astype(np.float32))
    np.testing.assert_array_equal(forward(x).numpy(), model(x, training=False).numpy())


def test_other_nodes_keep_the_replay(rng):
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(16,))
    x = layers.Dense(8, activation="relu")(inputs)
    outputs = layers.Softmax()(layers.Dense(4)(x))
    model = keras.Model(inputs, outputs)
    forward = tf.function(lambda x: model(x, training=False))
    x = tf.constant(rng.standard_normal((5, 16)).astype(np.float32))
    got = forward(x).numpy()
    assert CHAIN not in forward.plan_summary()
    np.testing.assert_array_equal(got, model(x, training=False).numpy())


def test_inputs_the_chain_does_not_take_go_through_the_replay(rng):
    model = _mlp()
    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    x = rng.standard_normal((6, 784)).astype(np.float32)
    forward(tf.constant(x[:2]))
    forward(tf.constant(x[:3]))  # a relaxed plan: any number of rows
    assert CHAIN in forward.plan_summary()
    strided = tf.constant(x)[::2]  # a view with a row stride of two rows
    np.testing.assert_array_equal(forward(strided).numpy(),
                                  model(tf.constant(x[::2]), training=False).numpy())
    empty = forward(tf.constant(x[:0])).numpy()
    assert empty.shape == (0, 10)
    with pytest.raises(ValueError, match="784"):
        forward(tf.constant(x[:, :783]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_single_panel_gemm_equals_the_tiled_driver(dtype, rng):
    """m equal to the kernel's row count, on one thread, takes the single-panel path; on two
    threads the same product (over 2^21 flops) is split by the tiled driver: the same sums."""
    mr = _C.gemm_info(dtype)["mr"]
    for m in sorted({1, mr}):
        x = tf.constant(rng.standard_normal((m, 1024)).astype(dtype))
        w = tf.constant(rng.standard_normal((1024, 1000)).astype(dtype))
        b = tf.constant(rng.standard_normal((1000,)).astype(dtype))
        cfg = tf.config.threading
        before = cfg.get_intra_op_parallelism_threads()
        try:
            cfg.set_intra_op_parallelism_threads(1)
            one = linear(x, w, b, "relu").numpy()
            cfg.set_intra_op_parallelism_threads(2)
            two = linear(x, w, b, "relu").numpy()
        finally:
            cfg.set_intra_op_parallelism_threads(before)
        np.testing.assert_array_equal(one, two)
        want = np.maximum(x.numpy().astype(np.float64) @ w.numpy() + b.numpy(), 0)
        np.testing.assert_allclose(one, want, rtol=1e-4 if dtype == "float32" else 1e-12,
                                   atol=1e-3 if dtype == "float32" else 1e-10)


def test_a_chain_called_inside_a_trace_is_recorded_by_it(tmp_path, rng):
    """A loaded signature called while a function traces: its nodes' replays record
    themselves into that trace, so the traced function follows its inputs (the chain, which
    records nothing, is not taken under a trace)."""
    model = _mlp(sizes=(8, 3), activations=("relu", None), width=4)
    path = str(tmp_path / "mlp.keras")
    model.save(path)
    signature = tf.saved_model.load(path).signatures["serving_default"]
    (name,) = signature.input_names

    @tf.function
    def twice(x):
        return next(iter(signature(**{name: x}).values())) * 2.0

    for rows in (2, 2, 5):  # the second call replays the plan traced by the first
        x = rng.standard_normal((rows, 4)).astype(np.float32)
        np.testing.assert_array_equal(twice(tf.constant(x)).numpy(),
                                      model(tf.constant(x), training=False).numpy() * 2.0)
