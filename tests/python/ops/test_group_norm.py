"""group_norm and unit_norm: the fused C++ ops against float64 numpy, thread-count invariance,
the AVX-512 kernels against the portable ones, and argument checks. (conftest.py runs every test
under each kernel set of this CPU.)"""

import corten
import numpy as np
import pytest
from cases import LAYOUTS, as_layout, check_close
from corten.ops.nn import group_norm, unit_norm


def _ref_group(x, g, b, groups, axis, eps=1e-3):
    axis %= x.ndim
    shape = list(x.shape)
    c = shape[axis]
    shape[axis:axis + 1] = [groups, c // groups]
    xr = x.reshape(shape)
    red = tuple(d for d in range(1, len(shape)) if d != axis)
    y = ((xr - xr.mean(red, keepdims=True)) / np.sqrt(xr.var(red, keepdims=True) + eps))
    y = y.reshape(x.shape)
    bshape = [1] * x.ndim
    bshape[axis] = c
    if g is not None:
        y = y * g.reshape(bshape)
    if b is not None:
        y = y + b.reshape(bshape)
    return y


GROUP_CASES = [((4, 6), 3, -1), ((2, 5, 4, 6), 2, -1), ((2, 6, 3, 5), 3, 1), ((3, 4, 6, 2), 6, 2),
               ((2, 3, 3, 64), 32, -1), ((5, 1), 1, -1), ((0, 4), 2, -1)]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(("shape", "groups", "axis"), GROUP_CASES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_group_norm_matches_numpy(shape, groups, axis, dtype, layout, rng):
    x = (rng.normal(size=shape) * 2 + 1).astype(dtype)
    c = shape[axis]
    g, b = rng.normal(size=c).astype(dtype), rng.normal(size=c).astype(dtype)
    tol = (1e-5, 1e-5) if dtype == "float32" else (1e-10, 1e-12)
    check_close(group_norm(as_layout(x, layout), g, b, groups, axis),
                _ref_group(x.astype(np.float64), g, b, groups, axis), dtype, rtol=tol[0],
                atol=tol[1])
    check_close(group_norm(x, None, None, groups, axis),
                _ref_group(x.astype(np.float64), None, None, groups, axis), dtype,
                rtol=tol[0], atol=tol[1])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", [(3, 7), (2, 3, 40), (1,), (0, 3), (2, 2000)], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unit_norm_matches_numpy(shape, dtype, layout, rng):
    x = rng.normal(size=shape).astype(dtype)
    x64 = x.astype(np.float64)
    want = x64 / np.sqrt(np.maximum((x64 * x64).sum(-1, keepdims=True), 1e-12))
    tol = (1e-5, 1e-6) if dtype == "float32" else (1e-10, 1e-12)
    check_close(unit_norm(as_layout(x, layout)), want, dtype, rtol=tol[0], atol=tol[1])


def test_unit_norm_of_zeros_is_zero_with_gradient_one_over_sqrt_epsilon():
    x = corten.constant(np.zeros((2, 3)))
    with corten.GradientTape() as tape:
        tape.watch(x)
        y = unit_norm(x)
    np.testing.assert_array_equal(y.numpy(), 0)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), 1e6)


def _run_all(fn, x, g, b, dy):
    xs, gs, bs = corten.constant(x), corten.Variable(g), corten.Variable(b)
    with corten.GradientTape() as tape:
        tape.watch(xs)
        y = fn(xs, gs, bs)
    grads = tape.gradient(y, [xs, gs, bs], output_gradients=corten.constant(dy),
                          unconnected_gradients="zero")
    return [y.numpy()] + [t.numpy() for t in grads]


OPS = {
    "group_norm_last": ((70, 8, 8, 64), lambda x, g, b: group_norm(x, g, b, 8, -1)),
    "group_norm_first": ((6, 32, 9, 9), lambda x, g, b: group_norm(x, g, b, 4, 1)),
    "unit_norm": ((300, 128), lambda x, g, b: unit_norm(x) * g),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_bit_identical_on_one_and_two_threads(name, threads, rng):
    shape, fn = OPS[name]
    c = 64 if name == "group_norm_last" else shape[1] if name == "group_norm_first" else 128
    x = rng.normal(size=shape).astype("float32")
    g, b = rng.normal(size=c).astype("float32"), rng.normal(size=c).astype("float32")
    dy = rng.normal(size=shape).astype("float32")
    threads(1)
    one = _run_all(fn, x, g, b, dy)
    threads(2)
    two = _run_all(fn, x, g, b, dy)
    for a, c2 in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, c2)


@pytest.mark.skipif(not corten._C.cpu_has_avx512(), reason="no AVX-512 on this CPU")
@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_avx512_kernels_match_the_portable_ones(name, dtype, rng):
    shape, fn = OPS[name]
    c = 64 if name == "group_norm_last" else shape[1] if name == "group_norm_first" else 128
    x = rng.normal(size=shape).astype(dtype)
    g, b = rng.normal(size=c).astype(dtype), rng.normal(size=c).astype(dtype)
    dy = rng.normal(size=shape).astype(dtype)
    previous = corten.config.get_cpu_isa()
    try:
        corten.config.set_cpu_isa("baseline")
        ref = _run_all(fn, x, g, b, dy)
        corten.config.set_cpu_isa("avx512")
        fast = _run_all(fn, x, g, b, dy)
    finally:
        corten.config.set_cpu_isa(previous)
    tol = 2e-4 if dtype == "float32" else 1e-10
    for a, f in zip(ref, fast, strict=True):
        np.testing.assert_allclose(f, a, rtol=tol, atol=tol)


def test_errors_name_the_op_and_shapes():
    x = np.ones((2, 6), "float32")
    with pytest.raises(ValueError, match=r"group_norm: groups must divide the 6 channels of "
                                         r"x.shape=\(2, 6\); got groups=4"):
        group_norm(x, None, None, 4, -1)
    with pytest.raises(ValueError, match=r"group_norm: gamma must have 6 values for x of shape "
                                         r"\(2, 6\); got gamma.shape=\(3,\)"):
        group_norm(x, np.ones(3, "float32"), None, 2, -1)
    with pytest.raises(ValueError, match="group_norm: axis must not be the batch axis"):
        group_norm(x, None, None, 2, 0)
    with pytest.raises(ValueError, match=r"group_norm: x must have rank >= 2"):
        group_norm(np.ones(6, "float32"), None, None, 2, 0)
    with pytest.raises(TypeError, match="unit_norm: expected a floating dtype"):
        unit_norm(np.ones((2, 3), "int32"))
    with pytest.raises(ValueError, match="unit_norm: epsilon must be a finite number > 0"):
        unit_norm(x, 0.0)
