"""``python -m corten.bench``: corten against its peers, each library in a process of its own.

See bench/README.md for how to install the peers and how to read the table.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from corten.bench import report, runner
from corten.bench.peers import cases as case_table

PEERS_DIR = Path(__file__).resolve().parent / "peers"

#: library -> (script, its arguments, the --peer name that gives its interpreter)
PEERS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "corten": ("corten_peer.py", (), "corten"),
    "corten.function": ("corten_peer.py", ("--function",), "corten"),
    "corten.mixed_bfloat16": ("corten_peer.py", ("--policy", "mixed_bfloat16"), "corten"),
    "numpy": ("numpy_peer.py", (), "corten"),
    "torch": ("torch_peer.py", (), "torch"),
    "torch.compile": ("torch_peer.py", ("--compile",), "torch"),
    "keras3-torch": ("keras3_peer.py", ("--backend", "torch"), "keras3"),
    "keras3-jax": ("keras3_peer.py", ("--backend", "jax"), "keras3"),
    "tf.keras": ("tfkeras_peer.py", (), "tfkeras"),
    "tf.keras.mixed_bfloat16": ("tfkeras_peer.py", ("--policy", "mixed_bfloat16"), "tfkeras"),
}


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _commit() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True, cwd=here, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, cwd=here, timeout=10).stdout
        return sha + ("+dirty" if dirty.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def interpreters(peer_args: list[str]) -> dict[str, str]:
    """--peer NAME=PYTHON pairs; NAME is a library or the group name in PEERS."""
    out: dict[str, str] = {}
    names = set(PEERS) | {g for _, _, g in PEERS.values()}
    for item in peer_args:
        name, sep, path = item.partition("=")
        if not sep or name not in names:
            raise SystemExit(f"--peer takes NAME=PYTHON with NAME one of {sorted(names)}; "
                             f"got {item!r}")
        out[name] = path
    return out


#: The libraries a GPU run times, and the --device argument each peer takes for the GPU.
GPU_PEERS = {"corten": "GPU", "torch": "cuda", "torch.compile": "cuda"}


def peer_specs(libraries: list[str], pythons: dict[str, str],
               device: str = "CPU") -> list[runner.PeerSpec]:
    specs = []
    for lib in libraries:
        script, extra, group = PEERS[lib]
        python = pythons.get(lib) or pythons.get(group) or sys.executable
        if device == "GPU":
            extra = (*extra, "--device", GPU_PEERS[lib])
        specs.append(runner.PeerSpec(lib, (python, str(PEERS_DIR / script), *extra)))
    return specs


def _training_data(folder: Path) -> None:
    from corten.keras.datasets import mnist_small

    (x, y), _ = mnist_small.load_data()
    n = case_table.N_SAMPLES
    np.save(folder / "x.npy", x[:n].reshape(n, 784).astype(np.float32) / 255)
    np.save(folder / "y.npy", y[:n].astype(np.int64))


def _inputs(case: case_table.Case) -> list[np.ndarray]:
    rng = np.random.default_rng(zlib.crc32(case.key.encode()))
    out = []
    for i in case.inputs:
        if np.dtype(i.dtype).kind in "iu":
            out.append(rng.integers(0, i.high, i.shape).astype(i.dtype))
        elif i.positive:
            out.append((np.abs(rng.standard_normal(i.shape)) + 0.5).astype(i.dtype))
        else:
            out.append((rng.standard_normal(i.shape) * i.scale).astype(i.dtype))
    return out


def plan(selected: list[case_table.Case], folder: Path) -> list[runner.Job]:
    """Writes the inputs and data the cases need into `folder`; one job per case. A kernel
    case's result from every library is checked against numpy in float64 before timing."""
    if any(not c.calls for c in selected):
        _training_data(folder)
    jobs = []
    for n, case in enumerate(selected):
        if not case.calls:  # training and inference cases: the peer builds model and data
            jobs.append(runner.Job(case.key, lambda lib, thr: {"data": str(folder)}))
            continue
        arrays = _inputs(case)
        paths = []
        for j, a in enumerate(arrays):
            paths.append(str(folder / f"in-{n}-{j}.npy"))
            np.save(paths[-1], a)
        jobs.append(runner.Job(case.key, *_kernel_hooks(case, arrays, paths, folder, n)))
    return jobs


