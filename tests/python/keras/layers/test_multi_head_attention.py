"""MultiHeadAttention: tf.keras 2.21's weight layout, order and config; a float64 numpy
reference with padding masks (given and from Keras masks), causal masks, both,
attention_axes over two axes and the attention scores; gradients by finite differences;
dropout; save/load; thread-count invariance; and the harness (on a self-attention subclass,
since the harness feeds one input)."""

from __future__ import annotations

import os

import corten as tf
import numpy as np
import pytest
from corten import keras
from corten.keras import layers
from corten.testing import run_layer_test

MHA = layers.MultiHeadAttention
TOL = {"float32": {"rtol": 1e-4, "atol": 1e-5}, "float64": {"rtol": 1e-10, "atol": 1e-12}}


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _reference(q, v, k, weights, key_dim, mask=None, use_bias=True):
    """Multi-head attention of (B, T, D) query and (B, S, D) key/value in float64, written
    out with explicit projections; ``mask`` is (B, T, S) or None (masked scores get -1e9
    added, as tf.keras's Softmax)."""
    w = [np.asarray(x, np.float64) for x in weights]
    if use_bias:
        wq, bq, wk, bk, wv, bv, wo, bo = w
    else:
        (wq, wk, wv, wo), bq = w, 0.0
        bk = bv = bo = 0.0
    heads_q = np.einsum("btd,dnh->btnh", q, wq) + bq
    heads_k = np.einsum("bsd,dnh->bsnh", k, wk) + bk
    heads_v = np.einsum("bsd,dnh->bsnh", v, wv) + bv
    scores = np.einsum("btnh,bsnh->bnts", heads_q / np.sqrt(key_dim), heads_k)
    if mask is not None:
        scores = scores + (1.0 - mask[:, None].astype(np.float64)) * -1e9
    probs = _softmax(scores)
    context = np.einsum("bnts,bsnh->btnh", probs, heads_v)
    return np.einsum("btnh,nho->bto", context, wo) + bo, probs


def _randomise(layer, rng):
    layer.set_weights([rng.standard_normal(w.shape) * 0.5 for w in layer.get_weights()])


@pytest.fixture
def data(rng):
    return {"q": rng.standard_normal((2, 5, 6)), "v": rng.standard_normal((2, 4, 6)),
            "k": rng.standard_normal((2, 4, 6))}


def test_weights_layout_order_and_names_are_tf_keras():
    layer = MHA(num_heads=2, key_dim=3, value_dim=4, name="mha")
    layer(np.ones((2, 5, 6), "float32"), np.ones((2, 7, 8), "float32"))
    assert [(w.name, tuple(w.shape)) for w in layer.weights] == [
        ("query/kernel:0", (6, 2, 3)), ("query/bias:0", (2, 3)),
        ("key/kernel:0", (8, 2, 3)), ("key/bias:0", (2, 3)),
        ("value/kernel:0", (8, 2, 4)), ("value/bias:0", (2, 4)),
        ("attention_output/kernel:0", (2, 4, 6)), ("attention_output/bias:0", (6,))]
    assert [sub.name for sub in layer.submodules if sub.weights] == [
        "query", "key", "value", "attention_output"]
    no_bias = MHA(num_heads=2, key_dim=3, use_bias=False, output_shape=(3, 5))
    out = no_bias(np.ones((2, 5, 6), "float32"), np.ones((2, 7, 8), "float32"))
    assert tuple(out.shape) == (2, 5, 3, 5)
    assert [tuple(w.shape) for w in no_bias.weights] == [(6, 2, 3), (8, 2, 3), (8, 2, 3),
                                                         (2, 3, 3, 5)]


