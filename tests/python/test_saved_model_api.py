"""corten.saved_model (tf.saved_model's save and load): signatures chosen by the user, each
saved as its own inference graph and run by the C++ runtime from Python, C and C++."""

import json
import os
import sys
from pathlib import Path

import corten as tf
import numpy as np
import pytest
from corten import keras
from corten.keras import layers

sys.path.insert(0, str(Path(__file__).parent))
from native import c_api  # noqa: E402


def _classifier():
    inputs = keras.Input((4,), name="features")
    hidden = layers.Dense(6, activation="relu")(inputs)
    return keras.Model(inputs, layers.Dense(3, name="logits")(hidden))


def _signatures(model):
    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def classify(x):
        logits = model(x, training=False)
        return {"probabilities": tf.nn.softmax(logits), "label": tf.argmax(logits, axis=-1)}

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
    def halved(features):
        return model(features * 0.5, training=False)

    return classify, halved


def test_signatures_save_and_load_by_name(tmp_path):
    model = _classifier()
    classify, halved = _signatures(model)
    path = str(tmp_path / "exported")
    tf.saved_model.save(model, path, signatures={"serving_default": classify, "halved": halved})
    assert sorted(os.listdir(path)) == [
        "assets", "config.json", "inference.halved.plan.json", "inference.plan.json",
        "metadata.json", "model.weights.safetensors"]
    assert json.loads((tmp_path / "exported" / "metadata.json").read_text())["signatures"] == [
        "halved", "serving_default"]
    loaded = tf.saved_model.load(path)
    assert sorted(loaded.signatures) == ["halved", "serving_default"]
    x = np.random.default_rng(0).random((5, 4), dtype=np.float32)
    out = loaded.signatures["serving_default"](x=x)
    want = classify(x)
    assert sorted(out) == ["label", "probabilities"]
    np.testing.assert_array_equal(out["label"].numpy(), want["label"].numpy())
    np.testing.assert_array_equal(out["probabilities"].numpy(), want["probabilities"].numpy())
    # Inputs are named by the function's parameters where the TensorSpec has no name.
    half = loaded.signatures["halved"]
    assert (half.input_names, half.output_names) == (["features"], ["output_0"])
    np.testing.assert_array_equal(half(features=x)["output_0"].numpy(), halved(x).numpy())
    # The directory is the model too, for Python.
    np.testing.assert_array_equal(keras.models.load_model(path).predict(x, verbose=0),
                                  model.predict(x, verbose=0))


def test_the_default_signature_is_the_models_call(tmp_path):
    model = _classifier()
    path = str(tmp_path / "plain")
    tf.saved_model.save(model, path)
    loaded = tf.saved_model.load(path)
    assert list(loaded.signatures) == ["serving_default"]
    x = np.ones((2, 4), "float32")
    np.testing.assert_array_equal(loaded.signatures["serving_default"](features=x)["logits"],
                                  model(x).numpy())
    # model.save takes the same argument, as tf.keras's does.
    classify, _ = _signatures(model)
    model.save(str(tmp_path / "via_save"), signatures=classify)
    out = tf.saved_model.load(str(tmp_path / "via_save")).signatures["serving_default"](x=x)
    assert sorted(out) == ["label", "probabilities"]


def test_signatures_run_through_the_c_api(tmp_path):
    lib = c_api.load_or_skip()
    model = _classifier()
    classify, halved = _signatures(model)
    export = str(tmp_path / "exported")
    tf.saved_model.save(model, export, signatures={"serving_default": classify, "halved": halved})
    x = np.random.default_rng(1).random((3, 4), dtype=np.float32)
    native = c_api.Model(lib, export, "halved")
    try:
        np.testing.assert_array_equal(native.predict([x])[0], halved(x).numpy())
    finally:
        native.close()
    native = c_api.Model(lib, export)  # serving_default
    try:
        assert native.output_names == ["label", "probabilities"]
        label, _ = native.predict([x])
        np.testing.assert_array_equal(label, classify(x)["label"].numpy())
    finally:
        native.close()
    with pytest.raises(ValueError, match="no signature 'other'; its signatures are 'halved', "
                                         "'serving_default'"):
        c_api.Model(lib, export, "other")
    with pytest.raises(ValueError, match="a signature name is 1 to 64 letters"):
        c_api.Model(lib, export, "../config")


def test_bad_signatures_are_refused_with_their_name(tmp_path):
    model = _classifier()
    with pytest.raises(ValueError, match="signature 'plain' must be a corten.function with an "
                                         "input_signature"):
        tf.saved_model.save(model, str(tmp_path / "a"), signatures={"plain": lambda x: x})

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
    def noisy(x):
        return model(x) + tf.random.normal(tf.shape(x)[:1])[:, None]

    with pytest.raises(ValueError, match="signature 'noisy' cannot be saved: .*random"):
        tf.saved_model.save(model, str(tmp_path / "b"), signatures={"noisy": noisy})
    with pytest.raises(ValueError, match="signature name is 1 to 64"):
        tf.saved_model.save(model, str(tmp_path / "c"), signatures={"a/b": noisy})
    with pytest.raises(TypeError, match="expected a keras.Model"):
        tf.saved_model.save(object(), str(tmp_path / "d"))
    assert not os.path.exists(tmp_path / "b")
    assert not os.path.exists(tmp_path / "c")
