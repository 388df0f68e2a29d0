"""LayerNormalization: the harness, numpy references over every axis choice, training."""

import numpy as np
import pytest

from corten.keras import layers
from corten.testing import run_layer_test

rng = np.random.default_rng(0)
X = (rng.normal(size=(3, 4, 5)) * 2 + 1).astype("float32")


def _ref(x, axes, eps=1e-3):
    m = x.mean(axes, keepdims=True)
    v = x.var(axes, keepdims=True)
    return (x - m) / np.sqrt(v + eps)


def test_layer_normalization_through_the_harness():
    out = run_layer_test(layers.LayerNormalization, {}, input_data=X,
                         expected_output_shape=(3, 4, 5), expected_num_trainable_weights=2,
                         expected_num_non_trainable_weights=0, supports_masking=True)
    np.testing.assert_allclose(out.numpy(), _ref(X, -1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("axis", [-1, 1, [1, 2], [0, 2], (2, 1)])
def test_every_axis_choice_matches_numpy(axis):
    layer = layers.LayerNormalization(axis=axis, gamma_initializer="random_normal",
                                      beta_initializer="random_normal")
    got = layer(X).numpy()
    axes = tuple(a % 3 for a in (axis if isinstance(axis, (list, tuple)) else [axis]))
    shape = [1, 1, 1]
    for a in axes:
        shape[a] = X.shape[a]
    gamma = layer.gamma.numpy().reshape(shape)
    beta = layer.beta.numpy().reshape(shape)
    np.testing.assert_allclose(got, _ref(X, axes) * gamma + beta, rtol=1e-5, atol=1e-5)


def test_without_center_and_scale_there_are_no_weights():
    layer = layers.LayerNormalization(center=False, scale=False, epsilon=1e-6)
    np.testing.assert_allclose(layer(X).numpy(), _ref(X, -1, 1e-6), rtol=1e-4, atol=1e-4)
    assert layer.weights == []


def test_argument_errors():
    with pytest.raises(TypeError, match="Expected an int or a list/tuple of ints"):
        layers.LayerNormalization(axis="last")
    with pytest.raises(ValueError, match="Invalid axis: 3"):
        layers.LayerNormalization(axis=3)(X)
