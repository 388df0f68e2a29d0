"""float16 and bfloat16 as storage types (Note [Half conversions] in corten/half.h): casts bit
for bit against numpy and ml_dtypes, numpy and DLPack exchange, data movement, printing,
saving, gradients, and the ops that compute in float32 for them (Note [Half-precision
compute])."""

import corten
import ml_dtypes
import numpy as np
import pytest
from corten.keras.saving import weights_file

HALF = [(corten.float16, np.dtype(np.float16)), (corten.bfloat16, np.dtype(ml_dtypes.bfloat16))]


def _bits(a: np.ndarray) -> np.ndarray:
    return np.asarray(a).view(np.uint16)


def _same_bits_or_both_nan(got: np.ndarray, want: np.ndarray) -> None:
    g, w = np.asarray(got), np.asarray(want)
    nan = np.isnan(w.astype(np.float32))
    np.testing.assert_array_equal(np.isnan(g.astype(np.float32)), nan)
    np.testing.assert_array_equal(_bits(g)[~nan], _bits(w)[~nan])


def _float32_edge_values() -> np.ndarray:
    rng = np.random.default_rng(0)
    specials = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, -np.nan,
                         65504.0, 65519.99, 65520.0, 65536.0, 1e30, -1e30,
                         2.0 ** -14, 2.0 ** -24, 2.0 ** -25, 2.0 ** -25 * 1.0001, 2.0 ** -26,
                         1e-40, -1e-45, 3.4028235e38, 1.0 + 2.0 ** -8, 1.0 + 3 * 2.0 ** -8,
                         1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11], np.float32)
    # Every float32 bit pattern class: random bits (NaNs and subnormals included) and random
    # values at every scale, with ties to even between them.
    random_bits = rng.integers(0, 2 ** 32, 20000, dtype=np.uint64).astype(np.uint32)
    random_bits = random_bits.view(np.float32)
    scales = (rng.standard_normal(20000) * 10.0 ** rng.uniform(-9, 6, 20000)).astype(np.float32)
    ties = (rng.integers(-2 ** 15, 2 ** 15, 5000).astype(np.int64) << 13 | (1 << 12))
    ties = (ties.astype(np.uint32) | (np.uint32(112 << 23))).view(np.float32)
    return np.concatenate([specials, random_bits, scales, ties])


@pytest.mark.parametrize("dtype, np_dtype", HALF)
def test_float32_to_half_rounds_as_numpy_and_ml_dtypes(dtype, np_dtype):
    x = _float32_edge_values()
    with np.errstate(over="ignore", invalid="ignore"):
        want = x.astype(np_dtype)
    got = corten.cast(corten.constant(x), dtype)
    assert got.dtype == dtype
    _same_bits_or_both_nan(got.numpy(), want)


@pytest.mark.parametrize("dtype, np_dtype", HALF)
def test_every_half_value_widens_exactly(dtype, np_dtype):
    every = np.arange(2 ** 16, dtype=np.uint32).astype(np.uint16).view(np_dtype)
    t = corten.constant(every)
    assert t.dtype == dtype
    for wide, np_wide in [(corten.float32, np.float32), (corten.float64, np.float64)]:
        got = corten.cast(t, wide).numpy()
        with np.errstate(invalid="ignore"):  # ml_dtypes warns on its NaNs
            want = every.astype(np_wide)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        ok = ~np.isnan(want)
        # bfloat16 has float32's denormals; an op may flush them to zero (Note [Denormals]).
        flushed = (np.abs(want) < np.finfo(np.float32).tiny) & (got == 0)
        np.testing.assert_array_equal(got[ok & ~flushed], want[ok & ~flushed])
    # And back again: every value that is not a NaN keeps its bits.
    back = corten.cast(corten.cast(t, corten.float32), dtype).numpy()
    _same_bits_or_both_nan(back, every)


