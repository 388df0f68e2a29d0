"""InputLayer: the layer behind keras.Input, in Sequential and Functional models and configs.

It has no call of its own to put through run_layer_test; these checks cover what the harness
checks for other layers: shapes, dtype, config round trip, models, save and load.
"""

import numpy as np
import pytest
from corten import keras
from corten.keras import layers


def test_input_layer_shape_dtype_and_config_round_trip():
    layer = layers.InputLayer(input_shape=(3, 4), dtype="float64", name="features")
    config = layer.get_config()
    assert config["batch_input_shape"] == (None, 3, 4)
    assert config["dtype"] == "float64"
    clone = layers.InputLayer.from_config(config)
    assert clone.get_config() == config
    out = clone.output if hasattr(clone, "output") else None
    assert out is None or tuple(out.shape) == (None, 3, 4)


def test_input_layer_starts_a_sequential_model_that_saves_and_loads(tmp_path):
    model = keras.Sequential([layers.InputLayer(input_shape=(4,)), layers.Dense(2)])
    assert model.output_shape == (None, 2)
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    want = model.predict(x, verbose=0)
    rebuilt = keras.Sequential.from_config(model.get_config())
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), want, rtol=1e-6)
    path = str(tmp_path / "m.keras")
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(x, verbose=0), want,
                               rtol=1e-6)


def test_keras_input_is_the_output_of_an_input_layer():
    inp = keras.Input(shape=(3,), name="x")
    model = keras.Model(inp, layers.Dense(1)(inp))
    assert isinstance(model.layers[0], layers.InputLayer)
    assert model.layers[0].name == "x"


def test_input_layer_rejects_both_shapes():
    with pytest.raises(ValueError, match="Only provide the input_shape OR batch_input_shape"):
        layers.InputLayer(input_shape=(3,), batch_input_shape=(None, 3))


def test_tf_keras_optional_key_loads():
    # tf.keras 2.16+ writes "optional" into every InputLayer config.
    config = {"batch_input_shape": [None, 3], "dtype": "float32", "sparse": False,
              "ragged": False, "name": "input_1", "optional": False}
    layer = layers.InputLayer.from_config(config)
    assert layer.get_config()["optional"] is False
    with pytest.raises(NotImplementedError, match="optional=True"):
        layers.InputLayer.from_config({**config, "optional": True})
