"""fit() and evaluate() on in-memory arrays with no batch-level callback replay the epoch's
batches in C++ (Note [Epoch replay]): the same numbers as the per-step loop, bit for bit."""

from __future__ import annotations

import corten as tf
import numpy as np
import pytest
from corten import keras
from corten.keras import layers
from corten.keras.trainers import data_adapter


class _BatchCounter(keras.callbacks.Callback):
    """Implements a batch hook, which makes fit() and evaluate() take the per-step loop."""

    def __init__(self):
        super().__init__()
        self.train_batches = 0
        self.test_batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.train_batches += 1

    def on_test_batch_end(self, batch, logs=None):
        self.test_batches += 1


def _model(dropout: bool) -> keras.Model:
    tf.random.set_seed(3)
    inputs = keras.Input((12,))
    h = layers.Dense(16, activation="relu")(inputs)
    if dropout:
        h = layers.Dropout(0.25)(h)
    model = keras.Model(inputs, layers.Dense(3)(h))
    model.compile(optimizer="adam", metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _data(n: int):
    rng = np.random.default_rng(1)
    return rng.standard_normal((n, 12)).astype("float32"), rng.integers(0, 3, n)


def _train(per_step: bool, n: int, shuffle, dropout: bool, sample_weight: bool):
    keras.utils.set_random_seed(5)
    model = _model(dropout)
    x, y = _data(n)
    sw = np.linspace(0.5, 1.5, n).astype("float32") if sample_weight else None
    counter = _BatchCounter()
    callbacks = [counter] if per_step else []
    history = model.fit(x, y, batch_size=16, epochs=3, shuffle=shuffle, sample_weight=sw,
                        validation_data=(x[:40], y[:40]), callbacks=callbacks, verbose=0)
    evaluation = model.evaluate(x, y, batch_size=16, callbacks=callbacks, verbose=0)
    if per_step:
        assert counter.train_batches == 3 * -(-n // 16)
        assert counter.test_batches > 0
    return [w.numpy() for w in model.weights], history.history, evaluation


@pytest.mark.parametrize(("n", "shuffle", "dropout", "sample_weight"), [
    (96, True, False, False),      # whole batches only
    (100, True, True, False),      # a smaller last batch; dropout's random stream
    (100, "batch", False, True),   # shuffled by batch; sample weights as a third source
    (80, False, False, False),     # in order: the batches are views, not gathers
])
def test_replayed_epochs_equal_the_per_step_loop(n, shuffle, dropout, sample_weight):
    w_step, h_step, e_step = _train(True, n, shuffle, dropout, sample_weight)
    w_replay, h_replay, e_replay = _train(False, n, shuffle, dropout, sample_weight)
    for a, b in zip(w_step, w_replay, strict=True):
        np.testing.assert_array_equal(a, b)
    assert h_step == h_replay
    assert e_step == e_replay


def test_replay_runs_the_batches_in_cpp(monkeypatch):
    calls = []
    original = data_adapter.DataHandler.replay_epoch

    def spy(self, step_function):
        logs = original(self, step_function)
        calls.append(logs is not None)
        return logs

    monkeypatch.setattr(data_adapter.DataHandler, "replay_epoch", spy)
    model = _model(False)
    x, y = _data(64)
    steps = []
    original_call = type(model.make_train_function()).__call__

    def counting_call(step, data):
        steps.append(1)
        return original_call(step, data)

    monkeypatch.setattr(type(model.make_train_function()), "__call__", counting_call)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert calls == [True, True]
    # Only the first batch of the first epoch goes through Python (it traces the plan); the
    # other three, and the whole second epoch, are replayed.
    assert len(steps) == 1
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert len(steps) == 1  # a later fit() finds the plan: nothing per step in Python


def _fit_twice(build, fit):
    """The weights and history of fit() without and with a batch-hook callback."""
    results = []
    for callbacks in ([], [_BatchCounter()]):
        keras.utils.set_random_seed(2)
        model = build()
        history = fit(model, callbacks)
        results.append((model.get_weights(), history.history))
    (w_replay, h_replay), (w_step, h_step) = results
    for a, b in zip(w_replay, w_step, strict=True):
        np.testing.assert_array_equal(a, b)
    assert h_replay == h_step


def test_autoencoder_fit_x_x_replays():
    x, _ = _data(64)

    def build():
        inputs = keras.Input((12,))
        model = keras.Model(inputs, layers.Dense(12)(layers.Dense(4)(inputs)))
        model.compile("adam", "mse")
        return model

    _fit_twice(build, lambda m, cb: m.fit(x, x, batch_size=16, epochs=2, callbacks=cb,
                                          verbose=0))


def test_dict_inputs_replay():
    x, _ = _data(64)

    def build():
        inputs = {"a": keras.Input((12,), name="a"), "b": keras.Input((12,), name="b")}
        merged = layers.Concatenate()([inputs["a"], inputs["b"]])
        model = keras.Model(inputs, layers.Dense(12)(merged))
        model.compile("sgd", "mse")
        return model

    _fit_twice(build, lambda m, cb: m.fit({"a": x, "b": 2 * x}, x, batch_size=16, epochs=2,
                                          callbacks=cb, verbose=0))


def test_a_step_that_falls_back_to_eager_still_trains_every_batch():
    class ReadsValues(keras.Model):
        def train_step(self, data):
            x, y = data
            with tf.GradientTape() as tape:
                loss = self.compiled_loss(y, self(x, training=True))
            float(loss)  # a value read in Python: the step cannot be traced
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.trainable_variables, strict=True))
            self.seen = getattr(self, "seen", 0) + 1
            return {"loss": loss}

    inputs = keras.Input((12,))
    model = ReadsValues(inputs, layers.Dense(3)(inputs))
    model.compile("sgd", "mse")
    x, _ = _data(64)
    model.fit(x, np.zeros((64, 3), "float32"), batch_size=16, epochs=1, verbose=0)
    assert model.train_function.runs_eagerly
    assert model.seen == 4


