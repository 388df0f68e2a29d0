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


# ---------------------------------------------------------------------------- input projection
# rnn_sequence with `kernel` projects its input itself (Note [Input projection in the sequence]):
# on the fast path inside the time loop, the backward summing dw, du, db block by block per
# fixed row group. Checked against the op on precomputed projections (x @ kernel + bias, its
# gradients through the matmul), on both kernels.

def _proj_args(cell, gates, steps, batch, units, features, dtype, bias=True):
    x = RNG.normal(size=(steps, batch, features)) * 0.5
    w = RNG.normal(size=(features, gates * units)) / np.sqrt(features)
    b = RNG.normal(size=(gates * units,)) * 0.1 if bias else None
    _, h0, c0, u, rb = _args(cell, gates, steps, batch, units, dtype)
    return [None if a is None else a.astype(dtype) for a in (x, w, b)] + [h0, c0, u, rb]


def _run_proj(cell, args, mask, rdrop, go_backwards, batch_major, reference, project,
              return_sequences=True, watch_x=True):
    """Outputs and the gradients of (x, kernel, bias, h0, c0, U, rb) that exist; y and x
    time-major in the result whatever the layout."""
    tensors = [None if a is None else tf.constant(a) for a in args]
    x, w, b, h0, c0, u, rb = tensors
    if batch_major:
        x = tf.constant(np.ascontiguousarray(np.swapaxes(args[0], 0, 1)))
        tensors[0] = x
    with tf.GradientTape() as tape:
        for i, t in enumerate(tensors):
            if t is not None and (watch_x or i > 0):
                tape.watch(t)
        if project:
            outs = _C.rnn_sequence(cell, x, h0, c0, u, rb, mask, rdrop, "tanh", "sigmoid",
                                   go_backwards, False, reference, kernel=w, bias=b,
                                   batch_major=batch_major, return_sequences=return_sequences)
        else:
            x_tm = tf.transpose(x, [1, 0, 2]) if batch_major else x
            xw = tf.matmul(x_tm, w) + (0 if b is None else b)
            outs = _C.rnn_sequence(cell, xw, h0, c0, u, rb, mask, rdrop, "tanh", "sigmoid",
                                   go_backwards, False, reference)
        y = outs[0]
        if project and batch_major and return_sequences:
            y = tf.transpose(y, [1, 0, 2])
        if not project and not return_sequences:
            y = y[-1]
        loss = tf.reduce_sum(y * y) + sum(tf.reduce_sum(o * o * 0.5) for o in outs[1:])
    sources = [t for i, t in enumerate(tensors) if t is not None and (watch_x or i > 0)]
    grads = tape.gradient(loss, sources)
    if watch_x and batch_major:
        grads[0] = np.swapaxes(np.asarray(grads[0]), 0, 1)
    return [np.asarray(y)] + [np.asarray(o) for o in outs[1:]] + [np.asarray(g) for g in grads]


