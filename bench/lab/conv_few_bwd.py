"""Time forward, dx and dw of few-channel 3x3 'same' convolutions (min of repeats)."""
import time

import corten as tf
import numpy as np
from corten import _C
from corten.ops import conv as conv_ops


def tmin(fn, reps=15):
    best = 1e9
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best * 1e3

rng = np.random.default_rng(0)
for thr in (1, 2):
    tf.config.threading.set_intra_op_parallelism_threads(thr)
    for n, h, c, f in ((32, 32, 3, 32), (32, 28, 1, 32), (1, 32, 3, 32), (1, 28, 1, 32)):
        x = rng.standard_normal((n, h, h, c)).astype("float32")
        w = rng.standard_normal((3, 3, c, f)).astype("float32")
        dy = rng.standard_normal((n, h, h, f)).astype("float32")
        pads = conv_ops.explicit_padding("same", (h, h), (3, 3), [1, 1], [1, 1], "t")
        fw = tmin(lambda x=x, w=w: conv_ops.conv(x, w, None, 1, "same"))
        dx = tmin(lambda dy=dy, w=w, h=h: conv_ops.conv_transpose(dy, w, None, (h, h), 1,
                                                                       "same"))
        ws = [3, 3, c, f]
        dw = tmin(lambda x=x, dy=dy, ws=ws, pads=pads: _C.conv_backward_filter(
            x, dy, ws, [1, 1], [1, 1], pads, 1, True, False))
        print(f"thr {thr} b{n} {h}x{h}x{c}->{f}: fwd {fw:.3f} dx {dx:.3f} dw {dw:.3f} ms")