class _PredictHook(keras.callbacks.Callback):
    def on_predict_batch_end(self, batch, logs=None):
        self.batches = getattr(self, "batches", 0) + 1


@pytest.mark.parametrize("n", [64, 70, 16, 20])
def test_replayed_predict_equals_the_per_step_loop(n):
    keras.utils.set_random_seed(4)
    inputs = keras.Input((12,))
    h = layers.Dense(8, activation="relu")(inputs)
    model = keras.Model(inputs, {"logits": layers.Dense(3)(h), "code": layers.Dense(2)(h)})
    x, _ = _data(n)
    replayed = model.predict(x, batch_size=16, verbose=0)
    hook = _PredictHook()
    per_step = model.predict(x, batch_size=16, verbose=0, callbacks=[hook])
    assert hook.batches == -(-n // 16)
    assert set(replayed) == {"logits", "code"}
    for key in replayed:
        assert replayed[key].shape == (n, 3 if key == "logits" else 2)
        np.testing.assert_array_equal(replayed[key], per_step[key])
    np.testing.assert_array_equal(replayed["logits"][:5], model(x[:5])["logits"].numpy())


def test_predict_step_with_non_row_outputs_runs_step_by_step():
    class Summed(keras.Model):
        def predict_step(self, data):
            out = self(data, training=False)
            return {"rows": out, "total": tf.reduce_sum(out)}

    inputs = keras.Input((12,))
    model = Summed(inputs, layers.Dense(3)(inputs))
    x, _ = _data(48)
    result = model.predict(x, batch_size=16, verbose=0)
    assert result["rows"].shape == (48, 3)
    # The scalar of every batch, stacked as Keras does with 0-d outputs.
    np.testing.assert_allclose(result["total"], result["rows"].reshape(3, 16, 3).sum(axis=(1, 2)),
                               rtol=1e-5)
