"""Hostile, truncated and corrupted .keras files raise a clear ValueError without executing
anything; saves are atomic."""

from __future__ import annotations

import json
import os
import pathlib
import struct
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from saving_models import FixtureMLP

from corten import keras

ROOT = pathlib.Path(__file__).resolve().parents[4]
HERE = pathlib.Path(__file__).resolve().parent


@pytest.fixture
def saved(tmp_path):
    model = FixtureMLP(hidden=3)
    model.compile(optimizer="adam", loss="mse")
    x = np.ones((4, 4), "float32")
    model.fit(x, np.zeros((4, 3), "float32"), verbose=0)
    path = tmp_path / "good.keras"
    model.save(path)
    return path


def _entries(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _write_zip(path, entries, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def test_truncated_files(saved, tmp_path):
    data = saved.read_bytes()
    for cut in (0, 10, len(data) // 3, len(data) // 2, len(data) - 30, len(data) - 1):
        bad = tmp_path / f"cut{cut}.keras"
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="Cannot load model file"):
            keras.models.load_model(bad)


def test_corrupted_bytes(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    # Flip bytes inside the weights data: the zip CRC check catches it.
    with zipfile.ZipFile(saved) as zf:
        info = zf.getinfo("model.weights.safetensors")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.file_size - 5] ^= 0xFF
    bad = tmp_path / "flip.keras"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="Cannot load model file"):
        keras.models.load_model(bad)
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(ValueError, match="not a valid zip archive"):
        keras.models.load_model(garbage)


def test_non_json_and_wrong_json(saved, tmp_path):
    entries = _entries(saved)
    for config, why in ((b"\x00not json", "not valid JSON"), (b"[1, 2]", "does not describe"),
                        (b"[" * 100000 + b"]" * 100000, "not valid JSON")):
        bad = _write_zip(tmp_path / "bad.keras", {**entries, "config.json": config})
        with pytest.raises(ValueError, match=why):
            keras.models.load_model(bad)
    bad = _write_zip(tmp_path / "meta.keras", {**entries, "metadata.json": b'{"format": 1}'})
    with pytest.raises(ValueError, match="format_version"):
        keras.models.load_model(bad)


def test_newer_format_version_is_refused(saved, tmp_path):
    entries = _entries(saved)
    metadata = json.loads(entries["metadata.json"])
    metadata["format_version"] = 99
    bad = _write_zip(tmp_path / "new.keras", {**entries, "metadata.json": json.dumps(metadata)})
    with pytest.raises(ValueError, match="format version 99.*Upgrade corten"):
        keras.models.load_model(bad)


@pytest.mark.parametrize("name", ["../evil.json", "/etc/passwd", "a/../../b", "C:evil",
                                  "dir\\..\\x"])
def test_path_traversal_names(saved, tmp_path, name):
    entries = _entries(saved)
    entries[name] = b"{}"
    bad = _write_zip(tmp_path / "trav.keras", entries)
    with pytest.raises(ValueError, match="unsafe entry name"):
        keras.models.load_model(bad)


def test_duplicate_entries(saved, tmp_path):
    entries = _entries(saved)
    bad = tmp_path / "dup.keras"
    with pytest.warns(UserWarning, match="Duplicate name"):  # zipfile warns when writing
        with zipfile.ZipFile(bad, "w") as zf:
            for name, data in entries.items():
                zf.writestr(name, data)
            zf.writestr("config.json", entries["config.json"])
    with pytest.raises(ValueError, match="appears twice"):
        keras.models.load_model(bad)


def _patch_declared_size(path, name, size):
    """Rewrites the uncompressed size the central directory declares for ``name``."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    pos = 0
    while True:
        pos = data.index(b"PK\x01\x02", pos)
        name_len = struct.unpack("<H", data[pos + 28:pos + 30])[0]
        if data[pos + 46:pos + 46 + name_len] == info.filename.encode():
            break
        pos += 4
    data[pos + 24:pos + 28] = struct.pack("<I", size)
    path.write_bytes(bytes(data))


def test_zip_bomb_sizes_checked_before_reading(saved, tmp_path):
    entries = _entries(saved)
    # A deflated config whose declared size is absurd for its compressed size.
    bomb = _write_zip(tmp_path / "bomb.keras", entries, compression=zipfile.ZIP_DEFLATED)
    _patch_declared_size(bomb, "config.json", 0xFFFFFFF0)
    with pytest.raises(ValueError, match="zip bomb"):
        keras.models.load_model(bomb)
    # A stored entry declaring more bytes than it holds.
    stored = _write_zip(tmp_path / "stored.keras", entries)
    _patch_declared_size(stored, "model.weights.safetensors", 0x7FFFFFFF)
    with pytest.raises(ValueError, match="declares"):
        keras.models.load_model(stored)
    # A genuinely large (but honest) JSON over the limit.
    big = b'{"class_name": "x", "config": {}, "pad": "' + b" " * (65 * 2**20) + b'"}'
    large = _write_zip(tmp_path / "large.keras", {**entries, "config.json": big},
                       compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(ValueError, match="declares .* bytes \\(at most"):
        keras.models.load_model(large)


def test_absurd_weights_header_size(saved, tmp_path):
    entries = _entries(saved)
    weights = entries["model.weights.safetensors"]
    for n in (2**63, 2**40, len(weights)):
        hostile = struct.pack("<Q", n) + weights[8:]
        bad = _write_zip(tmp_path / "hdr.keras", {**entries,
                                                  "model.weights.safetensors": hostile})
        with pytest.raises(ValueError, match="header length"):
            keras.models.load_model(bad)
    header_len = struct.unpack("<Q", weights[:8])[0]
    header = json.loads(weights[8:8 + header_len])
    name = next(k for k in header if k != "__metadata__")
    header[name]["data_offsets"] = [0, 10**15]
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    hostile = struct.pack("<Q", len(raw)) + raw + weights[8 + header_len:]
    bad = _write_zip(tmp_path / "off.keras", {**entries, "model.weights.safetensors": hostile})
    with pytest.raises(ValueError, match="outside the"):
        keras.models.load_model(bad)


def test_weights_header_entries_of_the_wrong_json_type(saved, tmp_path):
    # Found by the load_weights fuzz target: a dtype that is a list, not a string.
    entries = _entries(saved)
    weights = entries["model.weights.safetensors"]
    header_len = struct.unpack("<Q", weights[:8])[0]
    name = next(k for k in json.loads(weights[8:8 + header_len]) if k != "__metadata__")
    for field, value, message in (("dtype", [2], "unsupported dtype"),
                                  ("dtype", {"F": 32}, "unsupported dtype"),
                                  ("shape", "3", "invalid shape"),
                                  ("data_offsets", [0.5, 8], "invalid data_offsets")):
        header = json.loads(weights[8:8 + header_len])
        header[name][field] = value
        raw = json.dumps(header).encode()
        raw += b" " * (-len(raw) % 8)
        hostile = struct.pack("<Q", len(raw)) + raw + weights[8 + header_len:]
        bad = _write_zip(tmp_path / "type.keras",
                         {**entries, "model.weights.safetensors": hostile})
        with pytest.raises(ValueError, match=message):
            keras.models.load_model(bad)


def test_unknown_and_hostile_class_names(saved, tmp_path):
    entries = _entries(saved)
    for config in (
        {"module": "os", "class_name": "system", "config": {}, "registered_name": None},
        {"module": "builtins", "class_name": "eval", "config": {}, "registered_name": None},
        {"module": "subprocess", "class_name": "Popen", "config": {"args": ["true"]},
         "registered_name": "subprocess>Popen"},
        {"module": "keras.layers", "class_name": "NoSuchLayer", "config": {}},
    ):
        bad = _write_zip(tmp_path / "cls.keras", {**entries, "config.json": json.dumps(config)})
        with pytest.raises(ValueError, match=f"Could not locate class '{config['class_name']}'"):
            keras.models.load_model(bad)
    assert "corten_hostile_never_imported" not in sys.modules
    config = {"module": "corten_hostile_never_imported", "class_name": "Evil", "config": {}}
    bad = _write_zip(tmp_path / "mod.keras", {**entries, "config.json": json.dumps(config)})
    with pytest.raises(ValueError, match="corten_hostile_never_imported"):
        keras.models.load_model(bad)
    assert "corten_hostile_never_imported" not in sys.modules
    # A built-in that is not a model.
    config = {"module": "keras.optimizers", "class_name": "Adam", "config": {}}
    bad = _write_zip(tmp_path / "opt.keras", {**entries, "config.json": json.dumps(config)})
    with pytest.raises(ValueError, match="not a model"):
        keras.models.load_model(bad)


def test_hostile_build_config_checked_before_allocating(saved, tmp_path):
    entries = _entries(saved)
    config = json.loads(entries["config.json"])
    config["build_config"] = {"input_shape": [None, 2**40, 2**40], "input_dtype": "float32"}
    bad = _write_zip(tmp_path / "build.keras", {**entries, "config.json": json.dumps(config)})
    with pytest.raises(ValueError, match="more than"):
        keras.models.load_model(bad)


def test_no_code_execution_primitives_in_saving_sources():
    src = ROOT / "python" / "corten" / "keras" / "saving"
    for path in src.glob("*.py"):
        text = path.read_text()
        for needle in ("import pickle", "eval(", "exec(", "marshal", "__import__("):
            assert needle not in text, f"{path.name} uses {needle}"


_CHILD = textwrap.dedent("""
    import sys, time, zipfile
    sys.path[:0] = [{here!r}]  # corten itself is imported as the parent test process does
    import numpy as np
    from saving_models import FixtureMLP
    model = FixtureMLP(hidden=64)
    model(np.zeros((1, 4), "float32"))
    real = zipfile.ZipFile.writestr
    def slow(self, name, data, *a, **k):
        real(self, name, data, *a, **k)
        if name == "config.json":
            print("writing", flush=True)
            time.sleep(60)
    zipfile.ZipFile.writestr = slow
    model.save({path!r})
""")


def test_killed_save_leaves_previous_file_intact(saved, tmp_path):
    before = saved.read_bytes()
    code = _CHILD.format(here=str(HERE), path=str(saved))
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert line.strip() == "writing", child.stderr.read()
        child.kill()
    finally:
        child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()
    assert saved.read_bytes() == before
    loaded = keras.models.load_model(saved)
    assert isinstance(loaded, FixtureMLP) and loaded.get_config()["hidden"] == 3
