"""tf.nn's cross-entropies with logits against float64 numpy references."""

from __future__ import annotations

import corten as tf
import numpy as np
import pytest

RNG = np.random.default_rng(0)


def _log_softmax(x):
    x = x.astype(np.float64)
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_softmax_cross_entropy_with_logits(dtype):
    x = RNG.standard_normal((3, 4, 7)).astype(dtype) * 5
    labels = RNG.integers(0, 7, (3, 4))
    got = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=x)
    want = -np.take_along_axis(_log_softmax(x), labels[..., None], -1)[..., 0]
    assert got.shape == (3, 4)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)
    with pytest.raises(IndexError, match=r"label value of 7 .* \[0, 7\)"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(np.full((3, 4), 7), x)


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_cross_entropy_with_logits(axis):
    x = RNG.standard_normal((5, 6)).astype(np.float32)
    p = RNG.random((5, 6)).astype(np.float32)
    p /= p.sum(axis, keepdims=True)
    got = tf.nn.softmax_cross_entropy_with_logits(labels=p, logits=x, axis=axis)
    ls = np.moveaxis(_log_softmax(np.moveaxis(x, axis, -1)), -1, axis)
    np.testing.assert_allclose(got.numpy(), -(p * ls).sum(axis), rtol=1e-5, atol=1e-6)


def test_sigmoid_cross_entropy_with_logits_is_stable():
    x = np.array([-200.0, -3.0, 0.0, 2.5, 200.0], np.float32)
    z = np.array([0.0, 1.0, 0.5, 0.0, 1.0], np.float32)
    got = tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x).numpy()
    xd, zd = x.astype(np.float64), z.astype(np.float64)
    want = np.maximum(xd, 0) - xd * zd + np.log1p(np.exp(-np.abs(xd)))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    assert np.isfinite(got).all()
    with pytest.raises(ValueError, match="both labels and logits"):
        tf.nn.sigmoid_cross_entropy_with_logits(logits=x)


def test_cross_entropies_in_the_functional_api():
    from corten import keras

    logits = keras.Input((4,))
    labels = keras.Input((), dtype="int32")
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
    model = keras.Model([logits, labels], loss)
    x = RNG.standard_normal((2, 4)).astype(np.float32)
    y = np.array([1, 3], np.int32)
    want = -_log_softmax(x)[np.arange(2), y]
    np.testing.assert_allclose(model([x, y]).numpy(), want, rtol=1e-5)
