"""With TerminateOnNaN, the step that produced a non-finite loss or gradient is not applied:
training stops with the last finite weights (Note [Non-finite steps]). Keras applies it."""

import numpy as np

import corten as tf
from corten import keras
from corten.keras import layers


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = rng.normal(size=(64, 1)).astype("float32")
    x[40] = np.nan  # in the third batch of 16
    return x, y


def _model():
    keras.utils.set_random_seed(1)
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, layers.Dense(1)(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def test_the_non_finite_step_is_not_applied():
    x, y = _data()
    model = _model()
    history = model.fit(x, y, batch_size=16, shuffle=False, verbose=0,
                        callbacks=[keras.callbacks.TerminateOnNaN()])
    assert np.isnan(history.history["loss"][0])  # the epoch's logs show why it stopped
    weights = model.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    # they are the weights after the two finite steps
    reference = _model()
    reference.fit(x[:32], y[:32], batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(weights, reference.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_without_the_callback_the_step_is_applied_as_in_keras():
    x, y = _data()
    model = _model()
    model.fit(x, y, batch_size=16, shuffle=False, verbose=0)
    assert not np.isfinite(model.get_weights()[0]).all()


class Root(layers.Layer):
    def call(self, x):
        return tf.sqrt(tf.square(x))  # its gradient at 0 is NaN, the value finite


def test_a_non_finite_gradient_with_a_finite_loss_is_not_applied():
    inputs = keras.Input(shape=(2,))
    dense = layers.Dense(1, kernel_initializer="zeros", bias_initializer="zeros")
    model = keras.Model(inputs, Root()(dense(inputs)))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x, y = np.ones((4, 2), "float32"), np.ones((4, 1), "float32")
    history = model.fit(x, y, verbose=0, callbacks=[keras.callbacks.TerminateOnNaN()])
    assert np.isfinite(history.history["loss"][0])
    np.testing.assert_array_equal(dense.kernel.numpy(), np.zeros((2, 1)))
