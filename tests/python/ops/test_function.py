"""corten.function: tracing, replay, retracing rules, captures, side effects and errors."""

from __future__ import annotations

import gc
import warnings

import corten as tf
import numpy as np
import pytest
from corten import _C, keras
from corten.keras import layers


def _rand(*shape, seed=0, dtype="float32"):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _sgd_step(model, loss_fn, lr=0.05):
    """A custom training step: forward, tape gradient, plain SGD through assign_sub."""
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_weights)
        for w, g in zip(model.trainable_weights, grads, strict=True):
            w.assign_sub(lr * g)
        return loss
    return step


def _mlp():
    return keras.Sequential([layers.Dense(16, activation="relu"), layers.Dense(4)])


def _convnet():
    return keras.Sequential([
        layers.Conv2D(4, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(4, 3),
        layers.GlobalAveragePooling2D(),
        layers.Dense(3),
    ])


def _embedding_net():
    inp = keras.Input((6,), dtype="int32")
    e = layers.Embedding(20, 5)(inp)
    a = layers.Flatten()(e)
    b = layers.GlobalAveragePooling1D()(e)
    out = layers.Dense(2)(layers.Concatenate()([a, b]))
    return keras.Model(inp, out)


CASES = {
    "mlp": (_mlp, lambda: (_rand(8, 5), np.arange(8) % 4)),
    "conv": (_convnet, lambda: (_rand(4, 8, 8, 2), np.arange(4) % 3)),
    "embedding": (_embedding_net,
                  lambda: (np.random.default_rng(1).integers(0, 20, (8, 6)).astype("int32"),
                           np.arange(8) % 2)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_traced_training_steps_match_eager_steps(name):
    build, data = CASES[name]
    x, y = (tf.constant(v) for v in data())
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    tf.random.set_seed(3)
    eager = build()
    tf.random.set_seed(3)
    traced = build()
    eager_step = _sgd_step(eager, loss_fn)
    traced_step = tf.function(_sgd_step(traced, loss_fn))
    losses = []
    for _ in range(20):
        le, lt = eager_step(x, y), traced_step(x, y)
        np.testing.assert_allclose(lt.numpy(), le.numpy(), rtol=1e-6, atol=1e-7)
        losses.append(float(lt))
    for we, wt in zip(eager.get_weights(), traced.get_weights(), strict=True):
        np.testing.assert_allclose(wt, we, rtol=1e-5, atol=1e-6)
    assert traced_step.experimental_get_tracing_count() == 1
    assert losses[-1] < losses[0]


def test_replay_does_not_run_python_again():
    calls = []

    @tf.function
    def f(x):
        calls.append(1)  # a Python side effect: only while tracing
        print("tracing")
        return x * 2.0

    x = tf.constant([1.0, 2.0])
    for _ in range(3):
        np.testing.assert_array_equal(f(x).numpy(), [2.0, 4.0])
    assert len(calls) == 1
    np.testing.assert_array_equal(f(tf.constant([5.0, 6.0])).numpy(), [10.0, 12.0])
    assert len(calls) == 1  # same shape and dtype: the same plan, new values


def test_retracing_rules():
    @tf.function
    def f(x, scale):
        return x * scale

    x2, x3 = tf.constant([1.0, 2.0]), tf.constant([1.0, 2.0, 3.0])
    f(x2, 2.0)
    f(x2, 2.0)
    assert f.experimental_get_tracing_count() == 1
    f(x3, 2.0)  # new shape
    assert f.experimental_get_tracing_count() == 2
    f(x2, 3.0)  # new Python value
    assert f.experimental_get_tracing_count() == 3
    np.testing.assert_array_equal(f(x2, 3.0).numpy(), [3.0, 6.0])
    f(tf.constant([1, 2]), 2)  # new dtype
    assert f.experimental_get_tracing_count() == 4
    f(np.array([1.0, 2.0], np.float32), 2.0)  # numpy arrays are tensors: same key as x2
    assert f.experimental_get_tracing_count() == 4


def test_retracing_warning_after_five_retraces_in_a_row():
    @tf.function
    def f(x):
        return x + 1.0

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(1, 7):
            f(tf.zeros([n]))
    messages = [str(w.message) for w in caught if "retracing" in str(w.message)]
    assert len(messages) == 1
    assert "5 out of the last 5 calls to f" in messages[0]


def test_variables_are_captured_by_reference():
    v = tf.Variable([1.0, 2.0])

    @tf.function
    def f(x):
        return x * v

    x = tf.constant([1.0, 1.0])
    np.testing.assert_array_equal(f(x).numpy(), [1.0, 2.0])
    v.assign([5.0, 6.0])
    np.testing.assert_array_equal(f(x).numpy(), [5.0, 6.0])
    assert f.experimental_get_tracing_count() == 1


def test_assign_inside_runs_on_every_call():
    counter = tf.Variable(0.0)

    @tf.function
    def bump():
        counter.assign_add(1.0)
        return counter + 0.0

    for i in range(1, 5):
        assert float(bump()) == float(i)
    assert float(counter) == 4.0


def test_outside_tensors_are_constants():
    c = tf.constant([1.0, 2.0])

    @tf.function
    def f(x):
        return x + c + np.array([10.0, 20.0], np.float32)

    np.testing.assert_array_equal(f(tf.constant([0.0, 0.0])).numpy(), [11.0, 22.0])
    np.testing.assert_array_equal(f(tf.constant([1.0, 1.0])).numpy(), [12.0, 23.0])


def test_value_dependent_python_control_flow_raises_with_the_line():
    @tf.function
    def f(x):
        if tf.reduce_sum(x) > 0:
            return x
        return -x

    with pytest.raises(TypeError, match=r"Python bool while tracing.*test_function\.py:\d+"):
        f(tf.constant([1.0]))
    assert not _C.trace_active()  # the failed trace is gone


@pytest.mark.parametrize("use", [lambda t: t.numpy(), float, int, lambda t: np.asarray(t)])
def test_reading_a_traced_value_in_python_raises(use):
    @tf.function
    def f(x):
        use(tf.reduce_sum(x))
        return x

    with pytest.raises(TypeError, match="corten.function"):
        f(tf.constant([1.0]))


def test_tensors_from_outside_can_be_read_while_tracing():
    c = tf.constant(3.0)

    @tf.function
    def f(x):
        return x * float(c)  # c is not a traced value: its Python value is a constant

    assert float(f(tf.constant(2.0))) == 6.0


def test_random_draws_advance_on_every_replay_as_eager_calls_do():
    @tf.function
    def f(x):
        return (x + tf.random.normal([3], seed=5), tf.random.uniform([2], seed=5),
                tf.random.truncated_normal([2]))

    tf.random.set_seed(1)
    traced = [[t.numpy() for t in f(tf.zeros([3]))] for _ in range(3)]
    tf.random.set_seed(1)
    eager = [[t.numpy() for t in f.python_function(tf.zeros([3]))] for _ in range(3)]
    for t_out, e_out in zip(traced, eager, strict=True):
        for t, e in zip(t_out, e_out, strict=True):
            np.testing.assert_array_equal(t, e)
    assert not np.array_equal(traced[0][0], traced[1][0])
    assert f.experimental_get_tracing_count() == 1
    assert "[random]" in f.plan_summary()


def test_stateless_draws_repeat_on_every_replay():
    @tf.function
    def f():
        return tf.random.stateless_normal([4], seed=[1, 2])

    first = f().numpy()
    np.testing.assert_array_equal(f().numpy(), first)
    np.testing.assert_array_equal(tf.random.stateless_normal([4], seed=[1, 2]).numpy(), first)


def _untraceable(x):
    """Reads a traced value in Python: the trace fails with a TypeError."""
    return x * float(tf.reduce_sum(x))


def test_untraceable_ops_raise_not_implemented():
    v = tf.Variable([1.0])

    @tf.function
    def f(g):
        v.assign_add(g)
        return _C.sum_of_squares(g)  # a Python float: a plan would replay the traced one

    with pytest.raises(NotImplementedError, match="sum_of_squares"):
        f(tf.constant([5.0]))
    assert not _C.trace_active()
    np.testing.assert_array_equal(v.numpy(), [1.0])  # the assign was put back


def test_dropout_masks_follow_the_eager_ones_forward_and_backward():
    layer = keras.layers.Dropout(0.5, seed=3)

    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * y)
        return y, tape.gradient(loss, x)

    traced = tf.function(step)
    x = tf.constant(_rand(4, 6))
    tf.random.set_seed(9)
    eager_runs = [step(x) for _ in range(3)]
    tf.random.set_seed(9)
    traced_runs = [traced(x) for _ in range(3)]
    for (ye, ge), (yt, gt) in zip(eager_runs, traced_runs, strict=True):
        np.testing.assert_array_equal(yt.numpy(), ye.numpy())
        np.testing.assert_array_equal(gt.numpy(), ge.numpy())
    assert not np.array_equal(traced_runs[0][0].numpy(), traced_runs[1][0].numpy())


def test_run_functions_eagerly_runs_python_each_call():
    calls = []

    @tf.function
    def f(x):
        calls.append(1)
        return x + 1.0

    tf.config.run_functions_eagerly(True)
    assert tf.config.functions_run_eagerly()
    f(tf.constant(1.0))
    f(tf.constant(1.0))
    assert len(calls) == 2
    assert f.experimental_get_tracing_count() == 0


def test_gradient_through_a_call_under_an_outer_tape():
    @tf.function
    def f(x):
        return x * x

    x = tf.constant(3.0)
    f(x)  # traced once
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = f(x)  # a tape is recording: runs eagerly, so the tape sees the ops
    assert float(tape.gradient(y, x)) == 6.0


def test_layers_build_inside_the_first_call():
    model = keras.Sequential([layers.Dense(3)])

    @tf.function
    def f(x):
        return model(x)

    x = tf.constant(_rand(2, 4))
    first = f(x).numpy()
    assert len(model.weights) == 2
    np.testing.assert_array_equal(f(x).numpy(), first)
    summary = f.plan_summary()
    assert "variable float32(4, 3)" in summary
    assert "linear(" in summary


def test_dead_code_is_dropped_and_outputs_keep_their_structure():
    @tf.function
    def f(x):
        unused = tf.exp(x) * 2.0  # noqa: F841
        return {"double": x * 2.0, "same": x, "label": "const"}

    out = f(tf.constant([1.0]))
    out = f(tf.constant([2.0]))
    assert out["label"] == "const"
    np.testing.assert_array_equal(out["double"].numpy(), [4.0])
    np.testing.assert_array_equal(out["same"].numpy(), [2.0])
    assert "exp" not in f.plan_summary()


def test_methods_get_a_function_per_instance():
    class Scaler:
        def __init__(self, k):
            self.k = tf.Variable(k)

        @tf.function
        def __call__(self, x):
            return x * self.k

    a, b = Scaler(2.0), Scaler(3.0)
    x = tf.constant(1.0)
    assert float(a(x)) == 2.0
    assert float(b(x)) == 3.0


def test_input_signature_is_checked():
    @tf.function(input_signature=[keras.Input((3,))])
    def f(x):
        return x

    f(tf.zeros([5, 3]))
    with pytest.raises(ValueError, match="does not match the input_signature"):
        f(tf.zeros([5, 4]))


def test_plan_checks_its_inputs():
    _C.trace_begin([tf.zeros([2])])
    plan = _C.trace_end([tf.zeros([2]) + 1.0])
    with pytest.raises(ValueError, match=r"input 0 must be float32 of shape \(2,\)"):
        plan.run([tf.zeros([3])])
    with pytest.raises(ValueError, match="takes 1 tensors"):
        plan.run([])


def test_memory_is_flat_over_many_replays():
    model = _mlp()
    step = tf.function(_sgd_step(model, keras.losses.MeanSquaredError(), lr=1e-3))
    x, y = tf.constant(_rand(16, 5)), tf.constant(_rand(16, 4))
    for _ in range(50):
        step(x, y)
    gc.collect()  # tensors of earlier tests' reference cycles would be freed mid-loop
    gc.disable()
    try:
        before = tf.config.memory_stats()["live_bytes"]
        for _ in range(2000):
            step(x, y)
        after = tf.config.memory_stats()["live_bytes"]
    finally:
        gc.enable()
    assert after == before


OPTIMIZERS = {
    "sgd_momentum": lambda: keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    "adam": lambda: keras.optimizers.Adam(0.01),
    "adam_amsgrad": lambda: keras.optimizers.Adam(0.01, amsgrad=True),
    "adamw": lambda: keras.optimizers.AdamW(0.01),
    "rmsprop_centered": lambda: keras.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adagrad": lambda: keras.optimizers.Adagrad(0.1),
    "adadelta": lambda: keras.optimizers.Adadelta(1.0),
    "adamax": lambda: keras.optimizers.Adamax(0.01),
    "sgd_clipnorm": lambda: keras.optimizers.SGD(0.1, clipnorm=0.05),
    "adam_global_clipnorm": lambda: keras.optimizers.Adam(0.01, global_clipnorm=0.05),
}


def _optimizer_run(make_optimizer, compiled):
    tf.random.set_seed(0)
    model = keras.Sequential([layers.Dense(8, activation="tanh"), layers.Dense(3)])
    optimizer = make_optimizer()
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    x, y = tf.constant(_rand(16, 5)), tf.constant(np.arange(16) % 3)

    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights, strict=True))
        return loss

    if compiled:
        step = tf.function(step)
    losses = [float(step(x, y)) for _ in range(20)]
    return losses, model.get_weights(), int(optimizer.iterations)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_updates_in_a_traced_step_match_eager_bit_for_bit(name):
    # The step and learning rate reach the fused updates as tensors read on every replay.
    eager_losses, eager_weights, eager_iterations = _optimizer_run(OPTIMIZERS[name], False)
    traced_losses, traced_weights, traced_iterations = _optimizer_run(OPTIMIZERS[name], True)
    assert traced_iterations == eager_iterations == 20
    assert traced_losses == eager_losses
    for a, b in zip(eager_weights, traced_weights, strict=True):
        np.testing.assert_array_equal(b, a)


