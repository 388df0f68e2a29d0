"""The bench's table and JSON record, from the runner's measurements."""

from __future__ import annotations

import statistics
from dataclasses import asdict
from typing import Any

from corten.bench.peers.cases import BY_KEY, Case
from corten.bench.runner import Measurement

#: float32 lanes of one FMA per kernel ISA, for % of peak (two FMA units per core).
_LANES = {"avx512": 16, "avx2": 8, "baseline": 4}


def _fmt_ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    ms = seconds * 1e3
    return f"{ms:.5f}" if ms < 0.1 else f"{ms:.4f}" if ms < 10 else f"{ms:.2f}"


def _per_unit(case: Case, seconds: float | None) -> float | None:
    return None if seconds is None else seconds / case.steps


def best(ms: list[Measurement]) -> Measurement | None:
    """The measurement with the lowest time among `ms` (a library's best thread count)."""
    timed = [m for m in ms if m.seconds is not None]
    return min(timed, key=lambda m: m.seconds) if timed else None


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in rows]


def format_case(case: Case, ms: list[Measurement], versions: dict[str, str],
                thread_counts: list[int], ghz: float | None, isa: str | None) -> list[str]:
    """One block: a row per library, its time at each thread count, its best, and the ratio
    of its time to corten's (above 1: corten faster) at the most threads and at each one's
    best thread count."""
    unit = "ms per step" if case.unit == "step" else "ms per call"
    head = f"## {case.key}  ({unit}"
    head += ", samples/s at best)" if case.samples else ")"
    lines = [head] + ([f"#  {case.note}"] if case.note else [])
    top = max(thread_counts)
    hdr = ["library", "version"] + [f"{t} thr" for t in thread_counts]
    hdr += ["best (thr)", f"vs corten at {top} thr", "vs corten at best"]
    if case.samples:
        hdr.append("samples/s")
    if case.flops:
        hdr.append("GFLOP/s")
        if ghz and isa:
            hdr.append("% peak")
    if case.bytes_moved:
        hdr.append("GB/s")
    rows = [hdr]
    by_lib: dict[str, list[Measurement]] = {}
    for m in ms:
        by_lib.setdefault(m.library, []).append(m)
    ref = by_lib.get("corten", [])
    ref_best = best(ref)
    ref_top = next((m for m in ref if m.threads == top and m.seconds is not None), None)
    for lib in case.libraries:
        if lib not in versions:
            continue  # not selected for this run
        mine = by_lib.get(lib)
        if not mine:
            rows.append([lib, versions[lib]] + ["-"] * (len(hdr) - 2))
            continue
        per_thr = {m.threads: m for m in mine}
        row = [lib, versions.get(lib, "?")]
        for t in thread_counts:
            m = per_thr.get(t)
            if m is None:
                row.append("-")
            elif m.error:
                row.append("failed")
            else:
                row.append(_fmt_ms(_per_unit(case, m.seconds)))
        b = best(mine)
        if b is None:
            row += ["-", "-", "-"]
        else:
            row.append(f"{_fmt_ms(_per_unit(case, b.seconds))} ({b.threads})")
            top_m = per_thr.get(top)
            row.append("-" if ref_top is None or top_m is None or top_m.seconds is None
                       else f"{top_m.seconds / ref_top.seconds:.2f}x")
            row.append("-" if ref_best is None else f"{b.seconds / ref_best.seconds:.2f}x")
        if case.samples:
            row.append("-" if b is None else f"{case.samples / b.seconds / 1e3:.1f}k")
        if case.flops:
            gf = None if b is None else case.flops / b.seconds / 1e9
            row.append("-" if gf is None else f"{gf:.1f}")
            if ghz and isa:
                peak = b.threads * 2 * _LANES.get(isa, 4) * 2 * ghz if b else None
                row.append("-" if not peak else f"{100 * gf / peak:.0f}%")
        if case.bytes_moved:
            row.append("-" if b is None else f"{case.bytes_moved / b.seconds / 1e9:.0f}")
        rows.append(row)
    lines += _table(rows)
    for m in ms:
        if m.error:
            lines.append(f"#  {m.library} at {m.threads} thr failed: {m.error.splitlines()[0]}")
    others = [o for m in ms for o in m.others if o is not None]
    if others:
        rerun = sum(m.rerun for m in ms)
        lines.append(f"#  other processes during the timed turns: median "
                     f"{statistics.median(others):.2f} CPUs, most {max(others):.2f}"
                     + (f"; {rerun} turn(s) timed again" if rerun else ""))
    return lines


def versions_of(hellos: dict[tuple[str, int], dict[str, Any]]) -> dict[str, str]:
    out = {}
    for (lib, _), h in hellos.items():
        if h.get("available"):
            out[lib] = str(h.get("version"))
        else:
            out.setdefault(lib, str(h.get("why", "not installed")).split("\n")[0][:60])
    return out


def format_report(env: dict[str, Any], ms: list[Measurement], thread_counts: list[int],
                  ghz: float | None) -> str:
    lines = [
        f"# corten bench  {env['date']}  commit {env['commit']}  mode {env['mode']}",
        f"# CPU {env['cpu']} ({env['logical_cpus']} logical CPUs)  Python {env['python']}",
    ]
    for lib, h in env["libraries"].items():
        desc = h.get("version") if h.get("available") else h.get("why")
        extra = h.get("extra") or {}
        lines.append(f"#   {lib}: {desc}" + "".join(f", {k} {v}" for k, v in extra.items())
                     + (f"  [{h['interpreter']}]" if h.get("interpreter") else ""))
    lines.append(f"# times: median over {env['rounds']} rounds (each the median of "
                 f"{env['repeats']} samples) of each library in its own process, processes "
                 "alternated round by round; 'vs corten' = that library's time / corten's "
                 "(above 1: corten faster)")
    if env.get("quiet_wait_s") or env.get("max_others_cpus") is not None:
        lines.append(f"# shared machine: each turn waited up to {env.get('quiet_wait_s', 0):g} s "
                     "for other processes to fall below 0.1 CPU"
                     + ("" if env.get("max_others_cpus") is None else
                        f"; a turn during which they used more than {env['max_others_cpus']:g} "
                        f"CPUs was timed again (up to {env.get('retries')} times)"))
    versions = versions_of(env["hellos"])
    isa = next((h.get("extra", {}).get("kernel_isa") for (lib, _), h in env["hellos"].items()
                if lib == "corten" and h.get("available")), None)
    order = list(BY_KEY)
    keys = sorted({m.case for m in ms}, key=order.index)
    for key in keys:
        lines.append("")
        lines += format_case(BY_KEY[key], [m for m in ms if m.case == key], versions,
                             thread_counts, ghz, isa)
    return "\n".join(lines)


def to_json(env: dict[str, Any], ms: list[Measurement]) -> dict[str, Any]:
    env = dict(env)
    env["hellos"] = [{"library": lib, "threads": thr, **h}
                     for (lib, thr), h in env["hellos"].items()]
    results = []
    for m in ms:
        case = BY_KEY[m.case]
        d = asdict(m)
        d["seconds_per_call"] = m.seconds
        d["ms_per_" + case.unit] = None if m.seconds is None else m.seconds / case.steps * 1e3
        d["round_spread"] = (None if len(m.rounds) < 2
                             else statistics.pstdev(m.rounds) / statistics.mean(m.rounds))
        results.append(d)
    return {"environment": env, "results": results}
