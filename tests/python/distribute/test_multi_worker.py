"""MultiWorkerMirroredStrategy over MPI processes (mpirun -np 2 and 4 on this machine): N ranks
with the global batch split between them train to the same weights as one process with the
whole batch, with fit (SGD, Adam) and with a custom loop (strategy.run, strategy.reduce); every
rank ends with the same weights and history."""

import subprocess
import sys
import time
from pathlib import Path

import mpi_jobs
import numpy as np
import pytest

WORKER = str(Path(__file__).parent / "mpi_worker.py")


MPIRUN = mpi_jobs.MPIRUN
pytestmark = mpi_jobs.needs_mpi


def _run(argv, out):
    return mpi_jobs.run(argv, WORKER, out, timeout=240)


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    return _run([sys.executable], tmp_path_factory.mktemp("one") / "out")


@pytest.mark.parametrize("ranks", [2, 4])
def test_ranks_train_as_one_process_with_the_global_batch(tmp_path, one_process, ranks):
    (single,), (single_weights,) = one_process
    assert single["replicas"] == 1
    records, weights = _run([MPIRUN, "-np", str(ranks), sys.executable], tmp_path / "out")
    assert [r["rank"] for r in records] == list(range(ranks))
    assert all(r["replicas"] == ranks for r in records)
    for r, w in zip(records[1:], weights[1:], strict=True):
        # Every rank holds the same weights and logs the same history.
        for key in ("sgd_loss", "adam_loss", "loop_loss", "sgd_evaluate", "adam_evaluate"):
            assert r[key] == records[0][key]
        for name in w:
            np.testing.assert_array_equal(w[name], weights[0][name])
    for key in ("sgd_loss", "adam_loss", "loop_loss"):
        np.testing.assert_allclose(records[0][key], single[key], rtol=1e-6)
    # The gradients were summed during the backward pass (fit traces its step once, the custom
    # loop runs eagerly), in one bucket or in several, or after it: the same training.
    assert all(r["overlapped_steps"] >= 2 for r in records)
    for name in ("buckets", "no_overlap"):
        np.testing.assert_allclose(records[0][f"{name}_loss"], single["sgd_loss"], rtol=1e-6)
        for i in range(4):
            np.testing.assert_allclose(weights[0][f"{name}_{i}"], single_weights[f"sgd_{i}"],
                                       rtol=1e-6, atol=1e-7)
    # Saved models, checkpoints and weights files come from rank 0 only.
    out = tmp_path / "out"
    assert sorted(p.name for p in out.glob("*rank*.*") if p.suffix != ".json" and
                  p.suffix != ".npz") == ["ckpt_rank0.keras", "weights_rank0.safetensors"]
    for key in ("sgd_evaluate", "adam_evaluate"):
        # evaluate's metrics sum every rank's counts, so an uneven split gives the global
        # figure (loss and accuracy over the 50 rows).
        assert sorted(records[0][key]) == ["accuracy", "loss"]
        for metric, value in single[key].items():
            np.testing.assert_allclose(records[0][key][metric], value, rtol=1e-6)
    for name, value in single_weights.items():
        np.testing.assert_allclose(weights[0][name], value, rtol=1e-6, atol=1e-7)


def test_a_hung_rank_fails_the_job_within_the_timeout_naming_it():
    start = time.monotonic()
    done = subprocess.run([MPIRUN, "-np", "3", sys.executable,
                           str(Path(__file__).parent / "hang_worker.py"), "2"],
                          env=mpi_jobs.env(), capture_output=True, text=True, timeout=120,
                          check=False)
    elapsed = time.monotonic() - start
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-3000:]
    assert "rank(s) 1 never reached it" in output, output[-3000:]
    assert "on rank 0 waited over 2 s" in output, output[-3000:]
    # 2 s of timeout, the job's start and its abort; the hung rank sleeps 20 s.
    assert elapsed < 15, (elapsed, output[-3000:])
