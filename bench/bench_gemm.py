"""GEMM benchmark: corten vs numpy (and PyTorch if installed), same process, same inputs.

    PYTHONPATH=python python3 bench/bench_gemm.py [--repeat 7] [--filter mlp] [--load]
                                                  [--threads 1,2] [--json out.json]

Every case first checks that the libraries agree (float32: |c - ref| <= 1e-4 * |a| @ |b|),
then times them interleaved (round r times corten, numpy, torch once each, so machine noise
hits all three alike) and prints the median of the rounds. Small cases time a loop of calls
per round (Python call overhead included, as a user sees it). Thread counts: corten via
corten.config.threading, numpy via threadpoolctl when installed ('default' otherwise), torch
via torch.set_num_threads.

--load starts a busy-looping Python process beside the benchmark for the whole run, so one
core is taken: dynamic scheduling should keep the all-threads time at or below the 1-thread
time.

How to read the table: ratio columns are other_time / corten_time (> 1: corten faster).
% peak is GFLOP/s over threads x 2 FMA units x SIMD lanes of the kernel ISA (avx512: 16 float32 /
8 float64, avx2: 8 / 4) x 2 flops x the clock: --ghz, else 'cpu MHz' from /proc/cpuinfo (often
the nominal clock, which turbo exceeds: then % peak can pass 100). Give --ghz the clock the
cores really run at under FMA load where you know it.
"""

from __future__ import annotations

import os

# PyTorch threads spin after each op by default and would steal the second core from the
# library timed next (interleaved rounds); corten.bench sets the same.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# So do OpenBLAS's (numpy's) workers: after each call they spin for 2^28 TSC ticks (~0.1 s)
# before sleeping, holding the second core through the next library's round. Measured on
# 2 cores, 512^2 float32 at 2 threads: corten 1.06 ms alone, 1.68 ms right after numpy calls
# (no speed-up over 1 thread), 1.04 ms with the spin cut to 2^4 ticks. 2^18 ticks (~0.1 ms,
# the order of corten's own pool spin, Note [Pool spinning]) keeps each library's threads warm
# through its own round and frees the cores between rounds; numpy's 2-thread times for the
# small MLP products are then its best (2^4: its workers sleep between calls and pay a wake-up
# each time). Read when OpenBLAS loads: set before numpy is imported.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "18")

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import corten as tf  # noqa: E402
from corten.ops.linalg import linear  # noqa: E402

try:
    import threadpoolctl
except ImportError:  # pragma: no cover - optional
    threadpoolctl = None
try:
    import torch
except ImportError:  # pragma: no cover - optional
    torch = None


# --- machine description ----------------------------------------------------------------------

def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def cpu_mhz() -> float:
    mhz = []
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("cpu MHz"):
                mhz.append(float(line.split(":", 1)[1]))
    if mhz:
        return max(mhz)
    with contextlib.suppress(Exception):
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if "MHz" in line:
                return float(line.split(":", 1)[1])
    return 0.0


def commit() -> str:
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    with contextlib.suppress(Exception):
        sha = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    return "unknown"


