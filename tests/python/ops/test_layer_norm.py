"""layer_norm: the fused C++ op against a float64 numpy reference, and its argument checks."""

import numpy as np
import pytest
from cases import LAYOUTS, as_layout, check_close
from corten.ops.nn import layer_norm


def _ref(x, g, b, eps):
    x = x.astype(np.float64)
    m = x.mean(-1, keepdims=True)
    v = x.var(-1, keepdims=True)
    y = (x - m) / np.sqrt(v + eps)
    if g is not None:
        y = y * g
    if b is not None:
        y = y + b
    return y


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 4), (2, 3, 5), (0, 4), (4, 1)], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_numpy(shape, dtype, layout, rng):
    x = rng.normal(size=shape).astype(dtype) * 3 + 1
    g = rng.normal(size=shape[-1:]).astype(dtype)
    b = rng.normal(size=shape[-1:]).astype(dtype)
    got = layer_norm(as_layout(x, layout), g, b, 1e-3)
    check_close(got, _ref(x, g, b, 1e-3), dtype, rtol=1e-5 if dtype == "float32" else 1e-10,
                atol=1e-5 if dtype == "float32" else 1e-12)
    check_close(layer_norm(x, None, None, 1e-5), _ref(x, None, None, 1e-5), dtype,
                rtol=1e-4 if dtype == "float32" else 1e-10,
                atol=1e-4 if dtype == "float32" else 1e-12)


def test_large_rows_are_stable():
    x = np.full((2, 1000), 1e4, np.float32) + np.arange(1000, dtype=np.float32)
    got = layer_norm(x, None, None, 1e-3).numpy()
    np.testing.assert_allclose(got, _ref(x, None, None, 1e-3), rtol=1e-4, atol=1e-4)


def test_errors_name_the_op_and_shapes():
    x = np.ones((2, 3), "float32")
    with pytest.raises(ValueError, match=r"layer_norm: gamma must have shape \(3,\) for x of "
                                         r"shape \(2, 3\); got gamma.shape=\(4,\)"):
        layer_norm(x, np.ones(4, "float32"))
    with pytest.raises(TypeError, match="layer_norm: expected a floating dtype"):
        layer_norm(np.ones((2, 3), "int32"))
    with pytest.raises(ValueError, match="epsilon must be a finite number"):
        layer_norm(x, None, None, float("nan"))
    with pytest.raises(ValueError, match="rank >= 1"):
        layer_norm(np.float32(1.0))


def _run_all(x, g, b, dy):
    import corten

    xs, gs, bs = corten.constant(x), corten.Variable(g), corten.Variable(b)
    with corten.GradientTape() as tape:
        tape.watch(xs)
        y = layer_norm(xs, gs, bs, 1e-3)
    grads = tape.gradient(y, [xs, gs, bs], output_gradients=corten.constant(dy))
    return [y.numpy()] + [t.numpy() for t in grads]


SHAPES = [(300, 512), (64, 16), (5, 3000), (2, 3, 77)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_bit_identical_on_one_and_two_threads(shape, rng):
    import corten

    x = rng.normal(size=shape).astype("float32")
    g, b = rng.normal(size=shape[-1:]).astype("float32"), rng.normal(size=shape[-1:]).astype(
        "float32")
    dy = rng.normal(size=shape).astype("float32")
    threading = corten.config.threading
    previous = threading.get_intra_op_parallelism_threads()
    try:
        threading.set_intra_op_parallelism_threads(1)
        one = _run_all(x, g, b, dy)
        threading.set_intra_op_parallelism_threads(2)
        two = _run_all(x, g, b, dy)
    finally:
        threading.set_intra_op_parallelism_threads(previous)
    for a, c in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_avx512_kernels_match_the_portable_ones(shape, dtype, rng):
    import corten

    if not corten._C.cpu_has_avx512():
        pytest.skip("no AVX-512 on this CPU")
    x = rng.normal(size=shape).astype(dtype)
    g, b = rng.normal(size=shape[-1:]).astype(dtype), rng.normal(size=shape[-1:]).astype(dtype)
    dy = rng.normal(size=shape).astype(dtype)
    previous = corten.config.get_cpu_isa()
    try:
        corten.config.set_cpu_isa("baseline")
        ref = _run_all(x, g, b, dy)
        corten.config.set_cpu_isa("avx512")
        fast = _run_all(x, g, b, dy)
    finally:
        corten.config.set_cpu_isa(previous)
    tol = 2e-4 if dtype == "float32" else 1e-10
    for a, f in zip(ref, fast, strict=True):
        np.testing.assert_allclose(f, a, rtol=tol, atol=tol)
