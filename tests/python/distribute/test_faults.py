"""Fault tolerance of data-parallel training (mpirun -np 2 on this machine): a rank SIGKILLed in
the middle of an epoch ends the whole job quickly with a non-zero exit that identifies the dead
process, and running the same command again resumes from BackupAndRestore's last backup to the
weights of an uninterrupted job (fault_worker.py is the script of every rank)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import mpi_jobs
import numpy as np
import pytest

WORKER = str(Path(__file__).parent / "fault_worker.py")
RANKS = 2
KILL = "1:3:1"  # rank 1 dies after batch 1 of epoch 3 (the 4th of 6), mid-epoch


MPIRUN = mpi_jobs.MPIRUN
pytestmark = mpi_jobs.needs_mpi


def _env(**extra):
    env = mpi_jobs.env(**extra)
    if "CORTEN_FAULT_KILL" not in extra:
        env.pop("CORTEN_FAULT_KILL", None)
    return env


def _job(out, **env):
    """Runs the 2-rank job writing to ``out``; its CompletedProcess and the time it ended."""
    out.mkdir(exist_ok=True)
    done = subprocess.run([MPIRUN, "-np", str(RANKS), sys.executable, WORKER, str(out),
                           str(out / "backup")], env=_env(**env), capture_output=True, text=True,
                          timeout=120, check=False)
    return done, time.time()


def _results(out):
    return ([json.loads((out / f"rank{r}.json").read_text()) for r in range(RANKS)],
            [np.load(out / f"rank{r}.npz") for r in range(RANKS)])


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    done, _ = _job(out)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return _results(out)


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    out = tmp_path_factory.mktemp("killed")
    done, ended = _job(out, CORTEN_FAULT_KILL=KILL)
    return out, done, ended


def test_a_killed_rank_ends_the_job_quickly_naming_the_dead_process(killed):
    out, done, ended = killed
    assert done.returncode != 0
    dead = json.loads((out / "killed.json").read_text())
    assert dead["rank"] == 1
    # The survivor was blocked in the step's all-reduce; hydra sees rank 1 exit and kills it.
    assert ended - dead["time"] < 60
    output = done.stdout + done.stderr
    assert "BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES" in output
    # MPICH 5.0.2's hydra names the dead process by PID and host, not by rank; the worker's
    # killed.json maps the PID to rank 1.
    assert f"PID {dead['pid']} RUNNING AT" in output
    assert "signal 9" in output or "EXIT CODE: 9" in output
    assert not (out / "rank0.json").exists()  # nobody finished
    # Only rank 0 wrote a backup (of epoch 2, the last one completed); rank 1's directory,
    # standing for another machine's disk, stays empty.
    assert os.listdir(out / "backup" / "rank0" / "chief") == ["training_state.safetensors"]
    assert not (out / "backup" / "rank1").exists()


def test_the_same_command_resumes_to_the_uninterrupted_weights(killed, uninterrupted):
    out, _, _ = killed
    done, _ = _job(out, CORTEN_FAULT_KILL=KILL)  # killed.json stops a second kill
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    records, weights = _results(out)
    ref_records, ref_weights = uninterrupted
    assert ref_records[0]["epochs"] == [0, 1, 2, 3, 4, 5]
    for record, w in zip(records, weights, strict=True):
        # Epoch 3, cut short by the kill, is run again from its start; History holds the
        # epochs of this run only (tf.keras).
        assert record["epochs"] == record["history_epochs"] == [3, 4, 5]
        assert record["iterations"] == ref_records[0]["iterations"]
        for name in ref_weights[0]:
            np.testing.assert_allclose(w[name], ref_weights[0][name], rtol=1e-6, atol=1e-7)
    assert not (out / "backup" / "rank0" / "chief").exists()  # deleted once fit completed


def test_an_unreadable_backup_fails_every_rank_without_a_hang(tmp_path):
    backup = tmp_path / "backup" / "rank0" / "chief"
    backup.mkdir(parents=True)
    (backup / "training_state.safetensors").write_bytes(b"\0" * 64)
    start = time.time()
    done, ended = _job(tmp_path)
    assert done.returncode != 0
    assert ended - start < 60
    output = done.stdout + done.stderr
    assert "BackupAndRestore: cannot restore the training state from" in output
    assert str(backup / "training_state.safetensors") in output
