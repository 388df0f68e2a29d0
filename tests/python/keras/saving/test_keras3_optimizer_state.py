"""The optimizer state of Keras 3 .keras files (Note [Keras 3 optimizer variables]): files made
by real Keras 3 (fixtures/make_keras3_optimizer_fixtures.py) resume training in corten exactly
where Keras 3 resumes it, and state that cannot be mapped leaves a fresh optimizer and a
warning naming the optimizer."""

from __future__ import annotations

import io
import os
import subprocess
import warnings
import zipfile

import numpy as np
import pytest
from corten import keras

h5py = pytest.importorskip("h5py", reason="the weights of .keras files are HDF5 (corten[h5])")

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
KERAS3_PYTHON = os.environ.get("CORTEN_KERAS3_PYTHON", "/work/peers/keras3/bin/python")
OPTIMIZERS = {"adam": "Adam", "adam_amsgrad": "Adam", "adamw": "AdamW", "nadam": "Nadam",
              "adamax": "Adamax", "adagrad": "Adagrad", "adadelta": "Adadelta",
              "rmsprop": "RMSprop", "rmsprop_plain": "RMSprop", "sgd": "SGD",
              "sgd_plain": "SGD"}


def _fixture(name: str, ext: str, folder: str = FIXTURES) -> str:
    return os.path.join(folder, f"keras3_opt_{name}{ext}")


def _check_resumes_like_keras3(name: str, folder: str = FIXTURES) -> None:
    expected = np.load(_fixture(name, ".npz", folder))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the state maps: no warning
        model = keras.models.load_model(_fixture(name, ".keras", folder))
    assert type(model.optimizer).__name__ == OPTIMIZERS[name]
    assert int(model.optimizer.iterations.numpy()) == int(expected["iterations"])
    model.train_on_batch(expected["x"], expected["y"])
    assert int(model.optimizer.iterations.numpy()) == int(expected["iterations"]) + 1
    for i, w in enumerate(model.weights):  # trainable ones and BatchNormalization's statistics
        np.testing.assert_allclose(np.asarray(w), expected[f"w{i}"], atol=1e-5,
                                   err_msg=f"weight {i} ({w.name})")


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_training_resumes_as_in_keras_3(name):
    _check_resumes_like_keras3(name)


@pytest.mark.parametrize("name", sorted(set(OPTIMIZERS) - {"sgd_plain"}))  # SGD keeps no state
def test_a_fresh_optimizer_would_not_match(name):
    # The comparison above is sharp: without the saved state the step lands elsewhere.
    expected = np.load(_fixture(name, ".npz"))
    model = keras.models.load_model(_fixture(name, ".keras"), compile=False)
    saved = keras.models.load_model(_fixture(name, ".keras"))
    model.compile(optimizer=saved.optimizer.__class__.from_config(saved.optimizer.get_config()),
                  loss="sparse_categorical_crossentropy")
    model.train_on_batch(expected["x"], expected["y"])
    assert max(np.max(np.abs(np.asarray(w) - expected[f"w{i}"]))
               for i, w in enumerate(model.weights)) > 1e-4


def test_compile_false_loads_no_optimizer():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = keras.models.load_model(_fixture("adam", ".keras"), compile=False)
    assert getattr(model, "optimizer", None) is None


def _edit_optimizer_vars(src: str, dst: str, edit) -> None:
    """Copies the .keras archive `src` to `dst`, with `edit(vars_group)` applied to the
    optimizer variables of its model.weights.h5."""
    with zipfile.ZipFile(src) as zin:
        entries = {info.filename: zin.read(info) for info in zin.infolist()}
    buffer = io.BytesIO(entries["model.weights.h5"])
    with h5py.File(buffer, "r+") as f:
        edit(f["optimizer"]["vars"])
    entries["model.weights.h5"] = buffer.getvalue()
    with zipfile.ZipFile(dst, "w") as zout:
        for name, data in entries.items():
            zout.writestr(name, data)


def _drop_last(group):
    del group[str(len(group) - 1)]


def _reshape_first_slot(group):
    del group["2"]
    group.create_dataset("2", data=np.zeros((8, 6), "float32"))


def _iterations_vector(group):
    del group["0"]
    group.create_dataset("0", data=np.array([2, 2]))


