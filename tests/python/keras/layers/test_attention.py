"""Attention and AdditiveAttention: tf-keras 2.21's numbers (attention_test.py), a float64
numpy reference with query/value masks, causal masks and keys, the weights, dropout, the
argument errors, a two-input model saved and loaded, and the harness (on self-attention
subclasses, since the harness feeds one input)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from corten import keras
from corten.keras import layers
from corten.testing import run_layer_test


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _reference(scores, v, q_mask=None, v_mask=None, causal=False):
    """softmax(scores - 1e9 * masked) @ v, zeroed at masked queries (tf.keras 2's rule)."""
    keep = np.ones(scores.shape, bool)
    if v_mask is not None:
        keep &= v_mask[:, None, :]
    if causal:
        keep &= np.tril(np.ones(scores.shape[-2:], bool))
    weights = _softmax(scores - 1e9 * (~keep))
    out = weights @ v
    if q_mask is not None:
        out = out * q_mask[..., None]
    return out, weights


def _dot(q, k, scale=1.0):
    return scale * q @ np.swapaxes(k, -1, -2)


def _concat(q, k, weight=1.0, scale=1.0):
    return weight * np.tanh(scale * (q[:, :, None] + k[:, None])).sum(-1)


def _additive(q, k, scale=None):
    terms = np.tanh(q[:, :, None] + k[:, None])
    return (terms if scale is None else scale * terms).sum(-1)


def test_tf_keras_numbers():
    q = np.array([[[1.1]]], "float32")
    v = np.array([[[1.6], [0.7], [-0.8]]], "float32")
    v_mask = np.array([[True, True, False]])
    out = layers.Attention()([q, v], mask=[None, v_mask])
    np.testing.assert_allclose(out.numpy(), [[[1.3561791301]]], rtol=1e-6)
    key = v
    value = np.array([[[0.5], [0.8], [-0.3]]], "float32")
    out = layers.Attention()([q, value, key], mask=[None, v_mask])
    np.testing.assert_allclose(out.numpy(), [[[0.58127362329]]], rtol=1e-6)


CASES = [
    (layers.Attention, {}, lambda layer, q, k: _dot(q, k)),
    (layers.Attention, {"use_scale": True}, lambda layer, q, k: _dot(q, k, -2.0)),
    (layers.Attention, {"score_mode": "concat"}, lambda layer, q, k: _concat(q, k)),
    (layers.Attention, {"score_mode": "concat", "use_scale": True},
     lambda layer, q, k: _concat(q, k, 0.7, -2.0)),
    (layers.AdditiveAttention, {}, lambda layer, q, k: _additive(q, k, layer.scale.numpy())),
    (layers.AdditiveAttention, {"use_scale": False}, lambda layer, q, k: _additive(q, k)),
]


@pytest.mark.parametrize(("cls", "kwargs", "scores"), CASES,
                         ids=[f"{c[0].__name__}{c[1]}" for c in CASES])
@pytest.mark.parametrize("masks", ["none", "value", "query+value", "causal", "all+key"])
def test_matches_the_numpy_reference(cls, kwargs, scores, masks, rng):
    q = rng.standard_normal((2, 4, 3))
    v = rng.standard_normal((2, 5, 3))
    k = rng.standard_normal((2, 5, 3)) if "key" in masks else v
    q_mask = np.array([[1, 1, 0, 1], [1, 1, 1, 1]], bool)
    v_mask = np.array([[1, 0, 1, 1, 0], [1, 1, 1, 1, 1]], bool)
    layer = cls(dtype="float64", **kwargs)
    layer([q, v])
    if kwargs.get("use_scale") and cls is layers.Attention:
        layer.scale.assign(-2.0)
    if kwargs.get("score_mode") == "concat":
        layer.concat_score_weight.assign(0.7 if kwargs.get("use_scale") else 1.0)
    inputs = [q, v] + ([k] if "key" in masks else [])
    mask = None
    if masks != "none" and masks != "causal":
        mask = [q_mask if "query" in masks or "all" in masks else None, v_mask]
    causal = masks in ("causal", "all+key")
    out, weights = layer(inputs, mask=mask, return_attention_scores=True,
                         use_causal_mask=causal)
    want, want_weights = _reference(scores(layer, q, k), v,
                                    None if mask is None else mask[0],
                                    None if mask is None else mask[1], causal)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weights.numpy(), want_weights, rtol=1e-10, atol=1e-12)


