"""The sliding-window ops (max_pool, avg_pool, depthwise_conv, resize): float64 numpy
references over rank, layout, padding, strides and dilations; fast against reference kernels;
thread-count invariance; errors."""

import corten as tf
import numpy as np
import pytest
from corten import _C
from corten.ops import pooling as P
from window_refs import depthwise_ref, pool_ref, resize_ref

rng = np.random.default_rng(7)


def _spatial(rank, n=2, c=3):
    sizes = {1: (7,), 2: (5, 6), 3: (4, 5, 3)}[rank]
    return (n, *sizes, c)


def _layout(shape, cf):
    return (shape[0], shape[-1], *shape[1:-1]) if cf else shape


POOL_GRID = [(rank, k, s, padding, cf)
             for rank in (1, 2, 3)
             for k, s in (((2,), (2,)), ((3,), (1,)), ((3,), (2,)), ((1,), (2,)))
             for padding in ("valid", "same")
             for cf in (False, True)]


@pytest.mark.parametrize(("rank", "k", "s", "padding", "cf"), POOL_GRID)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_matches_numpy(rank, k, s, padding, cf, kind):
    shape = _layout(_spatial(rank), cf)
    x = rng.standard_normal(shape)
    kk, ss = list(k) * rank, list(s) * rank
    fn = _C.max_pool if kind == "max" else _C.avg_pool
    want = pool_ref(x, kk, ss, padding, kind, cf)
    for dtype, tol in (("float64", 1e-12), ("float32", 1e-6)):
        got = fn(x.astype(dtype), kk, ss, padding, cf).numpy()
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_same_average_divides_by_the_unpadded_count():
    x = np.ones((1, 3, 3, 1))
    y = tf.nn.avg_pool2d(x, 2, 2, "SAME").numpy()
    np.testing.assert_array_equal(y, np.ones((1, 2, 2, 1)))


def test_max_pool_gradient_goes_to_the_first_maximum():
    x = tf.constant(np.array([[[1.0], [3.0], [3.0], [2.0]]]))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.nn.max_pool1d(x, 4, 1, "VALID")
    np.testing.assert_array_equal(tape.gradient(y, x).numpy().ravel(), [0, 1, 0, 0])


DW_GRID = [(rank, k, s, d, m, padding, cf)
           for rank in (1, 2, 3)
           for k, s, d in ((3, 1, 1), (2, 2, 1), (3, 1, 2), (1, 1, 1))
           for m in (1, 2)
           for padding in ("valid", "same")
           for cf in (False, True)]