def _kernel_hooks(case, arrays, paths, folder, n):
    as64 = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays]
    ref = None
    if case.tol is not None:
        with np.errstate(all="ignore"):
            ref = np.asarray(case.calls["numpy"](np, *as64))

    def out_path(lib, thr):
        return str(folder / f"out-{n}-{lib}-{thr}.npy")

    def setup(lib, thr):
        return {"inputs": paths, "out": out_path(lib, thr)}

    def check(lib, thr, reply):
        got = np.load(out_path(lib, thr), allow_pickle=False)
        if case.tol is None:
            return None
        if got.shape != ref.shape:
            return f"result shape {got.shape} differs from numpy's {ref.shape}"
        rtol, atol = case.tol
        if not np.allclose(got, ref, rtol=rtol, atol=atol):
            err = np.max(np.abs(got.astype(np.float64) - ref))
            return f"result disagrees with numpy's float64 reference (max abs error {err:.3g})"
        return None

    return setup, check


class InProcessChannel:
    """A peer object in this process behind the runner's channel interface (--in-process)."""

    def __init__(self, peer: Any) -> None:
        import protocol  # peers/ is on sys.path in this mode

        self._protocol = protocol
        self.peer = peer
        self.fns: dict[str, Any] = {}
        self.hello = {"available": True, "library": peer.library, "version": peer.version,
                      "threads": peer.threads, "cases": peer.cases(), "extra": peer.extra()}

    def request(self, msg: dict[str, Any], timeout: float) -> dict[str, Any]:
        return self._protocol.handle(self.peer, self.fns, msg)

    def close(self) -> None:
        self.fns.clear()


def _in_process_workers(libraries: list[str]) -> list[tuple[str, int, Any]]:
    sys.path.insert(0, str(PEERS_DIR))
    import argparse as _argparse

    out = []
    for lib in libraries:
        if lib not in ("corten", "numpy", "torch"):
            continue
        module = __import__(PEERS[lib][0][:-3])
        cls = {"corten": "CortenPeer", "numpy": "NumpyPeer", "torch": "TorchPeer"}[lib]
        try:
            peer = getattr(module, cls)(1, _argparse.Namespace(compile=False))
            out.append((lib, 1, InProcessChannel(peer)))
        except ImportError as e:
            out.append((lib, 1, _Unavailable(f"not installed ({e})")))
    return out


