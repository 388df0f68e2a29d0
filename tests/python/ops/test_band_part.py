"""tf.linalg.band_part against a numpy reference: every band, batches, bool and integer
inputs, the gradient, and TensorFlow's argument errors."""

from __future__ import annotations

import itertools

import corten as tf
import numpy as np
import pytest


def _ref(x, lower, upper):
    m, n = x.shape[-2:]
    i = np.arange(m)[:, None]
    j = np.arange(n)[None, :]
    keep = ((lower < 0) | (i - j <= lower)) & ((upper < 0) | (j - i <= upper))
    return np.where(keep, x, np.zeros((), x.dtype))


@pytest.mark.parametrize("shape", [(3, 4), (4, 3), (2, 3, 3), (2, 1, 5, 2), (0, 3), (1, 1)],
                         ids=str)
def test_every_band_matches_numpy(shape, rng):
    x = rng.standard_normal(shape)
    for lower, upper in itertools.product([-1, 0, 1, 2], repeat=2):
        if lower > shape[-2] or upper > shape[-1]:
            continue  # an error, tested below
        got = tf.linalg.band_part(tf.constant(x), lower, upper)
        np.testing.assert_array_equal(got.numpy(), _ref(x, lower, upper), err_msg=str(
            (lower, upper)))


@pytest.mark.parametrize("dtype", ["bool", "int32", "int64", "float32"])
def test_dtypes(dtype, rng):
    x = (rng.random((3, 5)) < 0.7) if dtype == "bool" else rng.integers(-4, 4, (3, 5)).astype(
        dtype)
    got = tf.linalg.band_part(x, 1, 0)
    assert got.dtype.name == dtype
    np.testing.assert_array_equal(got.numpy(), _ref(x, 1, 0))


def test_causal_mask_and_tensor_limits():
    mask = tf.linalg.band_part(tf.ones((1, 3, 4), tf.bool), tf.constant(-1), tf.constant(0))
    np.testing.assert_array_equal(mask.numpy()[0], np.tril(np.ones((3, 4), bool)))


def test_gradient_is_the_band_of_the_upstream_gradient(rng):
    x = tf.constant(rng.standard_normal((2, 3, 3)))
    dy = rng.standard_normal((2, 3, 3))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.linalg.band_part(x, 0, 1)
    grad = tape.gradient(y, x, output_gradients=tf.constant(dy))
    np.testing.assert_array_equal(grad.numpy(), _ref(dy, 0, 1))


def test_errors():
    with pytest.raises(ValueError, match=r"band_part: input must be at least 2-D. Received: "
                                         r"input.shape=\(3,\)"):
        tf.linalg.band_part(np.ones(3), -1, 0)
    with pytest.raises(ValueError, match=r"num_lower must be negative or at most the number of "
                                         r"rows \(2\). Received: num_lower=3"):
        tf.linalg.band_part(np.ones((2, 5)), 3, 0)
    with pytest.raises(ValueError, match=r"num_upper must be negative or at most the number of "
                                         r"columns \(5\). Received: num_upper=6"):
        tf.linalg.band_part(np.ones((2, 5)), 0, 6)
    with pytest.raises(ValueError, match="num_lower must be an integer"):
        tf.linalg.band_part(np.ones((2, 2)), 0.5, 0)
