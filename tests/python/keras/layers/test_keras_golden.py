"""corten's layers against tf.keras 2 golden data (golden/keras_golden.npz).

Each case was produced by golden/make_keras_golden.py with tf_keras: the layer's
config, weight names and shapes, weights, input and outputs. Here the layer is
deserialized in corten FROM tf.keras's config, given the same weights, and its
outputs, states, masks, moving statistics, regularization losses, gradients,
compute_output_shape and get_config must equal tf.keras's; whole tf.keras models rebuilt
from their configs predict the same. TensorFlow is not needed to run this file.
"""

import json
import os

import numpy as np
import pytest

import corten as tf
from corten.keras import layers

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "keras_golden.npz")
DATA = np.load(GOLDEN)
META = json.loads(str(DATA["__meta__"]))
CASES = {entry["name"]: entry for entry in META}

# get_config keys tf.keras has and corten deliberately does not, or the other way
# round, by class name, each with its reason.
CONFIG_KEY_DIFFERENCES = {
    # tf.keras's Conv3DTranspose pops dilation_rate from its config (its CPU kernel cannot
    # dilate); corten runs dilated 3-D transposed convolutions, so its config keeps the key
    # to round-trip them.
    "Conv3DTranspose": {"dilation_rate"},
}

# corten names a weight "<layer that creates it>/<weight>", with no scope of the layers
# around it. tf.keras scopes a nested layer's weights by the name scopes active when they
# were built: Bidirectional gives "forward_lstm/lstm_cell/kernel", RNN over stacked cells
# "stacked_rnn_cells/gru_cell/kernel", and TimeDistributed gives "kernel" when built by
# build() but "time_distributed/kernel" when built by a call. For these layers one name must
# end the other on a "/" boundary; order and shapes are compared in full.
NESTED = {"Bidirectional", "TimeDistributed", "RNN"}

# Cases where tf.keras's compute_output_shape is wrong and corten's is the real output
# shape, with the reason.
TF_KERAS_OUTPUT_SHAPE_WRONG = {
    # tf.keras computes the forward layer's shape and doubles its last axis for "concat",
    # ignoring a backward_layer with other units (GRU(3) after LSTM(2): it says 4, the
    # output has 5).
    "x_bidirectional_backward_layer",
}


# Where corten deliberately does more than tf.keras (no tf.keras case can exist):
# - channels_first convolutions and pooling that tf.keras cannot run on CPU (issue 13);
#   the generator records those tf.keras does run;
# - DepthwiseConv1D(padding="causal"), which tf.keras refuses ("Causal padding is only
#   supported for `Conv1D` and `SeparableConv1D`");
# - an out-of-range Embedding id raises on every device (issue 14).
# And where corten does less: UpSampling2D takes only "nearest" and "bilinear" (tf.keras
# also resizes with "bicubic", "area", "gaussian", "lanczos3/5" and "mitchellcubic").

RTOL = ATOL = 1e-5


def _same_weight_name(ours, theirs):
    return ours == theirs or ours.endswith("/" + theirs) or theirs.endswith("/" + ours)


def _np(t):
    return t.numpy() if hasattr(t, "numpy") else np.asarray(t)


def _local_name(layer, weight):
    """The part of a weight name after the layer's own name, without ':0'."""
    name = weight.name.split(":")[0]
    prefix = layer.name + "/"
    return name[len(prefix):] if name.startswith(prefix) else name


def _shape_list(shape):
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)) \
            or (isinstance(shape, list) and shape and hasattr(shape[0], "as_list")):
        return [_shape_list(s) for s in shape]
    if hasattr(shape, "as_list"):
        shape = shape.as_list()
    return [None if d is None else int(d) for d in shape]


