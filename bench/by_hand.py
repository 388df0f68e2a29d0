"""Times one library's training case by hand, alone on the machine: the cross-check of the
bench's process runner (its figures must agree with these within run-to-run noise).

    python bench/by_hand.py corten [--threads 2] [--epochs 20] [--case "fit MLP"]
    ~/peers/torch/bin/python bench/by_hand.py torch --threads 2

Run it with the interpreter of the library named. It builds the case with the same peer
script the bench uses, then times `--epochs` epochs back to back with perf_counter: no
runner, no other process, no rounds. Prints the median ms per step and samples/s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

PEERS = Path(__file__).resolve().parents[1] / "python" / "corten" / "bench" / "peers"
sys.path.insert(0, str(PEERS))

import cases  # noqa: E402

CLASSES = {"corten": ("corten_peer", "CortenPeer", {}),
           "torch": ("torch_peer", "TorchPeer", {"compile": False}),
           "torch.compile": ("torch_peer", "TorchPeer", {"compile": True}),
           "keras3-torch": ("keras3_peer", "Keras3Peer", {"backend": "torch"}),
           "keras3-jax": ("keras3_peer", "Keras3Peer", {"backend": "jax"}),
           "tf.keras": ("tfkeras_peer", "TfKerasPeer", {})}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("library", choices=sorted(CLASSES))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--case", default="fit MLP")
    p.add_argument("--data", default=None,
                   help="folder with x.npy and y.npy (default: written from corten's bundled "
                        "MNIST subset, which needs corten in this interpreter)")
    args = p.parse_args()
    case = next(c for c in cases.TRAINING if args.case in c.key)
    data = args.data
    if data is None:
        import numpy as np
        from corten.keras.datasets import mnist_small

        (x, y), _ = mnist_small.load_data()
        data = tempfile.mkdtemp()
        n = cases.N_SAMPLES
        np.save(Path(data) / "x.npy", x[:n].reshape(n, 784).astype(np.float32) / 255)
        np.save(Path(data) / "y.npy", y[:n].astype(np.int64))
    module, cls, opts = CLASSES[args.library]
    peer = getattr(__import__(module), cls)(args.threads, argparse.Namespace(**opts))
    epoch = peer.setup(case.key, [], data)
    epoch()
    epoch()
    times = []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        epoch()
        times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    print(f"{args.library} {peer.version}, {args.threads} threads, {case.key}: "
          f"{sec / case.steps * 1e3:.4f} ms/step, {case.samples / sec / 1e3:.1f}k samples/s "
          f"(median of {args.epochs} epochs)")


if __name__ == "__main__":
    main()
