"""conv, conv_transpose and conv_backward_filter against float64 numpy references, the fast
kernels against the reference kernels, thread-count invariance, errors, and the tf.nn
functions."""

from __future__ import annotations

import math

import conv_reference as ref
import corten as tf
import numpy as np
import pytest
from corten import _C
from corten.ops import conv as conv_ops

# (spatial sizes, channels, filters, kernel, strides, dilations, padding, groups)
CASES = [
    ((9,), 3, 4, (3,), (1,), (1,), "valid", 1),
    ((10,), 4, 6, (3,), (2,), (1,), "same", 2),
    ((11,), 2, 3, (2,), (1,), (3,), "causal", 1),
    ((7, 6), 3, 5, (3, 3), (1, 1), (1, 1), "same", 1),
    ((8, 7), 4, 6, (2, 3), (2, 3), (1, 1), "same", 2),
    ((9, 9), 2, 4, (3, 2), (1, 1), (2, 3), "valid", 1),
    ((6, 5), 3, 2, (1, 1), (1, 1), (1, 1), "valid", 1),
    ((6, 5), 3, 2, (1, 1), (2, 2), (1, 1), "valid", 1),
    ((5, 6), 6, 6, (3, 3), (1, 2), (1, 1), [[1, 0], [2, 1]], 3),
    ((5, 4, 6), 2, 3, (2, 3, 2), (1, 2, 1), (1, 1, 2), "same", 1),
    ((4, 5, 4), 4, 4, (3, 1, 2), (2, 1, 1), (1, 1, 1), "valid", 2),
]
IDS = [f"{len(c[0])}d-{i}" for i, c in enumerate(CASES)]


def _pads(case):
    sizes, _, _, kernel, strides, dils, padding, _ = case
    return conv_ops.explicit_padding(padding, sizes, kernel, strides, dils, "test")