@pytest.mark.parametrize(("rank", "k", "s", "d", "m", "padding", "cf"), DW_GRID)
def test_depthwise_conv_matches_numpy(rank, k, s, d, m, padding, cf):
    shape = _layout(_spatial(rank), cf)
    x = rng.standard_normal(shape)
    c = shape[1] if cf else shape[-1]
    w = rng.standard_normal((*([k] * rank), c, m))
    b = rng.standard_normal(c * m)
    sp = shape[2:] if cf else shape[1:-1]
    if padding == "valid" and min(sp) < (k - 1) * d + 1:
        with pytest.raises(ValueError, match="depthwise_conv: the window .* larger"):
            P.depthwise_conv(x, w, b, s, padding, d, cf)
        return
    want = depthwise_ref(x, w, b, [s] * rank, [d] * rank, padding, cf)
    got = P.depthwise_conv(tf.constant(x), tf.constant(w), tf.constant(b), s, padding, d, cf)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)
    got32 = P.depthwise_conv(tf.constant(x.astype("float32")), tf.constant(w.astype("float32")),
                             None, s, padding, d, cf)
    np.testing.assert_allclose(got32.numpy(), want - b.reshape((-1,) + (1,) * rank if cf else -1),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("method", ["nearest", "bilinear"])
@pytest.mark.parametrize("cf", [False, True])
@pytest.mark.parametrize("factor", [2, 3])
def test_resize_matches_numpy(rank, method, cf, factor):
    shape = _layout(_spatial(rank), cf)
    x = rng.standard_normal(shape)
    sp = shape[2:] if cf else shape[1:-1]
    size = [n * factor for n in sp]
    want = resize_ref(x, size, method, cf)
    # The interpolation weights are float32, as in TensorFlow's kernels: 1e-5.
    np.testing.assert_allclose(P.resize(x, size, method, channels_first=cf).numpy(), want,
                               rtol=1e-5, atol=1e-5)


def test_resize_to_arbitrary_sizes_matches_numpy():
    x = rng.standard_normal((2, 5, 7, 3))
    for size in ([3, 4], [8, 11], [5, 2]):
        for method in ("nearest", "bilinear"):
            np.testing.assert_allclose(P.resize(x, size, method).numpy(),
                                       resize_ref(x, size, method), rtol=1e-5, atol=1e-5)


def test_bilinear_doubling_matches_tensorflow():
    # tf.image.resize([[1, 2], [3, 4]], (4, 4), "bilinear") (half_pixel_centers=True).
    x = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    want = np.array([[1.0, 1.25, 1.75, 2.0], [1.5, 1.75, 2.25, 2.5], [2.5, 2.75, 3.25, 3.5],
                     [3.0, 3.25, 3.75, 4.0]])
    np.testing.assert_allclose(P.resize(x, [4, 4], "bilinear").numpy()[0, :, :, 0], want)


def test_resize_align_corners():
    x = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    got = P.resize(x, [3, 3], "bilinear", align_corners=True, half_pixel_centers=False)
    np.testing.assert_allclose(got.numpy()[0, :, :, 0],
                               [[1, 1.5, 2], [2, 2.5, 3], [3, 3.5, 4]])


# --- fast kernels against the plain references (Note [Window kernels: fast and reference]) ---


def _ops(x, w, cf):
    """Forward and backward of every window op on x (float32)."""
    xt = tf.constant(x)
    wt = tf.constant(w)
    bt = tf.constant(np.arange(w.shape[-2] * w.shape[-1], dtype=x.dtype))
    results = []
    for fn in (lambda v: _C.max_pool(v, [3, 2], [2, 1], "same", cf),
               lambda v: _C.avg_pool(v, [2, 3], [1, 2], "same", cf),
               lambda v: P.depthwise_conv(v, wt, bt, [2, 1], "same", 1, cf),
               lambda v: P.depthwise_conv(v, wt, None, 1, "valid", [1, 2], cf),
               lambda v: P.resize(v, [9, 14], "bilinear", channels_first=cf),
               lambda v: P.resize(v, [10, 14], "nearest", channels_first=cf)):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(xt)
            tape.watch(wt)
            tape.watch(bt)
            y = fn(xt)
            loss = tf.reduce_sum(y * y)
        grads = tape.gradient(loss, [xt, wt, bt])
        results.append([y.numpy()] + [None if g is None else g.numpy() for g in grads])
    return results


@pytest.mark.parametrize("cf", [False, True])
def test_fast_kernels_match_the_reference_kernels(cf, cpu_isa):
    shape = (3, 20, 5, 7) if cf else (3, 5, 7, 20)
    x = rng.standard_normal(shape).astype("float32")
    w = rng.standard_normal((3, 3, 20, 2)).astype("float32")
    before = tf.config.get_cpu_isa()
    try:
        tf.config.set_cpu_isa("baseline")
        ref = _ops(x, w, cf)
    finally:
        tf.config.set_cpu_isa(before)
    if cpu_isa == "baseline":
        pytest.skip("the baseline level runs the reference kernels themselves")
    fast = _ops(x, w, cf)
    for r_row, f_row in zip(ref, fast, strict=True):
        for r, f in zip(r_row, f_row, strict=True):
            if r is None:
                assert f is None
            else:
                # float32 sums in another order (and fused multiply-adds): 1e-5 of the
                # largest value.
                np.testing.assert_allclose(f, r, rtol=1e-5, atol=1e-5 * np.abs(r).max() + 1e-5)


@pytest.mark.parametrize("cf", [False, True])
def test_results_do_not_depend_on_the_thread_count(threads, cf):
    shape = (9, 24, 11, 13) if cf else (9, 11, 13, 24)
    x = rng.standard_normal(shape).astype("float32")
    w = rng.standard_normal((3, 3, 24, 1)).astype("float32")
    out = {}
    for n in (1, 2):
        threads(n)
        out[n] = [[None if a is None else a.tobytes() for a in row]
                        for row in _ops(x, w, cf)]
    assert out[1] == out[2]


# --- errors ---


def test_errors_name_the_op_and_the_shapes():
    x = np.zeros((2, 3, 3, 4), "float32")
    with pytest.raises(ValueError,
                       match=r"max_pool: the window .* larger .*x.shape=\(2, 3, 3, 4\)"):
        _C.max_pool(x, [4, 4], [1, 1], "valid")
    with pytest.raises(ValueError, match=r"avg_pool: strides must have 2 entries"):
        _C.avg_pool(x, [2, 2], [1], "valid")
    with pytest.raises(ValueError, match=r"padding must be 'valid' or 'same'"):
        _C.max_pool(x, [2, 2], [1, 1], "full")
    with pytest.raises(ValueError, match=r"rank 3, 4 or 5"):
        _C.max_pool(np.zeros((2, 3), "float32"), [2], [1], "valid")
    with pytest.raises(ValueError, match=r"filter.shape\[2\] must equal the input channels 4"):
        P.depthwise_conv(x, np.zeros((3, 3, 5, 1), "float32"))
    with pytest.raises(ValueError, match=r"bias must have shape \(8,\)"):
        P.depthwise_conv(x, np.zeros((1, 1, 4, 2), "float32"), np.zeros(3, "float32"))
    with pytest.raises(TypeError, match="depthwise_conv: operands must have the same dtype"):
        P.depthwise_conv(x, np.zeros((1, 1, 4, 2), "float64"))
    with pytest.raises(TypeError, match="max_pool: expected a floating dtype"):
        _C.max_pool(np.zeros((2, 3, 3, 4), "int32"), [2, 2], [1, 1], "valid")
    with pytest.raises(ValueError, match="resize: method must be"):
        P.resize(x, [4, 4], "bicubic")
    with pytest.raises(ValueError, match="resize: size must be positive"):
        P.resize(x, [0, 4], "nearest")


def test_tf_nn_argument_forms_and_errors():
    x = rng.standard_normal((2, 6, 6, 3)).astype("float32")
    a = tf.nn.max_pool2d(x, [1, 2, 2, 1], [1, 2, 2, 1], "VALID").numpy()
    b = tf.nn.max_pool(x, 2, 2, "VALID").numpy()
    np.testing.assert_array_equal(a, b)
    xc = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    c = tf.nn.max_pool2d(xc, 2, 2, "VALID", data_format="NCHW").numpy()
    np.testing.assert_array_equal(np.moveaxis(c, 1, -1), a)
    np.testing.assert_allclose(tf.nn.avg_pool3d(x[..., None], 2, 2, "SAME").numpy(),
                               pool_ref(x[..., None], [2, 2, 2], [2, 2, 2], "same", "avg"),
                               rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match=r"max_pool2d: input must have rank 4"):
        tf.nn.max_pool2d(x[0], 2, 2, "VALID")
    with pytest.raises(ValueError, match=r"batch or channel dimension is not supported"):
        tf.nn.max_pool2d(x, [2, 2, 2, 2], 1, "VALID")
    with pytest.raises(ValueError, match=r"data_format must be 'NHWC' or 'NCHW'"):
        tf.nn.avg_pool2d(x, 2, 2, "VALID", data_format="NWC")
    with pytest.raises(ValueError, match=r"padding must be 'VALID' or 'SAME'"):
        tf.nn.avg_pool1d(x[:, 0], 2, 2, [[0, 0], [1, 1], [0, 0]])


def test_depthwise_and_separable_conv2d_functional_forms():
    x = rng.standard_normal((2, 7, 6, 3))
    w = rng.standard_normal((3, 3, 3, 2))
    pw = rng.standard_normal((1, 1, 6, 5))
    want = depthwise_ref(x, w, None, [1, 1], [2, 2], "same")
    got = tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "SAME", dilations=[2, 2]).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    xc = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    got = tf.nn.depthwise_conv2d(xc, w, [1, 1, 2, 2], "VALID", data_format="NCHW").numpy()
    np.testing.assert_allclose(got, depthwise_ref(xc, w, None, [2, 2], [1, 1], "valid", True),
                               rtol=1e-12, atol=1e-12)
    sep = tf.nn.separable_conv2d(x, w, pw, [1, 2, 2, 1], "SAME").numpy()
    want = depthwise_ref(x, w, None, [2, 2], [1, 1], "same") @ pw[0, 0]
    np.testing.assert_allclose(sep, want, rtol=1e-12, atol=1e-12)
    sep = tf.nn.separable_conv2d(xc, w, pw, 1, "SAME", data_format="NCHW").numpy()
    want = np.moveaxis(depthwise_ref(x, w, None, [1, 1], [1, 1], "same") @ pw[0, 0], -1, 1)
    np.testing.assert_allclose(sep, want, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="strides > 1 together with dilations > 1"):
        tf.nn.depthwise_conv2d(x, w, [1, 2, 2, 1], "SAME", dilations=2)
    with pytest.raises(ValueError, match=r"pointwise_filter must have shape"):
        tf.nn.separable_conv2d(x, w, pw[0], 1, "SAME")


