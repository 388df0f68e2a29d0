"""The bench's process runner: every library in a process of its own, alternated over rounds.

A :class:`PeerSpec` is how to start one library's worker (an interpreter, a script from
``peers/`` and its arguments). :func:`run` starts one worker per (library, thread count),
builds each case in every worker that supports it, then runs rounds: in each round every
worker, in turn (A, B, C, A, B, C, ...), times the case while the others wait idle on their
pipe. A worker's figure is the median over rounds of its per-round median, so a burst of load
on a shared machine hits every library alike, and no library's threads (OpenMP workers
spinning after a parallel region, BLAS threads) share a process with another's.

The runner itself does no timing and imports no library under test; see
``peers/protocol.py`` for the worker side and the message format.
"""

from __future__ import annotations

import collections
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from corten.bench import quiet

#: Seconds a worker may take to start (import its library) or to build a case (torch.compile
#: and jit compile there).
STARTUP_TIMEOUT = 300.0
SETUP_TIMEOUT = 900.0
TIME_TIMEOUT = 900.0


@dataclass(frozen=True)
class PeerSpec:
    """How to start one library's worker; ``--threads N`` is appended."""

    library: str
    argv: tuple[str, ...]


class Channel(Protocol):
    hello: dict[str, Any]

    def request(self, msg: dict[str, Any], timeout: float) -> dict[str, Any]: ...

    def close(self) -> None: ...


class WorkerError(RuntimeError):
    pass


