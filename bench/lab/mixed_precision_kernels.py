"""corten's bfloat16 kernels against its float32 ones, and the two attention paths, in one
process (a comparison of corten with itself; peers are in ``python -m corten.bench``):

    PYTHONPATH=python python bench/lab/mixed_precision_kernels.py [--threads 1,2] [--only SECTIONS]

(CORTEN_CPU_AMX=0 in the environment compares the VDPBF16PS kernels on a CPU with AMX.)

- matmul: GFLOP/s of the bfloat16 GEMM (Note [bfloat16 GEMM]) and the float32 one;
- conv: forward, dx and dw of the toy ResNet's convolutions at batch 64, bfloat16
  (Note [bfloat16 convolution]) and float32, ms;
- attention: scaled_dot_product_attention forward+backward, batch 32, 8 heads of 32,
  Tq = Tk = T, kernel="tiled" and kernel="direct" (Note [Direct attention for few keys]), us;
  and the tiled kernels on bfloat16 (Note [bfloat16 attention]) against float32, forward and
  forward+backward, at the transformer classifier's shape (2 heads of 32, T = 200) and
  MultiHeadAttention's bench shapes (8 heads of 32, T = 128 and 512), ms;
- cast: float32 <-> bfloat16 of 1M values, us.

Each figure is the median of repeated calls after a warm-up call.
"""

from __future__ import annotations

import argparse
import statistics
import time

import corten as tf
import ml_dtypes
import numpy as np
from corten.ops.linalg import matmul
from corten.ops.nn import scaled_dot_product_attention as sdpa

C = tf._C
BF16 = ml_dtypes.bfloat16


def median_s(fn, runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def matmuls(rng) -> None:
    for m, k, n in [(64, 784, 128), (336, 288, 64), (1024, 1024, 1024), (2048, 2048, 2048)]:
        a = tf.constant(rng.standard_normal((m, k)).astype(BF16))
        b = tf.constant(rng.standard_normal((k, n)).astype(BF16))
        af, bf = tf.cast(a, tf.float32), tf.cast(b, tf.float32)
        runs = 5 if m >= 1024 else 100
        rates = [2 * m * n * k / median_s(lambda x=x, y=y: matmul(x, y), runs) / 1e9
                 for x, y in ((a, b), (af, bf))]
        print(f"  matmul {m}x{k}x{n}: bfloat16 {rates[0]:.0f} GFLOP/s, float32 {rates[1]:.0f}")


def convolutions(rng) -> None:
    # (batch, size, channels in, filters, padding): the toy ResNet's 3x3 convolutions.
    for b, h, c, f, pad in [(64, 32, 3, 32, 0), (64, 30, 32, 64, 0), (64, 9, 64, 64, 1),
                            (64, 9, 64, 64, 0)]:
        x = rng.standard_normal((b, h, h, c)).astype(BF16)
        w = (rng.standard_normal((3, 3, c, f)) * 0.2).astype(BF16)
        out = h + 2 * pad - 2
        dy = rng.standard_normal((b, out, out, f)).astype(BF16)
        row = []
        for dtype in ("bfloat16", "float32"):
            xt, wt, dyt = (tf.cast(tf.constant(t), dtype) for t in (x, w, dy))
            p, one = [pad] * 4, [1, 1]
            row.append([median_s(fn, 9) * 1e3 for fn in (
                lambda: C.conv(xt, wt, None, one, one, p),
                lambda: C.conv_transpose(dyt, wt, None, [h, h], one, one, p),
                lambda: C.conv_backward_filter(xt, dyt, [3, 3, c, f], one, one, p))])
        print(f"  conv b{b} {h}x{h}x{c} -> {f} pad {pad}: fwd/dx/dw bfloat16 "
              f"{row[0][0]:.2f}/{row[0][1]:.2f}/{row[0][2]:.2f} ms, float32 "
              f"{row[1][0]:.2f}/{row[1][1]:.2f}/{row[1][2]:.2f} ms")


def attention(rng) -> None:
    for t in (8, 16, 32, 64, 128):
        q, k, v, dy = (tf.constant(rng.standard_normal((32, t, 8, 32)).astype(np.float32))
                       for _ in range(4))
        us = {}
        for kernel in ("tiled", "direct"):
            def step(kernel=kernel):
                with tf.GradientTape() as tape:
                    tape.watch([q, k, v])
                    y = sdpa(q, k, v, kernel=kernel)
                return tape.gradient(y, [q, k, v], output_gradients=dy)
            us[kernel] = median_s(step, 15) * 1e6
        print(f"  attention fwd+bwd T={t}: tiled {us['tiled']:.0f} us, "
              f"direct {us['direct']:.0f} us")


def attention_dtypes(rng) -> None:
    for b, t, h, d in [(32, 200, 2, 32), (32, 128, 8, 32), (32, 512, 8, 32)]:
        qkvd = [rng.standard_normal((b, t, h, d)).astype(BF16) for _ in range(4)]
        ms = {}
        for dtype in ("bfloat16", "float32"):
            q, k, v, dy = (tf.cast(tf.constant(a), dtype) for a in qkvd)

            def step(q=q, k=k, v=v, dy=dy):
                with tf.GradientTape() as tape:
                    tape.watch([q, k, v])
                    y = sdpa(q, k, v, kernel="tiled")
                return tape.gradient(y, [q, k, v], output_gradients=dy)
            runs = 5 if t >= 512 else 15
            ms[dtype] = (median_s(lambda q=q, k=k, v=v: sdpa(q, k, v, kernel="tiled"), runs) * 1e3,
                         median_s(step, runs) * 1e3)
        print(f"  attention b{b} T={t} {h}x{d}: fwd / fwd+bwd bfloat16 {ms['bfloat16'][0]:.2f} / "
              f"{ms['bfloat16'][1]:.2f} ms, float32 {ms['float32'][0]:.2f} / "
              f"{ms['float32'][1]:.2f} ms")


def casts(rng) -> None:
    x = tf.constant(rng.standard_normal(1 << 20).astype(np.float32))
    xb = tf.cast(x, tf.bfloat16)
    to16 = median_s(lambda: tf.cast(x, tf.bfloat16), 50) * 1e6
    to32 = median_s(lambda: tf.cast(xb, tf.float32), 50) * 1e6
    print(f"  cast 1M: float32 -> bfloat16 {to16:.0f} us, bfloat16 -> float32 {to32:.0f} us")


SECTIONS = {"matmul": matmuls, "conv": convolutions, "attention": attention,
            "attention_dtypes": attention_dtypes, "cast": casts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--only", help="comma-separated sections to run (default: all): "
                        + ", ".join(SECTIONS))
    args = parser.parse_args()
    sections = args.only.split(",") if args.only else list(SECTIONS)
    print(f"corten {tf.__version__}, kernel ISA {tf.config.get_cpu_isa()}, "
          f"AVX-512 BF16: {C.cpu_has_avx512_bf16()}, AMX: {tf.config.amx_enabled()}, bfloat16 "
          f"GEMM kernel: {C.gemm_info('bfloat16')['kernel']}")
    for threads in (int(t) for t in args.threads.split(",")):
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        rng = np.random.default_rng(0)
        print(f"{threads} thread(s):")
        for name in sections:
            SECTIONS[name](rng)


if __name__ == "__main__":
    main()
