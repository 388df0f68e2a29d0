"""corten's row kernels against their own reference points, in one process (a comparison of
corten with itself; peers are in ``python -m corten.bench``):

    PYTHONPATH=python python bench/lab/row_kernels.py [--threads 1,2]

- linear: a Dense 64x64 . 64x784 with and without a bias, and the product alone (Note [Bias in
  the accumulators]), us;
- bfloat16 rows: negative, a bias add (8, 200, 2, 32) + (2, 32) and a full add, in bfloat16
  and float32 (Notes [Exact bfloat16 rounding], [Fused bfloat16 arithmetic rows]), and a cast
  of 64k values each way, us;
- exp past the underflow bound: a softmax over 12,800 rows of 200 with and without half of
  each row at -1e9, and a sigmoid over 512 x 512 values in range and saturated (scale 200)
  (vec::exp in csrc/cpu/vec_math.h), us.

Each figure is the median of repeated calls after a warm-up call. Run it at two commits to
compare them.
"""

from __future__ import annotations

import argparse

import corten as tf
import numpy as np
from corten.ops.linalg import linear, matmul
from mixed_precision_kernels import median_s  # this folder's timing helper


def median_us(fn, runs: int) -> float:
    return median_s(fn, runs) * 1e6


def cases(rng: np.random.Generator) -> list[tuple[str, object, int]]:
    x = tf.constant(rng.standard_normal((64, 64)).astype(np.float32))
    w = tf.constant(rng.standard_normal((64, 784)).astype(np.float32) * 0.1)
    b = tf.constant(rng.standard_normal(784).astype(np.float32))
    out: list[tuple[str, object, int]] = [
        ("linear 64x64.64x784 + bias", lambda: linear(x, w, b), 2000),
        ("linear 64x64.64x784, no bias", lambda: linear(x, w), 2000),
        ("matmul 64x64.64x784", lambda: matmul(x, w), 2000),
    ]
    for dtype in ("float32", "bfloat16"):
        a = tf.cast(tf.constant(rng.standard_normal((8, 200, 2, 32)).astype(np.float32)), dtype)
        c = tf.cast(tf.constant(rng.standard_normal((8, 200, 2, 32)).astype(np.float32)), dtype)
        bias = tf.cast(tf.constant(rng.standard_normal((2, 32)).astype(np.float32)), dtype)
        v = tf.cast(tf.constant(rng.standard_normal(65536).astype(np.float32)), dtype)
        out += [
            (f"{dtype} negative 64k", lambda v=v: tf.negative(v), 2000),
            (f"{dtype} add (8,200,2,32)+(2,32)", lambda a=a, bias=bias: a + bias, 2000),
            (f"{dtype} add (8,200,2,32)+(8,200,2,32)", lambda a=a, c=c: a + c, 2000),
        ]
    v32 = tf.constant(rng.standard_normal(65536).astype(np.float32))
    v16 = tf.cast(v32, "bfloat16")
    out += [
        ("cast float32 -> bfloat16 64k", lambda: tf.cast(v32, "bfloat16"), 2000),
        ("cast bfloat16 -> float32 64k", lambda: tf.cast(v16, "float32"), 2000),
    ]
    logits = rng.standard_normal((12800, 200)).astype(np.float32)
    masked = logits.copy()
    masked[:, 100:] = -1e9
    lt, mt = tf.constant(logits), tf.constant(masked)
    inside = tf.constant(rng.standard_normal((512, 512)).astype(np.float32))
    saturated = tf.constant((rng.standard_normal((512, 512)) * 200).astype(np.float32))
    out += [
        ("softmax 12800x200", lambda: tf.nn.softmax(lt), 20),
        ("softmax 12800x200, half of each row -1e9", lambda: tf.nn.softmax(mt), 20),
        ("sigmoid 512x512 in range", lambda: tf.sigmoid(inside), 100),
        ("sigmoid 512x512 saturated (scale 200)", lambda: tf.sigmoid(saturated), 100),
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", default="1,2", help="thread counts, comma-separated")
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    rng = np.random.default_rng(0)
    table = cases(rng)
    print(f"# corten {tf.__version__} | kernels {tf.config.get_cpu_isa()} | us, medians")
    print(f"{'case':45s} " + " ".join(f"{t} thr".rjust(10) for t in threads))
    results = {}
    for t in threads:
        tf.config.threading.set_intra_op_parallelism_threads(t)
        for name, fn, runs in table:
            results[(name, t)] = median_us(fn, runs)
    for name, _, _ in table:
        print(f"{name:45s} " + " ".join(f"{results[(name, t)]:10.1f}" for t in threads))


if __name__ == "__main__":
    main()
