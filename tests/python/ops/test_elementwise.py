"""Elementwise ops against numpy float64 references, over shapes, layouts and dtypes."""

from __future__ import annotations

import numpy as np
import pytest
from cases import (
    BINARY_CASES,
    BROADCAST_PAIRS,
    FLOAT_DTYPES,
    INT_DTYPES,
    LAYOUTS,
    OP_CASES,
    SHAPES,
    UNARY_CASES,
    as_layout,
    check_close,
    random_array,
)

import corten as tf
from corten import _C


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


UNARY = {c.name: c for c in UNARY_CASES}
BINARY = {c.name: c for c in BINARY_CASES}


def test_every_op_of_the_cpp_table_has_a_case():
    table = {op["name"]: op for op in _C.elementwise_ops()}
    assert set(table) == set(OP_CASES), set(table) ^ set(OP_CASES)
    for name, op in table.items():
        case = OP_CASES[name]
        assert op["arity"] == case.arity, name
        # a differentiable op has a gradient sampler (its finite-difference check)
        assert op["differentiable"] == (case.grad is not None), name
        assert getattr(_C, name) is not None


def test_every_bench_link_names_a_bench_case():
    from corten.bench.peers.cases import BY_KEY

    for case in OP_CASES.values():
        assert case.bench is None or case.bench in BY_KEY, (case.name, case.bench)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name, shape, layout, rng):
    case = UNARY[name]
    fn, ref, (lo, hi) = case.fn, case.ref, case.domain
    for dtype in case.dtypes:
        a = random_array(rng, shape, dtype, lo, hi)
        if name == "round" and dtype in FLOAT_DTYPES and a.size:
            a.flat[0] = 2.5  # half to even
        got = fn(as_layout(a, layout))
        assert got.dtype == tf.as_dtype(dtype)
        check_close(got, ref(a.astype(np.float64)).astype(np.float64) if dtype in FLOAT_DTYPES
                    else ref(a), dtype)


@pytest.mark.parametrize("name", ["sqrt", "exp", "tanh", "sigmoid", "gelu"])
def test_floating_only_ops_reject_integers(name):
    fn = UNARY[name].fn
    with pytest.raises(TypeError, match=r"expected a floating dtype.*got int32"):
        fn(tf.constant([1, 2]))


def _binary_inputs(rng, name, sa, sb, dtype):
    lo, hi = (0.5, 2.0) if name == "pow" else (-3, 3)
    a = random_array(rng, sa, dtype, lo, hi)
    b = random_array(rng, sb, dtype, lo, hi)
    if name == "divide_no_nan" and b.size:
        b.flat[::3] = 0  # exercise the zero-divisor branch
    if name in ("floordiv", "floormod") and b.size:
        b[b == 0] = 1
        b = np.where(np.abs(b) < 0.25, 0.5, b).astype(dtype)
    return a, b


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    ("sa", "sb"), [(s, s) for s in SHAPES] + BROADCAST_PAIRS + [(b, a) for a, b in BROADCAST_PAIRS],
    ids=str,
)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary(name, sa, sb, layout, rng):
    case = BINARY[name]
    fn, ref = case.fn, case.ref
    for dtype in case.dtypes:
        a, b = _binary_inputs(rng, name, sa, sb, dtype)
        got = fn(as_layout(a, layout), as_layout(b, layout))
        want = ref(a.astype(np.float64), b.astype(np.float64)) if dtype in FLOAT_DTYPES else ref(a, b)
        check_close(got, np.asarray(want), dtype if want.dtype != bool else "bool")


