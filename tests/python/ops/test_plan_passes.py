"""What a traced plan does to the traced ops: constant folding, dead code, its memory (peak
bytes of intermediates, buffers released at their last read, flat over many runs), per-node
profiles, freed-buffer poisoning and the denormal mode of ops."""

from __future__ import annotations

import gc

import corten as tf
import numpy as np
from corten import _C, keras
from corten.keras import layers


def _plan(f):
    return f._last_plan.plan


def test_constant_subgraphs_are_folded_into_captures():
    c = tf.constant(np.arange(6, dtype="float32").reshape(2, 3))

    @tf.function
    def f(x):
        k = tf.reshape(tf.ones((3, 2)) * 2.0, (2, 3)) + c  # constants only: folded
        return x * k

    x = np.full((2, 3), 3.0, dtype="float32")
    expected = x * (np.arange(6).reshape(2, 3) + 2.0)
    np.testing.assert_array_equal(f(x).numpy(), expected)
    np.testing.assert_array_equal(f(x + 1).numpy(), (x + 1) * (np.arange(6).reshape(2, 3) + 2))
    plan = _plan(f)
    assert plan.ops == ["multiply"]
    assert plan.num_folded >= 3
    assert "folded" in f.plan_summary()


def test_variables_and_random_draws_are_never_folded():
    v = tf.Variable(np.ones(3, dtype="float32"))

    @tf.function
    def f():
        return v * 2.0 + tf.random.uniform((3,))

    a, b = f().numpy(), f().numpy()
    assert not np.array_equal(a, b)  # a new draw per run
    v.assign([5.0, 5.0, 5.0])
    assert np.all(f().numpy() >= 10.0)  # the Variable is read on each run
    assert any("multiply" in op for op in _plan(f).ops)


def test_a_tensor_written_in_place_is_not_folded():
    v = tf.Variable(np.zeros(2, dtype="float32"))

    @tf.function
    def f():
        v.assign_add(tf.ones(2))  # ones() is constant, but the assign is an effect
        return v + 0.0

    np.testing.assert_array_equal(f().numpy(), [1, 1])
    np.testing.assert_array_equal(f().numpy(), [2, 2])


def test_peak_bytes_counts_intermediates_alive_at_once():
    n = 1000  # 4000-byte float32 buffers; softmax is not elementwise, so nothing fuses

    @tf.function
    def chain(x):
        a = tf.nn.softmax(x)
        b = tf.nn.softmax(a)  # a is released after this node
        return tf.nn.softmax(b)  # b is released after this node; the output stays

    chain(np.ones(n, dtype="float32"))
    assert _plan(chain).peak_bytes == 2 * 4000

    @tf.function
    def fan(x):
        a, b, c = tf.nn.softmax(x), tf.nn.log_softmax(x), tf.nn.softmax(x * 2.0)
        return a + b + c  # one fused pass reads a, b and c and writes the sum

    fan(np.ones(n, dtype="float32"))
    assert _plan(fan).peak_bytes == 4 * 4000
    assert "peak 16000 bytes" in fan.plan_summary()


def test_views_of_one_buffer_count_once():
    @tf.function
    def f(x):
        a = x * 2.0
        return tf.reshape(a, (10, 100)) + tf.reshape(a, (100, 10))[0, 0]

    f(np.ones(1000, dtype="float32"))
    # a (shared by its views) and the output; the scalar slice's copy is a few bytes more.
    assert 8000 <= _plan(f).peak_bytes < 8200


def test_profile_times_every_node():
    @tf.function
    def f(x, w):
        return tf.reduce_sum(tf.nn.relu(tf.matmul(x, w)))

    x = np.random.default_rng(0).standard_normal((64, 128)).astype("float32")
    w = np.random.default_rng(1).standard_normal((128, 64)).astype("float32")
    prof = f.profile(x, w, runs=5)
    assert [op for op, _ in prof] == _plan(f).ops
    assert all(t > 0 for _, t in prof)
    assert f.experimental_get_tracing_count() == 1


def test_memory_stays_flat_over_10000_compiled_steps():
    model = keras.Sequential([keras.Input((32,)), layers.Dense(32, activation="relu"),
                              layers.Dropout(0.1), layers.Dense(4)])
    model.compile(optimizer=keras.optimizers.Adam(), metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((16, 32)).astype("float32"))
    y = tf.constant(rng.integers(0, 4, 16))
    step = model.make_train_function()
    for _ in range(100):
        step((x, y))
    assert not step.runs_eagerly
    gc.collect()
    live, objects = _C.memory_stats()["live_bytes"], len(gc.get_objects())
    for _ in range(10_000):
        step((x, y))
    gc.collect()
    assert _C.memory_stats()["live_bytes"] == live
    assert len(gc.get_objects()) - objects < 50


def test_poisoning_is_on_for_the_test_suite():
    assert tf.config.experimental.buffer_poisoning_enabled()


def test_poisoning_leaves_results_alone():
    # Every buffer a plan releases is filled with NaN; a plan that read one after its release
    # would return NaN here.
    model = keras.Sequential([keras.Input((8,)), layers.Dense(16, activation="tanh"),
                              layers.Dense(3)])
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((32, 8)).astype("float32"), rng.standard_normal((32, 3))
    eager = keras.models.clone_model(model)
    eager.set_weights(model.get_weights())
    eager.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    y = y.astype("float32")
    h1 = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False).history["loss"]
    h2 = eager.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False).history["loss"]
    assert np.all(np.isfinite(h1))
    np.testing.assert_allclose(h1, h2, rtol=1e-5)


def test_ops_treat_denormals_as_zero_and_restore_the_callers_mode():
    tiny = np.float32(1e-40)  # a float32 denormal
    assert tiny * np.float32(1.0) != 0  # NumPy (the caller's mode): IEEE denormals
    out = tf.multiply(tf.constant([tiny]), tf.constant([np.float32(1.0)]))
    assert out.numpy()[0] == 0  # inside the op: denormals are zero (as in TensorFlow)
    assert tiny * np.float32(1.0) != 0  # and the caller's mode is back


def test_optimizer_state_does_not_go_denormal():
    # A dead unit's zero gradients decay RMSprop's velocity geometrically; it reaches zero
    # instead of lingering in the (slow) denormal range.
    v = tf.Variable(np.ones(4, dtype="float32"))
    opt = keras.optimizers.RMSprop(rho=0.5)
    opt.apply_gradients([(tf.constant(np.full(4, 1e-3, dtype="float32")), v)])
    for _ in range(200):
        opt.apply_gradients([(tf.zeros(4), v)])
    vel = [w.numpy() for w in opt.variables() if "velocity" in w.name][0]
    assert np.all(vel == 0)


def test_folded_chains_keep_only_the_constants_nodes_read():
    @tf.function
    def f(x):
        big = tf.ones((1000,)) * 2.0 + 1.0  # folded: only its result stays a capture
        return x * big

    np.testing.assert_array_equal(f(np.ones(1000, "float32")).numpy(), np.full(1000, 3.0))
    plan = _plan(f)
    assert plan.num_captures == 1
