"""Damaged Keras files: HDF5 (.h5) and .keras archives, truncated, bit-flipped and overwritten
at fixed seeds (fuzz_loading.py), end in a ValueError or OSError naming the file, or load; a
failed load_weights leaves every variable as it was; nothing hangs or crashes. Each run is a
subprocess with a timeout, so that a hang or a crash inside libhdf5 fails the test instead of
freezing or killing pytest. Also the two libhdf5 failures found that way, rebuilt byte by byte
(Note [HDF5 hangs on damaged files], Note [HDF5 crashes on damaged datatypes]), and the
.keras archive's own failure modes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from corten import keras

pytest.importorskip("h5py", reason="HDF5 files need the optional h5py (corten[h5])")

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
# The folder holding the corten package: the subprocesses import the same corten.
PYTHONPATH = os.path.dirname(os.path.dirname(os.path.dirname(keras.__file__)))
TIMEOUT = 300
# Sources: tf.keras 2.21's files (whole models and weights, in both layouts), Keras 3's, and
# the files corten writes, grouped so that each subprocess stays short.
GROUPS = {
    "tf_keras_models": ["mlp.h5", "cnn.h5", "lstm.h5"],
    "tf_keras_weights": ["mlp_weights.h5", "cnn_weights.h5", "lstm_weights.h5",
                         "tfkeras_mlp.weights.h5", "keras3_lstm.weights.h5"],
    "corten": ["corten.h5", "corten_weights.h5", "corten.weights.h5"],
    "keras_archives": ["keras3_mlp.keras", "tfkeras_cnn.keras", "keras3_lstm.keras"],
}
# The first seeds, then seeds that once found a hang, a crash, an OverflowError escaping h5py.
SEEDS = "0-12,64,130,241,351"
ACCEPTED = ("ValueError", "OSError", "FileNotFoundError")


def _env() -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PYTHONPATH, env.get("PYTHONPATH")) if p)
    return env


def _run(args: list[str]) -> subprocess.CompletedProcess:
    """Runs ``python args`` with corten importable; a hang fails the test, naming what it ran
    last."""
    try:
        return subprocess.run([sys.executable, *args], env=_env(), capture_output=True,
                              text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        last = [line for line in out.splitlines() if line.startswith("START")][-1:]
        pytest.fail(f"loading hung for {TIMEOUT} s; last case started: {last}")


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_damaged_files_fail_cleanly_or_load(tmp_path, group):
    done = _run([os.path.join(HERE, "fuzz_loading.py"), str(tmp_path), SEEDS, *GROUPS[group]])
    lines = done.stdout.splitlines()
    started = [line for line in lines if line.startswith("START")]
    assert done.returncode == 0, (f"the process died (exit code {done.returncode}) on "
                                  f"{started[-1:]}: {done.stderr[-3000:]}")
    results = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(results) == len(started) > 0
    failures, outcomes = [], {"ok": 0, "error": 0}
    for result in results:
        for call in ("load_model", "load_weights"):
            outcome = result.get(call)
            if outcome is None:
                continue
            if outcome == "ok":
                outcomes["ok"] += 1
                continue
            outcomes["error"] += 1
            if outcome["type"] not in ACCEPTED or not outcome["named"] or \
                    outcome.get("changed"):
                failures.append((result["case"], call, outcome))
    assert not failures, failures[:5]
    assert outcomes["error"] > outcomes["ok"] / 4  # the damage reaches the readers


# ---------------------------------------------------------------------- the two libhdf5 bugs
def _free_space_of_size_zero(raw: bytes) -> bytes:
    """`raw` with the free-space object of its first global heap collection declaring size 0:
    libhdf5's walk over the collection then never advances."""
    data = bytearray(raw)
    start = data.find(b"GCOL\x01")
    p = start + 16
    while int.from_bytes(data[p:p + 2], "little") != 0:
        p += 16 + (int.from_bytes(data[p + 8:p + 16], "little") + 7) // 8 * 8
    data[p + 8:p + 16] = bytes(8)
    return bytes(data)


def _object_past_the_end(raw: bytes) -> bytes:
    """`raw` with the first object of its first global heap collection declaring 2**62 bytes:
    the walk would leave the collection."""
    data = bytearray(raw)
    start = data.find(b"GCOL\x01")
    data[start + 24:start + 32] = (1 << 62).to_bytes(8, "little")
    return bytes(data)


def _bad_string_kind(raw: bytes) -> bytes:
    """`raw` with its first variable-length string datatype (class 9, version 1, size 16)
    declaring kind 5, neither a sequence (0) nor a string (1): reading it crashes libhdf5."""
    data = bytearray(raw)
    at = data.find(b"\x19\x01\x00\x00\x10\x00\x00\x00")
    data[at + 1] = 5
    return bytes(data)


_PROBE = textwrap.dedent("""
    import sys
    import numpy as np
    from corten import keras

    path, model_file = sys.argv[1], sys.argv[2]
    if "weights" not in path:
        try:
            keras.models.load_model(path)
            print("load_model ok")
        except (ValueError, OSError) as e:
            print("load_model", type(e).__name__, e)
    model = keras.models.load_model(model_file, compile=False)
    before = [np.array(w, copy=True) for w in model.weights]
    try:
        model.load_weights(path)
        print("load_weights ok")
    except (ValueError, OSError) as e:
        print("load_weights", type(e).__name__, e)
    print("unchanged", all(np.array_equal(np.asarray(w), b)
                           for w, b in zip(model.weights, before)))
""")


def _corten_files(tmp_path) -> dict[str, str]:
    model = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(8),
                              keras.layers.Dense(3)])
    paths = {"corten.h5": str(tmp_path / "corten.h5"),
             "corten_weights.h5": str(tmp_path / "corten_weights.h5")}
    model.save(paths["corten.h5"])
    model.save_weights(paths["corten_weights.h5"])
    return paths