def test_meta_shapes_with_unknown_dimensions():
    from corten.keras import Input, layers

    x = Input((None, 8, 3))
    assert tuple(layers.MaxPooling2D(padding="same")(x).shape) == (None, None, 4, 3)
    assert tuple(layers.DepthwiseConv2D(3, depth_multiplier=2)(x).shape) == (None, None, 6, 6)
    assert tuple(layers.UpSampling2D(interpolation="bilinear")(x).shape) == (None, None, 16, 3)


@pytest.mark.parametrize(("k", "s", "d", "padding"),
                         [(3, 1, 1, "same"), (3, 2, 1, "same"), (5, 1, 2, "same"),
                          (3, 1, 1, "valid"), (2, 3, 1, "valid"), (1, 1, 1, "same")])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cf", [False, True])
def test_depthwise_vector_paths_match_numpy(k, s, d, padding, dtype, cf):
    # 37 channels: whole vectors and a tail; 13 columns: edges, blocks of four and a remainder.
    x = rng.standard_normal((2, 37, 6, 13) if cf else (2, 6, 13, 37))
    w = rng.standard_normal((k, k, 37, 1))
    b = rng.standard_normal(37)
    want = depthwise_ref(x, w, b, [s, s], [d, d], padding, cf)
    got = P.depthwise_conv(tf.constant(x.astype(dtype)), tf.constant(w.astype(dtype)),
                           tf.constant(b.astype(dtype)), s, padding, d, cf)
    tol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(got.numpy(), want, rtol=tol, atol=tol)
