"""CategoryEncoding, Hashing and IntegerLookup: the harness, numpy references, adapt,
save/load of their state, errors, and tf.keras 2 golden values
(golden/preprocessing_golden.json, made by golden/make_preprocessing_golden.py)."""

import json
import os

import corten
import numpy as np
import pytest
from corten import keras
from corten.keras import layers
from corten.testing import run_layer_test

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden",
                      "preprocessing_golden.json")
with open(GOLDEN) as f:
    GOLD = json.load(f)

rng = np.random.default_rng(3)


def _bincount_ref(x, depth, mode, weights=None):
    x = np.atleast_1d(x)
    if mode == "one_hot" and x.shape[-1] != 1:
        x = x[..., None]
    flat = x.reshape(int(np.prod(x.shape[:-1])), x.shape[-1])
    w = np.ones_like(flat, "float64") if weights is None else weights.reshape(flat.shape)
    out = np.zeros((flat.shape[0], depth))
    for r in range(flat.shape[0]):
        np.add.at(out[r], flat[r], w[r])
    if mode != "count":
        out = np.minimum(out, 1)
    return out.reshape((*x.shape[:-1], depth))


# ------------------------------------------------------------------ CategoryEncoding
@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("shape", [(6,), (6, 1), (4, 3), (), (3, 0)])
def test_category_encoding_matches_numpy(mode, shape):
    if mode == "one_hot" and len(shape) == 2 and shape[1] != 1:
        pytest.skip("one_hot on (batch, k>1) would give rank 3")
    x = rng.integers(0, 7, size=shape).astype("int64")
    out = layers.CategoryEncoding(num_tokens=7, output_mode=mode)(x)
    assert out.dtype.name == "float32"
    np.testing.assert_array_equal(out.numpy(), _bincount_ref(x, 7, mode))


def test_category_encoding_count_weights_and_dtypes():
    x = rng.integers(0, 5, size=(4, 6)).astype("int32")
    w = rng.random((4, 6))
    layer = layers.CategoryEncoding(num_tokens=5, output_mode="count", dtype="float64")
    got = layer(x, count_weights=w)
    assert got.dtype.name == "float64"
    np.testing.assert_allclose(got.numpy(), _bincount_ref(x, 5, "count", w), rtol=1e-12)
    as_int = layers.CategoryEncoding(num_tokens=5, output_mode="count", dtype="int64")(x)
    assert as_int.dtype.name == "int64"
    np.testing.assert_array_equal(as_int.numpy(), _bincount_ref(x, 5, "count"))


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_category_encoding_through_the_harness(mode):
    shape = (5, 1) if mode == "one_hot" else (5, 4)
    run_layer_test(layers.CategoryEncoding, {"num_tokens": 10, "output_mode": mode},
                   input_shape=shape, input_dtype="int64", expected_output_shape=(5, 10),
                   expected_output_dtype="float32", expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, run_training_check=False)


def test_category_encoding_errors_name_the_layer():
    with pytest.raises(ValueError, match="num_tokens must be set"):
        layers.CategoryEncoding()
    with pytest.raises(ValueError, match=r"CategoryEncoding.*num_tokens=0"):
        layers.CategoryEncoding(0)
    with pytest.raises(ValueError, match=r"CategoryEncoding.*output_mode='tf_idf'"):
        layers.CategoryEncoding(3, output_mode="tf_idf")
    with pytest.raises(ValueError, match="sparse"):
        layers.CategoryEncoding(3, sparse=True)
    layer = layers.CategoryEncoding(3)
    with pytest.raises(ValueError, match=r"CategoryEncoding.*num_tokens=3.*\[0, 3\].*\(1, 2\)"):
        layer(np.array([[0, 3]]))
    with pytest.raises(ValueError, match=r"CategoryEncoding.*\[-1, 1\]"):
        layer(np.array([[-1, 1]]))
    with pytest.raises(ValueError, match="`count_weights` is not used"):
        layer(np.array([[0, 1]]), count_weights=np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"output rank is 2.*\(2, 2, 2\)"):
        layer(np.zeros((2, 2, 2), "int64"))
    with pytest.raises(ValueError, match=r"count_weights.*\(1, 2\).*\(1, 3\)"):
        layers.CategoryEncoding(3, output_mode="count")(np.array([[0, 1]]),
                                                        count_weights=np.ones((1, 3)))


def test_category_encoding_compute_output_shape_on_symbolic_inputs():
    inputs = keras.Input(shape=(4,), dtype="int64")
    assert tuple(layers.CategoryEncoding(6)(inputs).shape) == (None, 6)
    inputs = keras.Input(shape=(), dtype="int64")
    assert tuple(layers.CategoryEncoding(6, output_mode="one_hot")(inputs).shape) == (None, 6)


def test_category_encoding_matches_tf_keras_golden():
    case = GOLD["category_encoding"]
    x = np.array(case["x"], "int64")
    for mode, want in case["outputs"].items():
        layer = layers.CategoryEncoding(num_tokens=case["num_tokens"], output_mode=mode)
        got = layer(x[:, :1] if mode == "one_hot" else x)
        assert got.dtype.name == want["dtype"]
        np.testing.assert_array_equal(got.numpy(), want["y"])
    got = layer(x, count_weights=np.array(case["count_weights"], "float32"))
    np.testing.assert_allclose(got.numpy(), case["weighted"], rtol=1e-6)
    assert sorted(layer.get_config()) == sorted(case["config_keys"])


def test_category_encoding_is_reachable_as_tf_keras_names():
    assert keras.layers.CategoryEncoding is layers.CategoryEncoding
    assert corten.keras.layers.CategoryEncoding(2).get_config()["output_mode"] == "multi_hot"