def _data(case, rng, batch=2):
    sizes, c, f, kernel, *_rest = case
    groups = case[-1]
    x = rng.standard_normal((batch, *sizes, c))
    w = rng.standard_normal((*kernel, c // groups, f))
    return x, w


def _tol(dtype):
    return dict(rtol=1e-10, atol=1e-10) if dtype == "float64" else dict(rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("reference", [False, True], ids=["fast", "reference"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv_matches_numpy(case, dtype, data_format, reference, rng):
    x, w = _data(case, rng)
    b = rng.standard_normal(w.shape[-1])
    strides, dils, groups = case[4], case[5], case[7]
    expect = ref.conv(x, w, strides, dils, _pads(case), groups) + b
    xin = x if data_format == "channels_last" else ref.to_first(x)
    out = conv_ops.conv(xin.astype(dtype), w.astype(dtype), b.astype(dtype), strides, case[6],
                        dils, groups, data_format, reference=reference).numpy()
    if data_format == "channels_first":
        out = ref.to_last(out)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, expect, **_tol(dtype))


@pytest.mark.parametrize("reference", [False, True], ids=["fast", "reference"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv_transpose_and_filter_gradient_match_numpy(case, data_format, reference, rng):
    x, w = _data(case, rng)
    sizes, strides, dils, groups = case[0], case[4], case[5], case[7]
    pads = _pads(case)
    dy = rng.standard_normal(ref.conv(x, w, strides, dils, pads, groups).shape)
    first = data_format == "channels_first"
    last = data_format == "channels_last"
    dyin = dy if last else ref.to_first(dy)
    dx = _C.conv_transpose(dyin, w, None, list(sizes), list(strides), list(dils), pads, groups,
                           last, "linear", reference).numpy()
    np.testing.assert_allclose(ref.to_last(dx) if first else dx,
                               ref.conv_transpose(dy, w, sizes, strides, dils, pads, groups),
                               rtol=1e-10, atol=1e-10)
    xin = x if last else ref.to_first(x)
    dw = _C.conv_backward_filter(xin, dyin, list(w.shape), list(strides), list(dils), pads,
                                 groups, last, reference).numpy()
    np.testing.assert_allclose(dw, ref.conv_backward_filter(x, dy, w.shape[:-2], strides, dils,
                                                            pads, groups), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "gelu"])
def test_fused_bias_and_activation(activation, rng):
    erf = np.vectorize(math.erf)

    x = rng.standard_normal((2, 6, 5, 3))
    w = rng.standard_normal((3, 3, 3, 4))
    b = rng.standard_normal(4)
    z = ref.conv(x, w, (1, 1), (1, 1), ref.same_pads((6, 5), (3, 3), (1, 1), (1, 1))) + b
    expect = {"relu": np.maximum(z, 0), "sigmoid": 1 / (1 + np.exp(-z)), "tanh": np.tanh(z),
              "gelu": 0.5 * z * (1 + erf(z / np.sqrt(2)))}[activation]
    out = conv_ops.conv(x, w, b, 1, "same", activation=activation).numpy()
    np.testing.assert_allclose(out, expect, rtol=1e-10, atol=1e-12)
    y = rng.standard_normal((2, 3, 3, 4))
    bt = rng.standard_normal(3)
    zt = ref.conv_transpose(y, w, (6, 5), (2, 2), (1, 1), ref.same_pads((6, 5), (3, 3), (2, 2),
                                                                          (1, 1))) + bt
    expect_t = {"relu": np.maximum(zt, 0), "sigmoid": 1 / (1 + np.exp(-zt)),
                "tanh": np.tanh(zt), "gelu": 0.5 * zt * (1 + erf(zt / np.sqrt(2)))}[activation]
    out_t = conv_ops.conv_transpose(y, w, bt, (6, 5), 2, "same", activation=activation).numpy()
    np.testing.assert_allclose(out_t, expect_t, rtol=1e-10, atol=1e-12)


# Shapes with several GEMM tiles, images and groups: the fast kernels against the plain ones.
BIG = [((4, 17, 19, 16), (3, 3, 16, 24), 1, "same", 1),
       ((3, 12, 10, 12), (3, 3, 4, 9), 2, "valid", 3),
       ((2, 40, 9), (5, 9, 7), 1, "causal", 1),
       ((1, 6, 7, 5, 4), (3, 3, 3, 4, 6), 1, "same", 1),
       ((5, 8, 8, 32), (1, 1, 32, 16), 1, "valid", 1),
       ((2, 9, 8, 32), (3, 3, 16, 32), 1, "same", 2),
       ((2, 11, 10, 16), (3, 2, 16, 20), 2, "same", 1),
       ((2, 7, 40), (4, 40, 24), 1, "causal", 1),
       # Fewer dw chunks than threads (Note [Filter gradient chunks]): the threads split taps.
       ((1, 5, 7, 32), (3, 3, 32, 32), 1, "same", 1),
       # Winograd F(2x2, 3x3) (at least 512 tiles): odd output sizes (partial tiles), filters
       # that leave a partial micro-kernel panel, 'valid' and explicit padding.
       ((2, 34, 33, 16), (3, 3, 16, 20), 1, "same", 1),
       ((2, 37, 34, 17), (3, 3, 17, 16), 1, "valid", 1),
       ((1, 46, 47, 16), (3, 3, 16, 16), 1, [[2, 0], [0, 1]], 1),
       # Few input channels (the direct kernel): vector blocks of filters and a column tail,
       # pixel blocks and their tails, strides, 4 vectors of filters, 1-D.
       ((3, 13, 29, 3), (3, 3, 3, 37), 1, "same", 1),
       ((2, 15, 14, 1), (3, 3, 1, 64), 2, "valid", 1),
       ((2, 9, 30, 2), (5, 5, 2, 8), 1, "same", 1),
       ((2, 33, 3), (7, 3, 20), 3, "causal", 1)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("xs", "ws", "stride", "padding", "groups"), BIG)
def test_fast_kernels_match_reference_kernels(xs, ws, stride, padding, groups, dtype, rng):
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[-1]).astype(dtype)
    tol = _tol(dtype)
    outs = [conv_ops.conv(x, w, b, stride, padding, 1, groups, reference=r).numpy()
            for r in (False, True)]
    np.testing.assert_allclose(outs[0], outs[1], **tol)
    dy = rng.standard_normal(outs[0].shape).astype(dtype)
    sizes = xs[1:-1]
    dxs = [conv_ops.conv_transpose(dy, w, None, sizes, stride, padding, 1, groups,
                                   reference=r).numpy() for r in (False, True)]
    np.testing.assert_allclose(dxs[0], dxs[1], **tol)
    pads = conv_ops.explicit_padding(padding, sizes, ws[:-2], [stride] * len(sizes),
                                     [1] * len(sizes), "t")
    dws = [_C.conv_backward_filter(x, dy, list(ws), [stride] * len(sizes), [1] * len(sizes),
                                   pads, groups, True, r).numpy() for r in (False, True)]
    np.testing.assert_allclose(dws[0], dws[1], rtol=tol["rtol"] * 10, atol=tol["atol"] * 10)


@pytest.mark.parametrize(("xs", "ws", "stride", "padding", "groups"), BIG)
def test_thread_count_invariance(xs, ws, stride, padding, groups, threads, rng):
    x = rng.standard_normal((8,) + xs[1:]).astype("float32")
    w = rng.standard_normal(ws).astype("float32")
    b = rng.standard_normal(ws[-1]).astype("float32")
    results = []
    for n in (1, 2):
        threads(n)
        xt, wt, bt = tf.constant(x), tf.Variable(w), tf.Variable(b)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = conv_ops.conv(xt, wt, bt, stride, padding, 1, groups, activation="relu")
            loss = tf.reduce_sum(y * y)
        grads = tape.gradient(loss, [xt, wt, bt])
        results.append([y.numpy()] + [g.numpy() for g in grads])
    for a, b2 in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b2)


def test_empty_and_meta_shapes():
    x = np.zeros((0, 5, 5, 3))
    w = np.ones((3, 3, 3, 2))
    assert conv_ops.conv(x, w, None, 1, "same").shape == (0, 5, 5, 2)
    y = conv_ops.conv(np.ones((1, 4, 4, 0)), np.ones((3, 3, 0, 2)), np.ones(2), 1, "same")
    np.testing.assert_array_equal(y.numpy(), np.ones((1, 4, 4, 2)))
    m = _C.empty_meta((None, None, 7, 3), "float32")
    out = conv_ops.conv(m, np.ones((3, 3, 3, 2), "float32"), None, 2, "same")
    assert out.shape == (None, None, 4, 2)
    t = conv_ops.conv_transpose(m, np.ones((3, 3, 4, 3), "float32"), None, (None, 14), 2, "same")
    assert t.shape == (None, None, 14, 4)


ERRORS = [
    (lambda: conv_ops.conv(np.ones((5, 5, 3)), np.ones((3, 3, 3, 2)), None),
     r"conv: expected an input of rank 4 .*got input shape \(5, 5, 3\)"),
    (lambda: conv_ops.conv(np.ones((1, 5, 5, 4)), np.ones((3, 3, 3, 2)), None),
     r"input channels \(4\) must equal w.shape\[-2\] \* groups \(3 \* 1\)"),
    (lambda: conv_ops.conv(np.ones((1, 5, 5, 4)), np.ones((3, 3, 2, 3)), None, groups=2),
     r"filters \(w.shape\[-1\]=3\) must be divisible by groups=2"),
    (lambda: conv_ops.conv(np.ones((1, 2, 5, 3)), np.ones((3, 3, 3, 2)), None),
     r"kernel \(size 3 with dilation 1\) is larger than the padded input \(size 2\).*"
     r"\(1, 2, 5, 3\), w.shape=\(3, 3, 3, 2\)"),
    (lambda: conv_ops.conv(np.ones((1, 5, 5, 3)), np.ones((3, 3, 3, 2)), None, (1, 2, 3)),
     r"`strides` must be an int or 2 ints"),
    (lambda: _C.conv(np.ones((1, 5, 5, 3)), np.ones((3, 3, 3, 2)), None, [1, 0], [1, 1],
                     [0, 0, 0, 0]), r"strides must be >= 1"),
    (lambda: conv_ops.conv(np.ones((1, 5, 3)), np.ones((3, 3, 2)), None, padding="full"),
     r"`padding` must be 'VALID', 'SAME'"),
    (lambda: conv_ops.conv_transpose(np.ones((1, 3, 3, 2)), np.ones((3, 3, 4, 2)), None,
                                     (9, 9), 2, "same"),
     r"output_shape=\[9, 9\] does not fit the input shape \(1, 3, 3, 2\)"),
    (lambda: conv_ops.conv_transpose(np.ones((1, 3, 3, 5)), np.ones((3, 3, 4, 2)), None,
                                     (5, 5), 2, "same"),
     r"conv_transpose: the input channels \(5\) must equal w.shape\[-1\] \(2\)"),
    (lambda: tf.nn.conv2d(np.ones((1, 5, 5, 3)), np.ones((3, 3, 3, 2)), [2, 1, 1, 1], "SAME"),
     r"strides` in the batch and depth dimensions must be 1"),
]


@pytest.mark.parametrize(("fn", "match"), ERRORS)
def test_errors_name_the_op_and_shapes(fn, match):
    with pytest.raises(ValueError, match=match):
        fn()


def test_float_dtype_required():
    with pytest.raises(TypeError, match="conv: expected float32, float64 or bfloat16"):
        _C.conv(np.ones((1, 5, 5, 3), np.int32), np.ones((3, 3, 3, 2), np.int32), None, [1, 1],
                [1, 1], [0, 0, 0, 0])


# ---------------------------------------------------------------------------------------------
# tf.nn


def test_nn_conv2d_paddings_formats_and_groups(rng):
    x = rng.standard_normal((2, 7, 8, 4))
    w = rng.standard_normal((3, 2, 4, 5))
    for padding, pads in [("SAME", ref.same_pads((7, 8), (3, 2), (2, 2), (1, 1))),
                          ("VALID", [0, 0, 0, 0]),
                          ([[0, 0], [1, 2], [0, 1], [0, 0]], [1, 2, 0, 1])]:
        out = tf.nn.conv2d(x, w, 2, padding).numpy()
        np.testing.assert_allclose(out, ref.conv(x, w, (2, 2), (1, 1), pads), rtol=1e-10)
    out = tf.nn.conv2d(ref.to_first(x), w, [1, 1, 2, 2], "SAME", data_format="NCHW").numpy()
    np.testing.assert_allclose(ref.to_last(out),
                               ref.conv(x, w, (2, 2), (1, 1),
                                        ref.same_pads((7, 8), (3, 2), (2, 2), (1, 1))),
                               rtol=1e-10)
    wg = rng.standard_normal((3, 3, 2, 6))  # 4 input channels / 2 per group: groups = 2
    np.testing.assert_allclose(tf.nn.conv2d(x, wg, 1, "VALID", dilations=[1, 2]).numpy(),
                               ref.conv(x, wg, (1, 1), (1, 2), [0, 0, 0, 0], 2), rtol=1e-10)


def test_nn_conv1d_conv3d_convolution(rng):
    x1 = rng.standard_normal((2, 9, 3))
    w1 = rng.standard_normal((3, 3, 4))
    np.testing.assert_allclose(tf.nn.conv1d(x1, w1, 2, "SAME").numpy(),
                               ref.conv(x1, w1, (2,), (1,), ref.same_pads((9,), (3,), (2,), (1,))),
                               rtol=1e-10)
    out = tf.nn.conv1d(ref.to_first(x1), w1, 1, "VALID", data_format="NCW").numpy()
    np.testing.assert_allclose(ref.to_last(out), ref.conv(x1, w1, (1,), (1,), [0, 0]),
                               rtol=1e-10)
    x3 = rng.standard_normal((1, 4, 5, 6, 2))
    w3 = rng.standard_normal((2, 3, 2, 2, 3))
    np.testing.assert_allclose(tf.nn.conv3d(x3, w3, [1, 1, 2, 1, 1], "VALID").numpy(),
                               ref.conv(x3, w3, (1, 2, 1), (1, 1, 1), [0] * 6), rtol=1e-10)
    np.testing.assert_allclose(tf.nn.convolution(x3, w3, padding="SAME").numpy(),
                               ref.conv(x3, w3, (1, 1, 1), (1, 1, 1),
                                        ref.same_pads((4, 5, 6), (2, 3, 2), (1, 1, 1),
                                                      (1, 1, 1))), rtol=1e-10)


def test_nn_conv_transposes(rng):
    x = rng.standard_normal((2, 4, 3, 5))
    w = rng.standard_normal((3, 3, 2, 5))  # (h, w, output_channels, in_channels)
    out = tf.nn.conv2d_transpose(x, w, [2, 8, 6, 2], 2, "SAME").numpy()
    pads = ref.same_pads((8, 6), (3, 3), (2, 2), (1, 1))
    np.testing.assert_allclose(out, ref.conv_transpose(x, w, (8, 6), (2, 2), (1, 1), pads),
                               rtol=1e-10)
    out = tf.nn.conv2d_transpose(x, w, [2, 9, 7, 2], 2, "VALID").numpy()
    np.testing.assert_allclose(out, ref.conv_transpose(x, w, (9, 7), (2, 2), (1, 1), [0] * 4),
                               rtol=1e-10)
    x1 = rng.standard_normal((1, 5, 3))
    w1 = rng.standard_normal((4, 2, 3))
    out = tf.nn.conv1d_transpose(x1, w1, [1, 10, 2], 2).numpy()
    np.testing.assert_allclose(out, ref.conv_transpose(x1, w1, (10,), (2,), (1,),
                                                       ref.same_pads((10,), (4,), (2,), (1,))),
                               rtol=1e-10)
    x3 = rng.standard_normal((1, 2, 3, 2, 3))
    w3 = rng.standard_normal((2, 2, 2, 4, 3))
    out = tf.nn.conv3d_transpose(x3, w3, [1, 4, 6, 4, 4], 2, "VALID").numpy()
    np.testing.assert_allclose(out, ref.conv_transpose(x3, w3, (4, 6, 4), (2, 2, 2), (1, 1, 1),
                                                       [0] * 6), rtol=1e-10)
    with pytest.raises(ValueError, match=r"output_shape's channels \(3\) must equal"):
        tf.nn.conv2d_transpose(x, w, [2, 8, 6, 3], 2, "SAME")


def test_nn_bias_add(rng):
    x = rng.standard_normal((2, 3, 4))
    np.testing.assert_allclose(tf.nn.bias_add(x, np.arange(4.0)).numpy(), x + np.arange(4.0))
    np.testing.assert_allclose(tf.nn.bias_add(x, np.arange(3.0), data_format="NCW").numpy(),
                               x + np.arange(3.0)[:, None])
    with pytest.raises(ValueError, match=r"bias_add: bias must be 1-D .*\(2, 3, 4\)"):
        tf.nn.bias_add(x, np.ones(3))


def test_a_batch_too_large_to_pad_at_once(rng):
    # Over 16 MB of padded input: each thread pads the images it reaches (cpu/conv.cpp
    # PaddedImages), in forward, dx and dw.
    x = rng.standard_normal((8, 200, 200, 16)).astype("float32")
    w = rng.standard_normal((3, 3, 16, 16)).astype("float32")
    dy = rng.standard_normal((8, 200, 200, 16)).astype("float32")
    pads = [1, 1, 1, 1]
    np.testing.assert_allclose(conv_ops.conv(x, w, None, 1, "same").numpy(),
                               ref.conv(x, w, (1, 1), (1, 1), pads), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(conv_ops.conv_transpose(dy, w, None, (200, 200), 1, "same").numpy(),
                               ref.conv_transpose(dy, w, (200, 200), (1, 1), (1, 1), pads),
                               rtol=1e-3, atol=1e-3)
    dw = _C.conv_backward_filter(x, dy, [3, 3, 16, 16], [1, 1], [1, 1], pads).numpy()
    np.testing.assert_allclose(dw, ref.conv_backward_filter(x, dy, (3, 3), (1, 1), (1, 1), pads),
                               rtol=1e-3, atol=0.5)