class _Unavailable:
    def __init__(self, why: str) -> None:
        self.hello = {"available": False, "why": why}

    def request(self, msg, timeout):  # pragma: no cover - never called for unavailable peers
        raise runner.WorkerError(self.hello["why"])

    def close(self) -> None:
        pass


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="corten-bench",
        description="Times corten against numpy, PyTorch, torch.compile, Keras 3 and tf.keras, "
                    "each in a process of its own at its own defaults (bench/README.md).")
    p.add_argument("--filter", default="",
                   help="comma-separated substrings of the case key, e.g. 'training,ops/exp'")
    p.add_argument("--libraries", default="",
                   help=f"comma-separated subset of {', '.join(PEERS)} (default: all)")
    p.add_argument("--peer", action="append", default=[], metavar="NAME=PYTHON",
                   help="the interpreter of a peer: torch, keras3, tfkeras (groups) or a "
                        "library name; default: this interpreter")
    p.add_argument("--threads", default="",
                   help="comma-separated thread counts (default: 1 and all logical CPUs)")
    p.add_argument("--device", choices=("CPU", "GPU"), default="CPU",
                   help="where corten and PyTorch run the cases (GPU: corten and PyTorch only, "
                        "with the GPU-sized cases of the gpu group)")
    p.add_argument("--rounds", type=int, default=5, help="rounds alternating the processes")
    p.add_argument("--repeats", type=int, default=3, help="timed samples per round (median)")
    p.add_argument("--settle", type=float, default=0.2,
                   help="seconds of quiet before each process's turn")
    p.add_argument("--quiet-wait", type=float, default=0.0, metavar="SECONDS",
                   help="before each turn, wait at most this long for the machine to go idle "
                        "(other processes below 0.1 CPU over a second; default 0: no wait)")
    p.add_argument("--max-others", type=float, default=None, metavar="CPUS",
                   help="time a turn again (--retries times) when other processes used more "
                        "CPUs than this while it ran (default: never)")
    p.add_argument("--retries", type=int, default=3, help="see --max-others")
    p.add_argument("--in-process", action="store_true",
                   help="quick look: corten, numpy and torch in this one process at 1 thread "
                        "(kernel cases only; labelled as such)")
    p.add_argument("--load", action="store_true", help="run beside a busy-looping process")
    p.add_argument("--ghz", type=float, default=None, help="core clock, for %% of peak")
    p.add_argument("--json", metavar="FILE", help="also write the record as JSON to FILE")
    p.add_argument("--verbose", action="store_true", help="print progress to stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.repeats < 1 or args.rounds < 1:
        raise SystemExit("--repeats and --rounds must be >= 1")
    on_gpu = args.device == "GPU"
    known = list(GPU_PEERS) if on_gpu else list(PEERS)
    libraries = [x for x in args.libraries.split(",") if x] or known
    unknown = [x for x in libraries if x not in known]
    if unknown:
        raise SystemExit(f"unknown libraries {unknown} for --device {args.device}; "
                         f"choose from {known}")
    thread_counts = ([int(t) for t in args.threads.split(",") if t] if args.threads
                     else sorted({1, os.cpu_count() or 1}))
    # The GPU-sized cases run only on the GPU; every other case runs on either device.
    selected = [c for c in case_table.select(args.filter)
                if any(lib in libraries for lib in c.libraries)
                and (on_gpu or c.group != case_table.GPU_GROUP)]
    if args.in_process:
        selected = [c for c in selected if c.calls]
        thread_counts = [1]
    if not selected:
        raise SystemExit(f"no case matches --filter {args.filter!r}")
    needed = [lib for lib in libraries if any(lib in c.libraries for c in selected)]

    def log(msg: str) -> None:
        if args.verbose:
            print(msg, file=sys.stderr, flush=True)

    pythons = interpreters(args.peer)
    started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    commit = _commit()  # before the run: files edited while it runs do not count
    load = runner.busy_loop() if args.load else None
    with tempfile.TemporaryDirectory(prefix="corten-bench-") as tmp:
        jobs = plan(selected, Path(tmp))
        if args.in_process:
            workers = _in_process_workers(needed)
        else:
            workers = runner.start_workers(peer_specs(needed, pythons, args.device),
                                           thread_counts, log)
        try:
            result = runner.run(workers, jobs, args.rounds, args.repeats,
                                0.0 if args.in_process else args.settle, log,
                                quiet_wait=args.quiet_wait, max_others=args.max_others,
                                retries=args.retries)
        finally:
            for _, _, w in workers:
                w.close()
            if load is not None:
                load.kill()
                load.wait()
    specs = {s.library: s for s in peer_specs(needed, pythons, args.device)}
    libs_env: dict[str, Any] = {}
    for (lib, _), h in result.hellos.items():
        if lib not in libs_env or (h.get("available") and not libs_env[lib].get("available")):
            libs_env[lib] = {**h, "interpreter": None if args.in_process else specs[lib].argv[0]}
    env = {
        "date": started, "commit": commit, "cpu": _cpu_model(), "logical_cpus": os.cpu_count(),
        "python": platform.python_version(), "platform": platform.platform(),
        "mode": ("in-process, 1 thread (quick look: libraries share this process)"
                 if args.in_process else "per-process"),
        "rounds": args.rounds, "repeats": args.repeats, "settle_s": args.settle,
        "thread_counts": thread_counts, "filter": args.filter, "load": args.load,
        "quiet_wait_s": args.quiet_wait, "max_others_cpus": args.max_others,
        "retries": args.retries,
        "device": args.device,
        "libraries": libs_env, "hellos": result.hellos,
    }
    print(report.format_report(env, result.measurements, thread_counts, args.ghz))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report.to_json(env, result.measurements), f, indent=1)
            f.write("\n")
    return 0