def test_config_keys_and_from_config_creates_the_weights():
    layer = MHA(num_heads=2, key_dim=3, name="mha")
    assert layer.get_config()["query_shape"] is None
    layer(np.ones((2, 5, 6), "float32"), np.ones((2, 7, 6), "float32"))
    config = layer.get_config()
    assert list(config) == [
        "name", "trainable", "dtype", "num_heads", "key_dim", "value_dim", "dropout",
        "use_bias", "output_shape", "attention_axes", "kernel_initializer",
        "bias_initializer", "kernel_regularizer", "bias_regularizer", "activity_regularizer",
        "kernel_constraint", "bias_constraint", "query_shape", "key_shape", "value_shape",
        "softmax_robust_masking"]
    assert config["query_shape"] == [2, 5, 6]
    assert config["value_shape"] == [2, 7, 6]
    assert config["attention_axes"] == (1,)
    assert config["value_dim"] == 3
    clone = MHA.from_config(config)
    assert [tuple(w.shape) for w in clone.weights] == [tuple(w.shape) for w in layer.weights]
    clone.set_weights(layer.get_weights())
    x, y = np.ones((1, 5, 6), "float32"), np.full((1, 7, 6), 0.5, "float32")
    np.testing.assert_allclose(clone(x, y).numpy(), layer(x, y).numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("masks", ["none", "padding", "causal", "padding+causal", "keras",
                                   "keras+given+causal"])
def test_matches_the_numpy_reference(masks, dtype, data, rng):
    q, v, k = data["q"], data["v"], data["k"]
    layer = MHA(num_heads=3, key_dim=2, value_dim=3, dtype=dtype)
    layer(q.astype(dtype), v.astype(dtype), k.astype(dtype))
    _randomise(layer, rng)
    mask = np.ones((2, 5, 4), bool)
    given = rng.random((2, 5, 4)) < 0.7
    given[:, :, 0] = True
    q_mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    v_mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0]], bool)
    kwargs = {}
    query, value, key = (tf.constant(x.astype(dtype)) for x in (q, v, k))
    if "padding" in masks or "given" in masks:
        kwargs["attention_mask"] = given
        mask &= given
    if "causal" in masks:
        kwargs["use_causal_mask"] = True
        mask &= np.tril(np.ones((5, 4), bool))
    if "keras" in masks:
        query._keras_mask = tf.constant(q_mask)
        value._keras_mask = tf.constant(v_mask)
        key._keras_mask = tf.constant(v_mask)
        mask &= q_mask[:, :, None] & v_mask[:, None, :]
    out, scores = layer(query, value, key, return_attention_scores=True, **kwargs)
    want, want_scores = _reference(q, v, k, layer.get_weights(), 2,
                                   None if masks == "none" else mask)
    # Query rows with every key masked get -1e9 added to all their scores, which rounds the
    # scores away (to 1e-7 in float64): compared only for being finite.
    rows = mask.any(-1)
    assert np.isfinite(out.numpy()).all()
    np.testing.assert_allclose(out.numpy()[rows], want[rows], **TOL[dtype])
    np.testing.assert_allclose(scores.numpy().transpose(0, 2, 1, 3)[rows],
                               want_scores.transpose(0, 2, 1, 3)[rows], **TOL[dtype])
    if "keras" in masks:  # the query's mask goes on to the output
        np.testing.assert_array_equal(out._keras_mask.numpy(), q_mask)


def test_value_as_key_and_output_shape(data, rng):
    layer = MHA(num_heads=2, key_dim=4, output_shape=3, use_bias=False, dtype="float64")
    out = layer(data["q"], data["v"])
    _randomise(layer, rng)
    out = layer(data["q"], data["v"])
    want, _ = _reference(data["q"], data["v"], data["v"], layer.get_weights(), 4,
                         use_bias=False)
    assert tuple(out.shape) == (2, 5, 3)
    np.testing.assert_allclose(out.numpy(), want, **TOL["float64"])


