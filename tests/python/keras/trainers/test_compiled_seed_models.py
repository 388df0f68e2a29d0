"""The seeds' models trained 20 steps with compiled steps and eagerly, from the same weights and
seeds: every step's loss and the final weights agree (compiled fit is tf.function's, so the
two runs compute the same ops; the bound allows for reassociated sums only)."""

from __future__ import annotations

import corten as tf
import numpy as np
import pytest
from corten import keras
from corten.bench.peers import keras_models
from corten.keras import layers

STEPS = 20


class _CustomStep(keras.Model):
    """A model overriding train_step (the custom-layers guide's loop inside fit): forward, loss,
    tape gradient and update written by hand, plus a metric updated by hand."""

    def __init__(self):
        super().__init__()
        self.hidden = layers.Dense(8, activation="tanh")
        self.out = layers.Dense(1)
        self.tracker = keras.metrics.Mean(name="loss")

    def call(self, x):
        return self.out(self.hidden(x))

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(self(x, training=True) - y))
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
        self.tracker.update_state(loss)
        return {"loss": self.tracker.result()}


def _mlp():
    inputs = keras.Input(shape=(32,))
    x = layers.Dense(16, activation="relu")(inputs)
    x = layers.Dense(16, activation="relu")(x)
    model = keras.Model(inputs, layers.Dense(10)(x))
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.RMSprop(), metrics=["accuracy"])
    rng = np.random.default_rng(0)
    return model, rng.random((16, 32), dtype=np.float32), rng.integers(0, 10, 16)


def _vae():
    # The custom-layers guide's subclassed VAE (sampling layer, KL term through add_loss) as
    # the training bench builds it, smaller.
    model = keras_models.vae(keras, keras_models.tf_math(tf, keras), original_dim=20,
                             intermediate_dim=8, latent_dim=3)
    model.compile(keras.optimizers.Adam(learning_rate=1e-3), loss=keras.losses.MeanSquaredError())
    x = np.random.default_rng(1).random((16, 20), dtype=np.float32)
    return model, x, x


def _toy_resnet():
    model = keras_models.toy_resnet(keras)  # the functional guide's, compiled as there
    rng = np.random.default_rng(2)
    return model, rng.random((8, 32, 32, 3), dtype=np.float32), np.eye(10)[rng.integers(0, 10, 8)]


def _ticket_model():
    num_tags, num_words, num_departments = 12, 100, 4
    model = keras_models.ticket_classifier(keras, num_tags, num_words, num_departments,
                                           width=8, title_units=16, body_units=8)
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss={"priority": keras.losses.BinaryCrossentropy(from_logits=True),
                        "department": keras.losses.CategoricalCrossentropy(from_logits=True)},
                  loss_weights={"priority": 1.0, "department": 0.2})
    rng = np.random.default_rng(3)
    x = {"title": rng.integers(num_words, size=(8, 5)),
         "body": rng.integers(num_words, size=(8, 9)),
         "tags": rng.integers(2, size=(8, num_tags)).astype("float32")}
    y = {"priority": rng.random((8, 1)).astype("float32"),
         "department": rng.integers(2, size=(8, num_departments)).astype("float32")}
    return model, x, y


def _normalized():
    model = keras.Sequential([keras.Input((6, 6, 2)), layers.Conv2D(4, 3, padding="same"),
                              layers.BatchNormalization(), layers.ReLU(), layers.Flatten(),
                              layers.LayerNormalization(), layers.Dense(3)])
    model.compile("adam", "mse")
    rng = np.random.default_rng(4)
    return model, rng.standard_normal((8, 6, 6, 2)).astype("float32"), rng.random((8, 3))


def _custom_step():
    model = _CustomStep()
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    rng = np.random.default_rng(5)
    return model, rng.standard_normal((8, 4)).astype("float32"), rng.random((8, 1))


MODELS = {"functional MLP": _mlp, "subclassed VAE": _vae, "toy ResNet": _toy_resnet,
          "multi-input ticket model": _ticket_model, "normalization layers": _normalized,
          "custom train_step": _custom_step}


def _train(make, eager):
    keras.backend.clear_session()
    keras.utils.set_random_seed(7)
    model, x, y = make()
    model.run_eagerly = eager
    losses = []
    for _ in range(STEPS):
        logs = model.train_on_batch(x, y, return_dict=True)
        losses.append(logs["loss"])
    return model, np.asarray(losses)


@pytest.mark.parametrize("name", list(MODELS))
def test_seed_models_train_compiled_as_eagerly(name):
    eager, eager_losses = _train(MODELS[name], True)
    compiled, compiled_losses = _train(MODELS[name], False)
    assert not compiled.train_function.runs_eagerly
    np.testing.assert_allclose(compiled_losses, eager_losses, rtol=2e-5, atol=1e-6)
    for a, b in zip(eager.get_weights(), compiled.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, rtol=2e-4, atol=2e-5)
