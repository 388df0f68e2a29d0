"""float64 numpy references of the convolutions (channels_last, 1-3 spatial dimensions),
shared by the op, gradient and layer tests."""

from __future__ import annotations

import itertools

import numpy as np


def same_pads(sizes, kernel, strides, dilations):
    """TensorFlow's 'SAME' padding as flat (before, after) pairs."""
    out = []
    for n, k, s, d in zip(sizes, kernel, strides, dilations, strict=True):
        o = -(-n // s)
        total = max((o - 1) * s + (k - 1) * d + 1 - n, 0)
        out += [total // 2, total - total // 2]
    return out


def _taps(kernel):
    return itertools.product(*[range(k) for k in kernel])


def _window(tap, out, strides, dilations):
    return tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                 for t, o, s, d in zip(tap, out, strides, dilations, strict=True))


def out_sizes(sizes, kernel, strides, dilations, pads):
    return [(n + pads[2 * i] + pads[2 * i + 1] - d * (k - 1) - 1) // s + 1
            for i, (n, k, s, d) in enumerate(zip(sizes, kernel, strides, dilations, strict=True))]


def conv(x, w, strides, dilations, pads, groups=1):
    """x (N, *in, C), w (*k, C/groups, F) -> (N, *out, F)."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    nd = w.ndim - 2
    kernel = w.shape[:nd]
    cg, f = w.shape[-2], w.shape[-1]
    fg = f // groups
    xp = np.pad(x, [(0, 0)] + [(pads[2 * i], pads[2 * i + 1]) for i in range(nd)] + [(0, 0)])
    out = out_sizes(x.shape[1:-1], kernel, strides, dilations, pads)
    y = np.zeros((x.shape[0], *out, f))
    for tap in _taps(kernel):
        patch = xp[(slice(None),) + _window(tap, out, strides, dilations)]
        for g in range(groups):
            wg = w[tap][:, g * fg:(g + 1) * fg]
            y[..., g * fg:(g + 1) * fg] += patch[..., g * cg:(g + 1) * cg] @ wg
    return y


def conv_transpose(dy, w, in_sizes, strides, dilations, pads, groups=1):
    """The adjoint of conv in x: dy (N, *out, F) -> (N, *in_sizes, C)."""
    dy = np.asarray(dy, np.float64)
    w = np.asarray(w, np.float64)
    nd = w.ndim - 2
    kernel = w.shape[:nd]
    cg, f = w.shape[-2], w.shape[-1]
    fg = f // groups
    out = dy.shape[1:-1]
    padded = [n + pads[2 * i] + pads[2 * i + 1] for i, n in enumerate(in_sizes)]
    dxp = np.zeros((dy.shape[0], *padded, cg * groups))
    for tap in _taps(kernel):
        win = (slice(None),) + _window(tap, out, strides, dilations)
        for g in range(groups):
            dxp[win + (slice(g * cg, (g + 1) * cg),)] += (
                dy[..., g * fg:(g + 1) * fg] @ w[tap][:, g * fg:(g + 1) * fg].T)
    crop = tuple(slice(pads[2 * i], pads[2 * i] + n) for i, n in enumerate(in_sizes))
    return dxp[(slice(None),) + crop]


def conv_backward_filter(x, dy, kernel, strides, dilations, pads, groups=1):
    """The gradient of sum(conv(x, w) * dy) in w, of shape (*kernel, C/groups, F)."""
    x = np.asarray(x, np.float64)
    dy = np.asarray(dy, np.float64)
    nd = len(kernel)
    c, f = x.shape[-1], dy.shape[-1]
    cg, fg = c // groups, f // groups
    xp = np.pad(x, [(0, 0)] + [(pads[2 * i], pads[2 * i + 1]) for i in range(nd)] + [(0, 0)])
    out = dy.shape[1:-1]
    dw = np.zeros((*kernel, cg, f))
    for tap in _taps(kernel):
        patch = xp[(slice(None),) + _window(tap, out, strides, dilations)]
        for g in range(groups):
            p = patch[..., g * cg:(g + 1) * cg].reshape(-1, cg)
            d = dy[..., g * fg:(g + 1) * fg].reshape(-1, fg)
            dw[tap][:, g * fg:(g + 1) * fg] = p.T @ d
    return dw


def to_first(a):
    """channels_last -> channels_first."""
    return np.moveaxis(a, -1, 1)


def to_last(a):
    """channels_first -> channels_last."""
    return np.moveaxis(a, 1, -1)