@pytest.mark.parametrize("dtype, np_dtype", HALF)
def test_integer_and_bool_casts(dtype, np_dtype):
    x = np.array([0.0, 1.5, -2.5, 250.0, np.nan, np.inf, -np.inf, 60000.0], np.float32)
    h = corten.cast(corten.constant(x), dtype)
    ints = corten.cast(h, corten.int32).numpy()
    assert ints.tolist()[:4] == [0, 1, -2, 250]
    assert ints[4] == 0  # NaN gives 0, as corten's float casts do
    assert ints[5] == np.iinfo(np.int32).max and ints[6] == np.iinfo(np.int32).min
    assert corten.cast(h, corten.bool).numpy().tolist() == [False] + [True] * 7
    from_ints = corten.cast(corten.constant([0, 3, -7, 100000], corten.int64), dtype)
    with np.errstate(over="ignore"):  # 100000 is beyond float16: infinity
        want = np.array([0, 3, -7, 100000], np.float32).astype(np_dtype)
    _same_bits_or_both_nan(from_ints.numpy(), want)
    np.testing.assert_array_equal(
        corten.cast(corten.constant([True, False]), dtype).numpy().astype(np.float32), [1, 0])


@pytest.mark.parametrize("dtype, np_dtype", HALF)
def test_numpy_exchange_keeps_dtype_and_values(dtype, np_dtype):
    a = np.array([[1.5, -2.25], [np.inf, 0.1]], np_dtype)
    t = corten.constant(a)
    assert t.dtype == dtype and t.shape == (2, 2)
    back = t.numpy()
    assert back.dtype == np_dtype
    _same_bits_or_both_nan(back, a)
    _same_bits_or_both_nan(np.asarray(t), a)
    assert t.dtype.is_floating and t.dtype.size == 2
    assert t.dtype.as_numpy_dtype == np_dtype.type
    assert corten.as_dtype(np_dtype) == dtype and corten.as_dtype(dtype.name) == dtype
    # Python floats and numpy scalars with a requested dtype
    c = corten.constant([1.0, 2.5, 1e-3], dtype=dtype)
    _same_bits_or_both_nan(c.numpy(), np.array([1.0, 2.5, 1e-3], np.float32).astype(np_dtype))
    s = corten.constant(3, dtype=dtype)
    assert s.numpy() == np_dtype.type(3.0)


def test_tensorflow_names_and_enum_values():
    assert corten.as_dtype(14) == corten.bfloat16
    assert corten.as_dtype(19) == corten.float16
    assert corten.half is corten.float16
    assert corten.as_dtype("half") == corten.float16
    assert repr(corten.bfloat16) == "corten.bfloat16"
    assert corten.float16 == "float16"


@pytest.mark.parametrize("dtype, np_dtype", HALF)
def test_printing_shows_values_and_dtype(dtype, np_dtype):
    t = corten.constant(np.array([1.5, -2.0], np_dtype))
    assert "dtype=" + dtype.name in repr(t) and "1.5" in repr(t)
    assert "-2" in str(t) and dtype.name in str(t)
    assert corten.strings.as_string(t).numpy().tolist() == [b"1.500000", b"-2.000000"]


@pytest.mark.parametrize("dtype, np_dtype", HALF)
def test_data_movement_matches_numpy(dtype, np_dtype):
    a = (np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7).astype(np_dtype)
    t = corten.constant(a)
    cases = {
        "reshape": (corten.reshape(t, (4, 6)), a.reshape(4, 6)),
        "transpose": (corten.transpose(t, (2, 0, 1)), a.transpose(2, 0, 1)),
        "slice": (t[:, 1:, ::2], a[:, 1:, ::2]),
        "concat": (corten.concat([t, t[:, :1]], axis=1), np.concatenate([a, a[:, :1]], 1)),
        "stack": (corten.stack([t, t]), np.stack([a, a])),
        "gather": (corten.gather(t, [2, 0], axis=2), a[:, :, [2, 0]]),
        "tile": (corten.tile(t, (1, 2, 1)), np.tile(a, (1, 2, 1))),
        "identity": (corten.identity(t), a),
        "pad": (corten.pad(t, [[0, 0], [1, 0], [0, 1]]), np.pad(a, [(0, 0), (1, 0), (0, 1)])),
    }
    for name, (got, want) in cases.items():
        assert got.dtype == dtype, name
        _same_bits_or_both_nan(got.numpy(), want)


