"""Saving under faults: a full disk names the path and keeps the old file; files left by a
killed save are removed by the next save (Note [Temporary save files])."""

import errno
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from corten import keras
from corten.keras import layers
from corten.keras.saving import atomic, weights_file


def _model():
    inputs = keras.Input(shape=(3,))
    return keras.Model(inputs, layers.Dense(2)(inputs))


@pytest.mark.parametrize("name", ["m.keras", "saved_dir", "w.weights.safetensors"])
def test_a_full_disk_names_the_path_and_keeps_the_previous_file(tmp_path, monkeypatch, name):
    model = _model()
    path = tmp_path / name
    save = model.save_weights if name.endswith(".safetensors") else model.save
    save(str(path))
    before = sorted(os.listdir(tmp_path))

    def full(f, tensors, metadata=None):
        f.write(b"\0" * 16)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(weights_file, "write_tensors_to", full)
    with pytest.raises(OSError, match="No space left on device") as info:
        save(str(path))
    assert info.value.errno == errno.ENOSPC
    assert info.value.filename == os.path.abspath(path) or info.value.filename == str(path)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == before  # no temporary file left behind
    if name.endswith(".safetensors"):
        _model().load_weights(str(path))
    else:
        keras.models.load_model(str(path))


_KILLED_SAVE = textwrap.dedent("""
    import sys, time
    from corten import keras
    from corten.keras import layers
    from corten.keras.saving import weights_file
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, layers.Dense(2)(inputs))
    real = weights_file.write_tensors_to
    def slow(f, tensors, metadata=None):
        real(f, tensors, metadata)
        print("writing", flush=True)
        time.sleep(60)
    weights_file.write_tensors_to = slow
    model.save(sys.argv[1])
""")

_NEXT_SAVE = textwrap.dedent("""
    import sys
    from corten import keras
    from corten.keras import layers
    inputs = keras.Input(shape=(3,))
    keras.Model(inputs, layers.Dense(2)(inputs)).save(sys.argv[1])
""")


def _run(code, path, wait_for=None):
    env = dict(os.environ)
    child = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    try:
        if wait_for:
            line = child.stdout.readline()
            assert line.strip() == wait_for, child.stderr.read()
            child.kill()  # kill -9 in the middle of the save
        child.wait(timeout=120)
        if not wait_for:
            assert child.returncode == 0, child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()


@pytest.mark.parametrize("name", ["model.keras", "model_dir"])
def test_files_left_by_a_killed_save_are_removed_by_the_next_save(tmp_path, name):
    path = tmp_path / name
    for _ in range(3):
        _run(_KILLED_SAVE, path, wait_for="writing")
    # each killed save cleaned up the one before it: one leftover, not three
    leftovers = [n for n in os.listdir(tmp_path) if atomic.TEMP_MARK in n]
    assert len(leftovers) == 1
    assert leftovers[0].startswith(f".{name}{atomic.TEMP_MARK}")
    _run(_NEXT_SAVE, path)  # a new process saving to the same folder
    assert os.listdir(tmp_path) == [name]
    keras.models.load_model(str(path))


def test_a_save_in_progress_elsewhere_is_never_removed(tmp_path):
    # a temporary file of a live process (this one) that is newer than the cleaner's start
    live = tmp_path / f".x.keras{atomic.TEMP_MARK}{os.getpid()}-abcd"
    live.write_bytes(b"partial")
    assert atomic.clean_stale(str(tmp_path)) == []
    other = tmp_path / f".y.keras{atomic.TEMP_MARK}999999999-abcd"  # no such process
    other.write_bytes(b"partial")
    os.utime(other, (1, 1))  # and older than this process
    assert atomic.clean_stale(str(tmp_path)) == [str(other)]
    assert live.exists()
    np.testing.assert_equal(sorted(os.listdir(tmp_path)), [live.name])
