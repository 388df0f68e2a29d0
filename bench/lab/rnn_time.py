"""Per-call timings of the fused recurrent op and the LSTM/GRU layers (fwd, fwd+bwd).

Usage: PYTHONPATH=python python bench/lab/rnn_time.py [threads...]
"""
import sys
import time

import numpy as np

import corten as tf
from corten import _C


def best(fn, reps=20):
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[0] * 1e3


def run(kind, steps, threads):
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    rng = np.random.default_rng(0)
    g = 4 if kind == "LSTM" else 3
    b, f, n = 32, 64, 128
    layer = getattr(tf.keras.layers, kind)(n)
    layer.build((None, None, f))
    layer.set_weights([w * 0.1 for w in (rng.standard_normal(w.shape).astype(np.float32)
                                         for w in layer.get_weights())])
    x = tf.constant(rng.standard_normal((b, steps, f)).astype(np.float32) * 0.5)

    def fwd():
        layer(x)

    def fwdbwd():
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x))
        tape.gradient(loss, [x, *layer.trainable_weights])

    cell = "lstm" if kind == "LSTM" else "gru"
    xw = tf.constant(rng.standard_normal((steps, b, g * n)).astype(np.float32) * 0.5)
    h0 = tf.zeros((b, n))
    u = layer.cell.recurrent_kernel
    rb = layer.cell._recurrent_bias()

    def op():
        _C.rnn_sequence(cell, xw, h0, h0 if kind == "LSTM" else None, u, rb, None, None,
                        "tanh", "sigmoid", False, False)

    def opbwd():
        with tf.GradientTape() as tape:
            tape.watch(xw)
            tape.watch(u)
            outs = _C.rnn_sequence(cell, xw, h0, h0 if kind == "LSTM" else None, u, rb, None,
                                   None, "tanh", "sigmoid", False, False)
            loss = tf.reduce_sum(outs[0])
        tape.gradient(loss, [xw, u])

    r = dict(layer_fwd=best(fwd), layer_fb=best(fwdbwd), op_fwd=best(op), op_fb=best(opbwd))
    print(f"{kind}({n}) T={steps:3d} thr={threads}: " +
          "  ".join(f"{k}={v:7.3f}" for k, v in r.items()), flush=True)


if __name__ == "__main__":
    ths = [int(a) for a in sys.argv[1:]] or [1, 2]
    for kind in ("LSTM", "GRU"):
        for steps in (10, 100):
            for t in ths:
                run(kind, steps, t)
