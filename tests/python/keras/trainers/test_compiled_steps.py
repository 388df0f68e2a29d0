"""fit / evaluate / predict with compiled steps (compile's default run_eagerly=False) against
the same runs with run_eagerly=True."""

from __future__ import annotations

import logging

import corten as tf
import numpy as np
import pytest
from corten import keras
from corten.keras import layers
from corten.keras.trainers.compiled_step import CompiledStep


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 6, 6, 2)).astype("float32"), rng.integers(0, 3, n)


def _model(dropout=False, rnn=False):
    tf.random.set_seed(11)
    inputs = keras.Input((6, 6, 2))
    h = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    h = layers.MaxPooling2D(2)(h)
    h = layers.Flatten()(h)
    if dropout:
        h = layers.Dropout(0.3)(h)
    if rnn:
        h = layers.SimpleRNN(4)(layers.Reshape((-1, 4))(h))
    h = layers.Dense(8, activation="relu")(h)
    return keras.Model(inputs, layers.Dense(3)(h))


def _run(run_eagerly, dropout=False, optimizer="adam", rnn=False):
    model = _model(dropout, rnn)
    model.compile(optimizer=optimizer, run_eagerly=run_eagerly,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    x, y = _data()
    history = model.fit(x, y, batch_size=32, epochs=3, validation_split=0.25, verbose=0)
    evaluation = model.evaluate(x, y, batch_size=40, verbose=0)
    prediction = model.predict(x, batch_size=40, verbose=0)
    return model, history.history, evaluation, prediction


@pytest.mark.parametrize(("optimizer", "dropout", "rnn"), [
    ("adam", False, False), ("rmsprop", True, False), ("sgd", False, True)])
def test_compiled_fit_evaluate_predict_match_eager(optimizer, dropout, rnn):
    eager, h_eager, e_eager, p_eager = _run(True, optimizer=optimizer, dropout=dropout, rnn=rnn)
    compiled, h_compiled, e_compiled, p_compiled = _run(False, optimizer=optimizer,
                                                        dropout=dropout, rnn=rnn)
    assert isinstance(compiled.train_function, CompiledStep)
    assert not compiled.train_function.runs_eagerly
    assert not isinstance(eager.train_function, CompiledStep)
    assert h_compiled.keys() == h_eager.keys()
    for key in h_eager:
        np.testing.assert_allclose(h_compiled[key], h_eager[key], rtol=1e-6, err_msg=key)
    np.testing.assert_allclose(e_compiled, e_eager, rtol=1e-6)
    np.testing.assert_allclose(p_compiled, p_eager, rtol=1e-6, atol=1e-7)
    for a, b in zip(eager.get_weights(), compiled.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
    # one trace per batch shape: 32 and the last partial batch of the 72 training samples
    assert compiled.train_function.function.experimental_get_tracing_count() == 2


def _normalized_history(run_eagerly):
    tf.random.set_seed(5)
    inputs = keras.Input((4, 4, 3))
    h = layers.Conv2D(4, 3, padding="same")(inputs)
    h = layers.BatchNormalization()(h)
    h = layers.GroupNormalization(groups=2)(h)
    h = layers.Flatten()(layers.ReLU()(h))
    h = layers.LayerNormalization()(h)
    h = layers.UnitNormalization()(h)
    model = keras.Model(inputs, layers.Dense(2)(h))
    model.compile("adam", "mse", run_eagerly=run_eagerly)
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((48, 4, 4, 3)).astype("float32"), rng.random((48, 2))
    history = model.fit(x, y.astype("float32"), batch_size=16, epochs=2, verbose=0)
    return model, history.history["loss"], model.predict(x, verbose=0)


def test_the_normalization_layers_train_compiled_with_the_eager_numbers():
    eager, h_eager, p_eager = _normalized_history(True)
    compiled, h_compiled, p_compiled = _normalized_history(False)
    assert not compiled.train_function.runs_eagerly
    assert h_compiled == h_eager
    np.testing.assert_array_equal(p_compiled, p_eager)
    for a, b in zip(eager.get_weights(), compiled.get_weights(), strict=True):
        np.testing.assert_array_equal(b, a)  # the moving statistics included


class _ReadsTheLoss(keras.Model):
    """A train_step that reads a value in Python: it cannot be traced."""

    def train_step(self, data):
        logs = super().train_step(data)
        if float(logs["loss"]) < 0:
            raise AssertionError("a negative loss")
        return logs


def _reading_run(run_eagerly):
    tf.keras.utils.set_random_seed(11)
    inputs = keras.Input((6,))
    model = _ReadsTheLoss(inputs, layers.Dense(3)(layers.Dense(8, activation="relu")(inputs)))
    model.compile(optimizer="adam", run_eagerly=run_eagerly,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((64, 6)).astype("float32"), rng.integers(0, 3, 64)
    history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    return model, history.history["loss"], model.get_weights()


def test_an_untraceable_step_runs_eagerly_once_and_matches(caplog):
    _, h_eager, w_eager = _reading_run(True)
    with caplog.at_level(logging.INFO, logger="corten"):
        compiled, h_compiled, w_compiled = _reading_run(False)
    assert compiled.train_function.runs_eagerly  # the step reads the loss in Python
    assert any("runs eagerly" in r.getMessage() for r in caplog.records)
    # The failed trace put the first batch's updates back: every batch is applied once.
    np.testing.assert_allclose(h_compiled, h_eager, rtol=1e-6)
    for a, b in zip(w_eager, w_compiled, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("optimizer", [
    lambda: keras.optimizers.Nadam(),
    lambda: keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 3, 0.5)),
    lambda: keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(
        0.01, 10, warmup_target=0.05, warmup_steps=4)),
    lambda: keras.optimizers.RMSprop(keras.optimizers.schedules.PiecewiseConstantDecay(
        [3, 6], [0.01, 0.005, 0.001])),
], ids=["nadam", "sgd-exponential", "adam-cosine-warmup", "rmsprop-piecewise"])
def test_nadam_and_learning_rate_schedules_compile(optimizer):
    runs = []
    for eager in (True, False):
        tf.keras.utils.set_random_seed(3)
        model = _model()
        model.compile(optimizer=optimizer(), run_eagerly=eager,
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        x, y = _data()
        history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        runs.append((model, history.history["loss"]))
    (eager, h_eager), (compiled, h_compiled) = runs
    assert not compiled.train_function.runs_eagerly
    np.testing.assert_allclose(h_compiled, h_eager, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(compiled.optimizer.learning_rate),
                               np.asarray(eager.optimizer.learning_rate), rtol=1e-6)
    for a, b in zip(eager.get_weights(), compiled.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_nadam_running_product_follows_restored_state():
    def make():
        tf.keras.utils.set_random_seed(4)
        model = _model()
        model.compile(optimizer="nadam",
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    x, y = _data()
    trained = make()
    trained.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)  # compiled steps
    resumed = make()
    resumed.fit(x[:16], y[:16], batch_size=16, epochs=1, verbose=0)  # builds and traces
    resumed.set_weights(trained.get_weights())
    resumed.optimizer.set_weights(trained.optimizer.get_weights())
    for model in (trained, resumed):
        model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(trained.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(b, a)


def test_run_eagerly_switches_and_compile_resets_the_step_functions():
    model = _model()
    model.compile("sgd", "mse")
    assert not model.run_eagerly
    first = model.make_train_function()
    assert isinstance(first, CompiledStep)
    assert model.make_train_function() is first
    model.run_eagerly = True
    assert model.make_train_function() == model.train_step
    model.compile("sgd", "mse")
    assert isinstance(model.make_train_function(), CompiledStep)
    tf.config.run_functions_eagerly(True)
    try:
        assert model.run_eagerly
    finally:
        tf.config.run_functions_eagerly(False)


def test_python_side_effects_of_a_compiled_step_happen_while_tracing():
    calls = []

    class Counting(keras.Model):
        def train_step(self, data):
            calls.append(1)
            return super().train_step(data)

    inputs = keras.Input((3,))
    model = Counting(inputs, layers.Dense(1)(inputs))
    model.compile("sgd", "mse")
    x, y = np.ones((64, 3), "float32"), np.zeros((64, 1), "float32")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert len(calls) == 1  # 8 batches of one shape: traced once, replayed 7 times
    model.compile("sgd", "mse", run_eagerly=True)
    calls.clear()
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert len(calls) == 8


class _Sampling(layers.Layer):
    """The custom-layers guide's VAE sampling layer."""

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = tf.shape(z_mean)[0]
        dim = tf.shape(z_mean)[1]
        epsilon = tf.keras.backend.random_normal(shape=(batch, dim))
        return z_mean + tf.exp(0.5 * z_log_var) * epsilon


def _vae_history(run_eagerly):
    tf.random.set_seed(0)
    inputs = keras.Input((12,))
    h = layers.Dense(8, activation="relu")(inputs)
    z_mean, z_log_var = layers.Dense(2)(h), layers.Dense(2)(h)
    z = _Sampling()((z_mean, z_log_var))
    model = keras.Model(inputs, layers.Dense(12, activation="sigmoid")(z))
    model.add_loss(-0.5 * tf.reduce_mean(z_log_var - tf.square(z_mean) - tf.exp(z_log_var) + 1))
    model.compile(keras.optimizers.Adam(1e-2), loss="mse", run_eagerly=run_eagerly)
    x = np.random.default_rng(2).random((64, 12)).astype("float32")
    tf.random.set_seed(3)
    history = model.fit(x, x, batch_size=16, epochs=3, verbose=0).history["loss"]
    return model, history


def test_a_sampling_vae_trains_compiled_with_the_eager_numbers():
    _, eager = _vae_history(True)
    model, compiled = _vae_history(False)
    assert not model.train_function.runs_eagerly  # the draws are nodes of the plan
    assert compiled == eager


def _small_mlp():
    tf.keras.utils.set_random_seed(9)
    inputs = keras.Input((6,))
    h = layers.Dropout(0.5)(layers.Dense(8, activation="relu")(inputs))
    return keras.Model(inputs, layers.Dense(3)(h))


def test_model_call_on_small_batches_replays_a_compiled_forward():
    model = _small_mlp()
    x = np.random.default_rng(0).standard_normal((4, 6)).astype("float32")
    eager = model.call(tf.constant(x), training=False).numpy()
    for _ in range(3):
        np.testing.assert_array_equal(model(tf.constant(x)).numpy(), eager)
        np.testing.assert_array_equal(model(x).numpy(), eager)  # float32 numpy too
        np.testing.assert_array_equal(model(x, training=False).numpy(), eager)
    fn = model._call_function
    assert fn.experimental_get_tracing_count() == 1
    # Variables are read on every call: a weight change shows at once.
    old_bias = model.layers[-1].bias.numpy()
    model.layers[-1].bias.assign([1.0, 2.0, 3.0])
    np.testing.assert_allclose(model(x).numpy(), eager - old_bias + [1.0, 2.0, 3.0],
                               rtol=1e-6, atol=1e-6)
    # Training calls, tapes and large batches take the eager path (dropout active, gradients).
    assert not np.array_equal(model(x, training=True).numpy(), model(x, training=False).numpy())
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(tf.constant(x)))
    assert all(g is not None for g in tape.gradient(loss, model.trainable_weights))
    big = np.ones((100, 6), "float32")
    model(big)
    assert fn.experimental_get_tracing_count() == 1


def test_model_call_keeps_eager_semantics_where_it_must():
    calls = []

    def noted(t):
        calls.append(1)
        return t * 2.0

    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Lambda(noted)(layers.Dense(2)(inputs)))
    x = np.ones((2, 3), "float32")
    calls.clear()
    model(x)
    model(x)
    assert len(calls) == 2  # user code in a Lambda runs on every call, as in tf.keras
    assert model.__dict__.get("_call_function") is None

    ids = keras.Input((4,), dtype="int32")
    masked = keras.Model(ids, layers.Embedding(10, 3, mask_zero=True)(ids))
    out = masked(tf.constant([[1, 2, 0, 0]], dtype="int32"))
    np.testing.assert_array_equal(out._keras_mask.numpy(), [[True, True, False, False]])


def test_model_call_plans_are_bounded():
    model = _small_mlp()
    for rows in range(1, 20):
        out = model(np.ones((rows, 6), "float32"))
        assert out.shape == (rows, 3)
    assert model._call_function.experimental_get_tracing_count() <= 8


def test_model_call_follows_a_sequential_that_grows():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4)])
    x = np.ones((2, 3), "float32")
    assert model(x).shape == (2, 4)
    model.add(layers.Dense(5))
    assert model(x).shape == (2, 5)
    model.pop()
    assert model(x).shape == (2, 4)


def test_model_call_with_a_masked_input_takes_the_eager_path():
    inputs = keras.Input((3, 2))
    model = keras.Model(inputs, layers.LSTM(4)(inputs))
    x = tf.constant(np.ones((2, 3, 2), "float32"))
    x._keras_mask = tf.constant([[True, False, False], [True, True, True]])
    masked = model(x).numpy()
    plain = model(tf.constant(np.ones((2, 3, 2), "float32"))).numpy()
    assert not np.allclose(masked[0], plain[0])  # the mask was honoured
    np.testing.assert_allclose(masked[1], plain[1], rtol=1e-6)
