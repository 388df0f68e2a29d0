"""corten.cond and corten.while_loop inside corten.function: nodes of the plan, chosen or
looped on every replay, with gradients (tf.cond / tf.while_loop inside tf.function)."""

from __future__ import annotations

import gc

import corten as tf
import numpy as np
import pytest
from corten import _C, keras
from corten.keras import layers


def _rand(*shape, seed=0, dtype="float64"):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _numeric_grad(f, x, eps=1e-6):
    """Central differences of the scalar f at the float64 array x."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (f(xp) - f(xm)) / (2 * eps)
    return g


# ---- cond: forward ------------------------------------------------------------------------------


def test_cond_picks_the_branch_on_every_replay_without_retracing():
    calls = []

    def true_fn(x):
        calls.append("true")
        return x * 2.0

    def false_fn(x):
        calls.append("false")
        return x - 1.0

    @tf.function
    def f(x, p):
        return tf.cond(p, lambda: true_fn(x), lambda: false_fn(x))

    x = tf.constant([1.0, 2.0])
    for p in [True, False, False, True]:
        expected = x.numpy() * 2 if p else x.numpy() - 1
        np.testing.assert_array_equal(f(x, tf.constant(p)).numpy(), expected)
    assert f.experimental_get_tracing_count() == 1
    assert sorted(calls) == ["false", "true"]  # both branches traced once, as in TensorFlow
    assert "cond(" in f.plan_summary()


def test_cond_on_a_traced_comparison_and_nested_outputs():
    @tf.function
    def f(x):
        return tf.cond(tf.reduce_sum(x) > 0,
                       lambda: {"a": x + 1.0, "b": (x * x, 1.0)},
                       lambda: {"a": x - 1.0, "b": (-x, 2.0)})

    for data in ([1.0, 2.0], [-3.0, 1.0]):
        x = tf.constant(data)
        out = f(x)
        xs = np.array(data, "float32")
        pos = xs.sum() > 0
        np.testing.assert_array_equal(out["a"].numpy(), xs + 1 if pos else xs - 1)
        np.testing.assert_array_equal(out["b"][0].numpy(), xs * xs if pos else -xs)
        assert float(out["b"][1].numpy()) == (1.0 if pos else 2.0)
    assert f.experimental_get_tracing_count() == 1


def test_cond_branch_returning_an_input_or_a_variable_gives_new_tensors():
    v = tf.Variable([5.0, 6.0])

    @tf.function
    def f(x, p):
        y = tf.cond(p, lambda: x, lambda: v)
        v.assign(v + 1.0)  # the result read v before the update
        return y, x * 1.0

    x = tf.constant([1.0, 2.0])
    y, x1 = f(x, tf.constant(False))
    np.testing.assert_array_equal(y.numpy(), [5.0, 6.0])
    np.testing.assert_array_equal(x1.numpy(), [1.0, 2.0])
    y, x1 = f(x, tf.constant(True))
    np.testing.assert_array_equal(y.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(v.numpy(), [7.0, 8.0])


def test_eager_predicates_keep_the_python_path():
    @tf.function
    def f(x):
        return tf.cond(tf.constant(True), lambda: x + 1.0, lambda: x - 1.0)

    np.testing.assert_array_equal(f(tf.constant([1.0])).numpy(), [2.0])
    assert "cond" not in f.plan_summary()
    assert tf.cond(False, lambda: 1, lambda: 2) == 2


def test_assign_inside_a_branch_happens_only_when_it_is_taken():
    v = tf.Variable(0.0)

    def add_one():
        v.assign_add(1.0)
        return v * 1.0

    @tf.function
    def f(p):
        return tf.cond(p, add_one, lambda: v * 10.0)

    assert float(f(tf.constant(False)).numpy()) == 0.0
    assert float(v.numpy()) == 0.0  # tracing ran the true branch too, then put v back
    assert float(f(tf.constant(True)).numpy()) == 1.0
    assert float(f(tf.constant(True)).numpy()) == 2.0
    assert float(f(tf.constant(False)).numpy()) == 20.0
    assert float(v.numpy()) == 2.0
    assert f.experimental_get_tracing_count() == 1
    assert "[writes]" in f.plan_summary()


def test_branches_of_side_effects_only_may_return_none():
    v = tf.Variable(0.0)

    def bump():
        v.assign_add(1.0)

    @tf.function
    def f(p):
        tf.cond(p, bump, lambda: None)
        return v * 1.0

    assert float(f(tf.constant(True)).numpy()) == 1.0
    assert float(f(tf.constant(False)).numpy()) == 1.0
    assert float(f(tf.constant(True)).numpy()) == 2.0

    @tf.function
    def mismatched(p):
        return tf.cond(p, lambda: None, lambda: v * 1.0)

    with pytest.raises(ValueError, match="same nested structure"):
        mismatched(tf.constant(True))


def test_random_draws_in_a_branch_follow_the_eager_draws():
    def step(p):
        return tf.cond(p, lambda: tf.random.normal([3], seed=4), lambda: tf.zeros([3]))

    traced = tf.function(step)
    preds = [True, False, True, True]
    tf.random.set_seed(2)
    eager = [step(tf.constant(p)).numpy() for p in preds]
    tf.random.set_seed(2)
    got = [traced(tf.constant(p)).numpy() for p in preds]
    for e, g in zip(eager, got, strict=True):
        np.testing.assert_array_equal(g, e)
    assert not np.array_equal(got[0], got[2])
    assert "[random]" in traced.plan_summary()


def test_dropout_in_a_branch_keeps_its_mask_for_the_gradient():
    def step(x, p):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.cond(p, lambda: tf.nn.dropout(x, rate=0.5, seed=3), lambda: x * 1.0)
            loss = tf.reduce_sum(y * y)
        return y, tape.gradient(loss, x)

    traced = tf.function(step)
    x = tf.constant(_rand(4, 6, seed=14, dtype="float32"))
    preds = [True, False, True, True]
    tf.random.set_seed(8)
    eager = [step(x, tf.constant(p)) for p in preds]
    tf.random.set_seed(8)
    got = [traced(x, tf.constant(p)) for p in preds]
    for (ye, ge), (yt, gt) in zip(eager, got, strict=True):
        np.testing.assert_array_equal(yt.numpy(), ye.numpy())
        np.testing.assert_array_equal(gt.numpy(), ge.numpy())
    assert not np.array_equal(got[0][0].numpy(), got[2][0].numpy())


def test_cond_branch_errors():
    @tf.function
    def shapes(x, p):
        return tf.cond(p, lambda: x, lambda: tf.concat([x, x], 0))

    with pytest.raises(ValueError, match=r"true_fn -> float32\(2,\), false_fn -> float32\(4,\)"):
        shapes(tf.constant([1.0, 2.0]), tf.constant(True))
    assert not _C.trace_active()

    @tf.function
    def structure(x, p):
        return tf.cond(p, lambda: (x, x), lambda: x)

    with pytest.raises(ValueError, match="same nested structure"):
        structure(tf.constant([1.0]), tf.constant(True))

    @tf.function
    def dtypes(x, p):
        return tf.cond(p, lambda: x, lambda: tf.cast(x, "float64"))

    with pytest.raises(ValueError, match=r"float32\(1,\), false_fn -> float64\(1,\)"):
        dtypes(tf.constant([1.0]), tf.constant(True))

    @tf.function
    def not_bool(x):
        return tf.cond(tf.reduce_sum(x), lambda: x, lambda: x)

    with pytest.raises(TypeError, match="bool"):
        not_bool(tf.constant([1.0]))


def test_a_raising_branch_leaves_no_trace_and_puts_variables_back():
    v = tf.Variable(1.0)

    def bad():
        v.assign(5.0)
        raise RuntimeError("boom")

    @tf.function
    def f(p):
        return tf.cond(p, bad, lambda: v * 1.0)

    with pytest.raises(RuntimeError, match="boom"):
        f(tf.constant(False))
    assert not _C.trace_active()
    assert float(v.numpy()) == 1.0


# ---- cond: gradients ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cond_gradients_match_eager_tapes_for_both_branches(dtype):
    v = tf.Variable(_rand(3, seed=1, dtype=dtype))

    def step(x, p):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.cond(p, lambda: tf.reduce_sum(x * x * v),
                        lambda: tf.reduce_sum(tf.sin(x) + v * 3.0))
            loss = y * 2.0
        return loss, tape.gradient(loss, [x, v])

    traced = tf.function(step)
    x = tf.constant(_rand(3, seed=2, dtype=dtype))
    for p in [True, False, True, False]:
        le, (gxe, gve) = step(x, tf.constant(p))
        lt, (gxt, gvt) = traced(x, tf.constant(p))
        np.testing.assert_allclose(lt.numpy(), le.numpy(), rtol=1e-6)
        np.testing.assert_allclose(gxt.numpy(), gxe.numpy(), rtol=1e-6)
        np.testing.assert_allclose(gvt.numpy(), gve.numpy(), rtol=1e-6)
    assert traced.experimental_get_tracing_count() == 1
    assert "cond_grad" in traced.plan_summary()


def test_cond_gradients_match_finite_differences_in_float64():
    w = tf.Variable(_rand(3, 2, seed=3))

    @tf.function
    def value_and_grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            h = tf.matmul(x, w)
            y = tf.cond(tf.reduce_sum(h) > 0, lambda: tf.reduce_sum(tf.tanh(h) * h),
                        lambda: tf.reduce_sum(tf.exp(h * 0.5)))
        return y, tape.gradient(y, x)

    for seed in (4, 5, 6, 7):
        x0 = _rand(2, 3, seed=seed)
        _, g = value_and_grad(tf.constant(x0))
        num = _numeric_grad(lambda a: float(value_and_grad(tf.constant(a))[0].numpy()), x0)
        np.testing.assert_allclose(g.numpy(), num, rtol=1e-6, atol=1e-8)
    assert value_and_grad.experimental_get_tracing_count() == 1


def test_sources_a_branch_reads_without_a_gradient_path_get_zeros():
    @tf.function
    def f(x, n, p):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.cond(p, lambda: tf.reduce_sum(tf.cast(x > 0.0, "float32") * 3.0),
                        lambda: tf.reduce_sum(x) * tf.cast(n, "float32"))
        return y, tape.gradient(y, x)

    x = tf.constant([1.0, -2.0])
    y, g = f(x, tf.constant(2), tf.constant(True))
    assert float(y.numpy()) == 3.0
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0])
    y, g = f(x, tf.constant(2), tf.constant(False))
    assert float(y.numpy()) == -2.0
    np.testing.assert_array_equal(g.numpy(), [2.0, 2.0])


def test_a_dense_layer_inside_a_branch_gets_its_gradients():
    dense_a, dense_b = layers.Dense(2), layers.Dense(2)

    def step(x, p):
        with tf.GradientTape() as tape:
            y = tf.cond(p, lambda: dense_a(x), lambda: dense_b(x) * 2.0)
            loss = tf.reduce_sum(y * y)
        variables = dense_a.trainable_variables + dense_b.trainable_variables
        return tape.gradient(loss, variables, unconnected_gradients="zero")

    x = tf.constant(_rand(4, 3, seed=8, dtype="float32"))
    step(x, tf.constant(True))
    step(x, tf.constant(False))  # both layers built eagerly first
    traced = tf.function(step)
    for p in [False, True, False]:
        for ge, gt in zip(step(x, tf.constant(p)), traced(x, tf.constant(p)), strict=True):
            np.testing.assert_allclose(gt.numpy(), ge.numpy(), rtol=1e-5, atol=1e-6)


# ---- while_loop ---------------------------------------------------------------------------------


def test_while_loop_runs_each_replay_its_own_trip_count():
    @tf.function
    def f(n, x):
        return tf.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, y * 2.0),
                             (tf.constant(0), x))

    x = tf.constant([1.0, 3.0])
    for n in [0, 1, 4, 2]:
        i, y = f(tf.constant(n), x)
        assert int(i.numpy()) == n
        np.testing.assert_array_equal(y.numpy(), x.numpy() * 2 ** n)
    assert f.experimental_get_tracing_count() == 1
    assert "while_loop(" in f.plan_summary()


def test_while_loop_maximum_iterations_single_variable_and_eager_loop():
    @tf.function
    def f(x, m):
        return tf.while_loop(lambda y: tf.reduce_sum(y) < 100.0, lambda y: y * 2.0, x,
                             maximum_iterations=m)

    x = tf.constant([1.0, 1.0])
    np.testing.assert_array_equal(f(x, tf.constant(2)).numpy(), [4.0, 4.0])
    np.testing.assert_array_equal(f(x, tf.constant(10)).numpy(), [64.0, 64.0])
    assert f.experimental_get_tracing_count() == 1
    # Eagerly a Python loop, with TensorFlow's arguments.
    i, s = tf.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s + i), (0, 0))
    assert (int(i.numpy()), int(s.numpy())) == (4, 6)
    out = tf.while_loop(lambda y: True, lambda y: y + 1.0, tf.constant(0.0),
                        maximum_iterations=3)
    assert float(out.numpy()) == 3.0
    assert tf.while_loop is tf.ops.control_flow.while_loop


def test_while_loop_on_a_traced_closure_with_python_start_values():
    @tf.function
    def f(n):
        return tf.while_loop(lambda i, acc: i < n, lambda i, acc: (i + 1, acc + 0.5), [0, 0.0])

    i, acc = f(tf.constant(3))
    assert (int(i.numpy()), float(acc.numpy())) == (3, 1.5)
    i, acc = f(tf.constant(5))
    assert (int(i.numpy()), float(acc.numpy())) == (5, 2.5)
    assert f.experimental_get_tracing_count() == 1


def test_a_variable_as_a_loop_variable_is_read_once():
    v = tf.Variable([1.0, 2.0])

    @tf.function
    def f(n):
        return tf.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, y + v), (0, v))[1]

    np.testing.assert_array_equal(f(tf.constant(2)).numpy(), [3.0, 6.0])
    v.assign([0.0, 1.0])
    np.testing.assert_array_equal(f(tf.constant(1)).numpy(), [0.0, 2.0])
    assert f.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_while_loop_gradients_match_eager_tapes_for_several_trip_counts(dtype):
    v = tf.Variable(_rand(3, seed=9, dtype=dtype))
    c = tf.constant(_rand(3, seed=10, dtype=dtype))

    def step(n, x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            _, y = tf.while_loop(lambda i, y: i < n,
                                 lambda i, y: (i + 1, tf.sin(y) * x + v * c),
                                 (tf.constant(0), x * 1.0))
            loss = tf.reduce_sum(y * y)
        # Eagerly v is unconnected after zero iterations; the traced loop reads it statically.
        return loss, tape.gradient(loss, [x, v], unconnected_gradients="zero")

    traced = tf.function(step)
    x = tf.constant(_rand(3, seed=11, dtype=dtype))
    for n in [3, 0, 1, 5]:
        le, (gxe, gve) = step(tf.constant(n), x)
        lt, (gxt, gvt) = traced(tf.constant(n), x)
        np.testing.assert_allclose(lt.numpy(), le.numpy(), rtol=1e-5)
        np.testing.assert_allclose(gxt.numpy(), gxe.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(gvt.numpy(), gve.numpy(), rtol=1e-5, atol=1e-6)
    assert traced.experimental_get_tracing_count() == 1


def test_while_loop_gradients_match_finite_differences_in_float64():
    @tf.function
    def value_and_grad(x, n):
        with tf.GradientTape() as tape:
            tape.watch(x)
            _, y = tf.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, tf.tanh(y) * x),
                                 (tf.constant(0), tf.ones_like(x)))
            s = tf.reduce_sum(y)
        return s, tape.gradient(s, x)

    x0 = _rand(4, seed=12)
    for n in (1, 2, 4):
        _, g = value_and_grad(tf.constant(x0), tf.constant(n))
        num = _numeric_grad(
            lambda a, n=n: float(value_and_grad(tf.constant(a), tf.constant(n))[0].numpy()), x0)
        np.testing.assert_allclose(g.numpy(), num, rtol=1e-6, atol=1e-8)
    assert value_and_grad.experimental_get_tracing_count() == 1


def test_nested_cond_in_a_while_body_forward_and_gradient():
    def step(n, x):
        with tf.GradientTape() as tape:
            tape.watch(x)

            def body(i, y):
                y = tf.cond(i % 2 == 0, lambda: y * x, lambda: tf.sin(y) + x)
                return i + 1, y

            _, y = tf.while_loop(lambda i, y: i < n, body, (tf.constant(0), x))
            loss = tf.reduce_sum(y)
        return loss, tape.gradient(loss, x)

    traced = tf.function(step)
    x = tf.constant(_rand(3, seed=13))
    for n in [0, 1, 2, 3, 5]:
        le, ge = step(tf.constant(n), x)
        lt, gt = traced(tf.constant(n), x)
        np.testing.assert_allclose(lt.numpy(), le.numpy(), rtol=1e-12)
        np.testing.assert_allclose(gt.numpy(), ge.numpy(), rtol=1e-10, atol=1e-12)
    assert traced.experimental_get_tracing_count() == 1


def test_loops_and_conds_nested_in_branches_with_variables_inside():
    v = tf.Variable(np.array([0.5, -1.5]))

    def step(x, p, q, n):
        with tf.GradientTape() as tape:
            tape.watch(x)

            def inner_true():
                return tf.cond(q, lambda: x * v, lambda: tf.sin(x) * v * v)

            def inner_false():
                def body(i, y):
                    return i + 1, tf.while_loop(lambda j, z: j < 2,
                                                lambda j, z: (j + 1, z * x), (0, y))[1]

                return tf.while_loop(lambda i, y: i < n, body, (0, x))[1]

            y = tf.cond(p, inner_true, inner_false)
            s = tf.reduce_sum(y * y)
        return s, tape.gradient(s, [x, v], unconnected_gradients="zero")

    traced = tf.function(step)
    x = tf.constant(np.array([0.3, 0.7]))
    for p, q, n in [(True, True, 0), (False, True, 2), (True, False, 1), (False, False, 0),
                    (False, True, 3)]:
        args = (x, tf.constant(p), tf.constant(q), tf.constant(n))
        (se, ge), (st, gt) = step(*args), traced(*args)
        np.testing.assert_allclose(st.numpy(), se.numpy(), rtol=1e-12)
        for a, b in zip(ge, gt, strict=True):
            np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-10, atol=1e-14)
    assert traced.experimental_get_tracing_count() == 1


def test_a_nested_loop_whose_trip_count_changes_every_outer_iteration():
    v = tf.Variable(np.array([0.9, -1.1]))

    def step(x, n):
        with tf.GradientTape() as tape:
            tape.watch(x)

            def body(i, y):
                _, z = tf.while_loop(lambda j, z: j < i,
                                     lambda j, z: (j + 1, tf.sin(z) * x + v), (0, y))
                return i + 1, z

            _, y = tf.while_loop(lambda i, y: i < n, body, (0, x))
            s = tf.reduce_sum(y * y)
        return s, tape.gradient(s, [x, v], unconnected_gradients="zero")

    traced = tf.function(step)
    x = tf.constant(np.array([0.3, 0.7]))
    for n in [2, 0, 1, 4, 3]:
        (se, ge), (st, gt) = step(x, tf.constant(n)), traced(x, tf.constant(n))
        np.testing.assert_allclose(st.numpy(), se.numpy(), rtol=1e-12)
        for a, b in zip(ge, gt, strict=True):
            np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-10, atol=1e-14)
    assert traced.experimental_get_tracing_count() == 1


def test_while_body_shape_and_structure_errors():
    @tf.function
    def grows(x, n):
        return tf.while_loop(lambda y: tf.reduce_sum(y) < n, lambda y: tf.concat([y, y], 0), x)

    with pytest.raises(ValueError, match=r"loop variable 0 enters the loop as float32\(1,\) but "
                                         r"body returns float32\(2,\)"):
        grows(tf.constant([1.0]), tf.constant(4.0))
    assert not _C.trace_active()

    @tf.function
    def casts(x, n):
        return tf.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, tf.cast(y, "float64")),
                             (0, x))

    with pytest.raises(ValueError, match=r"loop variable 1 .*float32\(2,\).*float64\(2,\)"):
        casts(tf.constant([1.0, 2.0]), tf.constant(2))

    @tf.function
    def structure(x, n):
        return tf.while_loop(lambda i, y: i < n, lambda i, y: (i + 1,), (0, x))

    with pytest.raises(ValueError, match="same nested structure"):
        structure(tf.constant([1.0]), tf.constant(2))

    @tf.function
    def not_bool(x):
        return tf.while_loop(lambda y: tf.reduce_sum(y), lambda y: y, x)

    with pytest.raises(TypeError, match="scalar boolean"):
        not_bool(tf.constant([1.0]))
    with pytest.raises(ValueError, match="parallel_iterations"):
        tf.while_loop(lambda y: False, lambda y: y, 1.0, parallel_iterations=0)
    with pytest.raises(ValueError, match="maximum_iterations"):
        tf.while_loop(lambda y: False, lambda y: y, 1.0, maximum_iterations=-1)


def test_assign_and_random_draws_in_a_while_body_run_once_per_iteration():
    v = tf.Variable(0.0)

    def step(n):
        def body(i, s):
            v.assign_add(1.0)
            return i + 1, s + tf.random.uniform([], seed=6)

        return tf.while_loop(lambda i, s: i < n, body, (0, 0.0))[1]

    traced = tf.function(step)
    tf.random.set_seed(5)
    eager = [step(tf.constant(n)).numpy() for n in (2, 0, 3)]
    assert float(v.numpy()) == 5.0
    tf.random.set_seed(5)
    got = [traced(tf.constant(n)).numpy() for n in (2, 0, 3)]
    assert float(v.numpy()) == 10.0
    np.testing.assert_array_equal(got, eager)


def test_memory_is_flat_over_many_replays_of_cond_and_while_loop():
    v = tf.Variable(_rand(8, seed=15, dtype="float32"))

    @tf.function
    def step(x, n):
        with tf.GradientTape() as tape:
            tape.watch(x)
            _, y = tf.while_loop(lambda i, y: i < n,
                                 lambda i, y: (i + 1, tf.cond(tf.reduce_sum(y) > 0.0,
                                                              lambda: tf.tanh(y) * v,
                                                              lambda: y * 0.5 + v)),
                                 (0, x))
            loss = tf.reduce_sum(y * y)
        grads = tape.gradient(loss, [x, v])
        v.assign_sub(grads[1] * 1e-3)
        return loss, grads[0]

    x = tf.constant(_rand(8, seed=16, dtype="float32"))
    for k in range(20):
        step(x, tf.constant(k % 4))
    gc.collect()
    gc.disable()
    try:
        before = tf.config.memory_stats()["live_bytes"]
        for k in range(400):
            step(x, tf.constant(k % 4))
        after = tf.config.memory_stats()["live_bytes"]
    finally:
        gc.enable()
    assert after == before
    assert step.experimental_get_tracing_count() == 1


# ---- Keras -------------------------------------------------------------------------------------


class _CondModel(keras.Model):
    """A custom train_step that picks the head and the loss by a traced condition on the
    batch, so that Dense layers run inside cond branches."""

    def __init__(self):
        super().__init__()
        self.hidden = layers.Dense(6, activation="tanh")
        self.head = layers.Dense(1)
        self.other_head = layers.Dense(1)

    def call(self, x):
        h = self.hidden(x)
        return self.head(h) + self.other_head(h)

    def train_step(self, data):
        x, y = data
        positive = tf.reduce_mean(y) > 0.0
        with tf.GradientTape() as tape:
            h = self.hidden(x, training=True)
            y_pred = tf.cond(positive, lambda: self.head(h), lambda: self.other_head(h) * 0.5)
            err = y_pred - y
            loss = tf.cond(positive, lambda: tf.reduce_mean(tf.square(err)),
                           lambda: tf.reduce_mean(tf.abs(err)) * 2.0)
        grads = tape.gradient(loss, self.trainable_variables, unconnected_gradients="zero")
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables, strict=True))
        return {"loss": loss}


def _cond_model_history(run_eagerly):
    tf.random.set_seed(0)
    model = _CondModel()
    model(np.zeros((1, 4), "float32"))  # builds every layer before the first step
    model.compile(keras.optimizers.SGD(0.05), run_eagerly=run_eagerly)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 4)).astype("float32")
    # Batches of 16 alternate between positive and negative targets: both branches run.
    y = np.repeat(np.array([1.0, -1.0, 1.0, -1.0], "float32"), 16)[:, None]
    y = y + 0.1 * rng.standard_normal((64, 1)).astype("float32")
    history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    return model, history.history["loss"]


def test_a_keras_train_step_with_cond_compiles_with_the_eager_numbers():
    eager_model, eager = _cond_model_history(True)
    model, compiled = _cond_model_history(False)
    assert not model.train_function.runs_eagerly
    assert model.train_function.function.experimental_get_tracing_count() == 1
    assert "cond_grad" in model.train_function.function.plan_summary()
    np.testing.assert_allclose(compiled, eager, rtol=1e-5)
    for a, b in zip(model.get_weights(), eager_model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
