"""predict() on one small float32 batch takes a direct path; it must agree with the loop."""

from __future__ import annotations

import numpy as np

import corten as tf
from corten import keras
from corten.keras import layers


def _multi_output_model():
    inp = keras.Input((5,), name="x")
    h = layers.Dense(4, activation="relu")(inp)
    return keras.Model(inp, {"a": layers.Dense(2)(h), "b": layers.Dense(1)(h)})


def test_direct_path_matches_the_loop_for_structured_outputs():
    model = _multi_output_model()
    x = np.random.default_rng(0).standard_normal((6, 5)).astype("float32")
    direct = model.predict(x, verbose=0)
    # a callback forces the general loop (data handler, callbacks, concatenation)
    looped = model.predict(x, verbose=0, callbacks=[keras.callbacks.Callback()])
    assert sorted(direct) == ["a", "b"]
    for k in direct:
        assert isinstance(direct[k], np.ndarray) and direct[k].flags.owndata
        np.testing.assert_array_equal(direct[k], looped[k])
    np.testing.assert_array_equal(model.predict(tf.constant(x), verbose=0)["a"], direct["a"])


def test_custom_predict_step_and_large_or_other_inputs_still_work():
    class Doubling(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(3)

        def call(self, x):
            return self.dense(x)

        def predict_step(self, data):
            return 2.0 * self(data, training=False)

    model = Doubling()
    x = np.ones((4, 2), "float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), 2.0 * model(x).numpy(), rtol=1e-6)
    big = np.ones((70, 2), "float32")  # more than one batch: the loop
    assert model.predict(big, verbose=0).shape == (70, 3)
    x64 = np.ones((4, 2))  # float64: converted to float32 by the loop's data adapter
    assert model.predict(x64, verbose=0).dtype == np.float32
