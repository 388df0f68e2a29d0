"""bfloat16 convolutions (Note [bfloat16 convolution]): forward, dx and dw against the reference
kernels (float64 sums of the same bfloat16 values, rounded once) within the bound of float32
sums, on every path (pointwise, patch GEMM, the implicit AMX convolution, the flipped forward
of dx, groups, strides, dilations, 1-D to 3-D), with the AMX kernels on and off; thread-count
invariance; float16 through float32."""

from __future__ import annotations

import corten as tf
import ml_dtypes
import numpy as np
import pytest

BF16 = ml_dtypes.bfloat16
C = tf._C

# (x shape (channels_last), kernel size, filters, strides, dilations, padding, groups)
GEOMETRIES = [
    ((2, 9, 9, 16), (1, 1), 24, (1, 1), (1, 1), (0, 0, 0, 0), 1),  # pointwise
    ((2, 12, 12, 3), (3, 3), 32, (1, 1), (1, 1), (0, 0, 0, 0), 1),  # RGB, odd depth 27
    ((2, 10, 10, 32), (3, 3), 40, (1, 1), (1, 1), (1, 1, 1, 1), 1),  # dx as a flipped forward
    ((2, 11, 11, 17), (3, 3), 33, (2, 2), (1, 1), (1, 1, 1, 1), 1),  # stride 2, odd channels
    ((1, 13, 13, 8), (3, 3), 8, (1, 1), (2, 2), (2, 2, 2, 2), 1),  # dilation
    ((2, 8, 8, 12), (3, 3), 18, (1, 1), (1, 1), (1, 1, 1, 1), 3),  # groups
    ((3, 20, 7), (5,), 9, (1,), (1,), (2, 2), 1),  # 1-D
    ((1, 5, 6, 7, 4), (2, 3, 2), 6, (1, 2, 1), (1, 1, 1), (0, 1, 1, 1, 0, 0), 2),  # 3-D
    # dw over several patch tiles (an odd last one) and more filters than a kernel panel is wide
    ((7, 21, 21, 16), (3, 3), 80, (1, 1), (1, 1), (0, 0, 0, 0), 1),
    # groups of 40 filters over 3 x 3 x 20 patches: AMX dw's partial filter and patch panels
    ((3, 15, 15, 40), (3, 3), 80, (1, 1), (1, 1), (1, 1, 1, 1), 2),
    # channels in blocks of 32 (Note [Implicit bfloat16 convolution]): 'valid' (dx, a flipped
    # forward over 64 channels, too), dilated, 1-D and 3-D with asymmetric padding
    ((2, 12, 12, 32), (3, 3), 64, (1, 1), (1, 1), (0, 0, 0, 0), 1),
    ((2, 9, 9, 64), (3, 3), 32, (1, 1), (2, 2), (2, 2, 2, 2), 1),
    ((3, 20, 32), (5,), 32, (1,), (1,), (2, 2), 1),
    ((1, 5, 6, 7, 32), (2, 3, 2), 64, (1, 1, 1), (1, 1, 1), (0, 1, 1, 1, 0, 0), 1),
]