@pytest.mark.parametrize("dtype, np_dtype", HALF)
def test_variables_hold_half_values(dtype, np_dtype):
    v = corten.Variable(np.array([1.0, 2.0], np_dtype))
    assert v.dtype == dtype
    v.assign(np.array([0.5, -3.0], np.float32))  # assigning converts, as a cast
    _same_bits_or_both_nan(v.numpy(), np.array([0.5, -3.0], np_dtype))


@pytest.mark.parametrize("dtype, np_dtype", HALF)
def test_ops_compute_in_float32_and_round_once(dtype, np_dtype):
    # Note [Half-precision compute]: the value of a float32 computation, rounded to the dtype.
    rng = np.random.default_rng(1)
    a32 = rng.normal(size=(6, 5)).astype(np.float32)
    b32 = rng.normal(size=(6, 5)).astype(np.float32)
    a, b = a32.astype(np_dtype), b32.astype(np_dtype)
    ta, tb = corten.constant(a), corten.constant(b)
    wa, wb = a.astype(np.float32), b.astype(np.float32)  # the exact values of the operands
    exact = {
        "add": (corten.add(ta, tb), wa + wb),
        "multiply": (ta * tb, wa * wb),
        "scalar": (ta * 3.0, wa * np.float32(3.0)),
        "relu": (corten.nn.relu(ta), np.maximum(wa, 0)),
        "exp": (corten.exp(ta), np.exp(wa)),
        "reduce_max": (corten.reduce_max(ta, axis=1), wa.max(1)),
    }
    for name, (got, want) in exact.items():
        assert got.dtype == dtype, name
        _same_bits_or_both_nan(got.numpy(), want.astype(np_dtype))
    # Sums: float32 accumulation in another order, then one rounding: within one unit in the
    # last place of the 16-bit result.
    ulp = 2.0 ** -7 if dtype == corten.bfloat16 else 2.0 ** -10
    summed = {
        "matmul": (corten.matmul(ta, corten.transpose(tb)), wa @ wb.T),
        "reduce_sum": (corten.reduce_sum(ta, axis=0), wa.sum(0)),
        "reduce_mean": (corten.reduce_mean(ta), wa.mean()),
        "softmax": (corten.nn.softmax(ta), np.exp(wa) / np.exp(wa).sum(1, keepdims=True)),
    }
    for name, (got, want) in summed.items():
        assert got.dtype == dtype, name
        g = got.numpy().astype(np.float64)
        np.testing.assert_allclose(g, want, rtol=ulp, atol=ulp * np.abs(want).max(),
                                   err_msg=name)
    # Comparisons give bool, as for every dtype.
    assert corten.greater(ta, tb).dtype == corten.bool
    np.testing.assert_array_equal(corten.greater(ta, tb).numpy(), wa > wb)


@pytest.mark.parametrize("dtype, np_dtype", HALF)
def test_ops_without_a_half_path_refuse_it_with_a_clear_error(dtype, np_dtype):
    # Normalization kernels: the layers compute their statistics in float32 instead.
    t = corten.constant(np.ones((2, 4), np_dtype))
    with pytest.raises(TypeError, match=f"layer_norm.*{dtype.name}"):
        corten.ops.nn.layer_norm(t)


