"""The bench runner: case registry, timing, environment header, table and JSON output."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

# PyTorch's OpenMP workers spin after each parallel region by default; on a small machine they
# steal the cores corten's (and numpy's) threads need while the other library is timed. Must be
# set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# OpenBLAS's (numpy's) workers spin for 2^28 TSC ticks (~0.1 s) after each call, holding a core
# through the next library's round; 2^18 (~0.1 ms) frees it between rounds and keeps numpy's
# threads warm within its own (bench/bench_gemm.py has the measurements). OpenBLAS reads this
# when it loads, before this module runs (corten imports numpy): main() re-executes the process
# with it set when it is missing.
_QUIET_BLAS = {"OPENBLAS_THREAD_TIMEOUT": "18"}

import numpy as np  # noqa: E402

import corten as tf  # noqa: E402


def _import_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


@dataclass
class Case:
    """One benchmark: the same computation in corten, numpy and (optionally) PyTorch.

    Each callable takes no arguments (inputs are bound in closures). ``check`` compares the
    corten result with numpy's before timing (rtol, atol); None skips the check.
    """

    group: str
    name: str
    shape: str
    corten: Callable[[], Any]
    numpy: Callable[[], Any] | None = None
    torch: Callable[[], Any] | None = None
    dtype: str = "float32"
    check: tuple[float, float] | None = (2e-4, 1e-4)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    group: str
    case: str
    shape: str
    dtype: str
    corten_ms: float
    numpy_ms: float | None
    torch_ms: float | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def vs_numpy(self) -> float | None:
        return None if self.numpy_ms is None else self.numpy_ms / self.corten_ms

    @property
    def vs_torch(self) -> float | None:
        return None if self.torch_ms is None else self.torch_ms / self.corten_ms


Provider = Callable[[argparse.Namespace], Iterable[Case]]
_REGISTRY: dict[str, Provider] = {}


def register(group: str, provider: Provider) -> None:
    """Adds (or replaces) the case provider of `group`."""
    _REGISTRY[group] = provider


def _load_builtin_groups() -> None:
    from corten.bench import gemm, ops, overhead, training  # noqa: F401  (self-registering)


def time_call(fn: Callable[[], Any], repeats: int, min_time: float = 0.02) -> float:
    """Median seconds per call over `repeats` runs, each of enough calls to last `min_time`."""
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - t0 > min_time:
            break
        n *= 2
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n)
    return statistics.median(samples)


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().numpy()
    return np.asarray(x)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _commit() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True, cwd=here, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, cwd=here, timeout=10).stdout
        return out + ("+dirty" if dirty.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment(torch) -> dict[str, Any]:
    threads = tf.config.threading.get_intra_op_parallelism_threads()
    return {
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "threads": threads,
        "kernel_isa": tf.config.get_cpu_isa(),
        "commit": _commit(),
        "corten": tf.__version__,
        "numpy": np.__version__,
        "torch": None if torch is None else torch.__version__,
        "torch_threads": None if torch is None else torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "openblas_thread_timeout": os.environ.get("OPENBLAS_THREAD_TIMEOUT"),
    }


def run(args: argparse.Namespace, out=sys.stdout) -> tuple[dict[str, Any], list[Result]]:
    """Runs every registered case whose group or name contains `args.filter`."""
    torch = None if args.no_torch else _import_torch()
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    args.torch = torch
    env = environment(torch)
    _load_builtin_groups()
    results: list[Result] = []
    filters = [f for f in args.filter.split(",") if f] if args.filter else []
    for group, provider in _REGISTRY.items():
        for case in provider(args):
            label = f"{case.group}/{case.name}"
            if filters and not any(f in label or f in case.shape for f in filters):
                continue
            results.append(_run_case(case, args, torch is not None))
            if args.verbose:
                print(f"# done {label} {case.shape}", file=out, flush=True)
    # Results a provider measured itself (gemm.py's run(args) contract).
    for r in getattr(args, "precomputed", []):
        if not filters or any(f in f"{r.group}/{r.case}" or f in r.shape for f in filters):
            results.append(r)
    return env, results


def _run_case(case: Case, args: argparse.Namespace, have_torch: bool) -> Result:
    if case.check is not None and case.numpy is not None:
        rtol, atol = case.check
        np.testing.assert_allclose(_to_numpy(case.corten()), _to_numpy(case.numpy()), rtol=rtol,
                                   atol=atol, err_msg=f"{case.group}/{case.name}")
    # Interleave the libraries run by run, so that a burst of load on a shared machine hits
    # them alike; each reported time is the median of the runs.
    fns = {"corten": case.corten, "numpy": case.numpy,
           "torch": case.torch if have_torch else None}
    samples: dict[str, list[float]] = {k: [] for k, f in fns.items() if f is not None}
    for _ in range(args.rounds):
        for k in samples:
            samples[k].append(time_call(fns[k], args.repeats))
    med = {k: statistics.median(v) * 1e3 for k, v in samples.items()}
    return Result(case.group, case.name, case.shape, case.dtype, med["corten"], med.get("numpy"),
                  med.get("torch"), dict(case.extra))


def _fmt_ms(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.5f}" if v < 0.1 else f"{v:.4f}" if v < 10 else f"{v:.2f}"


def _fmt_ratio(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}x"


def format_table(env: dict[str, Any], results: list[Result], args: argparse.Namespace) -> str:
    lines = [
        f"# corten {env['corten']} commit {env['commit']} | kernels {env['kernel_isa']} | "
        f"threads {env['threads']} (of {env['logical_cpus']} logical CPUs) | CPU {env['cpu']}",
        f"# numpy {env['numpy']} | torch {env['torch'] or 'not installed'}"
        + (f" ({env['torch_threads']} threads)" if env["torch"] else "")
        + f" | Python {env['python']} | {env['platform']}"
        + f" | OPENBLAS_THREAD_TIMEOUT={env.get('openblas_thread_timeout') or 'unset'}",
        f"# times: median of {args.rounds} rounds x {args.repeats} runs (each >= 20 ms of calls); "
        "ratio = other time / corten time (> 1: corten faster)",
    ]
    header = ["case", "shape", "dtype", "corten ms", "numpy ms", "torch ms", "corten/numpy",
              "corten/torch"]
    rows = [header]
    for r in results:
        name = f"{r.group}/{r.case}"
        rows.append([name, r.shape, r.dtype, _fmt_ms(r.corten_ms), _fmt_ms(r.numpy_ms),
                     _fmt_ms(r.torch_ms), _fmt_ratio(r.vs_numpy), _fmt_ratio(r.vs_torch)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        lines.append(" | ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    extras = [r for r in results if r.extra]
    for r in extras:
        lines.append(f"# {r.group}/{r.case} {r.shape}: "
                     + ", ".join(f"{k}={v}" for k, v in r.extra.items()))
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="corten-bench",
        description="Times corten against numpy and PyTorch (when installed) in one process.")
    p.add_argument("--filter", default="",
                   help="comma-separated substrings of 'group/case' or shape (e.g. 'ops/add,overhead')")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per round (median)")
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds, interleaving the libraries (median over rounds of the medians)")
    p.add_argument("--threads", type=int, default=0,
                   help="intra-op threads for corten and torch (0: the library default)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    p.add_argument("--no-torch", action="store_true", help="do not import PyTorch")
    p.add_argument("--verbose", action="store_true", help="print progress")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if argv is None and any(k not in os.environ for k in _QUIET_BLAS):
        # From the command line: start again with OpenBLAS's spin cut (see _QUIET_BLAS).
        env = {**_QUIET_BLAS, **os.environ}
        os.execve(sys.executable, [sys.executable, "-m", "corten.bench", *sys.argv[1:]], env)
    if args.repeats < 1 or args.rounds < 1:
        raise SystemExit("--repeats and --rounds must be >= 1")
    env, results = run(args)
    print(format_table(env, results, args))
    if args.json:
        payload = {
            "environment": env,
            "settings": {"repeats": args.repeats, "rounds": args.rounds, "filter": args.filter,
                         "threads": args.threads},
            "results": [dict(asdict(r), corten_over_numpy=r.vs_numpy, corten_over_torch=r.vs_torch)
                        for r in results],
        }
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=2)
            f.write("\n")
    return 0

