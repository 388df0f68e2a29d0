"""model.save and save_weights write exactly the path given, or refuse it with the reason."""

import os

import numpy as np
import pytest
from corten import keras
from corten.keras import layers


def _model():
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, layers.Dense(2)(layers.Dense(3, activation="relu")(inputs)))
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    model.fit(x, np.zeros((8, 2), "float32"), epochs=1, verbose=0)
    return model, x


def test_a_path_without_extension_is_a_directory_at_exactly_that_path(tmp_path):
    # the functional guide: model.save("path_to_my_model"); keras.models.load_model(...)
    model, x = _model()
    path = tmp_path / "path_to_my_model"
    model.save(str(path))
    assert path.is_dir()
    assert (path / "assets").is_dir()
    assert sorted(os.listdir(tmp_path)) == ["path_to_my_model"]  # nothing renamed, no leftovers
    loaded = keras.models.load_model(str(path))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    # the optimizer state came back too
    assert loaded.optimizer.iterations.numpy() == model.optimizer.iterations.numpy()


def test_saving_again_replaces_the_directory_atomically(tmp_path):
    model, x = _model()
    path = tmp_path / "model"
    model.save(str(path))
    model.layers[-1].kernel.assign(np.ones((3, 2), "float32"))
    model.save(str(path))
    assert sorted(os.listdir(tmp_path)) == ["model"]
    np.testing.assert_array_equal(keras.models.load_model(str(path)).layers[-1].kernel.numpy(),
                                  np.ones((3, 2), "float32"))


def test_a_directory_that_model_save_did_not_write_is_never_replaced(tmp_path):
    model, _ = _model()
    mine = tmp_path / "photos"
    mine.mkdir()
    (mine / "cat.jpg").write_bytes(b"meow")
    with pytest.raises(FileExistsError, match="model.save did not write; it is left untouched"):
        model.save(str(mine))
    assert os.listdir(mine) == ["cat.jpg"]
    assert (mine / "cat.jpg").read_bytes() == b"meow"


def test_a_keras_path_is_one_zip_file(tmp_path):
    model, x = _model()
    path = tmp_path / "m.keras"
    model.save(str(path))
    assert path.is_file()
    np.testing.assert_allclose(keras.models.load_model(str(path)).predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)


@pytest.mark.parametrize("name", ["model.h5", "model.hdf5"])
def test_hdf5_model_paths_write_hdf5(tmp_path, name):
    pytest.importorskip("h5py", reason="HDF5 files need the optional h5py (corten[h5])")
    from corten.keras.saving import hdf5_format

    model, x = _model()
    model.save(str(tmp_path / name))
    assert os.listdir(tmp_path) == [name]
    assert hdf5_format.is_hdf5(str(tmp_path / name))
    np.testing.assert_allclose(keras.models.load_model(str(tmp_path / name)).predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)


@pytest.mark.parametrize("name", ["w.weights.h5", "w.h5"])
def test_hdf5_weights_paths_write_hdf5_not_safetensors(tmp_path, name):
    pytest.importorskip("h5py", reason="HDF5 files need the optional h5py (corten[h5])")
    from corten.keras.saving import hdf5_format

    model, _ = _model()
    model.save_weights(str(tmp_path / name))
    assert os.listdir(tmp_path) == [name]
    assert hdf5_format.is_hdf5(str(tmp_path / name))


def test_weights_are_written_at_exactly_the_path_given(tmp_path):
    model, x = _model()
    path = tmp_path / "w.weights.safetensors"
    model.save_weights(str(path))
    assert os.listdir(tmp_path) == ["w.weights.safetensors"]
    fresh, _ = _model()
    fresh.load_weights(str(path))
    np.testing.assert_allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_a_tensorflow_saved_model_directory_gets_a_clear_error(tmp_path):
    (tmp_path / "saved_model.pb").write_bytes(b"\x08\x01")
    with pytest.raises(ValueError, match="TensorFlow SavedModel, which corten does not read"):
        keras.models.load_model(str(tmp_path))


def test_loading_a_missing_path_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing_here"):
        keras.models.load_model(str(tmp_path / "nothing_here"))