@pytest.mark.parametrize(("shape", "bshape"), [((64, 784), (784,)), ((32, 200, 2, 32), (2, 32)),
                                             ((7, 9, 15), (9, 15)), ((5000, 3), (3,)),
                                             ((3, 1, 4096), (1, 4096))], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bfloat16"])
def test_periodic_broadcast_matches_the_row_loop(shape, bshape, dtype, rng):
    # A dense operand against a trailing block repeated over the leading dimensions runs in
    # tiles of whole periods (Note [Periodic broadcast]); the same op with the dense operand
    # strided takes the row loop. Both must give the same bits, in either operand order.
    a = random_array(rng, shape, "float32" if dtype == "bfloat16" else dtype)
    b = random_array(rng, bshape, "float32" if dtype == "bfloat16" else dtype)
    if dtype != "int32":
        b = np.where(b == 0, 0.5, b).astype(b.dtype)
    ops = [tf.subtract, tf.maximum, tf.less]
    if dtype != "int32":
        ops.append(tf.divide)
    big = np.zeros(shape[:-1] + (2 * shape[-1],), dtype=a.dtype)
    big[..., ::2] = a
    dense, strided, bt = tf.constant(a), tf.constant(big)[..., ::2], tf.constant(b)
    if dtype == "bfloat16":
        dense, bt = tf.cast(dense, "bfloat16"), tf.cast(bt, "bfloat16")
        strided = tf.cast(tf.constant(big), "bfloat16")[..., ::2]
    assert not strided._is_contiguous()
    for op in ops:
        for got, want in ((op(dense, bt), op(strided, bt)), (op(bt, dense), op(bt, strided))):
            assert got.shape == want.shape
            np.testing.assert_array_equal(np.asarray(got).view(np.uint8),
                                          np.asarray(want).view(np.uint8), err_msg=op.__name__)


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_integer_division_matches_python(dtype):
    a = np.array([-7, 7, -7, 7, 0, 5, -2**31 if dtype == "int32" else -2**63], dtype=dtype)
    b = np.array([2, -2, -2, 2, 3, 0, -1], dtype=dtype)
    fd = np.asarray(tf.math.floordiv(a, b))
    fm = np.asarray(tf.math.floormod(a, b))
    for i in range(5):
        assert fd[i] == int(a[i]) // int(b[i])
        assert fm[i] == int(a[i]) % int(b[i])
    assert fd[5] == 0 and fm[5] == 0  # division by zero gives 0 instead of trapping
    assert fd[6] == a[6]  # INT_MIN // -1 wraps instead of trapping


def test_divide_no_nan_is_zero_where_the_divisor_is_zero_even_for_nan_and_inf():
    x = tf.constant([np.nan, np.inf, -1.0, 6.0, np.nan])
    y = tf.constant([0.0, 0.0, -0.0, 3.0, 2.0])
    got = tf.math.divide_no_nan(x, y).numpy()
    np.testing.assert_array_equal(got[:4], [0.0, 0.0, 0.0, 2.0])
    assert np.isnan(got[4])
    with pytest.raises(TypeError, match="divide_no_nan: expected a floating dtype"):
        tf.math.divide_no_nan(tf.constant([1, 2]), tf.constant([0, 1]))
    with pytest.raises(ValueError, match="divide_no_nan"):
        tf.math.divide_no_nan(tf.ones([2, 3]), tf.ones([4]))
    # TensorFlow's gradient convention: both partial derivatives are 0 where y == 0.
    a, b = tf.Variable([1.5, -2.0, 3.0]), tf.Variable([0.0, 0.8, 0.0])
    with tf.GradientTape() as tape:
        z = tf.reduce_sum(tf.math.divide_no_nan(a, b))
    ga, gb = tape.gradient(z, [a, b])
    np.testing.assert_allclose(ga.numpy(), [0.0, 1.25, 0.0])
    np.testing.assert_allclose(gb.numpy(), [0.0, 2.0 / 0.64, 0.0], rtol=1e-6)


def test_integer_true_division_gives_float64():
    got = tf.constant([3, -7]) / tf.constant([2, 2])
    assert got.dtype == tf.float64
    np.testing.assert_array_equal(got.numpy(), [1.5, -3.5])


def test_integer_pow_and_overflow_wrap():
    got = tf.pow(tf.constant([2, 3, -2, 2, 1, -1]), tf.constant([10, 3, 3, -1, -5, -3]))
    np.testing.assert_array_equal(got.numpy(), [1024, 27, -8, 0, 1, -1])
    big = tf.constant([2**31 - 1], dtype=tf.int32) + 1
    assert big.numpy()[0] == -(2**31)


def test_dtype_mismatch_is_type_error():
    with pytest.raises(TypeError, match=r"add: operands must have the same dtype; got float32 and int32"):
        tf.add(tf.constant([1.0]), tf.constant([1]))


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"multiply: shapes \(2, 3\) and \(4, 5\) cannot be broadcast"):
        tf.multiply(tf.zeros((2, 3)), tf.zeros((4, 5)))