class ProcessWorker:
    """One worker process, spoken to one JSON line at a time.

    Two threads drain the worker's stdout (replies, into a queue) and stderr (kept for error
    messages), so a chatty library can never fill a pipe and stall.
    """

    def __init__(self, spec: PeerSpec, threads: int) -> None:
        self.spec, self.threads = spec, threads
        self.proc = subprocess.Popen([*spec.argv, "--threads", str(threads)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self._replies: queue.Queue[str | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=20)
        self._drains = [
            threading.Thread(target=self._drain, args=(self.proc.stdout, self._replies.put, True),
                             daemon=True),
            threading.Thread(target=self._drain, args=(self.proc.stderr, self._stderr.append,
                                                       False), daemon=True)]
        for t in self._drains:
            t.start()
        try:
            self.hello = self._read(STARTUP_TIMEOUT)
        except WorkerError as e:
            self.hello = {"available": False, "why": str(e)}

    @staticmethod
    def _drain(stream, put: Callable[[Any], None], mark_end: bool) -> None:
        for line in stream:
            put(line)
        if mark_end:
            put(None)

    def _read(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._replies.get(timeout=timeout)
        except queue.Empty:
            raise WorkerError(f"{self.spec.library}: no reply in {timeout:.0f} s") from None
        if line is None:
            self.proc.wait()
            tail = "".join(list(self._stderr)[-5:]).strip()
            raise WorkerError(f"{self.spec.library}: worker exited with code "
                              f"{self.proc.returncode}" + (f": {tail}" if tail else ""))
        return json.loads(line)

    def request(self, msg: dict[str, Any], timeout: float) -> dict[str, Any]:
        if self.proc.poll() is not None:
            raise WorkerError(f"{self.spec.library}: worker is not running")
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        return self._read(timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.request({"op": "quit"}, 10)
            except (WorkerError, OSError, ValueError):
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for t in self._drains:
            t.join(timeout=5)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            f.close()


@dataclass
class Job:
    """One case to run: its key and what its setup request carries besides op and case."""

    key: str
    setup: Callable[[str, int], dict[str, Any]] = lambda library, threads: {}
    #: Called with (library, threads, setup reply); returns an error string to skip timing.
    check: Callable[[str, int, dict[str, Any]], str | None] = lambda lib, thr, reply: None


@dataclass
class Measurement:
    case: str
    library: str
    threads: int
    #: Per-round medians of the seconds per call.
    rounds: list[float] = field(default_factory=list)
    calls_per_sample: int = 0
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    #: Per kept round: the CPUs other processes used during the turn (None where unknown).
    others: list[float | None] = field(default_factory=list)
    #: Turns timed again because other processes used more than ``max_others`` CPUs.
    rerun: int = 0

    @property
    def seconds(self) -> float | None:
        return statistics.median(self.rounds) if self.rounds else None


@dataclass
class RunResult:
    #: Per (library, threads): the worker's hello (version, extra) or why it is unavailable.
    hellos: dict[tuple[str, int], dict[str, Any]]
    measurements: list[Measurement]


def run(workers: Iterable[tuple[str, int, Channel]], jobs: list[Job], rounds: int,
        repeats: int, settle: float = 0.2, log: Callable[[str], None] = lambda s: None,
        quiet_wait: float = 0.0, max_others: float | None = None, retries: int = 3
        ) -> RunResult:
    """Runs `jobs` on `workers` (each given as (library, threads, channel)), alternating the
    workers round by round; `settle` seconds of quiet before each worker's turn let the
    previous worker's threads go to sleep.

    On a shared machine: with `quiet_wait` > 0, each turn first waits (at most that many
    seconds) for the machine to go idle; every turn records the CPUs that other processes
    used while it ran, and with `max_others` a turn during which they used more is timed
    again, up to `retries` times (the last try is kept)."""
    pool = list(workers)
    hellos = {(lib, thr): ch.hello for lib, thr, ch in pool}
    ready = [(lib, thr, ch) for lib, thr, ch in pool if ch.hello.get("available")]
    results: list[Measurement] = []
    for job in jobs:
        active = []
        for lib, thr, ch in ready:
            if job.key not in ch.hello.get("cases", ()):
                continue
            m = Measurement(job.key, lib, thr)
            results.append(m)
            reply = _ask(ch, m, {"op": "setup", "case": job.key, **job.setup(lib, thr)},
                         SETUP_TIMEOUT)
            if reply is None:
                log(f"# {job.key} [{lib}, {thr} thr]: {m.error}")
                continue
            m.calls_per_sample, m.info = reply["calls"], reply.get("info", {})
            m.error = job.check(lib, thr, reply)
            if m.error is None:
                active.append((ch, m))
        for _r in range(rounds):
            for ch, m in active:
                if m.error is not None:
                    continue
                meter = quiet.OthersMeter(ch.hello.get("pid"))
                for attempt in range(retries + 1):
                    quiet.wait_for_quiet(quiet_wait)
                    time.sleep(settle)
                    meter.start()
                    reply = _ask(ch, m, {"op": "time", "case": job.key, "repeats": repeats},
                                 TIME_TIMEOUT)
                    others = meter.stop()
                    if reply is None:
                        break
                    if (max_others is None or others is None or others <= max_others
                            or attempt == retries):
                        m.rounds.append(statistics.median(reply["seconds"]))
                        m.others.append(others)
                        break
                    m.rerun += 1
                    log(f"# {job.key} [{m.library}, {m.threads} thr]: others used "
                        f"{others:.2f} CPUs, timed again")
        log(f"# done {job.key}")
    return RunResult(hellos, results)


def _ask(ch: Channel, m: Measurement, msg: dict[str, Any], timeout: float
         ) -> dict[str, Any] | None:
    """The worker's reply, or None with the failure recorded in `m.error`."""
    try:
        reply = ch.request(msg, timeout)
    except WorkerError as e:
        m.error = str(e)
        return None
    if not reply.get("ok"):
        m.error = reply.get("error", f"{msg['op']} failed")
        return None
    return reply


def start_workers(specs: Iterable[PeerSpec], thread_counts: Iterable[int],
                  log: Callable[[str], None] = lambda s: None
                  ) -> list[tuple[str, int, ProcessWorker]]:
    """One worker process per (spec, thread count), started in that order."""
    out = []
    for spec in specs:
        for thr in thread_counts:
            w = ProcessWorker(spec, thr)
            log(f"# {spec.library} ({thr} thr): "
                + (f"{w.hello.get('version')}" if w.hello.get("available")
                   else f"unavailable, {w.hello.get('why')}"))
            out.append((spec.library, thr, w))
    return out


def busy_loop() -> subprocess.Popen:
    """A process that keeps one core busy (the --load option)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
