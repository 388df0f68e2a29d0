"""model.save / keras.models.load_model: the .keras zip format, compile state, resuming
training, custom objects and the committed fixture."""

from __future__ import annotations

import json
import pathlib
import zipfile

import numpy as np
import pytest
from saving_models import FixtureMLP, fixture_data

import corten
from corten import keras

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


def _compiled(hidden=8, seed=1, **compile_kwargs):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = FixtureMLP(hidden=hidden, outputs=3)
    kwargs = {"optimizer": keras.optimizers.Adam(learning_rate=0.01),
              "loss": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              "metrics": ["accuracy"]}
    kwargs.update(compile_kwargs)
    model.compile(**kwargs)
    return model


def _read(path, name):
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read(name))


def test_archive_layout_and_configs(tmp_path):
    x, y = fixture_data()
    model = _compiled(loss_weights=[1.0])
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        # A subclassed model's graph is traced at the inputs of its first call.
        assert sorted(zf.namelist()) == ["config.json", "inference.plan.json", "metadata.json",
                                         "model.weights.safetensors"]
    metadata = _read(path, "metadata.json")
    assert metadata["format"] == "corten.keras.model"
    assert metadata["format_version"] == 1
    assert metadata["corten_version"] == corten.__version__
    assert "date_saved" in metadata
    config = _read(path, "config.json")
    assert config["class_name"] == "FixtureMLP"
    assert config["module"] == "saving_models"
    assert config["registered_name"] == "CortenTests>FixtureMLP"
    assert config["config"]["hidden"] == 8 and config["config"]["outputs"] == 3
    assert config["build_config"] == {"input_shape": [None, 4], "input_dtype": "float32"}
    compile_config = config["compile_config"]
    assert compile_config["optimizer"]["class_name"] == "Adam"
    assert compile_config["optimizer"]["config"]["learning_rate"] == pytest.approx(0.01)
    assert compile_config["loss"]["class_name"] == "SparseCategoricalCrossentropy"
    assert compile_config["loss"]["config"]["from_logits"] is True
    assert compile_config["metrics"] == ["accuracy"]
    assert compile_config["loss_weights"] == [1.0]


def test_load_predicts_identically(tmp_path):
    x, y = fixture_data()
    model = _compiled()
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded) is FixtureMLP
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert int(np.asarray(loaded.optimizer.iterations)) == 4


