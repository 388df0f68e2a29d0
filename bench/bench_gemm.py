"""The GEMM cases of the bench suite, with GFLOP/s and % of peak (see bench/README.md).

    python bench/bench_gemm.py [--ghz 3.4] [--load] [--threads 1,2] [--json FILE]

Same as ``python -m corten.bench --filter gemm/``: corten, numpy and PyTorch each in a process
of its own at 1 and 2 threads, results checked against numpy in float64 first. % peak is the
best GFLOP/s over threads x 2 FMA units x float32 lanes of corten's kernel ISA (avx512: 16,
avx2: 8) x 2 flops x --ghz, the clock the cores really run at under FMA load. --load runs a
busy-looping process beside the bench, so one core is taken.
"""

from __future__ import annotations

import sys

from corten.bench import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if not any(a == "--filter" or a.startswith("--filter=") for a in argv):
        argv = ["--filter", "gemm/", *argv]
    raise SystemExit(main(argv))