def test_learning_rate_changes_reach_a_traced_step():
    v = tf.Variable([1.0])
    optimizer = keras.optimizers.SGD(1.0)

    @tf.function
    def step():
        optimizer.apply_gradients([(tf.constant([1.0]), v)])

    step()
    optimizer.learning_rate = 0.5
    step()
    np.testing.assert_allclose(v.numpy(), [-0.5])
    assert step.experimental_get_tracing_count() == 1


def test_reading_a_variable_in_python_while_tracing_raises():
    v = tf.Variable(2.0)

    @tf.function
    def f(x):
        return x * float(v)  # would freeze the variable's value into the plan

    with pytest.raises(TypeError, match="corten.function"):
        f(tf.constant(1.0))


def test_a_failed_trace_puts_assigned_variables_back():
    v = tf.Variable([1.0, 2.0])
    optimizer = keras.optimizers.Adam(0.1)
    w = tf.Variable([3.0])

    @tf.function
    def f(x):
        v.assign_add(x)
        optimizer.apply_gradients([(tf.constant([1.0]), w)])
        return _untraceable(v)  # the trace fails after the writes

    with pytest.raises(TypeError, match="corten.function"):
        f(tf.constant([10.0, 10.0]))
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(w.numpy(), [3.0])
    assert int(optimizer.iterations) == 0


