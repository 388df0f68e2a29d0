"""matmul and the @ operator against numpy float64 references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from cases import FLOAT_DTYPES, INT_DTYPES, LAYOUTS, NUMERIC_DTYPES, as_layout, check_close, random_array

import corten as tf

# GEMM tolerance: float32 products summed in float32 over k <= 64 terms of size <= 9.
MATMUL_TOL = {"float32": {"rtol": 1e-5, "atol": 1e-4}, "float64": {"rtol": 1e-12, "atol": 1e-12}}


def _ref(a, b, dtype):
    if dtype in FLOAT_DTYPES:
        return np.matmul(a.astype(np.float64), b.astype(np.float64))
    return np.matmul(a, b)


def _check(got, want, dtype):
    check_close(got, want, dtype, **MATMUL_TOL.get(dtype, {}))


@pytest.mark.parametrize(("m", "k", "n"), list(itertools.product([0, 1, 3], [0, 1, 4], [0, 1, 2])), ids=str)
@pytest.mark.parametrize("dtype", NUMERIC_DTYPES)
def test_matmul_2d_small_and_empty(m, k, n, dtype, rng):
    a = random_array(rng, (m, k), dtype)
    b = random_array(rng, (k, n), dtype)
    got = tf.matmul(a, b)
    assert got.dtype == tf.as_dtype(dtype)
    _check(got, _ref(a, b, dtype), dtype)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(("ta", "tb"), list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("dtype", NUMERIC_DTYPES)
def test_matmul_transpose_flags_and_layouts(ta, tb, layout, dtype, rng):
    a = random_array(rng, (5, 7), dtype)
    b = random_array(rng, (7, 6), dtype)
    a_in = np.ascontiguousarray(a.T) if ta else a
    b_in = np.ascontiguousarray(b.T) if tb else b
    got = tf.matmul(as_layout(a_in, layout), as_layout(b_in, layout), transpose_a=ta, transpose_b=tb)
    _check(got, _ref(a, b, dtype), dtype)
    got_adj = tf.matmul(as_layout(a_in, layout), as_layout(b_in, layout), adjoint_a=ta, adjoint_b=tb)
    _check(got_adj, _ref(a, b, dtype), dtype)


@pytest.mark.parametrize(
    ("sa", "sb"),
    [((2, 3, 4), (2, 4, 5)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2)),
     ((1, 3, 4), (6, 4, 2)), ((0, 3, 4), (4, 2)), ((2, 0, 4), (2, 4, 3)), ((2, 3, 0), (1, 0, 5)),
     ((4, 1, 1), (1, 1, 1)), ((2, 2, 64, 33), (33, 17))],
    ids=str,
)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", NUMERIC_DTYPES)
def test_matmul_batched_broadcast(sa, sb, layout, dtype, rng):
    a = random_array(rng, sa, dtype)
    b = random_array(rng, sb, dtype)
    got = tf.matmul(as_layout(a, layout), as_layout(b, layout))
    _check(got, _ref(a, b, dtype), dtype)


def test_matmul_batched_with_transposes(rng):
    a = rng.standard_normal((3, 4, 2))
    b = rng.standard_normal((1, 5, 4))
    got = tf.matmul(a, b, transpose_a=True, transpose_b=True)
    _check(got, np.matmul(np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2)), "float64")


def test_matmul_operator_and_python_operands(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((4, 2)).astype(np.float32)
    _check(tf.constant(a) @ tf.constant(b), _ref(a, b, "float32"), "float32")
    _check(tf.constant(a) @ b, _ref(a, b, "float32"), "float32")
    _check(a @ tf.constant(b), _ref(a, b, "float32"), "float32")
    got = tf.matmul(tf.constant(a), b.tolist())  # a list takes the tensor's dtype
    _check(got, _ref(a, b, "float32"), "float32")


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_integer_matmul_wraps(dtype):
    top = np.iinfo(dtype).max
    a = tf.constant([[top, 1]], dtype=dtype)
    b = tf.constant([[1], [1]], dtype=dtype)
    assert tf.matmul(a, b).numpy()[0, 0] == np.iinfo(dtype).min


def test_matmul_on_meta_tensors():
    a = tf._C.empty_meta([None, 3, 4], "float32")
    b = tf._C.empty_meta([4, None], "float32")
    got = tf.matmul(a, b)
    assert tuple(got.shape) == (None, 3, None) and got.dtype == tf.float32


def test_matmul_errors():
    with pytest.raises(ValueError, match=r"matmul: the inner dimensions differ \(3 vs 4\); "
                                         r"got a\.shape=\(2, 3\), b\.shape=\(4, 5\)"):
        tf.matmul(tf.zeros((2, 3)), tf.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"a\.shape=\(3, 2\), b\.shape=\(3, 5\) with transpose_b"):
        tf.matmul(tf.zeros((3, 2)), tf.zeros((3, 5)), transpose_b=True)
    with pytest.raises(ValueError, match=r"matmul: both operands must have rank >= 2; got a\.shape=\(3,\), "
                                         r"b\.shape=\(3, 2\)"):
        tf.matmul(tf.zeros((3,)), tf.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"matmul: shapes \(2,\) and \(3,\) cannot be broadcast"):
        tf.matmul(tf.zeros((2, 3, 4)), tf.zeros((3, 4, 5)))
    with pytest.raises(TypeError, match=r"matmul: operands must have the same dtype; got float32 and int32"):
        tf.matmul(tf.zeros((2, 2)), tf.constant([[1, 2], [3, 4]]))
    with pytest.raises(TypeError, match=r"matmul: bool tensors are not supported"):
        tf.matmul(tf.constant([[True]]), tf.constant([[True]]))
    with pytest.raises(ValueError, match=r"only one of transpose_a and adjoint_a can be True"):
        tf.matmul(tf.zeros((2, 2)), tf.zeros((2, 2)), transpose_a=True, adjoint_a=True)
    with pytest.raises(ValueError, match=r"only one of transpose_b and adjoint_b can be True"):
        tf.matmul(tf.zeros((2, 2)), tf.zeros((2, 2)), transpose_b=True, adjoint_b=True)
    with pytest.raises(TypeError, match=r"output_type must be None or the operands' dtype \(float32\)"):
        tf.matmul(tf.zeros((2, 2)), tf.zeros((2, 2)), output_type=tf.int32)
    with pytest.raises(ValueError, match=r"matmul: both operands must have rank >= 2"):
        tf.zeros((3,)) @ tf.zeros((3,))


# --- Packed GEMM edge paths (csrc/cpu/gemm) ---------------------------------------------------
# Note [GEMM test tolerance]: the float32 GEMM sums k products in float32 in blocks, so its error
# is bounded relative to sum_p |a_ip||b_pj|, not to the result: |got - want| <= 1e-4 * (|a| @ |b|)
# for K up to a few thousand; float64 uses 1e-12.


@pytest.fixture(params=[1, 2], ids=lambda t: f"threads{t}")
def threads(request):
    previous = tf.config.threading.get_intra_op_parallelism_threads()
    tf.config.threading.set_intra_op_parallelism_threads(request.param)
    yield request.param
    tf.config.threading.set_intra_op_parallelism_threads(previous)


def _check_gemm(got, a, b, dtype):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    want = np.matmul(a64, b64)
    bound = (1e-4 if dtype == "float32" else 1e-12) * np.matmul(np.abs(a64), np.abs(b64)) + 1e-30
    got = np.asarray(got)
    assert got.dtype == np.dtype(dtype) and got.shape == want.shape
    err = np.abs(got.astype(np.float64) - want)
    assert np.all(err <= bound), f"max excess {np.max(err - bound)} at {np.unravel_index(np.argmax(err - bound), err.shape)}"


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gemm_all_small_sizes(dtype, threads, rng):
    # Every m, n, k in 1..37 appears, so every partial MR x NR edge tile is written back; n
    # crosses the widths of every kernel (8, 16, 32, 64: the narrow avx512 tiles serve n <= 32).
    big_a = rng.standard_normal((37, 37)).astype(dtype)
    big_b = rng.standard_normal((37, 65)).astype(dtype)
    for m in range(1, 38):
        for n in (1, 5, 8, 9, 15, 16, 17, 31, 32, 33, 37, 63, 64, 65):
            for k in (1, 6, 37):
                a, b = big_a[:m, :k], big_b[:k, :n]
                _check_gemm(tf.matmul(a, b), a, b, dtype)
    for n in range(1, 38):
        for k in range(1, 38, 3):
            a, b = big_a[:7, :k], big_b[:k, :n]
            _check_gemm(tf.matmul(a, b), a, b, dtype)


def _edge_sizes(tile):
    # 1, and around one and two tiles: full tiles, partial tiles and a partial second tile.
    return sorted({1, tile - 1, tile, tile + 1, 2 * tile - 1, 2 * tile + 3} - {0})


@pytest.mark.parametrize(("ta", "tb"), list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gemm_edge_tiles_of_the_active_kernel(ta, tb, dtype, threads, rng):
    # The sizes come from the micro-kernel of the ISA under test (the conftest fixture runs each
    # ISA), so every kernel gets full, partial-row, partial-column and corner tiles, with B read
    # in place (row-major, ta/tb False) and packed (transposed), and K from 1 past one KC block.
    info = tf._C.gemm_info(dtype)
    mr, nr, kc = info["mr"], info["nr"], info["kc"]
    big_a = rng.standard_normal((2 * mr + 3, kc + 1)).astype(dtype)
    big_b = rng.standard_normal((kc + 1, 2 * nr + 3)).astype(dtype)
    for m in _edge_sizes(mr):
        for n in _edge_sizes(nr):
            for k in (1, 7, kc, kc + 1):
                a, b = big_a[:m, :k], big_b[:k, :n]
                a_in = np.ascontiguousarray(a.T) if ta else a
                b_in = np.ascontiguousarray(b.T) if tb else b
                _check_gemm(tf.matmul(a_in, b_in, transpose_a=ta, transpose_b=tb), a, b, dtype)


@pytest.mark.parametrize(("ta", "tb"), list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gemm_single_row_products(ta, tb, dtype, threads, rng):
    # One-row products take the single-row kernel where the ISA has one (a one-sample Dense):
    # k across several KC blocks, n across several column tiles and a partial last one, B
    # read in place (row strides of 256 bytes included) and packed.
    for k, n in ((784, 64), (2000, 300), (64, 784), (3, 1), (257, 65)):
        a = rng.standard_normal((1, k)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
        a_in = np.ascontiguousarray(a.T) if ta else a
        b_in = np.ascontiguousarray(b.T) if tb else b
        _check_gemm(tf.matmul(a_in, b_in, transpose_a=ta, transpose_b=tb), a, b, dtype)
        batched = rng.standard_normal((3, 1, k)).astype(dtype)
        _check_gemm(tf.matmul(batched, b), batched, b, dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gemm_batched_edge_tiles_of_the_active_kernel(dtype, threads, rng):
    info = tf._C.gemm_info(dtype)
    mr, nr = info["mr"], info["nr"]
    for m, n in ((mr + 1, nr - 1), (2 * mr - 1, nr + 1), (1, 2 * nr + 3)):
        a = rng.standard_normal((3, m, 19)).astype(dtype)
        b = rng.standard_normal((3, 19, n)).astype(dtype)
        _check_gemm(tf.matmul(a, b), a, b, dtype)
        _check_gemm(tf.matmul(a, b[0]), a, b[0], dtype)  # B shared by the batch


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gemm_partial_panel_of_a_view_reads_only_its_columns(dtype, threads, rng):
    # A view whose row stride equals the kernel's NR, ending at the end of its storage: a partial
    # column panel read in place must not touch columns past the view (AddressSanitizer checks
    # this in tools/sanitize.sh; the allocator poisons the slack).
    nr = tf._C.gemm_info(dtype)["nr"]
    for cols in (1, 5, nr - 1):
        base = rng.standard_normal((9, nr)).astype(dtype)
        b = tf.constant(base)[:, nr - cols:]
        a = rng.standard_normal((13, 9)).astype(dtype)
        _check_gemm(tf.matmul(a, b), a, base[:, nr - cols:], dtype)


def _around(v):
    return sorted({max(1, v - 1), v, v + 1})


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gemm_around_block_sizes(dtype, threads, rng):
    info = tf._C.gemm_info(dtype)
    kc, mc, nc, mr, nr = info["kc"], info["mc"], info["nc"], info["mr"], info["nr"]
    shapes = [(mr + 1, nr + 1, k) for k in _around(kc) + _around(2 * kc)]
    shapes += [(m, nr * 2 + 3, 19) for m in _around(mc) + _around(2 * mc)]
    shapes += [(mr * 2 + 1, n, 21) for n in _around(nc) + _around(2 * nc)]
    shapes += [(mc + 1, nc + 1, kc + 1)]
    for m, n, k in shapes:
        a = rng.standard_normal((m, k)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
        _check_gemm(tf.matmul(a, b), a, b, dtype)


@pytest.mark.parametrize(("m", "n", "k"), [(513, 257, 300), (64, 784, 64), (300, 40, 1500),
                                           (1, 700, 3000)], ids=str)
@pytest.mark.parametrize(("ta", "tb"), list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gemm_large_transposed(m, n, k, ta, tb, dtype, threads, rng):
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    a_in = np.ascontiguousarray(a.T) if ta else a
    b_in = np.ascontiguousarray(b.T) if tb else b
    _check_gemm(tf.matmul(a_in, b_in, transpose_a=ta, transpose_b=tb), a, b, dtype)


@pytest.mark.parametrize("layout", ["transposed", "strided", "negstep"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gemm_large_strided_layouts(layout, dtype, threads, rng):
    a = rng.standard_normal((131, 270)).astype(dtype)
    b = rng.standard_normal((270, 99)).astype(dtype)
    _check_gemm(tf.matmul(as_layout(a, layout), as_layout(b, layout)), a, b, dtype)


@pytest.mark.parametrize(
    ("sa", "sb"),
    [((6, 70, 300), (300, 90)),        # B shared by every batch: packed once
     ((6, 70, 30), (30, 90)),          # small shared B, read in place
     ((6, 70, 300), (6, 300, 90)),     # a B per batch
     ((3, 1, 40, 50), (1, 4, 50, 300)),  # both broadcast
     ((50, 20), (5, 20, 700))],        # A shared
    ids=str,
)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gemm_batched_broadcast_large(sa, sb, dtype, threads, rng):
    a = rng.standard_normal(sa).astype(dtype)
    b = rng.standard_normal(sb).astype(dtype)
    _check_gemm(tf.matmul(a, b), a, b, dtype)
    _check_gemm(tf.matmul(as_layout(a, "transposed"), as_layout(b, "strided")), a, b, dtype)


def test_gemm_backward_shapes(threads, rng):
    # The Dense backward products: dW = X^T . G and dX = G . W^T, read through strides.
    x = rng.standard_normal((64, 784)).astype(np.float32)
    g = rng.standard_normal((64, 64)).astype(np.float32)
    w = rng.standard_normal((784, 64)).astype(np.float32)
    _check_gemm(tf.matmul(x, g, transpose_a=True), x.T, g, "float32")
    _check_gemm(tf.matmul(g, w, transpose_b=True), g, w.T, "float32")


def test_gemm_special_values(threads):
    a = np.array([[np.inf, 1.0], [np.nan, 0.0], [1.0, 2.0]], np.float32)
    b = np.array([[1.0, 0.5], [2.0, -1.0]], np.float32)
    want = np.array([[np.inf, np.inf], [np.nan, np.nan], [5.0, -1.5]], np.float32)
    np.testing.assert_array_equal(np.asarray(tf.matmul(a, b)), want)


def test_gemm_info():
    for dtype in FLOAT_DTYPES:
        info = tf._C.gemm_info(dtype)
        assert info["mr"] > 0 and info["nr"] > 0 and info["kc"] > 0
        assert info["mc"] % info["mr"] == 0 and info["nc"] % info["nr"] == 0
        assert info["kernel"].startswith("ukernel_")
    info = tf._C.gemm_info("bfloat16")
    assert info["kernel"].startswith(("ukernel_", "float32 path: ukernel_"))
    with pytest.raises(ValueError, match=r"gemm_info: dtype must be 'float32', 'float64' or"):
        tf._C.gemm_info("int32")
