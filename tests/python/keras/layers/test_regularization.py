"""Noise and spatial dropout layers: identity at inference, the right statistics when training,
reproducible at a fixed seed."""

import numpy as np
import pytest

import corten as tf
from corten import keras
from corten.keras import layers
from corten.testing import run_layer_test

X = np.ones((64, 8, 16), "float32")


@pytest.mark.parametrize(("cls", "kwargs"), [
    (layers.GaussianNoise, {"stddev": 0.5, "seed": 1}),
    (layers.GaussianDropout, {"rate": 0.3, "seed": 1}),
    (layers.AlphaDropout, {"rate": 0.2, "seed": 1}),
    (layers.SpatialDropout1D, {"rate": 0.5, "seed": 1}),
])
def test_identity_at_inference_and_the_harness(cls, kwargs):
    out = run_layer_test(cls, kwargs, input_data=X[:2], expected_output_shape=(2, 8, 16),
                         expected_num_trainable_weights=0, supports_masking=True)
    np.testing.assert_array_equal(cls(**kwargs)(X[:2], training=False).numpy(), X[:2])
    assert out.shape == (2, 8, 16)


def test_activity_regularization_adds_its_penalty_per_sample():
    inputs = keras.Input((2,))
    model = keras.Model(inputs, layers.ActivityRegularization(l1=0.1, l2=0.01)(inputs))
    x = np.array([[1.0, -2.0], [3.0, 4.0]], "float32")
    np.testing.assert_array_equal(model(x).numpy(), x)
    # (0.1 * 10 + 0.01 * 30) / 2 samples, as tf.keras divides by the batch size.
    np.testing.assert_allclose(float(sum(model.losses)), 0.65, rtol=1e-6)
    layer = layers.ActivityRegularization.from_config(
        layers.ActivityRegularization(l1=0.5, name="r").get_config())
    assert (layer.l1, layer.l2, layer.name) == (0.5, 0.0, "r")


def test_gaussian_noise_statistics_and_seed():
    a = layers.GaussianNoise(0.5, seed=3)(X, training=True).numpy()
    assert abs((a - 1).std() - 0.5) < 0.02
    tf.random.set_seed(0)
    b = layers.GaussianNoise(0.5, seed=3)(X, training=True).numpy()
    tf.random.set_seed(0)
    c = layers.GaussianNoise(0.5, seed=3)(X, training=True).numpy()
    np.testing.assert_array_equal(b, c)


def test_gaussian_dropout_keeps_the_mean():
    a = layers.GaussianDropout(0.5, seed=2)(X, training=True).numpy()
    assert abs(a.mean() - 1) < 0.02
    assert abs(a.std() - 1.0) < 0.05  # sqrt(rate / (1 - rate)) = 1


def test_alpha_dropout_keeps_mean_and_variance_of_standard_inputs():
    x = np.random.default_rng(0).normal(size=(200, 500)).astype("float32")
    y = layers.AlphaDropout(0.2, seed=5)(x, training=True).numpy()
    assert abs(y.mean()) < 0.02
    assert abs(y.std() - 1) < 0.03


def test_spatial_dropout_drops_whole_channels():
    y = layers.SpatialDropout1D(0.5, seed=4)(X, training=True).numpy()
    per_channel = y.reshape(64, 8, 16)
    # every channel of a sample is either all zero or all 2 (1 / (1 - 0.5)) along the steps
    assert np.all((per_channel == 0).all(axis=1) | (per_channel == 2).all(axis=1))
    assert 0.3 < (per_channel[:, 0, :] == 0).mean() < 0.7
    x4 = np.ones((8, 3, 3, 5), "float32")
    y4 = layers.SpatialDropout2D(0.5, seed=4)(x4, training=True).numpy()
    assert np.all((y4 == 0).all(axis=(1, 2)) | (y4 == 2).all(axis=(1, 2)))
    y4 = layers.SpatialDropout2D(0.5, data_format="channels_first", seed=4)(x4,
                                                                             training=True)
    assert np.all((y4.numpy() == 0).all(axis=(2, 3)) | (y4.numpy() == 2).all(axis=(2, 3)))


def test_noise_acts_inside_fit_only():
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, layers.GaussianNoise(10.0)(inputs))
    x = np.ones((3, 4), "float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


def test_rate_errors():
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
        layers.GaussianDropout(1.0)
    with pytest.raises(ValueError, match="rank 3"):
        layers.SpatialDropout1D(0.5)(np.ones((2, 3), "float32"), training=True)
