"""The direct few-input-channel convolution kernels (forward and dw, cpu/conv_direct_kernels.inc)
at every ISA level this CPU runs, against the plain reference kernels and the float64 numpy
reference."""

from __future__ import annotations

import conv_reference as ref
import corten
import numpy as np
import pytest
from cases import SUPPORTED_ISAS
from corten import _C
from corten.ops import conv as conv_ops

# (x shape, w shape, stride, padding): filter counts that exercise 4-, 2- and 1-vector blocks
# and the column tail on 16-, 32- and 64-byte vectors; widths with pixel-block tails.
CASES = [((2, 7, 29, 3), (3, 3, 3, 64), 1, "same"),
         ((2, 6, 13, 1), (3, 3, 1, 37), 2, "valid"),
         ((1, 5, 31, 2), (3, 5, 2, 12), 1, "same"),
         ((3, 21, 4), (9, 4, 7), 1, "causal"),
         ((1, 4, 17, 7), (3, 3, 7, 48), 1, "same")]


@pytest.mark.parametrize("isa", SUPPORTED_ISAS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("xs", "ws", "stride", "padding"), CASES)
def test_direct_kernel_matches_reference(xs, ws, stride, padding, dtype, isa, rng):
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[-1]).astype(dtype)
    sizes = xs[1:-1]
    pads = conv_ops.explicit_padding(padding, sizes, ws[:-2], [stride] * len(sizes),
                                     [1] * len(sizes), "t")
    previous = corten.config.get_cpu_isa()
    try:
        corten.config.set_cpu_isa(isa)
        fast = conv_ops.conv(x, w, b, stride, padding, activation="relu").numpy()
        plain = conv_ops.conv(x, w, b, stride, padding, activation="relu",
                              reference=True).numpy()
        dy = rng.standard_normal(fast.shape).astype(dtype)
        dws = [_C.conv_backward_filter(x, dy, list(ws), [stride] * len(sizes),
                                       [1] * len(sizes), pads, 1, True, r).numpy()
               for r in (False, True)]
    finally:
        corten.config.set_cpu_isa(previous)
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fast, plain, **tol)
    np.testing.assert_allclose(dws[0], dws[1], rtol=tol["rtol"] * 10, atol=tol["atol"] * 10)
    expect = ref.conv(x.astype(np.float64), w.astype(np.float64), (stride,) * len(sizes),
                      (1,) * len(sizes), pads) + b
    np.testing.assert_allclose(fast, np.maximum(expect, 0), **tol)
