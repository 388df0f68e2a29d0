"""Same-process ratio PyTorch / corten of the LSTM(128) and GRU(128) layers' forward+backward.

Both libraries run in one process, alternating (rounds x reps calls each), so that the shared
host's load weighs on both alike; compare the ratio of two builds, not their times. 1 thread:
time.thread_time; 2 threads: time.perf_counter. Batch 32, 64 features, the last step's output,
gradients of the input and every weight (the bench's "layers/LSTM(128) fwd+bwd" case).

Usage (a Python with torch; CORTEN_PY: the corten build's python/ directory):
  OPENBLAS_NUM_THREADS=1 CORTEN_PY=$PWD/python /path/to/torch/python \\
      bench/lab/rnn_torch_ratio.py [kinds] [steps] [threads]     e.g. LSTM,GRU 10,100 1,2
"""
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.environ.get("CORTEN_PY", os.path.join(os.path.dirname(__file__),
                                                            "..", "..", "python")))

import corten as tf  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


def make(kind, steps):
    """The two timed calls (corten, torch) of one layer with the same random weights.

    Args:
        kind: "LSTM" or "GRU".
        steps: sequence length.

    Returns:
        (corten_step, torch_step), each running forward + backward once.
    """
    rng = np.random.default_rng(0)
    b, f, n = 32, 64, 128
    layer = getattr(tf.keras.layers, kind)(n)
    layer.build((None, None, f))
    layer.set_weights([(rng.standard_normal(w.shape) * 0.1).astype(np.float32)
                       for w in layer.get_weights()])
    xn = (rng.standard_normal((b, steps, f)) * 0.5).astype(np.float32)
    x = tf.constant(xn)
    weights = layer.trainable_weights

    def corten_step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x, training=True))
        return tape.gradient(loss, [x, *weights])

    m = (torch.nn.LSTM if kind == "LSTM" else torch.nn.GRU)(f, n, batch_first=True)
    xt = torch.tensor(xn, requires_grad=True)
    params = [xt, *m.parameters()]

    def torch_step():
        return torch.autograd.grad(m(xt)[0][:, -1].sum(), params)

    return corten_step, torch_step


def measure(kind, steps, threads, rounds=10):
    """Prints the minimum and median times of both libraries and their ratios.

    Args:
        kind: "LSTM" or "GRU".
        steps: sequence length.
        threads: intra-op threads of both libraries.
        rounds: alternations of the two libraries.
    """
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    torch.set_num_threads(threads)
    c, t = make(kind, steps)
    for _ in range(3):
        c()
        t()
    clock = time.thread_time if threads == 1 else time.perf_counter
    reps = 5 if steps >= 100 else 30
    cs, ts = [], []
    for _ in range(rounds):
        for fn, acc in ((c, cs), (t, ts)):
            for _ in range(reps):
                t0 = clock()
                fn()
                acc.append(clock() - t0)
    cs.sort()
    ts.sort()
    cmed, tmed = cs[len(cs) // 2], ts[len(ts) // 2]
    print(f"{kind}(128) T={steps:3d} thr={threads}: corten min {cs[0] * 1e3:7.3f} med "
          f"{cmed * 1e3:7.3f}  torch min {ts[0] * 1e3:7.3f} med {tmed * 1e3:7.3f}  "
          f"torch/corten min {ts[0] / cs[0]:5.3f} med {tmed / cmed:5.3f}", flush=True)


if __name__ == "__main__":
    kinds = sys.argv[1].split(",") if len(sys.argv) > 1 else ["LSTM", "GRU"]
    steps_list = [int(s) for s in sys.argv[2].split(",")] if len(sys.argv) > 2 else [10, 100]
    thread_list = [int(s) for s in sys.argv[3].split(",")] if len(sys.argv) > 3 else [1, 2]
    for kind in kinds:
        for steps in steps_list:
            for threads in thread_list:
                measure(kind, steps, threads)