@pytest.mark.parametrize(("shape", "axes"), [((2, 3, 4, 6), (1, 2)), ((2, 2, 3, 2, 6), (2, 3))])
def test_attention_over_two_axes_is_attention_over_the_flattened_axes(shape, axes, rng):
    """Attention over axes (a, b) equals 1-D attention over a and b flattened, with the axes
    before them taken as batch axes."""
    x = rng.standard_normal(shape)
    layer = MHA(num_heads=2, key_dim=3, attention_axes=axes, dtype="float64")
    layer(x, x)
    _randomise(layer, rng)
    out, scores = layer(x, x, return_attention_scores=True)
    batch = int(np.prod(shape[:axes[0]]))
    flat = x.reshape(batch, shape[axes[0]] * shape[axes[1]], shape[-1])
    want, want_scores = _reference(flat, flat, flat, layer.get_weights(), 3)
    np.testing.assert_allclose(out.numpy().reshape(want.shape), want, **TOL["float64"])
    assert tuple(scores.shape) == shape[:axes[0]] + (2,) + shape[axes[0]:-1] * 2
    np.testing.assert_allclose(scores.numpy().reshape(want_scores.shape), want_scores,
                               **TOL["float64"])


def test_attention_mask_broadcasts_over_batch_and_heads(data, rng):
    layer = MHA(num_heads=2, key_dim=2, dtype="float64")
    layer(data["q"], data["v"])
    mask = rng.random((5, 4)) < 0.6
    mask[:, 1] = True
    got = layer(data["q"], data["v"], attention_mask=mask)
    want, _ = _reference(data["q"], data["v"], data["v"], layer.get_weights(), 2,
                         np.broadcast_to(mask, (2, 5, 4)))
    np.testing.assert_allclose(got.numpy(), want, **TOL["float64"])


def test_robust_masking_replaces_masked_scores(data):
    layer = MHA(num_heads=2, key_dim=2, softmax_robust_masking=True, dtype="float64")
    mask = np.ones((2, 5, 4), bool)
    mask[:, :, 2:] = False
    _, scores = layer(data["q"], data["v"], attention_mask=mask, return_attention_scores=True)
    np.testing.assert_array_equal(scores.numpy()[..., 2:], 0.0)
    assert layer.get_config()["softmax_robust_masking"] is True


def test_dropout_applies_to_the_probabilities_in_training_only(data):
    layer = MHA(num_heads=2, key_dim=2, dropout=0.5)
    q, v = data["q"].astype("float32"), data["v"].astype("float32")
    a, scores_a = layer(q, v, return_attention_scores=True)
    b = layer(q, v, training=False)
    c, scores_c = layer(q, v, training=True, return_attention_scores=True)
    # b takes the fused kernel (no scores asked for), a the layer's einsum path: the same
    # values up to the order of the sums.
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(c.numpy(), a.numpy())
    # the returned scores are the probabilities before dropout, as tf.keras returns them
    np.testing.assert_allclose(scores_c.numpy(), scores_a.numpy(), rtol=1e-6)


def test_gradients_match_finite_differences(rng):
    layer = MHA(num_heads=2, key_dim=2, dtype="float64", bias_initializer="random_normal")
    q, v = rng.standard_normal((1, 3, 4)), rng.standard_normal((1, 2, 4))
    mask = np.array([[[1, 1], [1, 0], [0, 1]]], bool)
    layer(q, v)
    upstream = rng.standard_normal((1, 3, 4))

    def loss(query, weights):
        layer.set_weights(weights)
        return float(np.sum(layer(query, v, attention_mask=mask).numpy() * upstream))

    weights = layer.get_weights()
    qt = tf.constant(q)
    with tf.GradientTape() as tape:
        tape.watch(qt)
        out = layer(qt, tf.constant(v), attention_mask=mask, use_causal_mask=False)
        total = tf.reduce_sum(out * tf.constant(upstream))
    grads = tape.gradient(total, [qt] + layer.trainable_weights)
    eps = 1e-6
    arrays = [q] + weights
    for i, (array, grad) in enumerate(zip(arrays, grads, strict=True)):
        fd = np.zeros_like(array)
        for idx in np.ndindex(array.shape):
            shifted = []
            for sign in (1, -1):
                a = array.copy()
                a[idx] += sign * eps
                ws = [a if j == i else w for j, w in enumerate(arrays)]
                shifted.append(loss(ws[0], ws[1:]))
            fd[idx] = (shifted[0] - shifted[1]) / (2 * eps)
        layer.set_weights(weights)
        np.testing.assert_allclose(grad.numpy(), fd, rtol=1e-6, atol=1e-8,
                                   err_msg=f"gradient {i}")


