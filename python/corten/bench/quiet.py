"""How busy the machine is, for benches on a shared machine: wait until it is idle, and measure
what other processes used while a timed turn ran. Linux only (``/proc``); elsewhere every
function says "unknown" (None, or no wait). Standard library only.

``bench/distributed_scaling.py`` has its own copy of the first two functions (its workers run
in peer interpreters that cannot import corten).
"""

from __future__ import annotations

import os
import resource
import time


def cpu_seconds() -> tuple[float, float] | None:
    """The CPU seconds the whole machine has spent busy since boot, and the seconds the
    hypervisor gave this machine's CPUs to others (steal), from /proc/stat's first line."""
    try:
        with open("/proc/stat") as f:
            user, nice, system, _idle, _iowait, irq, softirq, steal = (
                int(v) for v in f.readline().split()[1:9])
    except (OSError, ValueError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process `pid` (all its threads), from /proc/PID/stat."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # after the command: state is field 3, utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def wait_for_quiet(limit: float, cores: float = 0.1, window: float = 1.0) -> float:
    """Waits (at most `limit` seconds) until the machine spends less than `cores` CPUs busy
    over a `window` of seconds; returns the seconds waited (0 without /proc)."""
    start = time.perf_counter()
    if limit <= 0 or cpu_seconds() is None:
        return 0.0
    while True:
        busy = cpu_seconds()[0]
        time.sleep(window)
        if (cpu_seconds()[0] - busy) / window < cores or time.perf_counter() - start > limit:
            return time.perf_counter() - start


class OthersMeter:
    """The CPUs (busy CPU seconds per second of wall time) that processes other than this one
    and the worker `pid` used between :meth:`start` and :meth:`stop`: the machine's busy time
    less both processes' own."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid

    def start(self) -> None:
        self._t0 = time.perf_counter()
        self._machine = cpu_seconds()
        self._worker = None if self.pid is None else process_cpu_seconds(self.pid)
        self._self = _self_cpu_seconds()

    def stop(self) -> float | None:
        wall = time.perf_counter() - self._t0
        machine = cpu_seconds()
        worker = None if self.pid is None else process_cpu_seconds(self.pid)
        if machine is None or self._machine is None or worker is None or self._worker is None:
            return None
        own = (worker - self._worker) + (_self_cpu_seconds() - self._self)
        return max(machine[0] - self._machine[0] - own, 0.0) / max(wall, 1e-9)
