"""The fuzz targets of tests/fuzz/targets.py: the committed corpus (seeds and every past finding)
replayed on each run, and a short coverage-guided run with atheris where it is installed."""

import importlib.util
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[1] / "fuzz"
TARGETS = ["load_model", "load_weights", "op_args"]


def _targets():
    spec = importlib.util.spec_from_file_location("corten_fuzz_targets", FUZZ / "targets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("target", TARGETS)
def test_the_corpus_replays_cleanly(target):
    assert _targets().replay(target, str(FUZZ / "corpus" / target)) >= 3


@pytest.mark.parametrize("target", TARGETS)
def test_a_short_fuzzing_run_finds_nothing(target, tmp_path):
    pytest.importorskip("atheris", reason="atheris is not installed (the test extras install it "
                                          "on Linux x86_64)")
    corpus = tmp_path / target
    shutil.copytree(FUZZ / "corpus" / target, corpus)
    # libFuzzer reads its RSS from getrusage, whose high-water mark a child inherits across
    # fork and exec: allow this process's peak plus libFuzzer's default 2 GiB for the target.
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    done = subprocess.run([sys.executable, str(FUZZ / "targets.py"), target, "-runs=3000",
                           "-max_total_time=20", f"-rss_limit_mb={peak_mb + 2048}",
                           str(corpus)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert "Done" in done.stderr


def test_a_finding_fails_the_replay(tmp_path):
    targets = _targets()
    original = targets.TARGETS["op_args"]

    def broken(data):
        raise KeyError("a bug")

    targets.TARGETS["op_args"] = broken
    (tmp_path / "x").write_bytes(b"\x01")
    try:
        with pytest.raises(KeyError):
            targets.replay("op_args", str(tmp_path))
    finally:
        targets.TARGETS["op_args"] = original