class _SelfAttention(MHA):
    """Self-attention on one input, so that the one-input harness can drive the layer."""

    def call(self, inputs, training=None):
        return super().call(inputs, inputs, training=training, use_causal_mask=True)


@pytest.mark.parametrize("kwargs", [{"num_heads": 2, "key_dim": 3},
                                    {"num_heads": 1, "key_dim": 2, "value_dim": 4,
                                     "dropout": 0.1, "output_shape": 5,
                                     "kernel_regularizer": "l2"}])
def test_through_the_harness(kwargs):
    run_layer_test(_SelfAttention, kwargs, input_shape=(2, 4, 6),
                   expected_output_shape=(2, 4, kwargs.get("output_shape", 6)),
                   expected_num_trainable_weights=8, expected_num_non_trainable_weights=0,
                   supports_masking=True, custom_objects={"_SelfAttention": _SelfAttention})


def _masked_model():
    tokens = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(20, 8, mask_zero=True)(tokens)
    y = MHA(num_heads=2, key_dim=4, name="mha")(x, x, use_causal_mask=True)
    y = layers.GlobalAveragePooling1D()(y)
    return keras.Model(tokens, layers.Dense(3)(y))


def test_save_and_load_a_model_with_embedding_masks(tmp_path):
    model = _masked_model()
    model.compile(optimizer="adam", loss="mse")
    tokens = np.array([[3, 5, 7, 0, 0], [1, 2, 3, 4, 5]], "int32")
    model.fit(tokens, np.ones((2, 3), "float32"), epochs=1, verbose=0)
    path = os.path.join(tmp_path, "mha.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(tokens, verbose=0), model.predict(tokens, verbose=0),
                               rtol=1e-6, atol=1e-6)
    # padded tokens do not change the outputs of the real ones: masks reached the layer
    longer = np.array([[3, 5, 7, 0, 0, 0, 0], [1, 2, 3, 4, 5, 0, 0]], "int32")
    mha = loaded.get_layer("mha")
    emb = loaded.layers[1]
    short_out = mha(emb(tokens), emb(tokens), use_causal_mask=True).numpy()
    long_out = mha(emb(longer), emb(longer), use_causal_mask=True).numpy()
    np.testing.assert_allclose(long_out[:, :5][tokens > 0], short_out[tokens > 0], rtol=1e-5,
                               atol=1e-6)


def test_cross_attention_functional_model_round_trip(rng):
    q_in = keras.Input(shape=(8, 16))
    v_in = keras.Input(shape=(4, 12))
    out, scores = MHA(num_heads=2, key_dim=2)(q_in, v_in, return_attention_scores=True)
    assert tuple(out.shape) == (None, 8, 16)
    assert tuple(scores.shape) == (None, 2, 8, 4)
    model = keras.Model([q_in, v_in], [out, scores])
    rebuilt = keras.Model.from_config(model.get_config())
    rebuilt.set_weights(model.get_weights())
    q = rng.standard_normal((3, 8, 16)).astype("float32")
    v = rng.standard_normal((3, 4, 12)).astype("float32")
    for a, b in zip(rebuilt([q, v]), model([q, v]), strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6)


def test_symbolic_two_dimensional_attention_shape():
    x = keras.Input(shape=(5, 3, 4, 16))
    out = MHA(num_heads=2, key_dim=2, attention_axes=(2, 3))(x, x)
    assert tuple(out.shape) == (None, 5, 3, 4, 16)


