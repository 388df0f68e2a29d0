"""corten's data-parallel fit across shaped links (bench/distributed/netns_cluster.sh): samples/s
with the gradients summed during the backward pass and after it, and the all-reduce wait per
step against the bucket size. Run as root, after `netns_cluster.sh up N`:

    PYTHONPATH=python python3 bench/distributed/netns_sweep.py \
        --out bench/results/distributed-netns-DATE

With `DELAY_US=1000 netns_cluster.sh up N`, pass `--delay-us 1000`. Each configuration is one MPI
job, one rank per namespace, through `netns_cluster.sh run`; its
figures are rank 0's (distributed_scaling.py --worker corten): samples/s of the median timed
epoch, and per step the collectives started, the bytes reduced and the seconds spent waiting
for them (corten.distribute.experimental.communication_stats), next to what the cost model
(cost_model.py) predicts for the link.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import cost_model  # noqa: E402


def run_one(model: str, bytes_per_pack: int, overlap: bool, args: argparse.Namespace) -> dict:
    cmd = [str(HERE / "netns_cluster.sh"), "run", sys.executable,
           str(ROOT / "bench" / "distributed_scaling.py"), "--worker", "corten",
           "--model", model, "--samples", str(args.samples), "--batch", str(args.batch),
           "--epochs", str(args.epochs), "--warmup-epochs", "1",
           "--bytes-per-pack", str(bytes_per_pack)]
    if not overlap:
        cmd.append("--no-overlap")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                          check=False, env=dict(os.environ))
    records = [json.loads(line) for line in done.stdout.splitlines()
               if line.startswith("{") and '"library"' in line]
    if done.returncode != 0 or not records:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return records[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="mlp,vae")
    parser.add_argument("--buckets", default="0,65536,16384",
                        help="bytes_per_pack values (0: the default, 25 MiB)")
    parser.add_argument("--samples", type=int, default=8192)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--gbit", type=float, default=1.0, help="the tbf rate, for the model")
    parser.add_argument("--latency-us", type=float, default=50.0,
                        help="per-message latency of the links themselves, for the model")
    parser.add_argument("--delay-us", type=float, default=0.0,
                        help="the DELAY_US the cluster was brought up with (added to the "
                             "model's per-message latency)")
    parser.add_argument("--timeout", type=int, default=900)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    ranks = len([n for n in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                           text=True, check=True).stdout.split()
                 if n.startswith("ns") and n[2:].isdigit()])
    if ranks < 2:
        raise SystemExit("netns_sweep.py: run `bench/distributed/netns_cluster.sh up N` first")
    rows = []
    for model in args.models.split(","):
        params = cost_model.MODELS["seed MLP" if model == "mlp" else "seed VAE"]
        predicted = cost_model.ring_seconds(4 * params, ranks, args.gbit * 1e9 / 8,
                                            (args.latency_us + args.delay_us) * 1e-6)
        configs = [(int(b), True) for b in args.buckets.split(",")] + [(0, False)]
        for bytes_per_pack, overlap in configs:
            record = run_one(model, bytes_per_pack, overlap, args)
            per_step = record.get("per_step", {})
            rows.append({"model": model, "ranks": ranks, "bytes_per_pack": bytes_per_pack,
                         "overlap": overlap, "samples_per_s": record["samples_per_s"],
                         "collectives_per_step": per_step.get("collectives"),
                         "bytes_per_step": per_step.get("bytes"),
                         "wait_ms_per_step": 1e3 * per_step.get("wait_seconds", float("nan")),
                         "model_ring_ms": 1e3 * predicted, "record": record})
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "record"}), flush=True)
    header = (f"# Data-parallel fit across shaped links  {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n"
              f"# {ranks} ranks, one per network namespace (netns_cluster.sh: veth + tbf "
              f"{args.gbit:g} Gbit/s, {args.delay_us:g} us added to every packet by netdelay), "
              f"UCX over TCP; "
              f"{platform.machine()} with {os.cpu_count()} CPUs, so {ranks} ranks share them\n"
              f"# {args.samples} synthetic rows, global batch {args.batch}, median of "
              f"{args.epochs} epochs after 1 warm-up; wait = seconds per step spent waiting for "
              f"collectives (communication not hidden); model = cost_model.ring_seconds at "
              f"{args.gbit:g} Gbit/s and {args.latency_us + args.delay_us:g} us per message\n")
    lines = [header, f"{'model':6} {'bucket':>9} {'overlap':>7} {'samples/s':>10} "
             f"{'coll/step':>9} {'KB/step':>8} {'wait ms/step':>12} {'model ms':>9}"]
    for r in rows:
        bucket = "25 MiB" if r["bytes_per_pack"] == 0 else f"{r['bytes_per_pack'] // 1024} KiB"
        lines.append(f"{r['model']:6} {bucket:>9} {str(r['overlap']):>7} "
                     f"{r['samples_per_s'] / 1e3:>9.1f}k {r['collectives_per_step']:>9.2f} "
                     f"{r['bytes_per_step'] / 1e3:>8.1f} {r['wait_ms_per_step']:>12.3f} "
                     f"{r['model_ring_ms']:>9.3f}")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out + ".txt").write_text(text)
        Path(args.out + ".json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
