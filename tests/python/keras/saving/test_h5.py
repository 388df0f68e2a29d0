"""HDF5 model and weights files in tf.keras 2's layout: corten's own round trips, the layout
itself, files written by real tf.keras 2.21 (committed fixtures, see
fixtures/make_h5_fixtures.py), damaged files, and both directions against tf.keras when it is
installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from corten import keras
from corten.keras import layers

h5py = pytest.importorskip("h5py", reason="HDF5 files need the optional h5py (corten[h5])")

from corten.keras.saving import hdf5_format  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
TF_PYTHON = os.environ.get("CORTEN_TFKERAS_PYTHON", "/work/peers/tfkeras/bin/python")


def _mlp():
    model = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(8, activation="relu"),
                              layers.Dropout(0.1), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(1)
    x = rng.normal(size=(16, 6)).astype("float32")
    model.fit(x, rng.integers(0, 3, size=(16,)), epochs=1, batch_size=8, verbose=0)
    return model, x


def _cnn():
    inputs = keras.Input(shape=(8, 8, 2))
    h = layers.Conv2D(4, 3, padding="same")(inputs)
    h = layers.BatchNormalization()(h)
    h = layers.Activation("relu")(h)
    h = layers.MaxPooling2D(2)(h)
    outputs = layers.Dense(2)(layers.Flatten()(h))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(2)
    x = rng.normal(size=(16, 8, 8, 2)).astype("float32")
    model.fit(x, rng.integers(0, 2, size=(16,)), epochs=1, batch_size=8, verbose=0)
    return model, x


def _lstm():
    model = keras.Sequential([keras.Input(shape=(7,), dtype="int32"),
                              layers.Embedding(20, 4), layers.LSTM(5),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(3)
    x = rng.integers(0, 20, size=(16, 7)).astype("int32")
    model.fit(x, rng.integers(0, 2, size=(16, 1)), epochs=1, batch_size=8, verbose=0)
    return model, x


BUILDERS = {"mlp": _mlp, "cnn": _cnn, "lstm": _lstm}


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


# ---------------------------------------------------------------------- corten round trips
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_save_and_load_model_round_trip(tmp_path, name):
    model, x = BUILDERS[name]()
    path = str(tmp_path / "model.h5")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-7)
    assert type(loaded) is type(model)
    assert [w.shape for w in loaded.weights] == [w.shape for w in model.weights]
    # the optimizer state came back: same variables, so training goes on identically
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_save_weights_and_load_weights_round_trip(tmp_path):
    model, x = _cnn()
    path = str(tmp_path / "w.h5")
    model.save_weights(path)
    keras.backend.clear_session()
    fresh, _ = _cnn()  # other initial weights and statistics
    assert not np.allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0))
    fresh.load_weights(path)
    np.testing.assert_allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-7)


def test_save_format_h5_writes_hdf5_whatever_the_name(tmp_path):
    model, x = _mlp()
    model.save(str(tmp_path / "model"), save_format="h5")
    model.save_weights(str(tmp_path / "weights"), save_format="h5")
    assert sorted(os.listdir(tmp_path)) == ["model", "weights"]
    assert hdf5_format.is_hdf5(str(tmp_path / "model"))
    assert hdf5_format.is_hdf5(str(tmp_path / "weights"))
    loaded = keras.models.load_model(str(tmp_path / "model"))
    loaded.load_weights(str(tmp_path / "weights"))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_weights_h5_names_get_the_keras_3_layout_as_in_tf_keras(tmp_path):
    model, x = _lstm()
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)
    with h5py.File(path, "r") as f:
        assert "layer_names" not in f.attrs
        assert sorted(f["layers"]) == ["dense", "embedding", "lstm"]
        assert f["layers/embedding/vars/0"].shape == (20, 4)
        assert [f[f"layers/lstm/cell/vars/{i}"].shape for i in range(3)] == [
            (4, 20), (5, 20), (20,)]
        assert len(f["layers/lstm/vars"]) == 0
        assert len(f["optimizer/vars"]) == len(model.optimizer.variables)
    fresh = keras.models.clone_model(model)
    fresh.load_weights(path)
    np.testing.assert_allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_load_weights_from_a_whole_model_file_and_by_name(tmp_path):
    model, x = _mlp()
    model.save(str(tmp_path / "m.h5"))
    clone = keras.models.clone_model(model)
    clone.load_weights(str(tmp_path / "m.h5"))
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    clone = keras.models.clone_model(model)
    clone.load_weights(str(tmp_path / "m.h5"), by_name=True)
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_overwrite_false_refuses_an_existing_file(tmp_path):
    model, _ = _mlp()
    path = tmp_path / "m.h5"
    path.write_bytes(b"keep")
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save(str(path), overwrite=False)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save_weights(str(path), overwrite=False)
    assert path.read_bytes() == b"keep"


# ---------------------------------------------------------------------- layout
def test_the_file_has_tf_keras_2_layout(tmp_path):
    model, _ = _lstm()
    path = str(tmp_path / "m.h5")
    model.save(path)
    with h5py.File(path, "r") as f:
        assert f.attrs["backend"] == "tensorflow"
        assert str(f.attrs["keras_version"]).startswith("2.")
        config = json.loads(f.attrs["model_config"])
        assert config["class_name"] == "Sequential"
        assert [la["class_name"] for la in config["config"]["layers"]] == [
            "InputLayer", "Embedding", "LSTM", "Dense"]
        training = json.loads(f.attrs["training_config"])
        assert training["loss"] == "binary_crossentropy"
        assert training["optimizer_config"]["class_name"] == "Custom>RMSprop"  # as tf.keras
        group = f["model_weights"]
        names = [layer.name for layer in model.layers]
        assert [n.decode() for n in group.attrs["layer_names"]] == names
        lstm = model.layers[1].name
        assert [n.decode() for n in group[lstm].attrs["weight_names"]] == [
            f"{lstm}/lstm_cell/kernel:0", f"{lstm}/lstm_cell/recurrent_kernel:0",
            f"{lstm}/lstm_cell/bias:0"]
        assert group[lstm][f"{lstm}/lstm_cell/kernel:0"].shape == (4, 20)
        assert list(group["top_level_model_weights"].attrs["weight_names"]) == []
        opt_names = [n.decode() for n in f["optimizer_weights"].attrs["weight_names"]]
        assert opt_names[0] == "iteration:0"
        assert len(opt_names) == 1 + len(model.trainable_weights)  # RMSprop: one slot each


def test_batch_normalization_weights_are_trainable_then_moving_statistics(tmp_path):
    model, _ = _cnn()
    path = str(tmp_path / "w.h5")
    model.save_weights(path)
    bn = next(la for la in model.layers if isinstance(la, layers.BatchNormalization))
    with h5py.File(path, "r") as f:
        assert [n.decode().split("/")[-1] for n in f[bn.name].attrs["weight_names"]] == [
            "gamma:0", "beta:0", "moving_mean:0", "moving_variance:0"]
        np.testing.assert_array_equal(f[bn.name][f"{bn.name}/moving_mean:0"][()],
                                      np.asarray(bn.moving_mean))


def test_long_name_lists_are_split_across_attributes(tmp_path):
    group = h5py.File(str(tmp_path / "a.h5"), "w")
    names = [f"layer_{i:05d}_" + "x" * 40 for i in range(3000)]
    hdf5_format._save_names(group, "layer_names", names)
    assert "layer_names" not in group.attrs
    assert "layer_names0" in group.attrs
    assert hdf5_format._load_names(group, "layer_names") == names
    group.close()


# ---------------------------------------------------------------------- tf.keras fixtures
@pytest.mark.parametrize("name", ["mlp", "cnn", "lstm"])
def test_tf_keras_files_load_with_the_same_predictions(name):
    expected = np.load(os.path.join(FIXTURES, f"{name}.npz"))
    model = keras.models.load_model(os.path.join(FIXTURES, f"{name}.h5"))
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["y"],
                               atol=1e-5)
    # compiled as tf.keras compiled it, with the optimizer's state after one epoch of 2 steps
    assert model.optimizer.__class__.__name__ == "Adam"
    assert int(model.optimizer.iterations.numpy()) == 2
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.01)
    assert any(np.abs(np.asarray(v)).sum() > 0 for v in model.optimizer.variables[1:])

    uncompiled = keras.models.load_model(os.path.join(FIXTURES, f"{name}.h5"), compile=False)
    fresh = keras.models.clone_model(uncompiled)
    fresh.load_weights(os.path.join(FIXTURES, f"{name}_weights.h5"))
    np.testing.assert_allclose(fresh.predict(expected["x"], verbose=0), expected["y"],
                               atol=1e-5)


def test_a_tf_keras_model_trains_on_after_loading():
    expected = np.load(os.path.join(FIXTURES, "cnn.npz"))
    model = keras.models.load_model(os.path.join(FIXTURES, "cnn.h5"))
    history = model.fit(expected["x"], np.array([0, 1, 0, 1]), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert int(model.optimizer.iterations.numpy()) == 4


# ---------------------------------------------------------------------- errors
def test_missing_h5py_names_the_extra(tmp_path, monkeypatch):
    model, _ = _mlp()
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"corten\[h5\]"):
        model.save(str(tmp_path / "m.h5"))
    with pytest.raises(ImportError, match=r"corten\[h5\]"):
        model.save_weights(str(tmp_path / "w.h5"))
    with pytest.raises(ImportError, match=r"corten\[h5\]"):
        keras.models.load_model(os.path.join(FIXTURES, "mlp.h5"))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("keep", [0, 8, 100, 2000, 0.5, 0.9, 0.99])
def test_truncated_files_raise_a_value_error_naming_the_file(tmp_path, keep):
    raw = _read(os.path.join(FIXTURES, "cnn.h5"))
    n = keep if isinstance(keep, int) else int(len(raw) * keep)
    path = tmp_path / "cut.h5"
    path.write_bytes(raw[:n])
    with pytest.raises(ValueError, match="cut.h5"):
        keras.models.load_model(str(path))
    model = keras.models.load_model(os.path.join(FIXTURES, "cnn.h5"), compile=False)
    before = [np.asarray(w).copy() for w in model.weights]
    with pytest.raises(ValueError, match="cut.h5"):
        model.load_weights(str(path))
    for a, w in zip(before, model.weights, strict=True):  # nothing half-assigned
        np.testing.assert_array_equal(a, np.asarray(w))


def test_corrupted_bytes_raise_a_value_error_naming_the_file(tmp_path):
    raw = bytearray(_read(os.path.join(FIXTURES, "mlp.h5")))
    rng = np.random.default_rng(0)
    for trial in range(20):
        damaged = bytearray(raw)
        for i in rng.integers(0, len(raw), size=20):
            damaged[i] ^= 0xFF
        path = tmp_path / f"bad{trial}.h5"
        path.write_bytes(bytes(damaged))
        messages = []
        try:
            keras.models.load_model(str(path))
        except ValueError as e:  # the only acceptable failure
            messages.append(str(e))
        assert all(f"bad{trial}.h5" in m for m in messages)


def test_not_hdf5_and_weights_only_files_are_named(tmp_path):
    path = tmp_path / "junk.h5"
    path.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(ValueError, match="junk.h5"):
        keras.models.load_model(str(path))
    with pytest.raises(ValueError, match="weights file.*load_weights"):
        keras.models.load_model(os.path.join(FIXTURES, "mlp_weights.h5"))
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        keras.models.load_model(str(tmp_path / "missing.h5"))


def test_mismatched_models_name_the_layer_and_shapes():
    model = keras.Sequential([keras.Input(shape=(7,)), layers.Dense(8, name="hidden"),
                              layers.Dense(3, name="out")])
    with pytest.raises(ValueError, match=r"hidden.*\(7, 8\).*\(6, 8\)"):
        model.load_weights(os.path.join(FIXTURES, "mlp_weights.h5"))
    small = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(3)])
    with pytest.raises(ValueError, match="Layer count mismatch.*1 layers.*2"):
        small.load_weights(os.path.join(FIXTURES, "mlp_weights.h5"))
    with pytest.warns(UserWarning, match="Skipping loading weights.*hidden"):
        model.load_weights(os.path.join(FIXTURES, "mlp_weights.h5"), by_name=True,
                           skip_mismatch=True)
    with h5py.File(os.path.join(FIXTURES, "mlp_weights.h5"), "r") as f:
        saved = f["out/out/bias:0"][()]
    np.testing.assert_array_equal(np.asarray(model.get_layer("out").bias), saved)


def test_a_failed_save_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    model, _ = _mlp()
    path = tmp_path / "m.h5"
    model.save(str(path))
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(hdf5_format, "_write_weights_group", fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        model.save(str(path))
    with pytest.raises(RuntimeError, match="disk on fire"):
        model.save(str(tmp_path / "new.h5"))
    assert os.listdir(tmp_path) == ["m.h5"]
    assert path.read_bytes() == before


# ---------------------------------------------------------------------- ModelCheckpoint
def test_model_checkpoint_follows_the_extension(tmp_path):
    model, x = _mlp()
    y = np.zeros((16,), "int64")
    callbacks = [
        keras.callbacks.ModelCheckpoint(str(tmp_path / "best.h5"), monitor="loss",
                                        save_best_only=True),
        keras.callbacks.ModelCheckpoint(str(tmp_path / "w{epoch}.h5"), save_weights_only=True),
        keras.callbacks.ModelCheckpoint(str(tmp_path / "m.keras")),
        keras.callbacks.ModelCheckpoint(str(tmp_path / "v.weights.h5"), save_weights_only=True),
    ]
    model.fit(x, y, epochs=2, verbose=0, callbacks=callbacks)
    assert sorted(os.listdir(tmp_path)) == ["best.h5", "m.keras", "v.weights.h5", "w1.h5",
                                            "w2.h5"]
    with h5py.File(str(tmp_path / "v.weights.h5"), "r") as f:
        assert "layers" in f  # the Keras 3 layout, as tf.keras 2.13+ writes such names
    assert hdf5_format.is_hdf5(str(tmp_path / "best.h5"))
    assert hdf5_format.is_hdf5(str(tmp_path / "w2.h5"))
    assert not hdf5_format.is_hdf5(str(tmp_path / "m.keras"))
    best = keras.models.load_model(str(tmp_path / "best.h5"))
    predicted = best.predict(x, verbose=0)
    after = []
    for epoch in (1, 2):
        best.load_weights(str(tmp_path / f"w{epoch}.h5"))
        after.append(np.allclose(best.predict(x, verbose=0), predicted, rtol=1e-6))
    assert any(after)  # the best epoch's weights
    np.testing.assert_allclose(best.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)  # w2 holds the last epoch's


# ---------------------------------------------------------------------- against tf.keras
def _tf_keras_available() -> bool:
    return os.path.exists(TF_PYTHON)


needs_tf = pytest.mark.skipif(not _tf_keras_available(),
                              reason=f"tf.keras 2 is not installed ({TF_PYTHON} is absent; set "
                                     "CORTEN_TFKERAS_PYTHON to a Python with tf-keras)")


def _run_tf(script: str, *args: str) -> str:
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
           "CUDA_VISIBLE_DEVICES": ""}
    env.pop("PYTHONPATH", None)
    done = subprocess.run([TF_PYTHON, "-c", textwrap.dedent(script), *args], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


@needs_tf
def test_files_corten_writes_load_in_tf_keras(tmp_path):
    for name, build in BUILDERS.items():
        keras.backend.clear_session()
        model, x = build()
        model.save(str(tmp_path / f"{name}.h5"))
        model.save_weights(str(tmp_path / f"{name}_w.h5"))
        model.save_weights(str(tmp_path / f"{name}.weights.h5"))  # the Keras 3 layout
        np.savez(str(tmp_path / f"{name}.npz"), x=x, y=model.predict(x, verbose=0),
                 iterations=int(model.optimizer.iterations.numpy()))
    out = _run_tf("""
        import sys, numpy as np, tensorflow as tf
        d = sys.argv[1]
        for name in ("mlp", "cnn", "lstm"):
            z = np.load(f"{d}/{name}.npz")
            m = tf.keras.models.load_model(f"{d}/{name}.h5")
            err = np.abs(m.predict(z["x"], verbose=0) - z["y"]).max()
            assert err < 1e-5, (name, err)
            assert int(m.optimizer.iterations.numpy()) == int(z["iterations"]), name
            for weights in (f"{d}/{name}_w.h5", f"{d}/{name}.weights.h5"):
                m = tf.keras.models.clone_model(m)
                m.load_weights(weights)
                err = np.abs(m.predict(z["x"], verbose=0) - z["y"]).max()
                assert err < 1e-5, (name, weights, err)
            print(name, "ok")
        """, str(tmp_path))
    assert out.split() == ["mlp", "ok", "cnn", "ok", "lstm", "ok"]


@needs_tf
def test_files_tf_keras_writes_load_in_corten(tmp_path):
    script = os.path.join(FIXTURES, "make_h5_fixtures.py")
    _run_tf(f"import runpy, sys; sys.argv = [{script!r}, sys.argv[1]]; "
            f"runpy.run_path({script!r}, run_name='__main__')", str(tmp_path))
    for name in ("mlp", "cnn", "lstm"):
        expected = np.load(str(tmp_path / f"{name}.npz"))
        model = keras.models.load_model(str(tmp_path / f"{name}.h5"))
        np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["y"],
                                   atol=1e-5)
        model.load_weights(str(tmp_path / f"{name}_weights.h5"))
        np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["y"],
                                   atol=1e-5)