def test_masks_from_keras_masks_and_the_output_mask():
    tokens = np.array([[1, 2, 0], [3, 0, 0]], "int32")
    emb = layers.Embedding(5, 4, mask_zero=True)
    x = emb(tokens)
    layer = layers.Attention()
    out = layer([x, x])
    want, _ = _reference(_dot(x.numpy(), x.numpy()), x.numpy(), tokens > 0, tokens > 0)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out._keras_mask.numpy(), tokens > 0)


def test_deprecated_causal_argument():
    q = np.random.default_rng(0).standard_normal((1, 3, 2))
    a = layers.Attention(causal=True, dtype="float64")([q, q])
    b = layers.Attention(dtype="float64")([q, q], use_causal_mask=True)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert "causal" not in layers.Attention(causal=True).get_config()


def test_weights_and_config():
    att = layers.Attention(use_scale=True, score_mode="concat", dropout=0.1, name="att")
    att([np.ones((1, 2, 3), "float32")] * 2)
    assert [(w.name, tuple(w.shape)) for w in att.weights] == [
        ("att/scale:0", ()), ("att/concat_score_weight:0", ())]
    assert np.asarray(att.weights[0]) == 1.0
    assert list(att.get_config()) == ["name", "trainable", "dtype", "dropout", "use_scale",
                                      "score_mode"]
    add = layers.AdditiveAttention(name="add")
    add([np.ones((1, 2, 3), "float32"), np.ones((1, 4, 3), "float32")])
    assert [(w.name, tuple(w.shape)) for w in add.weights] == [("add/scale:0", (3,))]
    assert add.get_config()["use_scale"] is True
    assert add.get_config()["dropout"] == 0.0


def test_dropout_in_training_only(rng):
    q = rng.standard_normal((2, 6, 4)).astype("float32")
    layer = layers.Attention(dropout=0.5)
    a = layer([q, q])
    np.testing.assert_array_equal(layer([q, q], training=False).numpy(), a.numpy())
    assert not np.allclose(layer([q, q], training=True).numpy(), a.numpy())


def test_errors():
    q = np.ones((1, 2, 3), "float32")
    with pytest.raises(ValueError, match=r"Attention layer must be called on a list of inputs"):
        layers.Attention()(q)
    with pytest.raises(ValueError, match="accepts inputs list of length 2 or 3"):
        layers.Attention()([q])
    with pytest.raises(ValueError, match="mask must be a list"):
        layers.Attention()([q, q], mask=np.ones((1, 2), bool))
    with pytest.raises(ValueError, match="mask must be a list of length 2"):
        layers.AdditiveAttention()([q, q], mask=[None])
    with pytest.raises(ValueError, match=r"Received: score_mode=cat. Acceptable values are"):
        layers.Attention(score_mode="cat")


def test_two_input_model_saved_and_loaded(tmp_path, rng):
    q_in = keras.Input(shape=(None, 4))
    v_in = keras.Input(shape=(None, 4))
    a = layers.Attention(use_scale=True, score_mode="concat")([q_in, v_in],
                                                              use_causal_mask=True)
    b = layers.AdditiveAttention()([q_in, v_in, q_in])
    model = keras.Model([q_in, v_in], layers.Concatenate()([a, b]))
    q = rng.standard_normal((2, 3, 4)).astype("float32")
    v = rng.standard_normal((2, 3, 4)).astype("float32")
    path = os.path.join(tmp_path, "attention.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict([q, v], verbose=0),
                               model.predict([q, v], verbose=0), rtol=1e-6, atol=1e-6)


class _SelfAttention(layers.Attention):
    """Attention of the input to itself, so that the one-input harness can drive it."""

    def build(self, input_shape):
        super().build([input_shape, input_shape])

    def call(self, inputs, training=None):
        return super().call([inputs, inputs], training=training, use_causal_mask=True)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return super().compute_output_shape([input_shape, input_shape])


class _SelfAdditiveAttention(layers.AdditiveAttention):
    """AdditiveAttention of the input to itself, for the harness."""

    def build(self, input_shape):
        super().build([input_shape, input_shape])

    def call(self, inputs, training=None):
        return super().call([inputs, inputs], training=training)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return super().compute_output_shape([input_shape, input_shape])


@pytest.mark.parametrize(("cls", "kwargs", "weights"), [
    (_SelfAttention, {"use_scale": True, "score_mode": "concat", "dropout": 0.2}, 2),
    (_SelfAttention, {"use_scale": True}, 1),
    (_SelfAdditiveAttention, {}, 1),
])
def test_through_the_harness(cls, kwargs, weights):
    run_layer_test(cls, kwargs, input_shape=(2, 4, 3), expected_output_shape=(2, 4, 3),
                   expected_num_trainable_weights=weights, expected_num_non_trainable_weights=0,
                   supports_masking=True, custom_objects={cls.__name__: cls})