def _build_and_run(entry):
    name = entry["name"]
    config = json.loads(entry["config"])
    layer = layers.deserialize({"class_name": entry["cls"], "config": config})
    x = DATA[name + "/x"]
    call_kwargs = {}
    if name + "/mask_in" in DATA:
        call_kwargs["mask"] = tf.convert_to_tensor(DATA[name + "/mask_in"])
    if "embedding_config" in entry:
        emb = layers.deserialize({"class_name": "Embedding",
                                  "config": json.loads(entry["embedding_config"])})
        emb(x)
        emb.set_weights([DATA[name + "/embedding"]])
        inputs = emb(x)
        call_kwargs["mask"] = emb.compute_mask(x)
    else:
        emb = None
        inputs = tf.convert_to_tensor(x)
    layer(inputs, **call_kwargs)  # builds the layer (wrappers build on call)
    return layer, inputs, call_kwargs, emb


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_matches_tf_keras(name):
    entry = CASES[name]
    layer, inputs, call_kwargs, _ = _build_and_run(entry)

    names = [_local_name(layer, w) for w in layer.weights]
    shapes = [list(w.shape) for w in layer.weights]
    expected = entry["weight_names"]
    if entry["cls"] in NESTED:
        assert len(names) == len(expected), (name, names)
        assert all(_same_weight_name(a, b) for a, b in zip(names, expected, strict=True)), (
            name, names, expected)
    else:
        assert names == expected, (name, names)
    assert shapes == entry["weight_shapes"], (name, shapes)

    weights = [DATA[f"{name}/w{i}"] for i in range(entry["n_weights"])]
    layer.set_weights(weights)
    if name + "/x2" in DATA:
        # Stateful: the second call starts from the states the first left.
        layer.reset_states()
        layer(inputs)
        outs = layer(tf.convert_to_tensor(DATA[name + "/x2"]))
    elif name + "/s0" in DATA:
        states = [tf.convert_to_tensor(DATA[f"{name}/s{i}"])
                  for i in range(4) if f"{name}/s{i}" in DATA]
        outs = layer(inputs, initial_state=states)
    else:
        outs = layer(inputs, training=False, **call_kwargs)
    outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
    assert len(outs) == entry["n_out"], name
    for i, out in enumerate(outs):
        assert _np(out).dtype == DATA[f"{name}/out{i}"].dtype, (name, i)
        np.testing.assert_allclose(_np(out), DATA[f"{name}/out{i}"], rtol=RTOL, atol=ATOL,
                                   err_msg=f"{name} output {i}")

    if name + "/losses" in DATA:
        # Weight penalties and the activity penalty of this call, in any order.
        losses = sorted(float(_np(v)) for v in layer.losses)
        np.testing.assert_allclose(losses, DATA[name + "/losses"], rtol=RTOL, atol=ATOL,
                                   err_msg=f"{name} losses")

    if "embedding_config" in entry:
        # The mask each output carries on (tf.keras's `_keras_mask`), None where it has none.
        masks = layer.compute_mask(inputs, call_kwargs["mask"])
        masks = list(masks) if isinstance(masks, (list, tuple)) else [masks]
        masks += [None] * (len(outs) - len(masks))
        for i, m in enumerate(masks):
            key = f"{name}/out_mask{i}"
            if key in DATA:
                assert m is not None, (name, i)
                np.testing.assert_array_equal(_np(m), DATA[key], err_msg=key)
            else:
                assert m is None, (name, i)

    if name + "/mask" in DATA:
        np.testing.assert_array_equal(_np(layer.compute_mask(DATA[name + "/x"])),
                                      DATA[name + "/mask"])

    if name + "/train_out" in DATA:
        train_out = layer(inputs, training=True, **call_kwargs)
        np.testing.assert_allclose(_np(train_out), DATA[name + "/train_out"], rtol=RTOL,
                                   atol=ATOL, err_msg=f"{name} training output")
        for w in layer.weights:
            key = f"{name}/after_{_local_name(layer, w)}"
            if key in DATA:
                np.testing.assert_allclose(_np(w), DATA[key], rtol=RTOL, atol=ATOL,
                                           err_msg=key)

    if entry["output_shape"] is not None:
        in_shape = (None,) + tuple(entry["shape"][1:])
        if "embedding_config" in entry:
            in_shape = in_shape + (4,)
        got = _shape_list(layer.compute_output_shape(in_shape))
        if name in TF_KERAS_OUTPUT_SHAPE_WRONG:
            assert got == [None, *DATA[name + "/out0"].shape[1:]], (name, got)
        else:
            assert got == entry["output_shape"], (name, got)
    if entry.get("output_shape_none") is not None and name not in TF_KERAS_OUTPUT_SHAPE_WRONG:
        # Every dimension unknown but the channels.
        got = _shape_list(layer.compute_output_shape(tuple(entry["none_shape"])))
        assert got == entry["output_shape_none"], (name, entry["none_shape"], got)


