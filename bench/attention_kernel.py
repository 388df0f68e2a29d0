"""The fused attention kernel, forward + backward, beside PyTorch's
torch.nn.functional.scaled_dot_product_attention on CPU.

    python bench/attention_kernel.py [--torch /work/peers/torch/bin/python] [--seq 128,512]
        [--threads 1,2] [--rounds 3]

Batch 32, d_model 256 in 8 heads of 32, self-attention (Tq = Tk = seq), float32, no mask or
dropout. corten gets (B, T, H, D), the layout of MultiHeadAttention's projections; PyTorch its
own (B, H, T, D). A step is the output and the gradients of q, k and v for a fixed output
gradient (corten through GradientTape, PyTorch through backward()). Each library runs in its own
process, started from its own interpreter with no environment variable set for it; the thread
count is set through the library's API. Processes alternate round by round; a library's figure
is the median over rounds of the median of 5 timed steps after 2 warm-up steps, and the table
shows each library's best thread count.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH, HEADS, DEPTH = 32, 8, 32


def _inputs(seq):
    import numpy as np

    rng = np.random.default_rng(0)
    q, k, v, dy = (rng.standard_normal((BATCH, seq, HEADS, DEPTH)).astype("float32")
                   for _ in range(4))
    return q, k, v, dy


def worker(lib, seq, threads, steps=5, warmup=2):
    q, k, v, dy = _inputs(seq)
    if lib == "corten":
        import corten as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        qs, ks, vs, g = (tf.constant(t) for t in (q, k, v, dy))

        def step():
            with tf.GradientTape() as tape:
                tape.watch([qs, ks, vs])
                y = tf.nn.scaled_dot_product_attention(qs, ks, vs)
            grads = tape.gradient(y, [qs, ks, vs], output_gradients=g)
            return y.numpy(), [t.numpy() for t in grads]
    else:
        import torch

        torch.set_num_threads(threads)
        qs, ks, vs, g = (torch.from_numpy(t.transpose(0, 2, 1, 3).copy()) for t in (q, k, v, dy))
        for t in (qs, ks, vs):
            t.requires_grad_(True)

        def step():
            for t in (qs, ks, vs):
                t.grad = None
            y = torch.nn.functional.scaled_dot_product_attention(qs, ks, vs)
            y.backward(g)
            return y.detach().numpy(), [t.grad.numpy() for t in (qs, ks, vs)]

    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker")
    ap.add_argument("--torch", default="/work/peers/torch/bin/python")
    ap.add_argument("--seq", default="128,512")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if args.worker:
        lib, seq, threads = args.worker.split(":")
        print(json.dumps(worker(lib, int(seq), int(threads))))
        return
    root = os.path.dirname(HERE)
    env_corten = dict(os.environ, PYTHONPATH=os.path.join(root, "python"))
    env_torch = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    interp = {"corten": (sys.executable, env_corten), "torch": (args.torch, env_torch)}
    seqs = [int(s) for s in args.seq.split(",")]
    counts = [int(t) for t in args.threads.split(",")]
    results = {}
    for _ in range(args.rounds):
        for seq in seqs:
            for n in counts:
                for lib in ("corten", "torch"):
                    exe, env = interp[lib]
                    out = subprocess.run([exe, __file__, "--worker", f"{lib}:{seq}:{n}"],
                                         env=env, check=True, capture_output=True, text=True)
                    results.setdefault((lib, seq, n), []).append(json.loads(out.stdout))
    print(f"attention fwd+bwd, batch {BATCH}, {HEADS} heads x {DEPTH}, float32, ms (median)")
    print("seq | corten 1t | corten 2t | torch 1t | torch 2t | torch best / corten best")
    for seq in seqs:
        row = {(lib, n): statistics.median(results[(lib, seq, n)]) * 1e3
               for lib in ("corten", "torch") for n in counts}
        best = {lib: min(row[(lib, n)] for n in counts) for lib in ("corten", "torch")}
        cells = " | ".join(f"{row[(lib, n)]:.1f}" for lib in ("corten", "torch") for n in counts)
        print(f"{seq} | {cells} | {best['torch'] / best['corten']:.2f}x")


if __name__ == "__main__":
    main()