@pytest.mark.parametrize("damage", [_free_space_of_size_zero, _object_past_the_end,
                                    _bad_string_kind])
@pytest.mark.parametrize("source", ["mlp.h5", "mlp_weights.h5", "corten.h5",
                                    "corten_weights.h5"])
def test_files_that_hang_or_crash_libhdf5_are_refused(tmp_path, damage, source):
    own = _corten_files(tmp_path)
    path = own.get(source, os.path.join(FIXTURES, source))
    model_file = own["corten.h5"] if source.startswith("corten") else \
        os.path.join(FIXTURES, "mlp.h5")
    with open(path, "rb") as f:
        damaged = damage(f.read())
    bad = tmp_path / f"bad_{source}"
    bad.write_bytes(damaged)
    done = _run(["-c", _PROBE, str(bad), model_file])
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[-1] == "unchanged True"
    for line in lines[:-1]:  # load_weights may never read a damaged root attribute
        assert line.split()[1] == "ok" or (line.split()[1] == "ValueError" and
                                           f"bad_{source}" in line), line
    assert any(line.split()[1] == "ValueError" for line in lines[:-1])
    if damage is _free_space_of_size_zero:
        assert "free-space object of size 0" in done.stdout
    if damage is _bad_string_kind:
        assert "variable-length sequence datatype" in done.stdout


# ---------------------------------------------------------------------- .keras archives
def _rewrite(dst, drop=None, edit=None, source="keras3_mlp.keras"):
    with zipfile.ZipFile(os.path.join(FIXTURES, source)) as zin, \
            zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename == drop:
                continue
            data = zin.read(info)
            if edit is not None and info.filename in edit:
                data = edit[info.filename](data)
            zout.writestr(info.filename, data)


@pytest.mark.parametrize(("change", "message"), [
    ({"drop": "config.json"}, "it has no config.json"),
    ({"drop": "metadata.json"}, "it has no metadata.json"),
    ({"drop": "model.weights.h5"}, r"a \.keras file of Keras '3\.\d+\.\d+' without its "
                                   r"model\.weights\.h5"),
    ({"edit": {"model.weights.h5": lambda d: d[:len(d) // 2]}},
     r"model\.weights\.h5 is not a valid HDF5 file \(.*truncated"),
    ({"edit": {"model.weights.h5": lambda d: b""}}, r"model\.weights\.h5 is not a valid HDF5"),
    ({"edit": {"model.weights.h5": _free_space_of_size_zero}},
     r"model\.weights\.h5 is corrupted: .*loop forever"),
    ({"edit": {"config.json": lambda d: d[:-5]}}, "config.json is not valid JSON"),
    ({"edit": {"config.json": lambda d: d.replace(b'"Dense"', b'"FancyDense"', 1)}},
     "Could not locate class 'FancyDense'"),
])
def test_damaged_keras_archives_name_the_file_and_the_problem(tmp_path, change, message):
    path = tmp_path / "damaged.keras"
    _rewrite(path, **change)
    with pytest.raises(ValueError, match=r"damaged\.keras.*" + message):
        keras.models.load_model(str(path))


def test_a_keras_archive_that_is_not_a_zip(tmp_path):
    with open(os.path.join(FIXTURES, "keras3_mlp.keras"), "rb") as f:
        raw = bytearray(f.read())
    raw[:4] = b"\0\0\0\0"  # local header signature
    raw[-22:-18] = b"\0\0\0\0"  # end of central directory signature
    (tmp_path / "nozip.keras").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"nozip\.keras"):
        keras.models.load_model(str(tmp_path / "nozip.keras"))


def test_load_weights_of_a_damaged_weights_file_changes_nothing(tmp_path):
    # In-process companion of the fuzz test, on a tf.keras 2.13+ "x.weights.h5" whose
    # second layer is damaged: the first layer's weights read fine but are not assigned.
    model = keras.models.load_model(os.path.join(FIXTURES, "tfkeras_mlp.keras"), compile=False)
    before = [np.array(w, copy=True) for w in model.weights]
    import h5py

    path = tmp_path / "half.weights.h5"
    with open(os.path.join(FIXTURES, "tfkeras_mlp.weights.h5"), "rb") as f:
        path.write_bytes(f.read())
    with h5py.File(path, "r+") as f:
        group = f["layers"]["dense_1"]["vars"]
        del group["0"]
        group.create_dataset("0", data=np.array([[b"x"] * 3] * 8))
    with pytest.raises(ValueError, match=r"half\.weights\.h5.*string datatype"):
        model.load_weights(str(path))
    for b, w in zip(before, model.weights, strict=True):
        np.testing.assert_array_equal(b, np.asarray(w))


def test_weights_that_spell_a_heap_signature_still_load(tmp_path):
    # The guard looks for "GCOL" collections by their bytes: weights holding those bytes
    # (followed by a size that does not fit in the file) are data, not a damaged heap.
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(8)])
    kernel = np.frombuffer((b"GCOL\x01\x00\x00\x00" + b"\xff" * 8) * 8, dtype="float32")
    kernel = kernel.reshape(4, 8).copy()
    model.layers[0].kernel.assign(kernel)  # the 0xff bytes are NaNs
    path = tmp_path / "spelled.h5"
    model.save(str(path))
    assert path.read_bytes().count(b"GCOL\x01\x00\x00\x00") > 8  # the heap's, the kernel's
    loaded = keras.models.load_model(str(path))
    np.testing.assert_array_equal(np.asarray(loaded.layers[0].kernel),
                                  np.asarray(model.layers[0].kernel))