@pytest.mark.parametrize(("cell", "gates"), CELLS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
# 20 steps of 32 rows: two row groups, three blocks of steps; 9 rows: one group; 37: two
# groups of 16 and 21 rows, a partial row panel.
@pytest.mark.parametrize(("steps", "batch", "units", "features"),
                         [(20, 32, 16, 8), (19, 9, 7, 3), (6, 37, 21, 5)])
def test_projection_in_op_matches_projected_inputs(cell, gates, dtype, steps, batch, units,
                                                   features):
    tol = dict(rtol=3e-4, atol=3e-4) if dtype == "float32" else dict(rtol=1e-9, atol=1e-10)
    for masked, go_backwards, batch_major, bias, dropout in [
            (False, False, False, True, False), (True, True, True, True, False),
            (True, False, True, False, False), (False, True, False, True, True)]:
        args = _proj_args(cell, gates, steps, batch, units, features, dtype, bias)
        mask = RNG.random((batch, steps)) > 0.3 if masked else None
        rdrop = ((RNG.random((gates, batch, units)) > 0.3) / 0.7).astype(dtype) \
            if dropout else None
        want = _run_proj(cell, args, mask, rdrop, go_backwards, batch_major, True, False)
        for reference in (False, True):
            got = _run_proj(cell, args, mask, rdrop, go_backwards, batch_major, reference, True)
            for a, b in zip(got, want, strict=True):
                np.testing.assert_allclose(a, b, **tol)


@pytest.mark.parametrize(("cell", "gates"), CELLS)
@pytest.mark.parametrize("masked", [False, True])
def test_projection_last_output_only(cell, gates, masked):
    # return_sequences=False: y is the last step's output; without a mask the kernel stores no
    # outputs and the last output's gradient joins the final state's.
    args = _proj_args(cell, gates, 9, 10, 6, 4, "float64")
    mask = RNG.random((10, 9)) > 0.3 if masked else None
    for go_backwards, batch_major in [(False, True), (True, False)]:
        want = _run_proj(cell, args, mask, None, go_backwards, batch_major, False, False,
                         return_sequences=False)
        got = _run_proj(cell, args, mask, None, go_backwards, batch_major, False, True,
                        return_sequences=False)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_projection_without_input_gradient():
    # dx is skipped when x needs no gradient; the weights' gradients are unchanged.
    args = _proj_args("lstm", 4, 12, 16, 8, 5, "float64")
    want = _run_proj("lstm", args, None, None, False, True, False, True)
    got = _run_proj("lstm", args, None, None, False, True, False, True, watch_x=False)
    assert len(got) == len(want) - 1
    for a, b in zip(got[3:], want[4:], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("cell", "gates"), CELLS)
@pytest.mark.parametrize("batch", [37, 32, 8])
def test_projection_thread_count_invariance(cell, gates, batch):
    from corten.config import threading

    args = _proj_args(cell, gates, 21, batch, 40, 24, "float32")
    mask = RNG.random((batch, 21)) > 0.2
    before = threading.get_intra_op_parallelism_threads()
    try:
        res = []
        for n in (1, 2):
            threading.set_intra_op_parallelism_threads(n)
            res.append(_run_proj(cell, args, mask, None, False, True, False, True))
    finally:
        threading.set_intra_op_parallelism_threads(before)
    for a, b in zip(*res, strict=True):
        np.testing.assert_array_equal(a, b)


def test_projection_errors():
    x = np.zeros((3, 2, 5), "float32")
    h0 = np.zeros((2, 4), "float32")
    u = np.zeros((4, 16), "float32")
    with pytest.raises(ValueError, match="batch_major requires kernel"):
        _C.rnn_sequence("lstm", np.zeros((3, 2, 16), "float32"), h0, h0, u, batch_major=True)
    with pytest.raises(ValueError, match=r"kernel must have shape \(5, 16\)"):
        _C.rnn_sequence("lstm", x, h0, h0, u, kernel=np.zeros((4, 16), "float32"))
    with pytest.raises(ValueError, match=r"bias must have shape \(16,\)"):
        _C.rnn_sequence("lstm", x, h0, h0, u, kernel=np.zeros((5, 16), "float32"),
                        bias=np.zeros(12, "float32"))


# The fused LSTM forward's two-operand tile (h_{t-1} @ U + x_t @ W in one running sum per
# element): whole 8-row panels take it, a partial last row panel the two separate products.
# 4 * units columns: 40 (a last column panel of 8, under one vector), 84 (of 20: a vector and
# a part), 512 (whole panels); batches 16 (whole row panels only), 37 (and a 5-row tail).
# Units 14 and 13 (and 128) take the 8x32 micro-kernel, so the backward's block products run
# the multi-panel kernel too: a last column panel of 24 and 20, partial A panels (12 features,
# 13 units).
@pytest.mark.parametrize(("batch", "units"),
                         [(16, 10), (37, 21), (8, 128), (16, 14), (37, 13)])
def test_lstm_two_operand_tile(batch, units):
    from corten.config import threading

    args = _proj_args("lstm", 4, 7, batch, units, 12, "float32")
    mask = RNG.random((batch, 7)) > 0.2
    want = _run_proj("lstm", args, None, None, False, True, True, True)
    before = threading.get_intra_op_parallelism_threads()
    try:
        res = []
        for n in (1, 2):
            threading.set_intra_op_parallelism_threads(n)
            res.append(_run_proj("lstm", args, None, None, False, True, False, True))
            res.append(_run_proj("lstm", args, mask, None, True, True, False, True))
    finally:
        threading.set_intra_op_parallelism_threads(before)
    for a, b in zip(res[0], want, strict=True):
        np.testing.assert_allclose(a, b, rtol=3e-4, atol=3e-4)
    for i in (0, 1):
        for a, b in zip(res[i], res[i + 2], strict=True):
            np.testing.assert_array_equal(a, b)