def numpy_blas() -> str:
    if threadpoolctl is None:
        return "unknown (threadpoolctl not installed)"
    info = [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    if not info:
        return "unknown"
    i = info[0]
    return f"{i.get('internal_api')} {i.get('version')} kernel={i.get('architecture')}"


@contextlib.contextmanager
def threads(n: int | None):
    """n threads for all three libraries (None: each library's default)."""
    prev_c = tf.config.threading.get_intra_op_parallelism_threads()
    prev_t = torch.get_num_threads() if torch is not None else None
    tf.config.threading.set_intra_op_parallelism_threads(n or 0)
    if torch is not None:
        torch.set_num_threads(n or os.cpu_count() or 1)
    limiter = (threadpoolctl.threadpool_limits(n, user_api="blas")
               if threadpoolctl is not None and n else contextlib.nullcontext())
    try:
        with limiter:
            yield
    finally:
        tf.config.threading.set_intra_op_parallelism_threads(prev_c)
        if torch is not None:
            torch.set_num_threads(prev_t)


# --- cases -------------------------------------------------------------------------------------

def make_case(name, m, n, k, dtype="float32", ta=False, tb=False, fused=None):
    """C (m, n) = op(A) . op(B); ta/tb: the operand is stored transposed."""
    return {"name": name, "m": m, "n": n, "k": k, "dtype": dtype, "ta": ta, "tb": tb,
            "fused": fused}


CASES = [
    make_case("square", 256, 256, 256), make_case("square", 512, 512, 512),
    make_case("square", 1024, 1024, 1024), make_case("square", 2048, 2048, 2048),
    make_case("mlp fwd", 64, 64, 784), make_case("mlp fwd", 64, 64, 64),
    make_case("mlp fwd", 64, 10, 64),
    make_case("mlp dW=X^T.G", 784, 64, 64, ta=True), make_case("mlp dX=G.W^T", 64, 784, 64, tb=True),
    make_case("dense relu", 64, 64, 784, fused="relu"),
    make_case("square f64", 512, 512, 512, "float64"), make_case("square f64", 1024, 1024, 1024, "float64"),
]


def shape_str(c):
    a = f"({c['k']}x{c['m']})^T" if c["ta"] else f"{c['m']}x{c['k']}"
    b = f"({c['n']}x{c['k']})^T" if c["tb"] else f"{c['k']}x{c['n']}"
    return f"{a} . {b}" + (f" +b,{c['fused']}" if c["fused"] else "")


def build(c, rng):
    dt = np.dtype(c["dtype"])
    a = rng.standard_normal((c["m"], c["k"])).astype(dt)
    b = rng.standard_normal((c["k"], c["n"])).astype(dt)
    bias = rng.standard_normal((c["n"],)).astype(dt)
    a_st = np.ascontiguousarray(a.T) if c["ta"] else a  # stored operands
    b_st = np.ascontiguousarray(b.T) if c["tb"] else b
    ta, tb = c["ta"], c["tb"]
    ca, cb, cbias = tf.constant(a_st), tf.constant(b_st), tf.constant(bias)
    fns = {}
    if c["fused"]:
        fns["corten"] = lambda: linear(ca, cb, cbias, c["fused"])
        fns["numpy"] = lambda: np.maximum(a_st @ b_st + bias, 0)
        if torch is not None:
            ta_, tb_, tbias = torch.from_numpy(a_st), torch.from_numpy(b_st), torch.from_numpy(bias)
            fns["torch"] = lambda: torch.relu(torch.addmm(tbias, ta_, tb_))
        ref = np.maximum(a.astype(np.float64) @ b.astype(np.float64) + bias, 0)
    else:
        fns["corten"] = lambda: tf.matmul(ca, cb, transpose_a=ta, transpose_b=tb)
        fns["numpy"] = lambda: (a_st.T if ta else a_st) @ (b_st.T if tb else b_st)
        if torch is not None:
            ta_, tb_ = torch.from_numpy(a_st), torch.from_numpy(b_st)
            fns["torch"] = lambda: (ta_.T if ta else ta_) @ (tb_.T if tb else tb_)
        ref = a.astype(np.float64) @ b.astype(np.float64)
    scale = np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64)) + np.abs(bias)
    return fns, ref, scale


def check(fns, ref, scale, dtype):
    eps = 1e-4 if dtype == "float32" else 1e-10
    for lib, fn in fns.items():
        out = fn()
        out = out.numpy() if hasattr(out, "numpy") else np.asarray(out)
        err = np.abs(out.astype(np.float64) - ref)
        if not np.all(err <= eps * scale + 1e-30):
            raise SystemExit(f"{lib} disagrees with the float64 reference: max err {err.max()}")


def time_libs(fns, repeat):
    """Median seconds per call of each function, rounds interleaved across libraries."""
    # Calls per sample: enough for ~2 ms per sample.
    number = {}
    for lib, fn in fns.items():
        fn()
        t0 = time.perf_counter()
        fn()
        dt = max(time.perf_counter() - t0, 1e-7)
        number[lib] = max(1, int(0.002 / dt))
    samples = {lib: [] for lib in fns}
    for _ in range(repeat):
        for lib, fn in fns.items():
            n = number[lib]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            samples[lib].append((time.perf_counter() - t0) / n)
    return {lib: float(np.median(s)) for lib, s in samples.items()}


# --- main --------------------------------------------------------------------------------------

