"""Every corrupt or hostile model file gives a ValueError naming the file and what is wrong
(before these fixes: zlib.error, RuntimeError, RecursionError and KeyError escaped)."""

import json
import struct
import zipfile

import numpy as np
import pytest

from corten import keras
from corten.keras import initializers, layers


@pytest.fixture
def saved(tmp_path):
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, layers.Dense(2)(inputs))
    path = tmp_path / "good.keras"
    model.save(str(path))
    return path


def _entries(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _write(path, entries, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def _load_fails(path, match):
    with pytest.raises(ValueError, match=match) as info:
        keras.models.load_model(str(path))
    assert str(path) in str(info.value)


def test_a_corrupt_deflate_stream(saved, tmp_path):
    bad = _write(tmp_path / "deflated.keras", _entries(saved), zipfile.ZIP_DEFLATED)
    data = bytearray(bad.read_bytes())
    # the first entry's compressed data starts after its local header (30 bytes + name + extra)
    name_len, extra_len = struct.unpack("<HH", data[26:30])
    start = 30 + name_len + extra_len
    data[start:start + 4] = b"\xff\xff\xff\xff"  # an invalid deflate block type
    bad.write_bytes(bytes(data))
    _load_fails(bad, r"cannot be read \((error|BadZipFile)")


def test_an_entry_flagged_as_encrypted(saved, tmp_path):
    bad = _write(tmp_path / "encrypted.keras", _entries(saved))
    data = bytearray(bad.read_bytes())
    # set bit 0 (encrypted) of the general purpose flags, local and central headers alike
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = data.find(sig)
        while i >= 0:
            data[i + offset] |= 1
            i = data.find(sig, i + 4)
    bad.write_bytes(bytes(data))
    _load_fails(bad, "encrypted")


def test_deeply_nested_json_in_the_metadata(saved, tmp_path):
    entries = _entries(saved)
    entries["metadata.json"] = "[" * 200_000 + "]" * 200_000
    _load_fails(_write(tmp_path / "deep.keras", entries), "metadata.json")


def test_deeply_nested_json_in_the_config(saved, tmp_path):
    entries = _entries(saved)
    text = entries["config.json"].decode()
    entries["config.json"] = text.replace('"units": 2', '"units": ' + '{"a": ' * 100_000 + "2"
                                          + "}" * 100_000)
    _load_fails(_write(tmp_path / "deepconfig.keras", entries), "config.json")


def test_a_config_nested_as_deep_as_json_allows_but_not_a_model(saved, tmp_path):
    entries = _entries(saved)
    config = json.loads(entries["config.json"])
    deep = 2
    for _ in range(400):
        deep = {"class_name": "Dense", "config": {"units": deep}}
    config["config"]["layers"][1]["config"]["units"] = deep
    entries["config.json"] = json.dumps(config)
    _load_fails(_write(tmp_path / "deepmodel.keras", entries), "Cannot load model file")


def test_an_initializer_config_without_class_name(saved, tmp_path):
    entries = _entries(saved)
    config = json.loads(entries["config.json"])
    config["config"]["layers"][1]["config"]["kernel_initializer"] = {"config": {}}
    entries["config.json"] = json.dumps(config)
    _load_fails(_write(tmp_path / "init.keras", entries), "class_name")


@pytest.mark.parametrize("bad", [{"config": {}}, {"class_name": 3}, ["GlorotUniform"],
                                 {"class_name": "GlorotUniform", "config": {"seed": [1, 2],
                                                                            "nonsense": 1}}])
def test_initializer_deserialize_raises_value_error(bad):
    with pytest.raises(ValueError, match="initializer"):
        initializers.deserialize(bad)


def test_the_good_file_still_loads(saved):
    model = keras.models.load_model(str(saved))
    assert model.predict(np.ones((1, 4), "float32"), verbose=0).shape == (1, 2)


def _weights_file(path, header, data=b""):
    raw = json.dumps(header).encode() if not isinstance(header, bytes) else header
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


def test_a_weights_header_that_names_a_tensor_twice(tmp_path):
    from corten.keras.saving import weights_file

    entry = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}'
    raw = ('{"w":' + entry + ',"w":' + entry + "}").encode()
    path = _weights_file(tmp_path / "dup.safetensors", raw, b"\0" * 4)
    with pytest.raises(ValueError, match=r"'w' appears twice"):
        weights_file.read_header(str(path))


def test_a_weights_header_with_more_tensors_than_the_limit(tmp_path):
    from corten.keras.saving import weights_file

    # The count is checked before any entry is looked at, so the entries can be anything.
    raw = ("{" + ",".join(f'"t{i}":0' for i in range(1_000_001)) + "}").encode()
    path = _weights_file(tmp_path / "many.safetensors", raw)
    with pytest.raises(ValueError, match="lists 1000001 entries .at most 1000000 tensors"):
        weights_file.read_header(str(path))


def test_weights_that_do_not_fit_the_model_are_refused_before_inflating(saved, tmp_path,
                                                                         monkeypatch):
    # a small file whose weights deflate to 64 MiB of well-formed zeros
    from corten.keras.saving import saving_lib

    entries = _entries(saved)
    n = 16 * 2**20
    header = json.dumps({"__metadata__": {"format": "corten.keras.weights"},
                         "bomb": {"dtype": "F32", "shape": [n],
                                  "data_offsets": [0, 4 * n]}}).encode()
    bad = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bad, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata.json", entries["metadata.json"])
        zf.writestr("config.json", entries["config.json"])
        with zf.open("model.weights.safetensors", "w") as w:
            w.write(struct.pack("<Q", len(header)) + header)
            zeros = bytes(2**20)
            for _ in range(4 * n // len(zeros)):
                w.write(zeros)
    assert bad.stat().st_size < 2**20

    def no_inflating(self):
        raise AssertionError("tensor data was inflated before the header was checked")

    monkeypatch.setattr(saving_lib._Archive, "read_weights", no_inflating)
    _load_fails(bad, "Weight count mismatch|Shape mismatch")
