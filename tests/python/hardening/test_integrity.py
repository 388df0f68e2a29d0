"""Weights files carry a CRC-32 per tensor, checked on load; dtypes are checked against the
model's variables (before: a flipped bit loaded silently, and an int32 kernel loaded into a
float32 variable)."""

import json
import struct
import zipfile

import numpy as np
import pytest

from corten import keras
from corten.keras import layers
from corten.keras.saving import weights_file


def _model():
    inputs = keras.Input(shape=(3,))
    return keras.Model(inputs, layers.Dense(2)(inputs))


def _header(path):
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n]), 8 + n, data


def test_a_flipped_bit_in_a_weights_file_is_caught(tmp_path):
    model = _model()
    path = tmp_path / "w.weights.safetensors"
    model.save_weights(str(path))
    header, start, data = _header(path)
    assert weights_file.CHECKSUMS in header["__metadata__"]
    begin, _ = header["dense/kernel"]["data_offsets"] if "dense/kernel" in header else next(
        v["data_offsets"] for k, v in header.items() if k.endswith("kernel"))
    flipped = bytearray(data)
    flipped[start + begin] ^= 0x10
    path.write_bytes(bytes(flipped))
    before = [w.numpy().copy() for w in model.weights]
    with pytest.raises(ValueError, match="does not match its checksum"):
        model.load_weights(str(path))
    for w, b in zip(model.weights, before, strict=True):  # nothing was assigned
        np.testing.assert_array_equal(w.numpy(), b)


def test_a_flipped_bit_inside_a_keras_file_is_caught(tmp_path):
    model = _model()
    path = tmp_path / "m.keras"
    model.save(str(path))
    with zipfile.ZipFile(path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    raw = bytearray(entries["model.weights.safetensors"])
    raw[-1] ^= 0x01
    entries["model.weights.safetensors"] = bytes(raw)
    with zipfile.ZipFile(path, "w") as zf:  # a consistent zip: only the checksum can tell
        for n, d in entries.items():
            zf.writestr(n, d)
    with pytest.raises(ValueError, match="does not match its checksum"):
        keras.models.load_model(str(path))


def test_files_without_checksums_still_load(tmp_path):
    model = _model()
    path = tmp_path / "plain.safetensors"
    tensors = {w.name[:-2] if w.name.endswith(":0") else w.name: w.numpy() for w in model.weights}
    raw = json.dumps({n: {"dtype": "F32", "shape": list(a.shape), "data_offsets": [o, o + a.nbytes]}
                      for n, a, o in zip(tensors, tensors.values(),
                                         np.cumsum([0] + [a.nbytes for a in tensors.values()]))},
                     default=int).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw
                     + b"".join(a.tobytes() for a in tensors.values()))
    fresh = _model()
    fresh.load_weights(str(path))
    for a, b in zip(fresh.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_weight_of_another_dtype_kind_is_refused(tmp_path):
    model = _model()
    path = tmp_path / "ints.safetensors"
    names = weights_file.weight_names(model.weights)
    arrays = {n: np.asarray(w.numpy()).astype(np.int32) for n, w in zip(names, model.weights)}
    weights_file.write_tensors(str(path), arrays, {"format": "corten.keras.weights",
                                                   "weight_names": json.dumps(names)})
    with pytest.raises(ValueError, match=r"Dtype mismatch .* expects float32 but the weights "
                                         r"file has int32"):
        model.load_weights(str(path))
