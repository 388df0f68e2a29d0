"""The fused linear op (act(x @ w + bias), the Dense layer's forward) against numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from cases import as_layout

import corten as tf
from corten.ops.linalg import linear

_erf = np.vectorize(math.erf, otypes=[np.float64])

ACTIVATIONS = {
    None: lambda y: y,
    "linear": lambda y: y,
    "relu": lambda y: np.maximum(y, 0.0),
    "sigmoid": lambda y: 1.0 / (1.0 + np.exp(-y)),
    "tanh": np.tanh,
    "gelu": lambda y: 0.5 * y * (1.0 + _erf(y / math.sqrt(2.0))),
}


@pytest.fixture(params=[1, 2], ids=lambda t: f"threads{t}")
def threads(request):
    previous = tf.config.threading.get_intra_op_parallelism_threads()
    tf.config.threading.set_intra_op_parallelism_threads(request.param)
    yield request.param
    tf.config.threading.set_intra_op_parallelism_threads(previous)


def _check(got, x, w, bias, activation, dtype):
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    y = x64 @ w64 + (0.0 if bias is None else bias.astype(np.float64))
    want = ACTIVATIONS[activation](y)
    # GEMM error bound relative to sum |x||w| (Note in test_matmul.py); every activation here
    # has a derivative of magnitude <= 1.13, so the bound carries over, plus the activation's own
    # rounding.
    scale = np.abs(x64) @ np.abs(w64) + (0.0 if bias is None else np.abs(bias.astype(np.float64)))
    eps = 1e-4 if dtype == "float32" else 1e-12
    got = np.asarray(got).astype(np.float64)
    assert got.shape == want.shape
    err = np.abs(got - want)
    bound = eps * scale + (1e-5 if dtype == "float32" else 1e-12) * (np.abs(want) + 1e-6)
    assert np.all(err <= bound), float(np.max(err - bound))


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("xshape", "n"), [((5, 7), 3), ((64, 784), 64), ((2, 13, 37), 19),
                                           ((1, 1), 1), ((3, 0), 4), ((0, 5), 3)], ids=str)
def test_linear_matches_numpy(xshape, n, dtype, use_bias, activation, threads, rng):
    x = rng.standard_normal(xshape).astype(dtype)
    w = rng.standard_normal((xshape[-1], n)).astype(dtype)
    bias = rng.standard_normal((n,)).astype(dtype) if use_bias else None
    got = linear(tf.constant(x), tf.constant(w), None if bias is None else tf.constant(bias),
                 activation)
    assert got.dtype == tf.as_dtype(dtype)
    _check(got, x, w, bias, activation, dtype)


@pytest.mark.parametrize("layout", ["transposed", "strided", "negstep"])
def test_linear_strided_operands(layout, threads, rng):
    x = rng.standard_normal((3, 10, 33)).astype(np.float32)
    w = rng.standard_normal((33, 20)).astype(np.float32)
    bias = rng.standard_normal((20,)).astype(np.float32)
    got = linear(as_layout(x, layout), as_layout(w, layout), as_layout(bias, layout), "tanh")
    _check(got, x, w, bias, "tanh", "float32")


def test_linear_large_uses_all_paths(threads, rng):
    # Big enough to be packed, blocked over K and split across threads.
    x = rng.standard_normal((4, 130, 700)).astype(np.float32)
    w = rng.standard_normal((700, 150)).astype(np.float32)
    bias = rng.standard_normal((150,)).astype(np.float32)
    for activation in ("relu", "gelu"):
        _check(linear(x, w, bias, activation), x, w, bias, activation, "float32")


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "gelu"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linear_epilogue_on_edge_tiles(activation, dtype, threads, rng):
    # The fused bias + activation runs per micro-tile, on full tiles in place and on partial
    # ones after the copy out of the tile buffer: sizes around the active kernel's MR x NR.
    info = tf._C.gemm_info(dtype)
    mr, nr = info["mr"], info["nr"]
    for rows, n in ((mr - 1, nr + 1), (mr + 1, nr - 1), (2 * mr + 1, 2 * nr + 3)):
        x = rng.standard_normal((2, rows, 45)).astype(dtype)
        w = rng.standard_normal((45, n)).astype(dtype)
        bias = rng.standard_normal((n,)).astype(dtype)
        _check(linear(x, w, bias, activation), x, w, bias, activation, dtype)


def test_linear_meta():
    x = tf._C.empty_meta([None, 3], "float32")
    w = tf.zeros((3, 5))
    got = linear(x, w, tf.zeros((5,)), "relu")
    assert tuple(got.shape) == (None, 5) and got.dtype == tf.float32


def test_linear_errors():
    with pytest.raises(ValueError, match=r"linear: x\.shape\[-1\] must equal w\.shape\[0\] \(3 vs 4\); "
                                         r"got x\.shape=\(2, 3\), w\.shape=\(4, 5\)"):
        linear(tf.zeros((2, 3)), tf.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"linear: bias must have shape \(5,\) to match "
                                         r"w\.shape=\(3, 5\); got bias\.shape=\(4,\)"):
        linear(tf.zeros((2, 3)), tf.zeros((3, 5)), tf.zeros((4,)))
    with pytest.raises(ValueError, match=r"linear: expected x of rank >= 1 and w of rank 2; "
                                         r"got x\.shape=\(2, 3\), w\.shape=\(3,\)"):
        linear(tf.zeros((2, 3)), tf.zeros((3,)))
    with pytest.raises(TypeError, match=r"linear: operands must have the same dtype; got float32 and float64"):
        linear(tf.zeros((2, 3)), tf.zeros((3, 5), dtype="float64"))
    with pytest.raises(TypeError, match=r"linear: expected float32, float64 or bfloat16 operands; got int32"):
        linear(tf.constant([[1, 2]]), tf.constant([[1], [2]]))
    with pytest.raises(ValueError, match=r"linear: activation must be None or one of .*"
                                         r"Received: activation='softmax'"):
        linear(tf.zeros((2, 3)), tf.zeros((3, 5)), activation="softmax")
    with pytest.raises(ValueError, match=r"linear: activation must be one of"):
        tf._C.linear(tf.zeros((2, 3)), tf.zeros((3, 5)), None, "swish")
