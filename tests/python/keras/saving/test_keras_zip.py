"""load_model of .keras files written by tf.keras 2.13+ and Keras 3, and load_weights of their
.weights.h5 files: committed fixtures made by real Keras (fixtures/make_keras_zip_fixtures.py),
unsupported layers and arguments named in the error, damaged archives, and fresh files from
the installed peers when present."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile

import numpy as np
import pytest
from corten import keras

pytest.importorskip("h5py", reason="the weights of .keras files are HDF5 (corten[h5])")

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
PEERS = {"tfkeras": os.environ.get("CORTEN_TFKERAS_PYTHON", "/work/peers/tfkeras/bin/python"),
         "keras3": os.environ.get("CORTEN_KERAS3_PYTHON", "/work/peers/keras3/bin/python")}
CASES = [(p, n) for p in ("tfkeras", "keras3") for n in ("mlp", "cnn", "lstm")]


def _fixture(prefix, name, ext):
    return os.path.join(FIXTURES, f"{prefix}_{name}{ext}")


@pytest.mark.parametrize(("prefix", "name"), CASES)
def test_keras_files_load_with_the_same_predictions(prefix, name):
    expected = np.load(_fixture(prefix, name, ".npz"))
    model = keras.models.load_model(_fixture(prefix, name, ".keras"))
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["y"],
                               atol=1e-5)
    assert model.optimizer.__class__.__name__ == "Adam"
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.01)
    # both optimizer states come back (Note [Keras 3 optimizer variables])
    assert int(model.optimizer.iterations.numpy()) == 2
    y = np.round(expected["y"]) if name == "lstm" else np.argmax(expected["y"], axis=-1)
    history = model.fit(expected["x"], y, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


@pytest.mark.parametrize(("prefix", "name"), [("tfkeras", "mlp"), ("keras3", "lstm")])
def test_keras_weights_files_load(prefix, name):
    expected = np.load(_fixture(prefix, name, ".npz"))
    model = keras.models.load_model(_fixture(prefix, name, ".keras"), compile=False)
    fresh = keras.models.clone_model(model)
    assert not np.allclose(fresh.predict(expected["x"], verbose=0), expected["y"], atol=1e-5)
    fresh.load_weights(_fixture(prefix, name, ".weights.h5"))
    np.testing.assert_allclose(fresh.predict(expected["x"], verbose=0), expected["y"],
                               atol=1e-5)


def _rewrite(src, dst, edit):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            zout.writestr(info.filename, data)


def _dense(config):
    return next(la for la in config["config"]["layers"] if la["class_name"] == "Dense")


def test_an_unsupported_layer_is_named(tmp_path):
    def edit(config):
        _dense(config)["class_name"] = "EinsumDenseFancy"

    _rewrite(_fixture("keras3", "mlp", ".keras"), tmp_path / "m.keras", edit)
    with pytest.raises(ValueError, match=r"m\.keras.*EinsumDenseFancy"):
        keras.models.load_model(str(tmp_path / "m.keras"))


def test_an_unsupported_argument_is_named_and_neutral_ones_are_dropped(tmp_path):
    def edit(config):
        _dense(config)["config"]["lora_rank"] = 4

    _rewrite(_fixture("keras3", "mlp", ".keras"), tmp_path / "m.keras", edit)
    with pytest.raises(ValueError, match=r"Dense.*lora_rank=4.*does not support"):
        keras.models.load_model(str(tmp_path / "m.keras"))

    def neutral(config):
        _dense(config)["config"]["lora_rank"] = None

    _rewrite(_fixture("keras3", "mlp", ".keras"), tmp_path / "n.keras", neutral)
    expected = np.load(_fixture("keras3", "mlp", ".npz"))
    model = keras.models.load_model(str(tmp_path / "n.keras"))
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["y"],
                               atol=1e-5)


def test_mismatched_weights_name_the_layer(tmp_path):
    def edit(config):
        config["config"]["layers"][-1]["config"]["units"] = 4  # the output layer "out"

    _rewrite(_fixture("tfkeras", "mlp", ".keras"), tmp_path / "m.keras", edit)
    with pytest.raises(ValueError, match=r"'out'.*\(8, 4\).*\(8, 3\)"):
        keras.models.load_model(str(tmp_path / "m.keras"))


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_archives_raise_a_value_error_naming_the_file(tmp_path, keep):
    with open(_fixture("keras3", "cnn", ".keras"), "rb") as f:
        raw = f.read()
    path = tmp_path / "cut.keras"
    path.write_bytes(raw[:int(len(raw) * keep)])
    with pytest.raises(ValueError, match="cut.keras"):
        keras.models.load_model(str(path))


@pytest.mark.parametrize("prefix", ["tfkeras", "keras3"])
def test_fresh_files_from_the_installed_keras(tmp_path, prefix):
    python = PEERS[prefix]
    if not os.path.exists(python):
        pytest.skip(f"{prefix} is not installed ({python} is absent)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="", KERAS_BACKEND="jax")
    if prefix == "tfkeras":
        env["TF_USE_LEGACY_KERAS"] = "1"
    done = subprocess.run([python, os.path.join(FIXTURES, "make_keras_zip_fixtures.py"), prefix,
                           str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    for name in ("mlp", "cnn", "lstm"):
        expected = np.load(tmp_path / f"{prefix}_{name}.npz")
        model = keras.models.load_model(str(tmp_path / f"{prefix}_{name}.keras"))
        np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["y"],
                                   atol=1e-5)
        model.load_weights(str(tmp_path / f"{prefix}_{name}.weights.h5"))
        np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["y"],
                                   atol=1e-5)
