"""The worker side of the bench: one library in one process, driven over stdin/stdout.

Each peer script (``corten_peer.py``, ``torch_peer.py``, ...) runs in the interpreter of the
library it times, which need not have corten installed, so this module imports nothing but the
standard library (and numpy, to save outputs for the parent's correctness check). The parent
(``corten.bench.runner``) starts one process per (library, thread count), sends one JSON
request per line, and reads one JSON reply per line:

    -> {"op": "setup", "case": "ops/exp 1M", "inputs": [paths], "data": dir, "out": path|null}
    <- {"ok": true, "calls": 64, "info": {...}}          (output saved to "out" when given)
    -> {"op": "time", "case": "ops/exp 1M", "repeats": 5}
    <- {"ok": true, "seconds": [per-call seconds of each sample]}
    -> {"op": "quit"}

The first line a worker writes is its hello: ``{"library", "version", "threads", "cases",
"available", "why", "extra"}``. The library runs as imported: the only setting a peer changes
is its thread count, through the library's own API.

Note [Protocol channel]: the replies go to a private duplicate of the original stdout, and
file descriptor 1 is pointed at stderr, so whatever a library prints (progress bars, compiler
logs) cannot corrupt the protocol.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

#: Shortest duration of one timed sample; a sample repeats the call until it lasts this long.
MIN_SAMPLE_SECONDS = 0.02


class Peer:
    """One library's implementation of the cases it supports.

    Subclasses set ``library`` and ``version`` and implement :meth:`setup`.
    """

    library = "?"
    version = "?"

    def __init__(self, threads: int, options: argparse.Namespace) -> None:
        self.threads = threads
        self.options = options

    def cases(self) -> list[str]:
        """The case keys this peer can run."""
        raise NotImplementedError

    def setup(self, case: str, inputs: list[Any], data: str | None) -> Callable[[], Any]:
        """Builds the zero-argument callable that one timed call runs."""
        raise NotImplementedError

    def to_numpy(self, value: Any) -> Any:
        """The callable's result as a numpy array (for the correctness check)."""
        import numpy as np

        return np.asarray(value)

    def extra(self) -> dict[str, Any]:
        """Anything the report should say about this library's configuration."""
        return {}

    def sync(self) -> None:
        """Waits for the work the library has queued (a GPU's): called before reading the clock
        at the end of each sample, so that asynchronous launches are timed in full."""


def _no_sync() -> None:
    pass


def calibrate(fn: Callable[[], Any], min_time: float = MIN_SAMPLE_SECONDS,
              sync: Callable[[], None] = _no_sync) -> int:
    """Calls per sample so that one sample lasts at least `min_time` seconds."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        sync()
        if time.perf_counter() - t0 >= min_time:
            return n
        n *= 2


def samples(fn: Callable[[], Any], calls: int, repeats: int,
            sync: Callable[[], None] = _no_sync) -> list[float]:
    """Per-call seconds of `repeats` samples of `calls` calls each, after one untimed call
    (which wakes the library's threads up after the other processes' turns)."""
    fn()
    sync()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        sync()
        out.append((time.perf_counter() - t0) / calls)
    return out


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def load_training_data(data: str) -> dict[str, Any]:
    """The training arrays the parent wrote: x (float32, N x 784) and y (int64, N)."""
    import numpy as np

    return {k: np.load(os.path.join(data, f"{k}.npy"), allow_pickle=False) for k in ("x", "y")}


def _load_inputs(paths: list[str]) -> list[Any]:
    import numpy as np

    return [np.load(p, allow_pickle=False) for p in paths]


def serve(make_peer: Callable[[int, argparse.Namespace], Peer],
          add_arguments: Callable[[argparse.ArgumentParser], None] | None = None) -> None:
    """Runs the request loop for the peer that `make_peer(threads, options)` builds."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, required=True)
    if add_arguments is not None:
        add_arguments(parser)
    options = parser.parse_args()
    # Note [Protocol channel].
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(obj: dict[str, Any]) -> None:
        channel.write(json.dumps(obj) + "\n")
        channel.flush()

    try:
        peer = make_peer(options.threads, options)
    except ImportError as e:
        send({"available": False, "why": f"not installed ({e})", "threads": options.threads})
        return
    except Exception as e:  # a broken install: report it instead of dying silently
        send({"available": False, "why": f"{type(e).__name__}: {e}", "threads": options.threads})
        return
    send({"available": True, "library": peer.library, "version": peer.version,
          "threads": options.threads, "cases": peer.cases(), "extra": peer.extra(),
          "pid": os.getpid()})
    fns: dict[str, tuple[Callable[[], Any], int]] = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        if req.get("op") == "quit":
            send({"ok": True})
            return
        send(handle(peer, fns, req))


def handle(peer: Peer, fns: dict[str, tuple[Callable[[], Any], int]],
           req: dict[str, Any]) -> dict[str, Any]:
    """Answers one setup or time request (`fns` keeps the built cases between requests)."""
    op = req.get("op")
    try:
        if op == "setup":
            fn = peer.setup(req["case"], _load_inputs(req.get("inputs") or []), req.get("data"))
            first = fn()  # compiles / warms up; its result is the one checked
            info: dict[str, Any] = {}
            if req.get("out"):
                import numpy as np

                np.save(req["out"], peer.to_numpy(first), allow_pickle=False)
            elif isinstance(first, (int, float)):
                info["result"] = float(first)
            fns[req["case"]] = (fn, calibrate(fn, sync=peer.sync))
            return {"ok": True, "calls": fns[req["case"]][1], "info": info}
        if op == "time":
            fn, calls = fns[req["case"]]
            return {"ok": True,
                    "seconds": samples(fn, calls, int(req["repeats"]), sync=peer.sync)}
        return {"ok": False, "error": f"unknown request {op!r}"}
    except Exception as e:
        return {"ok": False, "error": f"{type(e).__name__}: {e}",
                "traceback": traceback.format_exc(limit=8)}