@pytest.mark.parametrize("dtype, np_dtype", HALF)
def test_gradients_through_half_matmul_reach_float32_variables(dtype, np_dtype):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 4)).astype(np.float32)
    w = corten.Variable(rng.normal(size=(4, 2)).astype(np.float32))
    with corten.GradientTape() as tape:
        y = corten.matmul(corten.cast(corten.constant(x), dtype), corten.cast(w, dtype))
        loss = corten.reduce_sum(corten.cast(corten.nn.relu(y), corten.float32))
    g = tape.gradient(loss, w)
    assert g.dtype == corten.float32
    xh = x.astype(np_dtype).astype(np.float32)
    yh = (xh @ w.numpy().astype(np_dtype).astype(np.float32)).astype(np_dtype).astype(np.float32)
    want = xh.T @ (yh > 0).astype(np.float32)
    np.testing.assert_allclose(g.numpy(), want, rtol=2.0 ** -7, atol=2.0 ** -7)


@pytest.mark.parametrize("dtype, np_dtype", HALF)
def test_gradients_flow_through_half_casts(dtype, np_dtype):
    x = corten.Variable([[1.0, -2.0, 3.5]])
    with corten.GradientTape() as tape:
        y = corten.cast(corten.cast(x, dtype), corten.float32)
        loss = corten.reduce_sum(y * y)
    g = tape.gradient(loss, x)
    assert g.dtype == corten.float32
    np.testing.assert_array_equal(g.numpy(), [[2.0, -4.0, 7.0]])


@pytest.mark.parametrize("dtype, np_dtype", HALF)
def test_dlpack_round_trip(dtype, np_dtype):
    a = np.array([1.5, -0.25, 65504.0], np.float32).astype(np_dtype)
    t = corten.constant(a)
    back = corten.from_dlpack(t)  # through t.__dlpack__()
    assert back.dtype == dtype and back._data_ptr == t._data_ptr
    _same_bits_or_both_nan(back.numpy(), a)
    if dtype == corten.float16:  # numpy takes float16 through DLPack (it has no bfloat16)
        _same_bits_or_both_nan(np.from_dlpack(t), a)
        assert corten.from_dlpack(a).dtype == corten.float16


def test_dlpack_with_torch_bfloat16():
    torch = pytest.importorskip("torch", reason="PyTorch (an optional peer) is not installed")
    x = torch.tensor([1.5, -2.0, 3.0], dtype=torch.bfloat16)
    t = corten.from_dlpack(x)
    assert t.dtype == corten.bfloat16
    np.testing.assert_array_equal(corten.cast(t, corten.float32).numpy(), [1.5, -2.0, 3.0])
    back = torch.from_dlpack(t)
    assert back.dtype == torch.bfloat16 and back.tolist() == [1.5, -2.0, 3.0]


@pytest.mark.parametrize("dtype, np_dtype", HALF)
def test_weights_file_round_trip(tmp_path, dtype, np_dtype):
    a = np.array([[1.5, -2.0], [0.1, 7.0]], np.float32).astype(np_dtype)
    path = tmp_path / "half.safetensors"
    weights_file.write_tensors(path, {"w": a})
    back, _ = weights_file.read_tensors(path)
    assert back["w"].dtype == np_dtype
    _same_bits_or_both_nan(back["w"], a)


@pytest.mark.parametrize("dtype, np_dtype", HALF)
def test_pooling_and_depthwise_convolution_compute_in_float32(dtype, np_dtype):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 6, 6, 3)).astype(np_dtype)
    w = rng.normal(size=(3, 3, 3, 2)).astype(np_dtype)
    cases = [
        (lambda t: corten.nn.max_pool2d(t, 2, 2, "VALID"), (x,)),
        (lambda t: corten.nn.avg_pool2d(t, 3, 1, "SAME"), (x,)),
        (lambda t, k: corten.nn.depthwise_conv2d(t, k, [1, 1, 1, 1], "SAME"), (x, w)),
    ]
    for fn, args in cases:
        got = fn(*(corten.constant(a) for a in args))
        assert got.dtype == dtype
        want = fn(*(corten.constant(a.astype(np.float32)) for a in args)).numpy()
        np.testing.assert_array_equal(got.numpy(), want.astype(np_dtype))
    xv = corten.Variable(x.astype(np.float32))
    with corten.GradientTape() as tape:
        y = corten.nn.max_pool2d(corten.cast(xv, dtype), 2, 2, "VALID")
        loss = corten.reduce_sum(corten.cast(y, corten.float32))
    g = tape.gradient(loss, xv).numpy()
    assert g.sum() == 2 * 3 * 3 * 3  # one winner per window


