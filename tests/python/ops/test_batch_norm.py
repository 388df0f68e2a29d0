"""batch_norm: the fused C++ op against float64 numpy, its moving-statistics update (biased and
Bessel-corrected), thread-count invariance, the AVX-512 kernels against the portable ones, and
its argument checks. (conftest.py runs every test under each kernel set of this CPU.)"""

import corten
import numpy as np
import pytest
from cases import LAYOUTS, as_layout, check_close
from corten.ops.nn import batch_norm


def _moments(x, axis):
    red = tuple(d for d in range(x.ndim) if d != axis % x.ndim)
    return x.mean(red), x.var(red), x.size // x.shape[axis]


def _ref(x, g, b, mean, var, axis, eps):
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    if g is not None:
        y = y * g.reshape(shape)
    if b is not None:
        y = y + b.reshape(shape)
    return y


def _tol(dtype):
    return (1e-5, 1e-5) if dtype == "float32" else (1e-10, 1e-12)


CASES = [((6, 3), -1), ((5, 4), 0), ((2, 3, 4), 1), ((3, 4, 5, 6), -1), ((4, 3, 5, 2), 1),
         ((2, 3, 70, 5), 2), ((1, 7), -1), ((130, 9), -1)]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(("shape", "axis"), CASES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_matches_numpy(shape, axis, dtype, layout, rng):
    x = (rng.normal(size=shape) * 3 + 1).astype(dtype)
    c = shape[axis]
    g = rng.normal(size=c).astype(dtype)
    b = rng.normal(size=c).astype(dtype)
    got = batch_norm(as_layout(x, layout), g, b, None, None, axis, True, 0.9, 1e-3)
    m, v, _ = _moments(x.astype(np.float64), axis)
    rtol, atol = _tol(dtype)
    check_close(got, _ref(x.astype(np.float64), g, b, m, v, axis, 1e-3), dtype, rtol=rtol,
                atol=atol)


@pytest.mark.parametrize(("shape", "axis"), CASES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bessel", [False, True])
def test_moving_statistics_update_in_place(shape, axis, dtype, bessel, rng):
    x = (rng.normal(size=shape) * 2 - 1).astype(dtype)
    c = shape[axis]
    mm0 = rng.normal(size=c)
    mv0 = rng.uniform(0.5, 2, size=c)
    mm = corten.Variable(mm0.astype(dtype), trainable=False)
    mv = corten.Variable(mv0.astype(dtype), trainable=False)
    batch_norm(x, None, None, mm, mv, axis, True, 0.8, 1e-3, bessel)
    m, v, n = _moments(x.astype(np.float64), axis)
    if bessel and n > 1:
        v = v * n / (n - 1)
    rtol, atol = _tol(dtype)
    np.testing.assert_allclose(mm.numpy(), mm0 * 0.8 + m * 0.2, rtol=rtol, atol=max(atol, 1e-6
                               if dtype == "float32" else 1e-12))
    np.testing.assert_allclose(mv.numpy(), mv0 * 0.8 + v * 0.2, rtol=rtol, atol=max(atol, 1e-6
                               if dtype == "float32" else 1e-12))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_inference_uses_and_keeps_the_moving_statistics(dtype, rng):
    x = rng.normal(size=(4, 3, 5)).astype(dtype)
    g, b = rng.normal(size=3).astype(dtype), rng.normal(size=3).astype(dtype)
    mm = corten.Variable(rng.normal(size=3).astype(dtype), trainable=False)
    mv = corten.Variable(rng.uniform(0.5, 2, size=3).astype(dtype), trainable=False)
    before = (mm.numpy().copy(), mv.numpy().copy())
    got = batch_norm(x, g, b, mm, mv, 1, False, 0.9, 1e-3)
    rtol, atol = _tol(dtype)
    check_close(got, _ref(x.astype(np.float64), g, b, before[0].astype(np.float64),
                          before[1].astype(np.float64), 1, 1e-3), dtype, rtol=rtol, atol=atol)
    np.testing.assert_array_equal(mm.numpy(), before[0])
    np.testing.assert_array_equal(mv.numpy(), before[1])


def test_bessel_correction_of_two_values():
    # tf_keras test_bessels_correction: [0, 2], momentum 0.5, zero moving variance.
    x = np.array([0.0, 2.0], np.float32).reshape(2, 1, 1, 1)
    for bessel, want in ((True, 1.0), (False, 0.5)):
        mm = corten.Variable(np.zeros(1, np.float32), trainable=False)
        mv = corten.Variable(np.zeros(1, np.float32), trainable=False)
        batch_norm(x, None, None, mm, mv, 3, True, 0.5, 1e-3, bessel)
        assert mv.numpy().tolist() == [want]
        assert mm.numpy().tolist() == [0.5]


def test_empty_batch_leaves_the_moving_statistics(rng):
    mm = corten.Variable(np.ones(3, np.float32), trainable=False)
    mv = corten.Variable(np.ones(3, np.float32), trainable=False)
    out = batch_norm(np.zeros((0, 3), np.float32), None, None, mm, mv, -1, True, 0.5, 1e-3)
    assert out.shape == (0, 3)
    np.testing.assert_array_equal(mv.numpy(), np.ones(3))


def test_large_offsets_are_stable():
    x = np.float32(1e4) + np.arange(3000, dtype=np.float32).reshape(1000, 3)
    got = batch_norm(x, None, None, None, None, -1, True, 0.9, 1e-3).numpy()
    m, v, _ = _moments(x.astype(np.float64), -1)
    np.testing.assert_allclose(got, _ref(x.astype(np.float64), None, None, m, v, -1, 1e-3),
                               rtol=1e-4, atol=1e-4)


def _run_all(x, g, b, dy, axis, training):
    mm = corten.Variable(np.zeros(x.shape[axis], x.dtype), trainable=False)
    mv = corten.Variable(np.ones(x.shape[axis], x.dtype), trainable=False)
    xs, gs, bs = corten.constant(x), corten.Variable(g), corten.Variable(b)
    with corten.GradientTape() as tape:
        tape.watch(xs)
        y = batch_norm(xs, gs, bs, mm, mv, axis, training, 0.9, 1e-3, True)
    grads = tape.gradient(y, [xs, gs, bs], output_gradients=corten.constant(dy))
    return [y.numpy(), mm.numpy(), mv.numpy()] + [t.numpy() for t in grads]


SHAPES = [((64, 8, 8, 16), -1), ((16, 12, 9, 9), 1), ((3000, 5), -1)]


@pytest.mark.parametrize(("shape", "axis"), SHAPES, ids=str)
@pytest.mark.parametrize("training", [True, False])
def test_bit_identical_on_one_and_two_threads(shape, axis, training, threads, rng):
    x = rng.normal(size=shape).astype("float32")
    c = shape[axis]
    g, b = rng.normal(size=c).astype("float32"), rng.normal(size=c).astype("float32")
    dy = rng.normal(size=shape).astype("float32")
    threads(1)
    one = _run_all(x, g, b, dy, axis, training)
    threads(2)
    two = _run_all(x, g, b, dy, axis, training)
    for a, c2 in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, c2)


@pytest.mark.skipif(not corten._C.cpu_has_avx512(), reason="no AVX-512 on this CPU")
@pytest.mark.parametrize(("shape", "axis"), SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_avx512_kernels_match_the_portable_ones(shape, axis, dtype, rng):
    x = rng.normal(size=shape).astype(dtype)
    c = shape[axis]
    g, b = rng.normal(size=c).astype(dtype), rng.normal(size=c).astype(dtype)
    dy = rng.normal(size=shape).astype(dtype)
    previous = corten.config.get_cpu_isa()
    try:
        corten.config.set_cpu_isa("baseline")
        ref = _run_all(x, g, b, dy, axis, True)
        corten.config.set_cpu_isa("avx512")
        fast = _run_all(x, g, b, dy, axis, True)
    finally:
        corten.config.set_cpu_isa(previous)
    tol = 2e-4 if dtype == "float32" else 1e-10
    for a, f in zip(ref, fast, strict=True):
        np.testing.assert_allclose(f, a, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(5, 4, 3), (3000, 7), (40, 50, 6)], ids=str)
def test_mask_weighs_the_statistics(shape, dtype, rng):
    x = (rng.normal(size=shape) * 2 + 1).astype(dtype)
    keep = rng.uniform(size=shape[:-1]) > 0.3
    c = shape[-1]
    mm = corten.Variable(np.zeros(c, dtype), trainable=False)
    mv = corten.Variable(np.ones(c, dtype), trainable=False)
    got = batch_norm(x, None, None, mm, mv, -1, True, 0.5, 1e-3, True, keep)
    sel = x[keep].astype(np.float64)
    m, v, n = sel.mean(0), sel.var(0), len(sel)
    rtol, atol = _tol(dtype)
    check_close(got, (x - m) / np.sqrt(v + 1e-3), dtype, rtol=rtol, atol=max(atol, 1e-10))
    np.testing.assert_allclose(mv.numpy(), 0.5 + v * n / (n - 1) * 0.5, rtol=max(rtol, 1e-9))
    # all positions masked: no statistics, the moving ones untouched
    batch_norm(x, None, None, mm, mv, -1, True, 0.5, 1e-3, True, np.zeros(shape[:-1], bool))
    np.testing.assert_allclose(mv.numpy(), 0.5 + v * n / (n - 1) * 0.5, rtol=max(rtol, 1e-9))


def test_mask_is_bit_identical_on_one_and_two_threads(rng):
    x = rng.normal(size=(64, 30, 16)).astype("float32")
    keep = rng.uniform(size=(64, 30)) > 0.5
    dy = rng.normal(size=x.shape).astype("float32")
    g = corten.Variable(np.ones(16, "float32"))

    def run():
        xs = corten.constant(x)
        with corten.GradientTape() as tape:
            tape.watch(xs)
            y = batch_norm(xs, g, None, None, None, -1, True, 0.9, 1e-3, False, keep)
        gx, gg = tape.gradient(y, [xs, g], output_gradients=corten.constant(dy))
        return y.numpy(), gx.numpy(), gg.numpy()

    threading = corten.config.threading
    previous = threading.get_intra_op_parallelism_threads()
    try:
        threading.set_intra_op_parallelism_threads(1)
        one = run()
        threading.set_intra_op_parallelism_threads(2)
        two = run()
    finally:
        threading.set_intra_op_parallelism_threads(previous)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)


