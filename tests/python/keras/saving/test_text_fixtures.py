"""A text model saved by tf.keras 2.21 (fixtures/make_text_fixtures.py): TextVectorization
whose adapted vocabulary is a file asset of the .keras archive, then Embedding and Dense. It
loads in corten with the same vocabulary and predictions, and a fresh one made by the
installed tf.keras does too."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile

import numpy as np
import pytest
from corten import keras

pytest.importorskip("h5py", reason="the weights of .keras files are HDF5 (corten[h5])")

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
TFKERAS = os.environ.get("CORTEN_TFKERAS_PYTHON", "/work/peers/tfkeras/bin/python")


def _check(path, npz):
    expected = np.load(npz)
    model = keras.models.load_model(path)
    with zipfile.ZipFile(path) as z:
        asset = z.read("assets/layers/text_vectorization/vocabulary.txt").decode().split("\n")
    assert model.layers[1].get_vocabulary() == asset
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["y"],
                               atol=1e-5)
    return model


def test_tf_keras_text_model_loads_with_its_vocabulary_and_predictions(tmp_path):
    model = _check(os.path.join(FIXTURES, "tfkeras_text.keras"),
                   os.path.join(FIXTURES, "tfkeras_text.npz"))
    # And it keeps the vocabulary through corten's own format.
    model.save(tmp_path / "again.keras")
    again = keras.models.load_model(tmp_path / "again.keras")
    x = np.load(os.path.join(FIXTURES, "tfkeras_text.npz"))["x"]
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_damaged_vocabulary_asset_is_named(tmp_path):
    src = os.path.join(FIXTURES, "tfkeras_text.keras")
    bad = tmp_path / "bad.keras"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith("vocabulary.txt"):
                data = b"\n[UNK]\ngood\ngood\n"
            zout.writestr(item, data)
    with pytest.raises(ValueError, match=r"vocabulary of layer 'text_vectorization'.*repeated"):
        keras.models.load_model(bad)


@pytest.mark.skipif(not os.path.exists(TFKERAS), reason=f"tf.keras 2 is not installed "
                    f"({TFKERAS} is absent)")
def test_a_fresh_text_model_from_tf_keras(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="", TF_USE_LEGACY_KERAS="1")
    script = shutil.copy(os.path.join(FIXTURES, "make_text_fixtures.py"), tmp_path)
    done = subprocess.run([TFKERAS, script, "tfkeras", str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    _check(str(tmp_path / "tfkeras_text.keras"), str(tmp_path / "tfkeras_text.npz"))