def test_bfloat16_rows_equal_float32_ops_rounded_once():
    # Note [bfloat16 elementwise rows]: chunked rows over strided, broadcast and long operands.
    rng = np.random.default_rng(7)
    bf16 = np.dtype(ml_dtypes.bfloat16)
    a = rng.normal(size=(3, 700)).astype(bf16)
    b = rng.normal(size=(700,)).astype(bf16)
    ta, tb = corten.constant(a), corten.constant(b)
    wa, wb = a.astype(np.float32), b.astype(np.float32)
    cases = {
        "subtract broadcast": (ta - tb, wa - wb),
        "divide scalar": (ta / 3.0, wa / np.float32(3.0)),
        "strided": (corten.transpose(ta) * 2.0, wa.T * np.float32(2.0)),
        "maximum": (corten.maximum(ta, tb), np.maximum(wa, wb)),
        "leaky_relu": (corten.nn.leaky_relu(ta, 0.25), np.where(wa > 0, wa, wa * np.float32(0.25))),
        "square": (corten.square(ta), wa * wa),
    }
    for name, (got, want) in cases.items():
        assert got.dtype == corten.bfloat16, name
        np.testing.assert_array_equal(got.numpy().view(np.uint16), want.astype(bf16).view(np.uint16),
                                      err_msg=name)
    less = ta < tb
    assert less.dtype == corten.bool
    np.testing.assert_array_equal(less.numpy(), wa < wb)


@pytest.mark.parametrize("n", [1, 15, 16, 17, 31, 32, 33, 1000])
@pytest.mark.parametrize("op", ["add", "subtract", "multiply", "divide"])
def test_bfloat16_arithmetic_rows_equal_the_generic_rows(op, n):
    # Note [Fused bfloat16 arithmetic rows]: contiguous and single-value operands take the
    # fused rows where the CPU has AVX-512 BF16, strided ones the generic rows; both give the
    # float32 op of the widened values rounded once, specials (NaN, infinities, denormals,
    # overflow, division by zero) included, at every length around the 16- and 32-value blocks.
    rng = np.random.default_rng(n)
    bf16 = np.dtype(ml_dtypes.bfloat16)
    bits = rng.integers(0, 2 ** 16, (2, n), dtype=np.uint32).astype(np.uint16)
    a, b = (bits[k].view(bf16) for k in (0, 1))
    normal = rng.normal(size=(2, n)).astype(bf16)
    fn = getattr(corten, op)
    def every_second(v):  # the same values as a view with stride 2: the generic rows
        view = corten.constant(np.stack([v, v], axis=1))[:, 0]
        assert view._strides == [2]
        return view

    for x, y in ((a, b), (normal[0], normal[1]), (a[:1], b), (a, b[:1])):
        got = fn(corten.constant(x), corten.constant(y)).numpy()
        if x.size > 1:
            generic = fn(every_second(x), corten.constant(y)).numpy()
        else:
            generic = fn(corten.constant(x), every_second(y)).numpy()
        _same_bits_or_both_nan(got, generic)
    with np.errstate(all="ignore"):
        want = getattr(np, op)(normal[0].astype(np.float32), normal[1].astype(np.float32))
    got = fn(corten.constant(normal[0]), corten.constant(normal[1])).numpy()
    _same_bits_or_both_nan(got, want.astype(bf16))
