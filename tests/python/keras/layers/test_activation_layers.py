"""Activation layers, through the layer harness and against numpy."""

import numpy as np
import pytest

import corten as tf
from corten.keras import layers
from corten.testing import run_layer_test

X = np.linspace(-3, 3, 24, dtype="float32").reshape(2, 3, 4)


@pytest.mark.parametrize(("cls", "kwargs", "ref"), [
    (layers.ReLU, {}, lambda x: np.maximum(x, 0)),
    (layers.ReLU, {"max_value": 1.5, "negative_slope": 0.1, "threshold": 0.5},
     lambda x: np.where(x >= 1.5, 1.5, np.where(x > 0.5, x, 0.1 * (x - 0.5)))),
    (layers.LeakyReLU, {}, lambda x: np.where(x > 0, x, 0.3 * x)),
    (layers.ELU, {"alpha": 0.5}, lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    (layers.ThresholdedReLU, {"theta": 1.0}, lambda x: np.where(x > 1.0, x, 0)),
    (layers.Softmax, {"axis": 1}, lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
])
def test_forward_and_harness(cls, kwargs, ref):
    out = run_layer_test(cls, kwargs, input_data=X, expected_output_shape=(2, 3, 4),
                         expected_num_trainable_weights=0, supports_masking=True)
    np.testing.assert_allclose(out.numpy(), ref(X.astype(np.float64)), rtol=1e-5, atol=1e-6)


def test_prelu_learns_alpha_shared_along_axes():
    out = run_layer_test(layers.PReLU, {"shared_axes": [1]}, input_data=X,
                         expected_output_shape=(2, 3, 4), expected_num_trainable_weights=1)
    np.testing.assert_allclose(out.numpy(), np.maximum(X, 0), rtol=1e-6)  # alpha starts at 0
    layer = layers.PReLU(alpha_initializer="ones", shared_axes=[1])
    np.testing.assert_allclose(layer(X).numpy(), X, rtol=1e-6)
    assert tuple(layer.alpha.shape) == (1, 4)


def test_softmax_with_a_mask_gives_masked_positions_no_probability():
    x = tf.constant([[1.0, 2.0, 3.0]])
    mask = tf.constant([[True, False, True]])
    out = layers.Softmax()(x, mask=mask).numpy()
    np.testing.assert_allclose(out, [[np.exp(1) / (np.exp(1) + np.exp(3)), 0,
                                      np.exp(3) / (np.exp(1) + np.exp(3))]], rtol=1e-5)


@pytest.mark.parametrize(("cls", "kwargs", "match"), [
    (layers.ReLU, {"max_value": -1}, "max_value"),
    (layers.ReLU, {"negative_slope": -1}, "negative_slope"),
    (layers.LeakyReLU, {"alpha": None}, "alpha"),
    (layers.ThresholdedReLU, {"theta": -1}, "Theta"),
])
def test_argument_errors(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)