@pytest.mark.parametrize(("edit", "why"), [
    (_drop_last, r"has 13 saved variables where 14 are expected \(iterations, the learning "
                 r"rate, 12 slot\(s\) for 6 trainable variable\(s\)\)"),
    (_reshape_first_slot, r"has a saved variable 2 of shape \(8, 6\) where corten's .* has shape "
                          r"\(6, 8\)"),
    (_iterations_vector, r"has a saved iterations \(variable 0\) of shape \(2,\), not a "
                         "scalar"),
])
def test_state_that_does_not_map_leaves_a_fresh_optimizer_and_a_warning(tmp_path, edit, why):
    path = tmp_path / "odd.keras"
    _edit_optimizer_vars(_fixture("adam", ".keras"), path, edit)
    with pytest.warns(UserWarning, match=r"odd\.keras.*Keras 3 Adam optimizer 'adam' " + why):
        model = keras.models.load_model(str(path))
    assert int(model.optimizer.iterations.numpy()) == 0
    assert all(not np.any(np.asarray(v)) for v in model.optimizer.variables)
    expected = np.load(_fixture("adam", ".npz"))
    model.train_on_batch(expected["x"], expected["y"])  # trains on from scratch


def test_optimizer_state_that_is_not_numbers_is_a_damaged_file(tmp_path):
    def make_text(group):
        del group["0"]
        group.create_dataset("0", data=np.array(b"two"))

    path = tmp_path / "text.keras"
    _edit_optimizer_vars(_fixture("adam", ".keras"), path, make_text)
    with pytest.raises(ValueError, match=r"text\.keras.*'/optimizer/vars/0' has a string "
                                         "datatype"):
        keras.models.load_model(str(path))


class _TracingAdam(keras.optimizers.Adam):
    """An Adam subclass: its Keras 3 variables could differ from Adam's."""

    def __init__(self, loss_scale_factor=None, gradient_accumulation_steps=None, **kwargs):
        super().__init__(**kwargs)  # Keras 3's two extra arguments, left at None


def test_an_optimizer_without_a_known_layout_is_named(tmp_path):
    path = tmp_path / "custom.keras"

    def rename(config):
        optimizer = config["compile_config"]["optimizer"]
        optimizer.update(class_name="TracingAdam", registered_name="TracingAdam", module=None)

    _rewrite_config(_fixture("adam", ".keras"), path, rename)
    with pytest.warns(UserWarning, match=r"_TracingAdam optimizer 'adam' is not one whose "
                                         "Keras 3 variables corten knows how to map"):
        model = keras.models.load_model(str(path),
                                        custom_objects={"TracingAdam": _TracingAdam})
    assert int(model.optimizer.iterations.numpy()) == 0


def _rewrite_config(src, dst, edit):
    import json

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            zout.writestr(info.filename, data)


def test_fresh_files_from_the_installed_keras_3(tmp_path):
    if not os.path.exists(KERAS3_PYTHON):
        pytest.skip(f"Keras 3 is not installed ({KERAS3_PYTHON} is absent)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(KERAS_BACKEND="jax", CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([KERAS3_PYTHON, os.path.join(FIXTURES,
                                                       "make_keras3_optimizer_fixtures.py"),
                           str(tmp_path)], env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    for name in OPTIMIZERS:
        keras.backend.clear_session()
        _check_resumes_like_keras3(name, str(tmp_path))


def test_an_optimizer_corten_lacks_is_named_and_compile_false_loads(tmp_path):
    path = tmp_path / "lion.keras"

    def lion(config):
        config["compile_config"]["optimizer"]["class_name"] = "Lion"

    _rewrite_config(_fixture("adam", ".keras"), path, lion)
    with pytest.raises(ValueError, match=r"lion\.keras.*'Lion'.*compile=False"):
        keras.models.load_model(str(path))
    expected = np.load(_fixture("adam", ".npz"))
    model = keras.models.load_model(str(path), compile=False)
    assert model.predict(expected["x"], verbose=0).shape == (8, 3)


def test_a_model_saved_before_training_keeps_its_learning_rate_without_a_warning(tmp_path):
    # Keras 3 builds the optimizer's slots at the first step: a compiled model saved before
    # training has only iterations and the learning rate saved.
    def before_training(group):
        for key in list(group):
            if int(key) >= 2:
                del group[key]
        del group["0"]
        group.create_dataset("0", data=np.array(0, "int64"))
        del group["1"]
        group.create_dataset("1", data=np.array(0.004, "float32"))

    path = tmp_path / "untrained.keras"
    _edit_optimizer_vars(_fixture("adam", ".keras"), path, before_training)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = keras.models.load_model(str(path))
    assert int(model.optimizer.iterations.numpy()) == 0
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.004)
    assert all(not np.any(np.asarray(v)) for v in model.optimizer.variables)