def test_compute_output_shape_as_tf_keras():
    layer = MHA(num_heads=2, key_dim=2, output_shape=(3, 4))
    assert tuple(layer.compute_output_shape((None, 8, 16), (None, 4, 16))) == (None, 8, 3, 4)
    with pytest.raises(ValueError, match="The last dimension of `query_shape` and "
                                         "`value_shape` must be equal"):
        layer.compute_output_shape((None, 8, 16), (None, 4, 12))
    with pytest.raises(ValueError, match="All dimensions of `value` and `key`"):
        layer.compute_output_shape((None, 8, 16), (None, 4, 16), (None, 5, 16))


def test_same_result_on_one_and_two_threads(rng):
    q = rng.standard_normal((4, 9, 16)).astype("float32")
    layer = MHA(num_heads=4, key_dim=8)
    cfg = tf.config.threading
    before = cfg.get_intra_op_parallelism_threads()
    results = []
    try:
        for threads in (1, 2):
            cfg.set_intra_op_parallelism_threads(threads)
            qt = tf.constant(q)
            with tf.GradientTape() as tape:
                tape.watch(qt)
                out = layer(qt, qt, use_causal_mask=True)
                total = tf.reduce_sum(out * out)
            grads = tape.gradient(total, [qt] + layer.trainable_weights)
            results.append([out.numpy()] + [g.numpy() for g in grads])
    finally:
        cfg.set_intra_op_parallelism_threads(before)
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("layout", ["tf.keras 2.13+", "Keras 3"])
def test_keras_weights_file_layouts(layout, tmp_path, rng):
    """A .weights.h5 file (Keras 3 layout) keeps the projections under their attribute names:
    tf.keras 2.13+ writes ``_query_dense``..., Keras 3 ``query_dense``... Both load in the
    weights order, even where query and key kernels have the same shape."""
    h5py = pytest.importorskip("h5py", reason="HDF5 files need the optional h5py (corten[h5])")
    x_in = keras.Input(shape=(5, 6))
    model = keras.Model(x_in, MHA(num_heads=2, key_dim=3, name="mha")(x_in, x_in))
    x = rng.standard_normal((2, 5, 6)).astype("float32")
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)
    with h5py.File(path, "r+") as f:
        group = f["layers/multi_head_attention"]
        assert sorted(group) == ["_key_dense", "_output_dense", "_query_dense", "_value_dense",
                                 "vars"]
        if layout == "Keras 3":
            for name in ("query", "key", "value", "output"):
                group.move(f"_{name}_dense", f"{name}_dense")
    fresh = keras.Model(x_in, MHA(num_heads=2, key_dim=3, name="mha")(x_in, x_in))
    fresh.load_weights(path)
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


def test_the_fused_kernel_and_the_einsum_path_agree_with_masks_dropout_off(rng):
    layer = MHA(num_heads=2, key_dim=3, value_dim=4)
    q = rng.standard_normal((2, 5, 6)).astype("float32")
    v = rng.standard_normal((2, 4, 6)).astype("float32")
    mask = rng.random((2, 5, 4)) > 0.3
    fused = layer(q, v, attention_mask=mask, use_causal_mask=True)
    unfused, _ = layer(q, v, attention_mask=mask, use_causal_mask=True,
                       return_attention_scores=True)
    np.testing.assert_allclose(fused.numpy(), unfused.numpy(), rtol=1e-5, atol=1e-6)
    with tf.GradientTape(persistent=True) as tape:
        out_fused = layer(q, v, attention_mask=mask)
        out_unfused, _ = layer(q, v, attention_mask=mask, return_attention_scores=True)
    for gf, gu in zip(tape.gradient(out_fused, layer.trainable_weights),
                      tape.gradient(out_unfused, layer.trainable_weights), strict=True):
        np.testing.assert_allclose(gf.numpy(), gu.numpy(), rtol=1e-4, atol=1e-5)