def test_resume_training_is_bit_identical(tmp_path):
    x, y = fixture_data(n=48)
    # N + M uninterrupted steps.
    straight = _compiled()
    h1 = straight.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    h2 = straight.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    # N steps, save, load, M steps.
    first = _compiled()
    g1 = first.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    first.save(tmp_path / "ckpt.keras")
    del first
    keras.backend.clear_session()
    resumed = keras.models.load_model(tmp_path / "ckpt.keras")
    g2 = resumed.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert h1.history["loss"] == g1.history["loss"]
    assert h2.history["loss"] == g2.history["loss"]
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(straight.optimizer.get_weights(), resumed.optimizer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_compile_false_and_include_optimizer_false(tmp_path):
    x, y = fixture_data()
    model = _compiled()
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", compile=False)
    assert loaded.optimizer is None
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    keras.models.save_model(model, tmp_path / "noopt.keras", include_optimizer=False)
    assert "compile_config" not in _read(tmp_path / "noopt.keras", "config.json")
    loaded = keras.models.load_model(tmp_path / "noopt.keras")
    assert loaded.optimizer is None


def test_loss_functions_schedules_and_uncompiled_models(tmp_path):
    x, y = fixture_data()
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    model = _compiled(optimizer=keras.optimizers.SGD(learning_rate=schedule, momentum=0.9),
                      loss=keras.losses.sparse_categorical_crossentropy,
                      metrics=[keras.metrics.SparseCategoricalAccuracy()])
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.get_config()["learning_rate"]["class_name"] == "ExponentialDecay"
    np.testing.assert_array_equal(loaded.evaluate(x, y, verbose=0),
                                  model.evaluate(x, y, verbose=0))
    plain = FixtureMLP(hidden=2)
    plain(x[:1])
    plain.save(tmp_path / "plain.keras")
    assert "compile_config" not in _read(tmp_path / "plain.keras", "config.json")
    np.testing.assert_array_equal(
        keras.models.load_model(tmp_path / "plain.keras").predict(x, verbose=0),
        plain.predict(x, verbose=0))


def test_paths_and_overwrite(tmp_path):
    model = FixtureMLP(hidden=2)
    model(np.zeros((1, 4), "float32"))
    model.save(str(tmp_path / "noext"))  # a saved-model directory at exactly that path
    assert (tmp_path / "noext").is_dir()
    assert not (tmp_path / "noext.keras").exists()
    assert isinstance(keras.models.load_model(tmp_path / "noext"), FixtureMLP)
    try:
        import h5py  # noqa: F401  (HDF5 files need the optional h5py)
    except ImportError:
        pass
    else:
        model.save(tmp_path / "m.h5")  # tf.keras 2's HDF5 layout
        assert isinstance(keras.models.load_model(tmp_path / "m.h5"), FixtureMLP)
    model.save(tmp_path / "m.keras")
    with pytest.raises(FileExistsError):
        model.save(tmp_path / "m.keras", overwrite=False)
    with pytest.raises(FileNotFoundError):
        keras.models.load_model(tmp_path / "missing.keras")
    with pytest.raises(ValueError, match="has no metadata.json"):
        keras.models.load_model(tmp_path)


class NeedsLayer(keras.Model):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def call(self, x):
        return self.encoder(x)


def test_model_without_working_get_config_says_what_to_implement(tmp_path):
    model = NeedsLayer(keras.layers.Dense(2))
    model(np.zeros((1, 3), "float32"))
    with pytest.raises(NotImplementedError) as info:
        model.save(tmp_path / "m.keras")
    msg = str(info.value)
    assert "NeedsLayer" in msg and "'encoder'" in msg
    assert "get_config" in msg and "save_weights" in msg
    assert not (tmp_path / "m.keras").exists()
    model.save_weights(tmp_path / "m.weights.safetensors")  # weights alone still work


class Unregistered(keras.Model):
    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(units)

    def call(self, x):
        return self.dense(x)


def test_unknown_custom_class_on_load(tmp_path):
    model = Unregistered()
    x = np.ones((2, 3), "float32")
    model(x)
    model.save(tmp_path / "u.keras")
    with pytest.raises(ValueError) as info:
        keras.models.load_model(tmp_path / "u.keras")
    msg = str(info.value)
    assert "'Unregistered'" in msg and __name__ in msg
    assert "custom_objects" in msg and "register_keras_serializable" in msg
    loaded = keras.models.load_model(tmp_path / "u.keras",
                                     custom_objects={"Unregistered": Unregistered})
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))
    with keras.utils.custom_object_scope({"Unregistered": Unregistered}):
        assert isinstance(keras.models.load_model(tmp_path / "u.keras"), Unregistered)


def test_committed_fixture_stays_loadable():
    expected = json.loads((FIXTURES / "mlp_v1.expected.json").read_text())
    model = keras.models.load_model(FIXTURES / "mlp_v1.keras")
    assert isinstance(model, FixtureMLP)
    x, y = fixture_data()
    np.testing.assert_allclose(model.predict(x[:4], verbose=0),
                               np.array(expected["predictions"], "float32"), rtol=1e-6, atol=1e-6)
    assert int(np.asarray(model.optimizer.iterations)) == expected["iterations"]
    history = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert int(np.asarray(model.optimizer.iterations)) == expected["iterations"] + 4


def test_save_weights_skip_mismatch_and_shape_messages(tmp_path):
    model = FixtureMLP(hidden=4)
    model(np.zeros((1, 4), "float32"))
    model.save_weights(tmp_path / "w.safetensors")
    other = FixtureMLP(hidden=5)
    other(np.zeros((1, 4), "float32"))
    with pytest.raises(ValueError, match=r"layer .*expects shape \(4, 5\).*shape \(4, 4\)"):
        other.load_weights(tmp_path / "w.safetensors")
    before = other.get_weights()
    with pytest.warns(UserWarning, match="Skipping loading weights"):
        other.load_weights(tmp_path / "w.safetensors", skip_mismatch=True)
    after = other.get_weights()
    np.testing.assert_array_equal(before[0], after[0])