def test_python_scalars_take_the_tensor_dtype():
    x = tf.constant([1.0, 2.0], dtype=tf.float64)
    assert (x + 1).dtype == tf.float64
    assert (2 * x).dtype == tf.float64
    with pytest.raises(TypeError, match="cannot convert the Python float 1.5 to int32"):
        tf.constant([1, 2]) + 1.5


@pytest.mark.parametrize(
    ("expr", "ref"),
    [
        (lambda x, y: x + y, np.add), (lambda x, y: x - y, np.subtract),
        (lambda x, y: x * y, np.multiply), (lambda x, y: x / y, np.true_divide),
        (lambda x, y: x // y, np.floor_divide), (lambda x, y: x % y, np.mod),
        (lambda x, y: x**y, np.power), (lambda x, y: x @ y, np.matmul),
        (lambda x, y: x < y, np.less), (lambda x, y: x <= y, np.less_equal),
        (lambda x, y: x > y, np.greater), (lambda x, y: x >= y, np.greater_equal),
        (lambda x, y: x == y, np.equal), (lambda x, y: x != y, np.not_equal),
    ],
)
def test_python_operators_and_reflected_forms(expr, ref):
    a = np.array([[1.5, 2.0], [3.0, 0.5]])
    b = np.array([[2.0, 0.5], [1.5, 3.0]])
    ta, tb = tf.constant(a), tf.constant(b)
    np.testing.assert_allclose(np.asarray(expr(ta, tb)), ref(a, b))
    np.testing.assert_allclose(np.asarray(expr(ta, b)), ref(a, b))  # numpy on the right
    np.testing.assert_allclose(np.asarray(expr(a, tb)), ref(a, b))  # numpy on the left
    if ref is not np.matmul:
        np.testing.assert_allclose(np.asarray(expr(2.0, tb)), ref(2.0, b))  # Python scalar left
        np.testing.assert_allclose(np.asarray(expr(ta, 2.0)), ref(a, 2.0))


def test_unary_operators():
    a = np.array([-1.5, 2.0])
    t = tf.constant(a)
    np.testing.assert_array_equal((-t).numpy(), -a)
    np.testing.assert_array_equal(abs(t).numpy(), abs(a))
    np.testing.assert_array_equal((~tf.constant([True, False])).numpy(), [False, True])


def test_where_and_clip():
    c = np.array([True, False, True])
    np.testing.assert_array_equal(tf.where(c, tf.constant([1, 2, 3]), 0).numpy(), [1, 0, 3])
    got = tf.where(tf.constant([[True], [False]]), tf.ones((2, 3)), tf.zeros((1, 3)))
    np.testing.assert_array_equal(got.numpy(), [[1, 1, 1], [0, 0, 0]])
    np.testing.assert_array_equal(tf.clip_by_value(tf.constant([-2.0, 0.5, 3.0]), -1.0, 1.0).numpy(),
                                  [-1.0, 0.5, 1.0])
    with pytest.raises(ValueError, match=r"clip_by_value: clip bounds"):
        tf.clip_by_value(tf.zeros((3,)), tf.zeros((2, 3)), 1.0)


@pytest.mark.parametrize("src", ["bool", "int32", "int64", "float32", "float64"])
@pytest.mark.parametrize("dst", ["bool", "int32", "int64", "float32", "float64"])
def test_cast(src, dst, rng):
    a = random_array(rng, (3, 5), src)
    np.testing.assert_array_equal(tf.cast(as_layout(a, "transposed"), dst).numpy(), a.astype(dst))


def test_cast_float_to_int_saturates_and_maps_nan_to_zero():
    got = tf.cast(tf.constant([np.nan, np.inf, -np.inf, 1e20, -2.7, 2.7]), tf.int32).numpy()
    np.testing.assert_array_equal(got, [0, 2**31 - 1, -(2**31), 2**31 - 1, -2, 2])


def test_nan_propagates_through_maximum_and_minimum():
    x = tf.constant([np.nan, 1.0])
    y = tf.constant([0.0, np.nan])
    assert np.isnan(tf.maximum(x, y).numpy()).all()
    assert np.isnan(tf.minimum(x, y).numpy()).all()


def test_large_parallel_elementwise_matches_numpy(rng):
    a = rng.standard_normal((1000, 1001)).astype(np.float32)
    b = rng.standard_normal((1001,)).astype(np.float32)
    np.testing.assert_allclose((tf.constant(a) * b + 1.0).numpy(), a * b + 1.0, rtol=1e-6)
    np.testing.assert_allclose(tf.exp(tf.constant(a)[:, ::3]).numpy(), np.exp(a[:, ::3]), rtol=1e-6)


def _ulp_error(got: np.ndarray, want64: np.ndarray) -> np.ndarray:
    spacing = np.spacing(np.abs(want64.astype(np.float32))).astype(np.float64)
    return np.abs(got.astype(np.float64) - want64) / spacing


# Error bounds of the float32 kernels (Note [Vectorised transcendental functions]).
@pytest.mark.parametrize(
    ("name", "fn", "ref", "lo", "hi", "max_ulp"),
    [
        ("exp", tf.exp, np.exp, -87.3, 88.7, 2.0),
        ("tanh", tf.tanh, np.tanh, -12.0, 12.0, 2.5),
        ("sigmoid", tf.sigmoid, _sigmoid, -80.0, 30.0, 3.0),
    ],
)
def test_float32_transcendental_error_bound(name, fn, ref, lo, hi, max_ulp):
    x = np.linspace(lo, hi, 1_000_003, dtype=np.float32)
    assert _ulp_error(fn(x).numpy(), ref(x.astype(np.float64))).max() <= max_ulp


def _flush(a):
    """Denormals to zeros of the same sign, as ops see and make them (Note [Denormals])."""
    a = np.array(a, copy=True)
    a[np.abs(a) < np.finfo(a.dtype).tiny] *= 0
    return a


def test_float32_tanh_error_bound_over_every_binade(rng):
    # Random bit patterns cover every binade from subnormals to 16 alike, both signs: the
    # linspace above barely samples |x| < 1e-3, where tanh's relative accuracy is hardest to
    # keep (Note [Vectorised transcendental functions]). Subnormal inputs are zeros to the op.
    bits = rng.integers(0, 0x41800000, size=1_000_000, dtype=np.uint32)
    x = bits.view(np.float32) * rng.choice(np.array([-1, 1], np.float32), size=bits.size)
    want = np.tanh(_flush(x).astype(np.float64))
    assert _ulp_error(tf.tanh(x).numpy(), want).max() <= 2.5


def test_tanh_keeps_the_sign_of_zero_saturates_and_flushes_subnormals():
    x = np.array([-0.0, 0.0, 9.1, -9.1, 20.0, -1e30, np.inf, 1e-40, -1e-40, 3e-39], np.float32)
    got = tf.tanh(x).numpy()
    assert np.signbit(got[0]) and got[0] == 0 and not np.signbit(got[1])
    np.testing.assert_array_equal(got[2:7], [1, -1, 1, -1, 1])
    # Subnormal inputs are signed zeros to the op (as in TensorFlow): tanh(+-0) = +-0.
    np.testing.assert_array_equal(got[7:], [0, 0, 0])
    np.testing.assert_array_equal(np.signbit(got[7:]), [False, True, False])


def test_transcendental_edge_values():
    special = np.array([np.nan, np.inf, -np.inf, 100.0, -100.0, -90.0, 0.0, -0.0, 1e-30, 20.0],
                       dtype=np.float32)
    with np.errstate(over="ignore"):
        # exp(-90) is subnormal: flushed to zero (Note [Denormals]).
        np.testing.assert_allclose(tf.exp(special).numpy(), _flush(np.exp(special)), rtol=2.5e-7,
                                   atol=0)
        np.testing.assert_allclose(tf.tanh(special).numpy(), np.tanh(special), rtol=2.5e-7, atol=0)
        want = (1 / (1 + np.exp(-special.astype(np.float64)))).astype(np.float32)
    np.testing.assert_allclose(tf.sigmoid(special).numpy(), _flush(want), rtol=3e-7, atol=0)
