"""float64 numpy references of the sliding-window ops (pooling, depthwise convolution,
resize), shared by the op and layer tests."""

import itertools

import numpy as np


def _geometry(in_sizes, k, s, d, padding):
    outs, pads = [], []
    for n, kk, ss, dd in zip(in_sizes, k, s, d, strict=True):
        eff = (kk - 1) * dd + 1
        if padding == "same":
            o = -(-n // ss)
            pads.append(max((o - 1) * ss + eff - n, 0) // 2)
        else:
            o = (n - eff) // ss + 1
            pads.append(0)
        outs.append(o)
    return outs, pads


def _to_last(x, cf):
    return np.moveaxis(x, 1, -1) if cf else x


def _from_last(y, cf):
    return np.moveaxis(y, -1, 1) if cf else y


def pool_ref(x, k, s, padding, kind, cf=False):
    """float64 numpy pooling: padded elements excluded from max and from the average's count."""
    x = _to_last(np.asarray(x, np.float64), cf)
    sp = x.shape[1:-1]
    outs, pads = _geometry(sp, k, s, [1] * len(k), padding)
    y = np.zeros((x.shape[0], *outs, x.shape[-1]))
    for o in itertools.product(*[range(n) for n in outs]):
        sl = []
        for i, oi in enumerate(o):
            lo = oi * s[i] - pads[i]
            sl.append(slice(max(lo, 0), min(lo + k[i], sp[i])))
        win = x[(slice(None), *sl, slice(None))].reshape(x.shape[0], -1, x.shape[-1])
        y[(slice(None), *o, slice(None))] = win.max(1) if kind == "max" else win.mean(1)
    return _from_last(y, cf)


def depthwise_ref(x, w, b, s, d, padding, cf=False):
    x = _to_last(np.asarray(x, np.float64), cf)
    w = np.asarray(w, np.float64)
    r = x.ndim - 2
    k = w.shape[:r]
    c, m = w.shape[r], w.shape[r + 1]
    sp = x.shape[1:-1]
    outs, pads = _geometry(sp, k, s, d, padding)
    y = np.zeros((x.shape[0], *outs, c * m))
    for o in itertools.product(*[range(n) for n in outs]):
        acc = np.zeros((x.shape[0], c, m))
        for t in itertools.product(*[range(kk) for kk in k]):
            idx = [o[i] * s[i] - pads[i] + t[i] * d[i] for i in range(r)]
            if any(v < 0 or v >= sp[i] for i, v in enumerate(idx)):
                continue
            acc += x[(slice(None), *idx, slice(None))][:, :, None] * w[t]
        y[(slice(None), *o, slice(None))] = acc.reshape(x.shape[0], c * m)
    if b is not None:
        y = y + np.asarray(b, np.float64)
    return _from_last(y, cf)


def resize_ref(x, size, method, cf=False):
    """tf.image.resize with half_pixel_centers (float64 coordinates)."""
    x = _to_last(np.asarray(x, np.float64), cf)
    sp = x.shape[1:-1]
    maps = []
    for n, o in zip(sp, size, strict=True):
        scale = n / o
        src = (np.arange(o) + 0.5) * scale
        if method == "nearest":
            i = np.minimum(np.floor(src).astype(int), n - 1)
            maps.append([(i, np.ones(o))])
        else:
            src = src - 0.5
            f = np.floor(src)
            lo = np.maximum(f.astype(int), 0)
            hi = np.minimum(np.ceil(src).astype(int), n - 1)
            lerp = src - f
            maps.append([(lo, 1 - lerp), (hi, lerp)])
    y = np.zeros((x.shape[0], *size, x.shape[-1]))
    for combo in itertools.product(*maps):
        g = x
        wgt = np.ones(size)
        for axis, (idx, lw) in enumerate(combo):
            g = np.take(g, idx, axis=axis + 1)
            shape = [1] * len(size)
            shape[axis] = -1
            wgt = wgt * lw.reshape(shape)
        y += g * wgt[None, ..., None]
    return _from_last(y, cf)
