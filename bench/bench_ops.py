"""The op and per-op overhead cases of the bench suite (see bench/README.md).

    python bench/bench_ops.py [--threads 1,2] [--rounds 5] [--json FILE] [--peer torch=PYTHON]

Same as ``python -m corten.bench --filter ops/,overhead/``: corten, numpy and PyTorch each in
a process of its own, alternated round by round.
"""

from __future__ import annotations

import sys

from corten.bench import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if not any(a == "--filter" or a.startswith("--filter=") for a in argv):
        argv = ["--filter", "ops/,overhead/", *argv]
    raise SystemExit(main(argv))