def test_a_failed_trace_puts_the_random_streams_back():
    @tf.function
    def f(x):
        noise = tf.random.normal([2], seed=7)
        return _untraceable(x + noise)  # fails after the draw

    tf.random.set_seed(4)
    with pytest.raises(TypeError, match="corten.function"):
        f(tf.zeros([2]))
    after_failure = tf.random.normal([2], seed=7).numpy()
    tf.random.set_seed(4)
    np.testing.assert_array_equal(after_failure, tf.random.normal([2], seed=7).numpy())


def test_the_nesting_of_the_arguments_is_part_of_the_signature():
    seen = []

    @tf.function
    def f(*args):
        seen.append(len(args))
        first = args[0][0] if isinstance(args[0], tuple) else args[0]
        return first * 2.0

    x, y = tf.constant([1.0]), tf.constant([2.0])
    for _ in range(2):
        np.testing.assert_array_equal(f(x, y).numpy(), [2.0])
        np.testing.assert_array_equal(f((x, y)).numpy(), [2.0])
    assert seen == [2, 1]
    assert f.experimental_get_tracing_count() == 2


def test_a_dict_of_tensors_comes_back_in_its_own_key_order():
    @tf.function
    def f(x):
        return {"zeta": x + 1.0, "alpha": x * 2.0, "mid": x - 1.0}

    x = tf.constant([3.0])
    for _ in range(2):  # the trace, then the replay
        out = f(x)
        assert list(out) == ["zeta", "alpha", "mid"]
        assert [float(v.numpy()[0]) for v in out.values()] == [4.0, 6.0, 2.0]


def test_calls_that_change_signature_after_a_replay_get_their_own_plans():
    # Note [Replaying the last signature]: a replay of the last tensor-only signature skips the
    # lookup, so every change of shape, dtype or kind of argument must still be seen (nesting:
    # test_the_nesting_of_the_arguments_is_part_of_the_signature).
    @tf.function
    def f(x):
        return x * 2.0

    a, b = tf.constant([1.0, 2.0]), tf.constant([1.0, 2.0, 3.0])
    v = tf.Variable([5.0, 6.0])
    calls = [(a, [2.0, 4.0]), (a, [2.0, 4.0]), (b, [2.0, 4.0, 6.0]), (a, [2.0, 4.0]),
             (v, [10.0, 12.0]), (a, [2.0, 4.0]), (tf.constant([1.0, 2.0], tf.float64), [2.0, 4.0])]
    for x, want in calls:
        np.testing.assert_array_equal(f(x).numpy(), want)
    assert f.experimental_get_tracing_count() == 4  # a, b, the variable, float64
    v.assign([7.0, 8.0])
    np.testing.assert_array_equal(f(v).numpy(), [14.0, 16.0])  # read by reference on replay
    assert f.experimental_get_tracing_count() == 4
