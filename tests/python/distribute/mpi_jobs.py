"""What the MPI tests share: the mpirun of this environment, the skip when there is none, and
the environment of a job's ranks (this checkout's corten first on the path)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from corten import distribute


def _mpirun():
    for candidate in (os.path.join(os.path.dirname(sys.executable), "mpirun"),
                      shutil.which("mpirun")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


MPIRUN = _mpirun()
needs_mpi = pytest.mark.skipif(
    MPIRUN is None or distribute.mpi_library() is None,
    reason="MPI is not installed (pip install 'corten[distributed]' installs MPICH)")


def env(**extra):
    """The environment of an mpirun job: one BLAS thread per rank, and this checkout's corten
    when it is built in place."""
    out = dict(os.environ)
    out.setdefault("OPENBLAS_NUM_THREADS", "1")
    root = str(Path(__file__).parents[3] / "python")
    if os.path.isdir(os.path.join(root, "corten", "lib")):
        out["PYTHONPATH"] = os.pathsep.join([root, out.get("PYTHONPATH", "")])
    out.update(extra)
    return out


def run(argv, worker, out, timeout):
    """Runs ``argv + [worker, out]`` (a job, or one process) and returns each rank's JSON record
    and arrays, which the worker writes to ``out/rank{i}.json`` and ``.npz``."""
    out.mkdir(parents=True)
    done = subprocess.run([*argv, worker, str(out)], env=env(), capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    ranks = sorted(out.glob("rank*.json"))
    return ([json.loads(p.read_text()) for p in ranks],
            [dict(np.load(out / f"rank{i}.npz")) for i in range(len(ranks))])