def _comparable(config):
    """A config as JSON values, without what legitimately differs between the libraries.

    - "module" and "registered_name" in nested objects (initializers, regularizers,
      constraints, wrapped layers): tf.keras 2.13+ writes them; corten writes the Keras 2
      form ``{"class_name", "config"}``, which both libraries load.
    - "name": tf.keras numbers its wrapped layers per process (lstm_6).
    - "build_config" of a wrapped layer: the shape the layer happened to be built with.
    """
    if isinstance(config, dict):
        return {k: _comparable(v) for k, v in config.items()
                if k not in ("module", "registered_name", "name", "build_config")}
    if isinstance(config, (list, tuple)):
        return [_comparable(v) for v in config]
    if hasattr(config, "tolist"):
        return config.tolist()
    return config


@pytest.mark.parametrize("name", sorted(CASES))
def test_get_config_matches_tf_keras(name):
    entry = CASES[name]
    theirs = json.loads(entry["config"])
    layer = layers.deserialize({"class_name": entry["cls"], "config": theirs})
    ours = layer.get_config()
    allowed = CONFIG_KEY_DIFFERENCES.get(entry["cls"], set())
    assert set(ours) ^ set(theirs) <= allowed, (name, set(ours) ^ set(theirs))
    ours_values = _comparable(json.loads(json.dumps(ours, default=_comparable)))
    theirs_values = _comparable(theirs)
    for key in set(theirs) & set(ours):
        assert ours_values.get(key) == theirs_values.get(key), (name, key)
    # The class's own from_config takes tf.keras's config too, and corten's config
    # round-trips to the same config.
    again = type(layer).from_config(json.loads(entry["config"]))
    assert _comparable(again.get_config()) == _comparable(ours)


# Stateful and initial_state cases record no gradient (the outputs, above, cover them).
@pytest.mark.parametrize("name", sorted(n for n in CASES if n + "/cot0" in DATA))
def test_gradients_match_tf_keras(name):
    """Gradients of sum(output_i * cotangent_i) w.r.t. the input, every trainable weight and
    the masking Embedding's table equal tf.GradientTape's in tf.keras (BatchNormalization
    in training mode)."""
    entry = CASES[name]
    layer, _, _, emb = _build_and_run(entry)
    layer.set_weights([DATA[f"{name}/w{i}"] for i in range(entry["n_weights"])])
    x = tf.convert_to_tensor(DATA[name + "/x"])
    float_in = name + "/gx" in DATA
    with tf.GradientTape() as tape:
        if float_in:
            tape.watch(x)
        if emb is not None:
            outs = layer(emb(x), mask=emb.compute_mask(x))
        elif name + "/mask_in" in DATA:
            outs = layer(x, mask=tf.convert_to_tensor(DATA[name + "/mask_in"]),
                         training=name + "/train_out" in DATA)
        else:
            outs = layer(x, training=name + "/train_out" in DATA)
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        loss = None
        for i, o in enumerate(outs):
            term = tf.reduce_sum(tf.multiply(o, tf.convert_to_tensor(DATA[f"{name}/cot{i}"])))
            loss = term if loss is None else tf.add(loss, term)
    keys = [f"{name}/gw{i}" for i in range(len(layer.weights))]
    index = [i for i, key in enumerate(keys) if key in DATA]
    sources = [layer.weights[i] for i in index]
    expected = [DATA[keys[i]] for i in index]
    if emb is not None:
        sources.append(emb.embeddings)
        expected.append(DATA[name + "/gemb"])
    if float_in:
        sources.append(x)
        expected.append(DATA[name + "/gx"])
    grads = tape.gradient(loss, sources)
    for src, g, want in zip(sources, grads, expected, strict=True):
        got = np.zeros(want.shape, want.dtype) if g is None else _np(tf.convert_to_tensor(g))
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5,
                                   err_msg=f"{name}: gradient of {getattr(src, 'name', 'x')}")


MODELS = {entry["name"]: entry for entry in json.loads(str(DATA["__models__"]))}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_tf_keras_model_config_loads_and_predicts_the_same(name):
    """A whole tf.keras Sequential or functional model, rebuilt from its get_config() and
    given its weights in get_weights() order, predicts what tf.keras predicted."""
    from corten import keras

    entry = MODELS[name]
    cls = keras.Sequential if entry["cls"] == "Sequential" else keras.Model
    model = cls.from_config(json.loads(entry["config"]))
    model.set_weights([DATA[f"{name}/w{i}"] for i in range(entry["n_weights"])])
    out = model(DATA[name + "/x"], training=False)
    np.testing.assert_allclose(_np(out), DATA[name + "/out"], rtol=RTOL, atol=ATOL)
