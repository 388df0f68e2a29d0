"""Setting the seed again makes the same model code draw the same initial weights, as in
tf.keras 2 (before: layer names kept counting, dense -> dense_2, and the weights differed
unless clear_session() ran in between)."""

import numpy as np
import pytest

import corten as tf
from corten import keras
from corten.keras import layers


def _functional():
    inputs = keras.Input(shape=(8,))
    x = layers.Dense(16, activation="relu")(inputs)
    return keras.Model(inputs, layers.Dense(4)(x))


class MLP(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense_1 = layers.Dense(16, activation="relu")
        self.dense_2 = layers.Dense(4)

    def call(self, x):
        return self.dense_2(self.dense_1(x))


def _subclassed():
    model = MLP()
    model(np.zeros((1, 8), "float32"))
    return model


@pytest.mark.parametrize("build", [_functional, _subclassed])
@pytest.mark.parametrize("seed_fn", [keras.utils.set_random_seed, tf.random.set_seed])
def test_reseeding_gives_the_same_initial_weights(build, seed_fn):
    seed_fn(42)
    first = [w.numpy() for w in build().weights]
    seed_fn(42)
    second = build()
    assert second.layers[-1].name != "dense"  # layer names still count up
    for a, b in zip(first, [w.numpy() for w in second.weights], strict=True):
        np.testing.assert_array_equal(a, b)
    seed_fn(43)
    assert not np.array_equal(first[0], build().weights[0].numpy())


def test_without_reseeding_a_second_model_gets_new_weights():
    keras.utils.set_random_seed(42)
    a = _functional()
    b = _functional()
    assert not np.array_equal(a.weights[0].numpy(), b.weights[0].numpy())
