"""Model.save_weights / load_weights: the safetensors layout, validation, atomic writes."""

from __future__ import annotations

import json
import os
import struct

import ml_dtypes
import numpy as np
import pytest

from corten import keras
from corten.keras import layers
from corten.keras.saving import weights_file


class Net(keras.Model):
    def __init__(self, hidden=4):
        super().__init__()
        self.d1 = layers.Dense(hidden, activation="relu")
        self.d2 = layers.Dense(2)

    def call(self, x):
        return self.d2(self.d1(x))


def _built(hidden=4):
    m = Net(hidden)
    m(np.zeros((1, 3), "float32"))
    return m


def test_round_trip_into_a_fresh_model(tmp_path):
    path = tmp_path / "net.weights.safetensors"
    a = _built()
    a.save_weights(path)
    b = _built()
    assert any(not np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
    b.load_weights(path)
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(x, y)
    x = np.random.default_rng(0).random((5, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(a(x)), np.asarray(b(x)))


def test_layout_is_safetensors(tmp_path):
    path = tmp_path / "w.safetensors"
    m = _built()
    m.save_weights(path)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__")
    assert meta["format"] == "corten.keras.weights"
    names = json.loads(meta["weight_names"])
    assert names == list(header)
    assert len(names) == 4 and names[0].endswith("/kernel")
    for name, w in zip(names, m.weights):
        e = header[name]
        assert e["dtype"] == "F32" and tuple(e["shape"]) == tuple(w.shape)
        b, end = e["data_offsets"]
        np.testing.assert_array_equal(
            np.frombuffer(raw[8 + n + b:8 + n + end], "<f4").reshape(e["shape"]), np.asarray(w))


def test_safetensors_package_reads_the_file(tmp_path):
    st = pytest.importorskip("safetensors.numpy",
                             reason="the safetensors package is not installed")
    path = tmp_path / "w.safetensors"
    m = _built()
    m.save_weights(path)
    loaded = st.load_file(str(path))
    names = weights_file.weight_names(m.weights)
    for name, w in zip(names, m.weights):
        np.testing.assert_array_equal(loaded[name], np.asarray(w))


def test_names_are_made_unique():
    class V:
        def __init__(self, name):
            self._name = name

    assert weights_file.weight_names([V("dense/kernel"), V("dense/kernel"), V("b")]) == [
        "dense/kernel", "dense/kernel_1", "b"]


def test_all_dtypes_round_trip(tmp_path):
    arrays = {"f32": np.arange(6, dtype="float32").reshape(2, 3), "f64": np.ones(2),
              "i32": np.arange(3, dtype="int32"), "i64": np.arange(4, dtype="int64"),
              "b": np.array([True, False]), "empty": np.zeros((0, 3), "float32"),
              "scalar": np.array(2.5, "float32"), "f16": np.array([1.5, -2.0], "float16"),
              "bf16": np.array([1.5, 3.0], ml_dtypes.bfloat16)}
    path = tmp_path / "t.safetensors"
    weights_file.write_tensors(path, arrays)
    back, _ = weights_file.read_tensors(path)
    for k, v in arrays.items():
        assert back[k].dtype == v.dtype
        np.testing.assert_array_equal(back[k], v)
    with pytest.raises(ValueError, match="complex64"):
        weights_file.write_tensors(path, {"c": np.zeros(2, "complex64")})


def test_shape_mismatch_names_layer_and_shapes_and_changes_nothing(tmp_path):
    path = tmp_path / "w.safetensors"
    _built(hidden=4).save_weights(path)
    other = _built(hidden=5)
    before = other.get_weights()
    with pytest.raises(ValueError, match=r"layer '.*dense.*'.*\(3, 5\).*\(3, 4\)"):
        other.load_weights(path)
    for x, y in zip(before, other.get_weights()):
        np.testing.assert_array_equal(x, y)


def test_skip_mismatch_warns_and_loads_the_rest(tmp_path):
    path = tmp_path / "w.safetensors"
    src = _built(hidden=4)
    src.save_weights(path)
    dst = _built(hidden=5)
    with pytest.warns(UserWarning, match="Skipping loading weights"):
        dst.load_weights(path, skip_mismatch=True)
    np.testing.assert_array_equal(dst.get_weights()[3], src.get_weights()[3])  # d2 bias (2,)


def test_unbuilt_model(tmp_path):
    with pytest.raises(ValueError, match="not created its weights"):
        Net().save_weights(tmp_path / "w")
    _built().save_weights(tmp_path / "w")
    with pytest.raises(ValueError, match="has not created its weights"):
        Net().load_weights(tmp_path / "w")


@pytest.mark.parametrize("corrupt", [
    lambda raw: raw[:5],                                          # shorter than the length
    lambda raw: struct.pack("<Q", 10**12) + raw[8:],              # huge header length
    lambda raw: struct.pack("<Q", len(raw)) + raw[8:],            # length past the end
    lambda raw: raw[:len(raw) - 7],                               # truncated data
    lambda raw: raw[:8] + b"{" * 8 + raw[16:],                    # bad JSON
    lambda raw: raw[:8] + raw[8:].replace(b'"F32"', b'"F99"', 1),  # unknown dtype
    lambda raw: raw[:8] + raw[8:].replace(b'"shape":[3,4]', b'"shape":[3,9]', 1),
    lambda raw: raw[:8] + raw[8:].replace(b'"data_offsets":[0,', b'"data_offsets":[-4,', 1),
    lambda raw: b"",
])
def test_truncated_or_corrupted_files_raise_value_error(tmp_path, corrupt):
    path = tmp_path / "w.safetensors"
    m = _built()
    m.save_weights(path)
    raw = path.read_bytes()
    bad = corrupt(raw)
    assert bad != raw
    path.write_bytes(bad)
    before = m.get_weights()
    with pytest.raises(ValueError, match="Cannot read weights file"):
        m.load_weights(path)
    for x, y in zip(before, m.get_weights()):
        np.testing.assert_array_equal(x, y)


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    m = _built()
    m.save_weights(path)
    old = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        _built().save_weights(path)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert sorted(os.listdir(tmp_path)) == ["w.safetensors"]  # no temp file left


def test_overwrite_false(tmp_path):
    path = tmp_path / "w.safetensors"
    m = _built()
    m.save_weights(path)
    with pytest.raises(FileExistsError):
        m.save_weights(path, overwrite=False)


def test_weight_count_mismatch(tmp_path):
    class Bigger(Net):
        def __init__(self):
            super().__init__()
            self.d3 = layers.Dense(1)

        def call(self, x):
            return self.d3(super().call(x))

    path = tmp_path / "w.safetensors"
    _built().save_weights(path)
    big = Bigger()
    big(np.zeros((1, 3), "float32"))
    with pytest.raises(ValueError, match="the model has 6 weights but the file has 4"):
        big.load_weights(path)