def test_errors_name_the_op_and_shapes():
    x = np.ones((2, 3), "float32")
    with pytest.raises(ValueError, match=r"batch_norm: gamma must have 3 values \(x.shape\[1\] "
                                         r"for x of shape \(2, 3\)\); got gamma.shape=\(4,\)"):
        batch_norm(x, np.ones(4, "float32"), None, None, None, -1, True)
    with pytest.raises(TypeError, match="batch_norm: expected a floating dtype"):
        batch_norm(np.ones((2, 3), "int32"), training=True)
    with pytest.raises(ValueError, match="epsilon must be a finite number"):
        batch_norm(x, training=True, epsilon=float("nan"))
    with pytest.raises(ValueError, match="inference .* needs moving_mean"):
        batch_norm(x, training=False)
    mm = corten.Variable(np.zeros(3, "float32"))
    with pytest.raises(ValueError, match="must be given together"):
        batch_norm(x, None, None, mm, None, -1, True)
    with pytest.raises(ValueError, match="axis"):
        batch_norm(x, axis=2, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: a mask needs the channel axis last and "
                                         r"the shape of x without it; got x.shape=\(2, 3\), "
                                         r"axis=1, mask.shape=\(3,\)"):
        batch_norm(x, training=True, mask=np.ones(3, bool))
    with pytest.raises(TypeError, match="batch_norm: operands must have the same dtype"):
        batch_norm(x, None, None, corten.Variable(np.zeros(3)), corten.Variable(np.ones(3)),
                   -1, True)