def _operands(rng, geom):
    x_shape, ks, f, strides, dils, pad, groups = geom
    c = x_shape[-1]
    x = rng.standard_normal(x_shape).astype(BF16)
    w = (rng.standard_normal((*ks, c // groups, f)) * 0.3).astype(BF16)
    args = (list(strides), list(dils), list(pad))
    return x, w, args, groups


def _bound(ref, scale, depth):
    # float32 sums differ from float64 ones by depth * 2^-24 * sum |terms|; then one rounding
    # (a unit in the last place of bfloat16 at most, taking the larger binade into account).
    ref = np.asarray(ref, np.float64)
    ulp = 2.0 ** (np.floor(np.log2(np.maximum(np.abs(ref), 1e-30))) - 7)
    return ulp + 2 * depth * 2.0**-24 * np.asarray(scale, np.float64)


def _as64(t):
    return np.asarray(t.numpy(), np.float64)


@pytest.mark.parametrize("geom", GEOMETRIES, ids=str)
def test_forward_dx_and_dw_match_the_reference(geom, rng, amx):
    x, w, (st, dil, pad), groups = _operands(rng, geom)
    ks, f = w.shape[:-2], w.shape[-1]
    depth = int(np.prod(ks)) * w.shape[-2]
    y = C.conv(x, w, None, st, dil, pad, groups)
    assert y.dtype == tf.bfloat16
    y_ref = C.conv(x, w, None, st, dil, pad, groups, reference=True)
    absx, absw = np.abs(x.astype(np.float32)), np.abs(w.astype(np.float32))
    y_scale = C.conv(absx, absw, None, st, dil, pad, groups, reference=True)
    assert (np.abs(_as64(y) - _as64(y_ref)) <= _bound(_as64(y_ref), _as64(y_scale), depth)).all()

    dy = rng.standard_normal(tuple(y.shape)).astype(BF16)
    spatial = list(x.shape[1:-1])
    dx = C.conv_transpose(dy, w, None, spatial, st, dil, pad, groups)
    dx_ref = C.conv_transpose(dy, w, None, spatial, st, dil, pad, groups, reference=True)
    absdy = np.abs(dy.astype(np.float32))
    dx_scale = C.conv_transpose(absdy, absw, None, spatial, st, dil, pad, groups, reference=True)
    dx_depth = int(np.prod(ks)) * (f // groups)
    assert dx.dtype == tf.bfloat16
    err = np.abs(_as64(dx) - _as64(dx_ref))
    assert (err <= _bound(_as64(dx_ref), _as64(dx_scale), dx_depth)).all()

    dw = C.conv_backward_filter(x, dy, list(w.shape), st, dil, pad, groups)
    dw_ref = C.conv_backward_filter(x, dy, list(w.shape), st, dil, pad, groups, reference=True)
    dw_scale = C.conv_backward_filter(absx, absdy, list(w.shape), st, dil, pad, groups,
                                      reference=True)
    pixels = int(np.prod(y.shape[:-1]))
    assert dw.dtype == tf.bfloat16
    err = np.abs(_as64(dw) - _as64(dw_ref))
    assert (err <= _bound(_as64(dw_ref), _as64(dw_scale), pixels)).all()


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_bias_and_activation_apply_before_the_one_rounding(activation, rng, amx):
    x, w, (st, dil, pad), groups = _operands(rng, GEOMETRIES[2])
    bias = rng.standard_normal(w.shape[-1]).astype(BF16)
    got = _as64(C.conv(x, w, bias, st, dil, pad, groups, activation=activation))
    f32 = _as64(C.conv(x.astype(np.float32), w.astype(np.float32), bias.astype(np.float32), st,
                       dil, pad, groups, activation=activation, reference=True))
    scale = _as64(C.conv(np.abs(x.astype(np.float32)), np.abs(w.astype(np.float32)), None, st,
                         dil, pad, groups, reference=True))
    assert (np.abs(got - f32) <= _bound(f32, scale + np.abs(bias.astype(np.float64)), 288)).all()


def test_results_do_not_depend_on_the_thread_count(threads, rng, amx):
    x = rng.standard_normal((8, 16, 16, 32)).astype(BF16)
    w = (rng.standard_normal((3, 3, 32, 32)) * 0.2).astype(BF16)
    dy = rng.standard_normal((8, 16, 16, 32)).astype(BF16)
    args = ([1, 1], [1, 1], [1, 1, 1, 1])
    got = []
    for n in (1, 2):
        threads(n)
        got.append([C.conv(x, w, None, *args).numpy(),
                    C.conv_transpose(dy, w, None, [16, 16], *args).numpy(),
                    C.conv_backward_filter(x, dy, [3, 3, 32, 32], *args).numpy()])
    for one, two in zip(*got, strict=True):
        np.testing.assert_array_equal(one.view(np.uint16), two.view(np.uint16))


@pytest.mark.parametrize("pad", [0, 1])
def test_the_implicit_convolution_is_the_patch_gemm_bit_for_bit(pad, rng, amx):
    # Note [Implicit bfloat16 convolution]: the same kernel over the same blocks in the same
    # order as the patch matrix times the weights on the GEMM driver (channels in blocks of 32).
    x = rng.standard_normal((2, 7, 9, 64)).astype(BF16)
    w = (rng.standard_normal((3, 3, 64, 40)) * 0.2).astype(BF16)
    y = C.conv(x, w, None, [1, 1], [1, 1], [pad] * 4).numpy()
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(1, 2))
    patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(-1, 9 * 64)  # (pixel, kh kw c)
    want = tf.matmul(tf.constant(np.ascontiguousarray(patches)),
                     tf.constant(w.reshape(9 * 64, 40))).numpy()
    np.testing.assert_array_equal(y.reshape(-1, 40).view(np.uint16), want.view(np.uint16))


@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_nan_reaches_exactly_the_outputs_that_read_it(activation, rng, amx):
    # 32 channels: the implicit path where AMX is on (its own write-back rounds and applies
    # relu); a NaN stays NaN through relu, as in float32.
    x = rng.standard_normal((2, 8, 8, 32)).astype(BF16)
    x[1, 4, 5, 7] = np.nan
    w = (rng.standard_normal((3, 3, 32, 40)) * 0.2).astype(BF16)
    y = _as64(C.conv(x, w, None, [1, 1], [1, 1], [1, 1, 1, 1], activation=activation))
    touched = np.zeros(y.shape[:-1], bool)
    touched[1, 3:6, 4:7] = True
    assert np.isnan(y[touched]).all()
    assert np.isfinite(y[~touched]).all()


def test_float16_convolves_in_float32_and_rounds_once(rng):
    x = rng.standard_normal((2, 7, 7, 5)).astype(np.float16)
    w = (rng.standard_normal((3, 3, 5, 4)) * 0.3).astype(np.float16)
    args = ([1, 1], [1, 1], [1, 1, 1, 1])
    got = C.conv(x, w, None, *args)
    assert got.dtype == tf.float16
    want = C.conv(x.astype(np.float32), w.astype(np.float32), None, *args).numpy()
    np.testing.assert_array_equal(got.numpy(), want.astype(np.float16))


def test_gradients_of_a_bfloat16_convolution_reach_float32_variables(rng):
    x = tf.constant(rng.standard_normal((2, 6, 6, 4)).astype(BF16))
    w = tf.Variable((rng.standard_normal((3, 3, 4, 5)) * 0.3).astype(np.float32))
    with tf.GradientTape() as tape:
        y = tf.nn.conv2d(x, tf.cast(w, tf.bfloat16), 1, "SAME")
        loss = tf.reduce_sum(tf.cast(y, tf.float32))
    g = tape.gradient(loss, w)
    assert g.dtype == tf.float32
    ones = np.ones((2, 6, 6, 5), np.float32)
    want = C.conv_backward_filter(x.numpy().astype(np.float32), ones, [3, 3, 4, 5], [1, 1],
                                  [1, 1], [1, 1, 1, 1], reference=True).numpy()
    np.testing.assert_allclose(g.numpy(), want, rtol=1e-2, atol=1e-2)


def test_mixed_dtypes_name_the_op():
    x = np.zeros((1, 4, 4, 2), BF16)
    with pytest.raises(TypeError, match="conv"):
        C.conv(tf.constant(x), tf.zeros((3, 3, 2, 2)), None, [1, 1], [1, 1], [0, 0, 0, 0])