def start_load():
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=7, help="timed rounds per case (>= 5)")
    p.add_argument("--filter", default="", help="only cases whose name or shape contains this")
    p.add_argument("--threads", default=None,
                   help="comma-separated thread counts (default: 1 and all cores)")
    p.add_argument("--load", action="store_true", help="run beside a busy-looping process")
    p.add_argument("--json", default=None, help="also write the results to this file")
    p.add_argument("--ghz", type=float, default=None,
                   help="core clock for %% peak (default: 'cpu MHz' of /proc/cpuinfo)")
    args = p.parse_args(argv)
    repeat = max(5, args.repeat)
    ncpu = os.cpu_count() or 1
    thread_counts = ([int(t) for t in args.threads.split(",")] if args.threads
                     else sorted({1, ncpu}))

    mhz = args.ghz * 1e3 if args.ghz else cpu_mhz()
    clock_src = "--ghz" if args.ghz else "'cpu MHz', /proc/cpuinfo"
    lanes = 16 if tf.config.get_cpu_isa() == "avx512" else 8  # float32 lanes per FMA
    peak = {"float32": ncpu * 2 * lanes * 2 * mhz / 1e3,
            "float64": ncpu * 2 * (lanes // 2) * 2 * mhz / 1e3}
    header = {
        "cpu": cpu_model(), "cores": ncpu, "cpu_mhz": mhz, "clock_source": clock_src,
        "commit": commit(),
        "isa": tf._C.gemm_info("float32")["isa"],
        "gemm_float32": tf._C.gemm_info("float32"), "gemm_float64": tf._C.gemm_info("float64"),
        "numpy": f"{np.__version__} ({numpy_blas()})",
        "torch": torch.__version__ if torch is not None else "not installed",
        "threadpoolctl": threadpoolctl is not None,
        "openblas_env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                    "OPENBLAS_THREAD_TIMEOUT")
                         if k in os.environ},
        "loadavg_before": os.getloadavg(), "load": args.load, "repeat": repeat, "python": platform.python_version(),
    }
    lines = [
        f"# bench_gemm  commit {header['commit']}  {header['cpu']}  {ncpu} cores  isa={header['isa']}",
        f"# peak (all cores) = {ncpu} cores x 2 FMA units x {lanes} float32 lanes x 2 flops x"
        f" {mhz:.0f} MHz ({clock_src}) = {peak['float32']:.1f} GFLOP/s float32,"
        f" {peak['float64']:.1f} float64; per-thread peak = that / {ncpu}",
        f"# corten float32 {header['gemm_float32']}",
        f"# corten float64 {header['gemm_float64']}",
        f"# load average before the run {header['loadavg_before']} (other processes share this"
        " machine)",
        f"# numpy {header['numpy']}  torch {header['torch']}  OPENBLAS env {header['openblas_env']}",
        f"# medians of {repeat} interleaved rounds; ratio = other time / corten time"
        + ("; numpy threads shown as 'default' (no threadpoolctl)" if threadpoolctl is None else "")
        + ("  ** under load: a busy process occupies one core **" if args.load else ""),
    ]
    for line in lines:
        print(line, flush=True)
    cols = ("case", "shape", "dtype", "thr", "corten ms", "numpy ms", "torch ms", "GFLOP/s",
            "% peak", "np/corten", "torch/corten")
    fmt = "{:<13} {:<28} {:<7} {:>4} {:>10} {:>9} {:>9} {:>8} {:>7} {:>9} {:>12}"
    print(fmt.format(*cols), flush=True)
    lines.append(fmt.format(*cols))

    load = start_load() if args.load else None
    results = []
    rng = np.random.default_rng(0)
    try:
        if load is not None:
            time.sleep(0.5)
        for c in CASES:
            if args.filter and args.filter not in c["name"] and args.filter not in shape_str(c):
                continue
            fns, ref, scale = build(c, rng)
            check(fns, ref, scale, c["dtype"])
            flops = 2.0 * c["m"] * c["n"] * c["k"]
            for th in thread_counts:
                with threads(th):
                    t = time_libs(fns, repeat)
                gf = flops / t["corten"] / 1e9
                pk = 100.0 * gf / (peak[c["dtype"]] * th / ncpu) if mhz else float("nan")
                row = {**c, "shape": shape_str(c), "threads": th,
                       "numpy_threads": th if threadpoolctl is not None else "default",
                       "corten_ms": t["corten"] * 1e3, "numpy_ms": t["numpy"] * 1e3,
                       "torch_ms": t["torch"] * 1e3 if "torch" in t else None,
                       "gflops": gf, "pct_peak": pk,
                       "np_over_corten": t["numpy"] / t["corten"],
                       "torch_over_corten": t["torch"] / t["corten"] if "torch" in t else None}
                results.append(row)
                line = fmt.format(
                    c["name"], shape_str(c), c["dtype"], th, f"{row['corten_ms']:.4f}",
                    f"{row['numpy_ms']:.4f}",
                    f"{row['torch_ms']:.4f}" if row["torch_ms"] is not None else "-",
                    f"{gf:.1f}", f"{pk:.0f}%", f"{row['np_over_corten']:.2f}",
                    f"{row['torch_over_corten']:.2f}" if row["torch_over_corten"] else "-")
                print(line, flush=True)
                lines.append(line)
    finally:
        if load is not None:
            load.kill()
            load.wait()
    if args.load and len(thread_counts) > 1:
        lo, hi = min(thread_counts), max(thread_counts)
        print(f"# under load: time at {hi} threads / time at {lo} thread(s) (<= 1: no slowdown)")
        for lib in ("corten", "numpy", "torch"):
            rs = []
            for r in results:
                if r["threads"] != hi or r.get(f"{lib}_ms") is None:
                    continue
                base = next(x for x in results if x["threads"] == lo and x["name"] == r["name"]
                            and x["shape"] == r["shape"] and x["dtype"] == r["dtype"])
                rs.append(f"{r['shape']}: {r[f'{lib}_ms'] / base[f'{lib}_ms']:.2f}")
            print(f"#   {lib}: " + ", ".join(rs))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"header": header, "results": results}, f, indent=1, default=str)


if __name__ == "__main__":
    main()
