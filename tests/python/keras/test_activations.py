"""keras.activations: numeric values, symbolic (functional API) inputs, and Dense's fused path."""

import corten as tf
import numpy as np
import pytest
from corten import _C, keras
from corten.keras import activations, layers
from corten.keras.engine.keras_tensor import KerasTensor
from corten.ops import linalg

NAMES = sorted(activations._BY_NAME)


@pytest.mark.parametrize("name", NAMES)
def test_activation_on_a_symbolic_input_builds_a_functional_model(name):
    fn = activations.get(name)
    inputs = keras.Input((4,))
    hidden = layers.Dense(3)(inputs)
    out = fn(hidden)
    assert isinstance(out, KerasTensor), type(out)
    model = keras.Model(inputs, out)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    eager = fn(model.layers[1](tf.constant(x)))
    np.testing.assert_allclose(model.predict(x, verbose=0), eager.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kwargs", [{"alpha": 0.1}, {"max_value": 2.0}, {"threshold": 0.5}])
def test_relu_options_on_a_symbolic_input(kwargs):
    inputs = keras.Input((4,))
    out = activations.relu(inputs, **kwargs)
    assert isinstance(out, KerasTensor)
    x = np.linspace(-3, 3, 8, dtype="float32").reshape(2, 4)
    np.testing.assert_allclose(keras.Model(inputs, out).predict(x, verbose=0),
                               activations.relu(tf.constant(x), **kwargs).numpy())


def test_elu_alpha_on_a_symbolic_input():
    inputs = keras.Input((3,))
    out = activations.elu(inputs, alpha=0.5)
    x = np.array([[-1.0, 0.0, 2.0]], "float32")
    np.testing.assert_allclose(keras.Model(inputs, out).predict(x, verbose=0),
                               [[0.5 * np.expm1(-1.0), 0.0, 2.0]], rtol=1e-6)


def test_fused_activations_are_the_c_plus_plus_list():
    assert linalg.FUSED_ACTIVATIONS == tuple(_C.linear_activations())
    assert set(linalg.FUSED_ACTIVATIONS) >= {"linear", "relu", "sigmoid", "tanh", "gelu"}


@pytest.mark.parametrize("name", list(_C.linear_activations()))
def test_dense_takes_the_fused_path_for_every_fused_activation(name, monkeypatch):
    seen = []
    real = linalg.linear

    def spy(x, w, bias=None, activation=None):
        seen.append(activation)
        return real(x, w, bias, activation)

    monkeypatch.setattr(linalg, "linear", spy)
    layer = layers.Dense(3, activation=name)
    x = np.random.default_rng(1).normal(size=(2, 4)).astype("float32")
    y = layer(x)
    assert seen == [name]
    unfused = activations.get(name)(tf.matmul(tf.constant(x), layer.kernel) + layer.bias)
    np.testing.assert_allclose(y.numpy(), unfused.numpy(), rtol=1e-5, atol=1e-6)


def test_mish_matches_numpy_and_builds_a_functional_model():
    x = np.linspace(-4, 4, 9)
    want = x * np.tanh(np.log1p(np.exp(x)))
    np.testing.assert_allclose(activations.get("mish")(tf.constant(x)).numpy(), want,
                               rtol=1e-12)
    assert activations.serialize(activations.mish) == "mish"
    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Activation("mish")(inp))
    np.testing.assert_allclose(model(np.ones((1, 3), "float32")).numpy(),
                               np.full((1, 3), 1 * np.tanh(np.log1p(np.e))), rtol=1e-6)
