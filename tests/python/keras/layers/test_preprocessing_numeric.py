"""Normalization and Discretization: the harness, numpy references, adapt on arrays and
Datasets, save/load of the adapted state, errors, and tf.keras 2 golden values
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

rng = np.random.default_rng(0)
X = (rng.normal(size=(70, 3, 4)) * 3 + 2).astype("float32")


def _moments(x, keep):
    red = tuple(d for d in range(x.ndim) if d not in keep)
    x = x.astype("float64")
    return x.mean(red), x.var(red)


# ------------------------------------------------------------------ Normalization
@pytest.mark.parametrize(("axis", "keep"), [(-1, (2,)), (None, ()), ((1, 2), (1, 2)), (1, (1,))])
def test_normalization_adapt_matches_numpy(axis, keep):
    layer = layers.Normalization(axis=axis)
    layer.adapt(X)
    mean, var = _moments(X, keep)
    np.testing.assert_allclose(layer.adapt_mean.numpy(), mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.adapt_variance.numpy(), var, rtol=1e-4, atol=1e-5)
    assert int(layer.count.numpy()) == X.size // max(1, int(np.prod([X.shape[d] for d in keep])))
    shape = [X.shape[d] if d in keep else 1 for d in range(3)]
    want = (X - mean.reshape(shape)) / np.sqrt(var.reshape(shape))
    np.testing.assert_allclose(layer(X).numpy(), want, rtol=1e-4, atol=1e-4)


def test_normalization_adapt_on_a_dataset_equals_adapt_on_the_array():
    a = layers.Normalization()
    a.adapt(X, batch_size=16)
    b = layers.Normalization()
    b.adapt(corten.data.Dataset.from_tensor_slices(X).batch(16))
    for wa, wb in zip(a.weights, b.weights, strict=True):
        np.testing.assert_array_equal(wa.numpy(), wb.numpy())
    c = layers.Normalization()
    c.adapt(corten.data.Dataset.from_tensor_slices(X).batch(16), steps=2)
    assert int(c.count.numpy()) == 32 * 3


def test_normalization_readapt_resets_the_state():
    layer = layers.Normalization()
    layer.adapt(X * 100)
    layer.adapt(X)
    np.testing.assert_allclose(layer.adapt_mean.numpy(), _moments(X, (2,))[0], rtol=1e-5)


def test_normalization_fixed_mean_variance_and_invert():
    layer = layers.Normalization(mean=[1.0, 2.0, 3.0, 4.0], variance=4.0)
    x = X[:5, 0]
    want = (x - np.array([1, 2, 3, 4])) / 2
    np.testing.assert_allclose(layer(x).numpy(), want, rtol=1e-6)
    inv = layers.Normalization(mean=[1.0, 2.0, 3.0, 4.0], variance=4.0, invert=True)
    np.testing.assert_allclose(inv(layer(x)).numpy(), x, rtol=1e-5, atol=1e-5)
    assert layer.weights == []


def test_normalization_through_the_harness():
    run_layer_test(layers.Normalization, {"mean": 0.5, "variance": 2.0}, input_shape=(4, 3),
                   expected_output_shape=(4, 3), expected_output_dtype="float32",
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0,
                   run_training_check=False)
    run_layer_test(layers.Normalization, {"axis": -1, "invert": True}, input_shape=(4, 3),
                   expected_output_shape=(4, 3), expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=3, run_training_check=False)


def test_normalization_int_input_gives_floats():
    layer = layers.Normalization(mean=1.0, variance=1.0)
    out = layer(np.array([[1, 2]], "int64"))
    assert out.dtype.name == "float32"
    np.testing.assert_array_equal(out.numpy(), [[0.0, 1.0]])


def test_normalization_float64_layer():
    layer = layers.Normalization(dtype="float64")
    x = X.astype("float64")
    layer.adapt(x, batch_size=1000)
    mean, var = _moments(x, (2,))
    np.testing.assert_allclose(layer.adapt_mean.numpy(), mean, rtol=1e-12)
    np.testing.assert_allclose(layer.adapt_variance.numpy(), var, rtol=1e-12)


def test_normalization_save_and_load_keep_the_adapted_statistics(tmp_path):
    norm = layers.Normalization()
    norm.adapt(X[:, 0])
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, layers.Dense(2)(norm(inputs)))
    path = str(tmp_path / "norm.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(X[:7, 0], verbose=0),
                                  model.predict(X[:7, 0], verbose=0))
    lnorm = [layer for layer in loaded.layers if isinstance(layer, layers.Normalization)][0]
    np.testing.assert_array_equal(lnorm.adapt_mean.numpy(), norm.adapt_mean.numpy())
    assert int(lnorm.count.numpy()) == 70


def test_normalization_in_a_model_trains_only_the_dense():
    norm = layers.Normalization()
    norm.adapt(X[:, 0])
    model = keras.Sequential([keras.Input(shape=(4,)), norm, layers.Dense(1)])
    model.compile("sgd", "mse")
    before = norm.adapt_mean.numpy().copy()
    model.fit(X[:, 0], X[:, 0, :1], epochs=1, verbose=0)
    np.testing.assert_array_equal(norm.adapt_mean.numpy(), before)


def test_normalization_errors_name_the_layer():
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        layers.Normalization(mean=1.0)
    with pytest.raises(ValueError, match=r"Normalization.*axis.*ndim=2"):
        layers.Normalization(axis=3)(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="Cannot `adapt` a Normalization"):
        layers.Normalization(mean=1.0, variance=1.0).adapt(X)
    with pytest.raises(ValueError, match=r"cannot be broadcast.*\(3,\)"):
        layers.Normalization(mean=[1.0, 2.0], variance=1.0)(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="`steps` is not supported with array"):
        layers.Normalization().adapt(X, steps=2)
    with pytest.raises(ValueError, match="`batch_size` is not supported with a Dataset"):
        layers.Normalization().adapt(corten.data.Dataset.from_tensor_slices(X), batch_size=3)


def test_normalization_matches_tf_keras_golden():
    case = GOLD["normalization"]
    data = np.array(case["adapt"], "float32")
    layer = layers.Normalization(axis=case["axis"])
    layer.adapt(corten.data.Dataset.from_tensor_slices(data).batch(case["batch"]))
    for name in ("mean", "variance"):
        np.testing.assert_allclose(getattr(layer, "adapt_" + name).numpy(), case[name],
                                   rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(layer(np.array(case["x"], "float32")).numpy(), case["y"],
                               rtol=1e-5, atol=1e-6)
    assert sorted(layer.get_config()) == sorted(case["config_keys"])


# ------------------------------------------------------------------ Discretization
BOUNDS = [-1.0, 0.0, 0.1, 2.5]


def _bucketize_ref(x, bounds):
    return np.searchsorted(np.asarray(bounds, np.float32), x, side="right")


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_discretization_int_mode_matches_numpy(dtype):
    x = (rng.normal(size=(5, 7)) * 3).astype(dtype)
    x[0, :4] = np.asarray(BOUNDS, np.float32).astype(dtype)  # values on the boundaries
    out = layers.Discretization(bin_boundaries=BOUNDS)(x)
    assert out.dtype.name == "int64"
    np.testing.assert_array_equal(out.numpy(), _bucketize_ref(x, BOUNDS))


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_discretization_encoded_modes(mode):
    x = (rng.normal(size=(6,)) * 3).astype("float32")
    idx = _bucketize_ref(x, BOUNDS)
    out = layers.Discretization(bin_boundaries=BOUNDS, output_mode=mode)(x)
    assert out.dtype.name == "float32"
    if mode == "one_hot":
        want = np.eye(5)[idx]
    else:
        want = np.bincount(idx, minlength=5).astype("float64")
        want = np.minimum(want, 1) if mode == "multi_hot" else want
    np.testing.assert_array_equal(out.numpy(), want)


def test_discretization_through_the_harness():
    run_layer_test(layers.Discretization, {"bin_boundaries": BOUNDS}, input_shape=(4, 3),
                   expected_output_shape=(4, 3), expected_output_dtype="int64",
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0,
                   run_training_check=False)
    run_layer_test(layers.Discretization, {"bin_boundaries": BOUNDS, "output_mode": "count"},
                   input_shape=(4, 3), expected_output_shape=(4, 5),
                   expected_output_dtype="float32", run_training_check=False)


def test_discretization_adapt_on_arrays_and_datasets_agree():
    data = (rng.normal(size=(90, 2)) * 2).astype("float32")
    a = layers.Discretization(num_bins=4, epsilon=0.05)
    a.adapt(data, batch_size=10)
    b = layers.Discretization(num_bins=4, epsilon=0.05)
    b.adapt(corten.data.Dataset.from_tensor_slices(data).batch(10))
    assert a.bin_boundaries == b.bin_boundaries
    assert len(a.bin_boundaries) == 3
    # Quantiles: about a quarter of the data in each bin.
    counts = np.bincount(a(data).numpy().ravel(), minlength=4)
    assert counts.min() > 30


def test_discretization_adapted_boundaries_survive_save_and_load(tmp_path):
    disc = layers.Discretization(num_bins=3, output_mode="one_hot")
    disc.adapt(np.arange(30, dtype="float32"))
    inputs = keras.Input(shape=())
    model = keras.Model(inputs, disc(inputs))
    path = str(tmp_path / "disc.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    x = np.array([0.0, 11.0, 29.0], "float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    clone = layers.Discretization.from_config(disc.get_config())
    assert clone.bin_boundaries == disc.bin_boundaries
    clone.adapt(np.arange(300, dtype="float32"))  # still adaptable: num_bins is kept
    assert clone.bin_boundaries != disc.bin_boundaries


def test_discretization_errors_name_the_layer():
    with pytest.raises(ValueError, match="Discretization.*both `num_bins` and `bin_boundaries`"):
        layers.Discretization(bin_boundaries=[0.0, 1.0], num_bins=2)
    with pytest.raises(ValueError, match=r"Discretization.*num_bins=-1"):
        layers.Discretization(num_bins=-1)
    with pytest.raises(ValueError, match=r"Discretization.*output_mode='tf_idf'"):
        layers.Discretization(num_bins=2, output_mode="tf_idf")
    with pytest.raises(ValueError, match=r"must be sorted.*\[1.0, 0.0\]"):
        layers.Discretization(bin_boundaries=[1.0, 0.0])
    with pytest.raises(ValueError, match="Cannot adapt a Discretization"):
        layers.Discretization(bin_boundaries=[1.0]).adapt(np.zeros((4, 1)))
    with pytest.raises(ValueError, match=r"output rank is 2.*\(2, 3\)"):
        layers.Discretization(bin_boundaries=[1.0], output_mode="one_hot")(np.zeros((2, 3)))


def test_discretization_matches_tf_keras_golden():
    case = GOLD["discretization"]
    x = np.array(case["x"], "float32")
    for mode, want in case["outputs"].items():
        layer = layers.Discretization(bin_boundaries=case["bin_boundaries"], output_mode=mode)
        got = layer(x[0] if mode == "one_hot" else x)
        assert got.dtype.name == want["dtype"]
        np.testing.assert_array_equal(got.numpy(), want["y"])
    assert sorted(layer.get_config()) == sorted(case["config_keys"])
    data = np.array(case["adapt_data"], "float32")
    for want in case["adapts"]:
        layer = layers.Discretization(**want["kwargs"])
        if want["batch"] is None:
            layer.adapt(data)
        else:
            layer.adapt(corten.data.Dataset.from_tensor_slices(data).batch(want["batch"]))
        np.testing.assert_allclose(layer.bin_boundaries, want["bin_boundaries"], rtol=1e-6)
        np.testing.assert_array_equal(layer(data[:5]).numpy(), want["y"])
