"""The all-reduce cost model of docs/distributed.md: the time a data-parallel step spends
summing its gradients over N ranks, for the seed models and a ResNet50.

    python bench/distributed/cost_model.py                  # the doc's table (25 Gbit/s)
    python bench/distributed/cost_model.py --gbit 1 --latency-us 50 --ranks 4

A ring all-reduce of S bytes over N ranks sends and receives 2 (N - 1) / N * S bytes per
rank in 2 (N - 1) messages; the reduce-scatter + all-gather by recursive halving and doubling
(which MPICH picks for large messages) moves the same bytes in 2 log2(N) messages. With a link
of B bytes/s and a per-message latency a:

    ring:        T = 2 (N - 1) a      + 2 (N - 1) / N * S / B
    rabenseifner: T = 2 ceil(log2 N) a + 2 (N - 1) / N * S / B
"""

from __future__ import annotations

import argparse
import math

# Parameter counts (float32 gradients, 4 bytes each).
MODELS = {
    # functional guide's MNIST MLP: 784-64-64-10
    "seed MLP": 784 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10,
    # custom-layers guide's VAE: 784-64-32 encoder (mean and log-variance), 32-64-784 decoder
    "seed VAE": (784 * 64 + 64) + 2 * (64 * 32 + 32) + (32 * 64 + 64) + (64 * 784 + 784),
    "ResNet50": 25_557_032,
}


def ring_seconds(nbytes: float, ranks: int, bandwidth: float, latency: float) -> float:
    """A ring all-reduce's time: 2 (N - 1) messages, 2 (N - 1) / N of the bytes per rank."""
    if ranks == 1:
        return 0.0
    return 2 * (ranks - 1) * latency + 2 * (ranks - 1) / ranks * nbytes / bandwidth


def halving_doubling_seconds(nbytes: float, ranks: int, bandwidth: float,
                             latency: float) -> float:
    """Reduce-scatter by recursive halving, then all-gather by recursive doubling."""
    if ranks == 1:
        return 0.0
    return (2 * math.ceil(math.log2(ranks)) * latency
            + 2 * (ranks - 1) / ranks * nbytes / bandwidth)


def table(ranks: list[int], gbit: float, latency_us: float) -> str:
    """The predicted all-reduce time per step, in milliseconds, as a Markdown table."""
    bandwidth = gbit * 1e9 / 8
    latency = latency_us * 1e-6
    lines = [f"Link {gbit:g} Gbit/s, {latency_us:g} us per message; milliseconds per step "
             "(ring / halving-doubling)", "",
             "| model | gradient bytes | " + " | ".join(f"N={n}" for n in ranks) + " |",
             "|---|---:|" + "---:|" * len(ranks)]
    for name, params in MODELS.items():
        nbytes = 4 * params
        cells = [f"{ring_seconds(nbytes, n, bandwidth, latency) * 1e3:.3g} / "
                 f"{halving_doubling_seconds(nbytes, n, bandwidth, latency) * 1e3:.3g}"
                 for n in ranks]
        lines.append(f"| {name} | {nbytes / 1e6:.3g} MB | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[8, 64, 512])
    parser.add_argument("--gbit", type=float, default=25.0)
    parser.add_argument("--latency-us", type=float, default=10.0)
    args = parser.parse_args()
    print(table(args.ranks, args.gbit, args.latency_us))


if __name__ == "__main__":
    main()
