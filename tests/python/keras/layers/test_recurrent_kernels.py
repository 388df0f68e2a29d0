"""The fast recurrent kernels (packed recurrent products, fused LSTM gates) against the plain
reference kernel, and their thread-count invariance at sizes that split the products."""

import numpy as np
import pytest

import corten as tf
from corten import _C

RNG = np.random.default_rng(11)
CELLS = [("simple_rnn", 1), ("lstm", 4), ("gru", 3), ("gru_reset_before", 3)]


def _args(cell, gates, steps, batch, units, dtype):
    xw = RNG.normal(size=(steps, batch, gates * units)) * 0.5
    h0 = RNG.normal(size=(batch, units)) * 0.5
    c0 = RNG.normal(size=(batch, units)) * 0.5 if cell == "lstm" else None
    u = RNG.normal(size=(units, gates * units)) / np.sqrt(units)
    rb = RNG.normal(size=(gates * units,)) * 0.1 if cell == "gru" else None
    return [None if a is None else a.astype(dtype) for a in (xw, h0, c0, u, rb)]


def _run(cell, args, mask, go_backwards, reference):
    tensors = [None if a is None else tf.constant(a) for a in args]
    with tf.GradientTape() as tape:
        for t in tensors:
            if t is not None:
                tape.watch(t)
        outs = _C.rnn_sequence(cell, *tensors, mask, None, "tanh", "sigmoid", go_backwards,
                               False, reference)
        loss = sum(tf.reduce_sum(o * o) for o in outs)
    grads = tape.gradient(loss, [t for t in tensors if t is not None])
    return [np.asarray(o) for o in outs] + [np.asarray(g) for g in grads]


@pytest.mark.parametrize(("cell", "gates"), CELLS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
# 37 and 8 rows take the 8-row micro-kernel, 30 the 6-row one (cpu/gemm/prepacked.cpp).
@pytest.mark.parametrize(("batch", "units", "masked"),
                         [(37, 21, True), (8, 70, False), (30, 33, True)])
def test_fast_kernel_matches_reference_without_dropout(cell, gates, dtype, batch, units,
                                                       masked):
    # No recurrent dropout: one packed product per step (a partial row panel when batch is not
    # a multiple of the micro-kernel's rows, a partial column panel, a partial gate vector).
    args = _args(cell, gates, 6, batch, units, dtype)
    mask = RNG.random((batch, 6)) > 0.3 if masked else None
    tol = dict(rtol=2e-4, atol=2e-4) if dtype == "float32" else dict(rtol=1e-11, atol=1e-11)
    for go_backwards in (False, True):
        fast = _run(cell, args, mask, go_backwards, False)
        ref = _run(cell, args, mask, go_backwards, True)
        for a, b in zip(fast, ref, strict=True):
            np.testing.assert_allclose(a, b, **tol)


@pytest.mark.parametrize(("cell", "gates"), CELLS)
@pytest.mark.parametrize("batch", [37, 36, 8])
def test_thread_count_invariance_split_products(cell, gates, batch):
    # The threads split the batch rows (37, 36), or a single row panel splits the product's
    # column panels (8).
    from corten.config import threading

    args = _args(cell, gates, 5, batch, 160, "float32")
    mask = RNG.random((batch, 5)) > 0.2
    before = threading.get_intra_op_parallelism_threads()
    try:
        res = []
        for n in (1, 2):
            threading.set_intra_op_parallelism_threads(n)
            res.append(_run(cell, args, mask, False, False))
    finally:
        threading.set_intra_op_parallelism_threads(before)
    for a, b in zip(*res, strict=True):
        np.testing.assert_array_equal(a, b)
