"""numpy, DLPack and PyTorch interop: memory sharing, dtype mapping, strides, lifetimes."""

import gc
import weakref

import numpy as np
import pytest

import corten


def _shares(t, a):
    return np.shares_memory(np.asarray(t), a)


# --- buffer protocol / constant / convert_to_tensor ------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.bool_])
def test_convert_to_tensor_shares_contiguous_numpy(dtype):
    a = np.zeros((2, 3), dtype=dtype)
    t = corten.convert_to_tensor(a)
    assert t.dtype.as_numpy_dtype == dtype
    assert t._data_ptr == a.ctypes.data
    a[1, 2] = 1  # numpy -> corten
    assert np.asarray(t)[1, 2] == 1
    np.asarray(t)[0, 0] = 1  # corten -> numpy
    assert a[0, 0] == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.bool_])
def test_constant_is_an_immutable_copy(dtype):
    # TensorFlow's constants are snapshots: reusing the numpy buffer does not change them
    a = np.zeros((2, 3), dtype=dtype)
    t = corten.constant(a)
    assert t.dtype.as_numpy_dtype == dtype
    assert not _shares(t, a)
    a[1, 2] = 1
    assert np.asarray(t)[1, 2] == 0
    view = np.asarray(t)
    assert not view.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        view[0, 0] = 1
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(t[1:])[0, 0] = 1  # views of a constant are read-only too
    copy = t.numpy()  # a writable copy, as TensorFlow's .numpy()
    copy[0, 0] = 1
    assert np.asarray(t)[0, 0] == 0


def test_constant_of_a_tensor_copies_it_and_leaves_it_writable():
    base = corten.convert_to_tensor(np.zeros(3))
    c = corten.constant(base)
    assert c._storage_id != base._storage_id
    np.asarray(base)[0] = 5.0
    assert np.asarray(c)[0] == 0.0


def test_variables_initialised_from_constants_stay_independent():
    c = corten.constant([1.0, 2.0])
    v = corten.Variable(c)
    v.assign([5.0, 6.0])
    np.testing.assert_array_equal(np.asarray(c), [1.0, 2.0])
    np.asarray(v)[0] = 7.0  # a Variable's numpy view is writable (explicit zero-copy)
    assert v.numpy()[0] == 7.0


def test_float16_arrays_stay_float16_not_silently_widened():
    t = corten.constant(np.ones(3, np.float16))
    assert t.dtype == corten.float16


def test_asarray_shares_tensor_memory():
    t = corten.convert_to_tensor([[1.0, 2.0], [3.0, 4.0]])
    a = np.asarray(t)
    assert a.ctypes.data == t._data_ptr
    a[0, 1] = 20.0
    assert t.numpy()[0, 1] == 20.0
    assert float(t[0, 1]) == 20.0


def test_asarray_of_view_shares_with_strides():
    t = corten.reshape(corten.convert_to_tensor(np.arange(12.0)), (3, 4))
    v = t[:, 1::2]
    a = np.asarray(v)
    assert a.strides == (32, 16)
    np.testing.assert_array_equal(a, np.arange(12.0).reshape(3, 4)[:, 1::2])
    a[2, 1] = -1.0
    assert np.asarray(t)[2, 3] == -1.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.arange(12.0).reshape(3, 4).T,
        lambda: np.arange(12.0)[::2],
        lambda: np.arange(12.0).reshape(3, 4)[:, 1:3],
        lambda: np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    ],
    ids=["transposed", "strided", "sliced", "fortran"],
)
def test_constant_copies_non_contiguous_numpy(make):
    a = make()
    t = corten.constant(a)
    np.testing.assert_array_equal(np.asarray(t), a)
    assert not _shares(t, a)
    assert t._is_contiguous()
    before = a.copy()
    a[...] = 7.0
    np.testing.assert_array_equal(np.asarray(t), before)


@pytest.mark.parametrize(
    ("np_dtype", "expected"),
    [
        (np.uint8, corten.int32),
        (np.int8, corten.int32),
        (np.int16, corten.int32),
        (np.uint16, corten.int32),
        (np.uint32, corten.int64),
        (np.float32, corten.float32),
        (np.float64, corten.float64),
        (np.int32, corten.int32),
        (np.int64, corten.int64),
        (np.bool_, corten.bool),
    ],
)
def test_numpy_dtype_mapping(np_dtype, expected):
    a = np.array([0, 1, 2], dtype=np_dtype) if np_dtype != np.bool_ else np.array([True, False])
    t = corten.constant(a)
    assert t.dtype == expected
    np.testing.assert_array_equal(np.asarray(t), a)


@pytest.mark.parametrize("np_dtype", [np.uint8, np.int16])
def test_numpy_small_dtypes_are_copied(np_dtype):
    a = np.array([1, 2, 3], dtype=np_dtype)
    t = corten.convert_to_tensor(a)
    assert not _shares(t, a)


@pytest.mark.parametrize("np_dtype", [np.complex64, object])
def test_numpy_unsupported_dtype_raises_type_error(np_dtype):
    a = np.array([1, 2], dtype=np_dtype)
    with pytest.raises(TypeError):
        corten.constant(a)


def test_numpy_str_arrays_become_string_tensors():
    t = corten.constant(np.array([1, 2], dtype=np.str_))
    assert t.dtype == corten.string
    np.testing.assert_array_equal(t.numpy(), np.array([b"1", b"2"], dtype=object))


# --- DLPack: corten -> numpy ------------------------------------------------------------------

_DTYPES = [np.float32, np.float64, np.int32, np.int64, np.bool_]


def _sample(shape, dtype, rng):
    if dtype == np.bool_:
        return np.asarray(rng.random(shape) > 0.5)
    return np.asarray((rng.standard_normal(shape) * 10).astype(dtype))


@pytest.mark.parametrize("dtype", _DTYPES)
@pytest.mark.parametrize("shape", [(), (1,), (0,), (0, 3), (7,), (3, 4), (2, 3, 4)])
def test_numpy_from_dlpack_round_trip(shape, dtype, rng):
    a = _sample(shape, dtype, rng)
    t = corten.constant(a)
    b = np.from_dlpack(t)
    assert b.dtype == a.dtype
    assert b.shape == a.shape
    np.testing.assert_array_equal(b, a)
    back = corten.from_dlpack(b)
    assert back.dtype == t.dtype
    assert back.shape == t.shape
    np.testing.assert_array_equal(np.asarray(back), a)
    if a.size:
        assert b.ctypes.data == t._data_ptr == back._data_ptr


def test_numpy_from_dlpack_shares_and_writes_through():
    t = corten.convert_to_tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = np.from_dlpack(t)
    b[0, 0] = 42.0
    assert t.numpy()[0, 0] == 42.0
    np.asarray(t)[1, 2] = -6.0
    assert b[1, 2] == -6.0


@pytest.mark.parametrize(
    "index",
    [
        (slice(None), slice(None, None, 2)),
        (slice(None, None, 2), slice(1, 3)),
        (1, slice(None)),
        (slice(None), 2),
        (slice(None, None, -1), slice(None)),
        (slice(None), slice(None, None, -2)),
    ],
    ids=["cols_step2", "rows_step2_cols_slice", "row", "col", "rows_reversed", "cols_rev2"],
)
def test_numpy_from_dlpack_of_views(index):
    ref = np.arange(20, dtype=np.float32).reshape(4, 5)
    t = corten.constant(ref.copy())
    v = t[index]
    b = np.from_dlpack(v)
    np.testing.assert_array_equal(b, ref[index])
    if b.size:
        b.flat[0] = 100.0  # shares memory with the parent tensor
        assert (np.asarray(t) == 100.0).sum() == 1


def test_numpy_from_dlpack_of_transpose_and_broadcast():
    t = corten.constant(np.arange(6.0).reshape(2, 3))
    b = np.from_dlpack(corten.transpose(t))
    np.testing.assert_array_equal(b, np.arange(6.0).reshape(2, 3).T)
    bc = np.from_dlpack(corten.broadcast_to(corten.constant([1.0, 2.0]), (3, 2)))
    np.testing.assert_array_equal(bc, np.broadcast_to([1.0, 2.0], (3, 2)))
    assert bc.strides[0] == 0


def test_dlpack_device_and_protocol_arguments():
    t = corten.constant([1.0, 2.0])
    assert t.__dlpack_device__() == (1, 0)
    assert type(t.__dlpack__()).__name__ == "PyCapsule"
    t.__dlpack__(stream=None, max_version=(1, 0), dl_device=(1, 0), copy=False)
    with pytest.raises(ValueError, match="stream"):
        t.__dlpack__(stream=1)
    with pytest.raises(BufferError, match="device"):
        t.__dlpack__(dl_device=(2, 0))
    with pytest.raises(TypeError, match="dl_device"):
        t.__dlpack__(dl_device="cpu")
    with pytest.raises(TypeError, match="max_version"):
        t.__dlpack__(max_version="1.0")


def test_numpy_from_dlpack_copy_true_does_not_share():
    t = corten.constant([1.0, 2.0])
    b = np.from_dlpack(t, copy=True)
    b[0] = 9.0
    assert t.numpy()[0] == 1.0


@pytest.mark.parametrize("max_version", [None, (1, 0)])
def test_capsules_are_consumed_once(max_version):
    t = corten.constant([1.0, 2.0, 3.0])
    cap = t.__dlpack__(max_version=max_version)
    u = corten.from_dlpack(cap)
    np.testing.assert_array_equal(np.asarray(u), [1.0, 2.0, 3.0])
    assert u._data_ptr == t._data_ptr
    with pytest.raises(ValueError, match="already consumed"):
        corten.from_dlpack(cap)


def test_unconsumed_capsule_is_freed():
    gc.collect()
    base = corten._C.memory_stats()["live_bytes"]
    t = corten.zeros((1000,))
    cap = t.__dlpack__()
    del t
    gc.collect()
    assert corten._C.memory_stats()["live_bytes"] > base  # the capsule keeps the storage
    del cap
    gc.collect()
    assert corten._C.memory_stats()["live_bytes"] == base


def test_meta_and_errors():
    with pytest.raises(TypeError, match="__dlpack__"):
        corten.from_dlpack(3)
    with pytest.raises(TypeError, match="uint8"):
        corten.from_dlpack(np.zeros(3, np.uint8))
    with pytest.raises(TypeError, match="complex"):
        corten.from_dlpack(np.zeros(3, np.complex64))
    with pytest.raises(TypeError, match="int16"):
        corten.from_dlpack(np.zeros(3, np.int16))


class _ForeignDevice:
    def __dlpack_device__(self):
        return (10, 0)  # kDLROCM

    def __dlpack__(self, **kwargs):
        raise AssertionError("must not be called for a producer on a device corten lacks")


class _CudaProducer:
    """Says it is on cuda:0 and records the stream it is asked to order its work before."""

    def __init__(self, arr):
        self.arr, self.stream = arr, "not asked"

    def __dlpack_device__(self):
        return (2, 0)

    def __dlpack__(self, stream=None, max_version=None):
        self.stream = stream
        return self.arr.__dlpack__()


class _OldProducer:
    """A producer that predates max_version (DLPack < 1.0)."""

    def __init__(self, arr):
        self.arr = arr

    def __dlpack_device__(self):
        return (1, 0)

    def __dlpack__(self, stream=None):
        return self.arr.__dlpack__()


def test_non_cpu_producer_is_rejected():
    with pytest.raises(ValueError, match="only CPU and CUDA"):
        corten.from_dlpack(_ForeignDevice())


def test_cuda_producer_is_asked_for_the_legacy_default_stream():
    producer = _CudaProducer(np.arange(4.0))
    t = corten.from_dlpack(producer)
    assert producer.stream == 1  # Note [DLPack and streams]
    np.testing.assert_array_equal(t.numpy(), np.arange(4.0))


def test_unversioned_producer():
    a = np.arange(4.0)
    t = corten.from_dlpack(_OldProducer(a))
    a[3] = 30.0
    assert t.numpy()[3] == 30.0


# --- DLPack: numpy -> corten ----------------------------------------------------------------


def test_from_dlpack_numpy_shares_both_ways():
    a = np.arange(6.0).reshape(2, 3)
    t = corten.from_dlpack(a)
    assert t._data_ptr == a.ctypes.data
    a[0, 0] = 10.0
    assert t.numpy()[0, 0] == 10.0
    np.asarray(t)[1, 1] = -4.0
    assert a[1, 1] == -4.0


@pytest.mark.parametrize(
    "make",
    [
        lambda a: a.T,
        lambda a: a[::2, ::-1],
        lambda a: a[:, 1],
        lambda a: a[1:, 2:4],
        lambda a: a[::-1],
        lambda a: np.broadcast_to(a[0], (3, 5)),
    ],
    ids=["T", "step_and_reverse", "column", "slice", "reversed_rows", "broadcast"],
)
def test_from_dlpack_numpy_non_contiguous(make):
    base = np.arange(15, dtype=np.float64).reshape(3, 5)
    view = make(base)
    if not view.flags.writeable:  # read-only producer memory: copied, not shared
        t = corten.from_dlpack(view)
        np.testing.assert_array_equal(np.asarray(t), view)
        return
    t = corten.from_dlpack(view)
    np.testing.assert_array_equal(np.asarray(t), view)
    assert t._data_ptr == view.ctypes.data
    # Ops on the imported view see the strides.
    np.testing.assert_array_equal(np.asarray(t * 2.0), view * 2.0)
    view.flat[0] = -1.0
    assert t.numpy().flat[0] == -1.0


def test_from_dlpack_read_only_numpy_is_copied():
    a = np.arange(3.0)
    a.flags.writeable = False
    t = corten.from_dlpack(a)
    np.testing.assert_array_equal(np.asarray(t), a)
    assert not _shares(t, a)


@pytest.mark.parametrize("dtype", _DTYPES)
def test_from_dlpack_numpy_zero_d_and_empty(dtype):
    s = np.array(1, dtype=dtype)
    t = corten.from_dlpack(s)
    assert t.shape == ()
    assert t.numpy() == s
    e = np.zeros((0, 4), dtype=dtype)
    te = corten.from_dlpack(e)
    assert te.shape == (0, 4)
    assert te.dtype.as_numpy_dtype == dtype


def test_from_dlpack_bool():
    a = np.array([True, False, True])
    t = corten.from_dlpack(a)
    assert t.dtype == corten.bool
    np.testing.assert_array_equal(np.asarray(t), a)
    np.testing.assert_array_equal(np.asarray(~t), ~a)
    np.testing.assert_array_equal(np.from_dlpack(t), a)


def test_from_dlpack_of_corten_tensor():
    t = corten.constant([1, 2, 3])
    u = corten.from_dlpack(t)
    assert u._data_ptr == t._data_ptr


# --- lifetimes ------------------------------------------------------------------------------


def test_producer_deleted_before_consumer_is_used_numpy():
    a = np.arange(1000, dtype=np.float64)
    ref = weakref.ref(a)
    t = corten.from_dlpack(a)
    del a
    gc.collect()
    assert ref() is not None  # kept alive by the tensor
    np.testing.assert_array_equal(np.asarray(t + 1.0), np.arange(1000.0) + 1.0)
    del t
    gc.collect()
    assert ref() is None  # released with the last tensor


def test_tensor_deleted_before_numpy_consumer_is_used():
    t = corten.constant(np.arange(100.0))
    b = np.from_dlpack(t)
    v = t[10:20]
    c = np.from_dlpack(v)
    del t, v
    gc.collect()
    np.testing.assert_array_equal(b, np.arange(100.0))
    np.testing.assert_array_equal(c, np.arange(10.0, 20.0))


def test_views_of_imported_tensor_keep_producer_alive():
    a = np.arange(12.0).reshape(3, 4)
    ref = weakref.ref(a)
    t = corten.from_dlpack(a)
    v = t[1:, ::2]
    del a, t
    gc.collect()
    assert ref() is not None
    np.testing.assert_array_equal(np.asarray(v), np.arange(12.0).reshape(3, 4)[1:, ::2])
    del v
    gc.collect()
    assert ref() is None


def test_export_keeps_storage_alive_through_round_trip():
    gc.collect()
    base = corten._C.memory_stats()["live_bytes"]
    t = corten.ones((256,))
    b = np.from_dlpack(t)
    back = corten.from_dlpack(b)
    del t, b
    gc.collect()
    np.testing.assert_array_equal(np.asarray(back), np.ones(256, np.float32))
    del back
    gc.collect()
    assert corten._C.memory_stats()["live_bytes"] == base


# --- PyTorch ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed (optional interop test)")


@pytest.mark.parametrize(
    ("np_dtype", "torch_name"),
    [
        (np.float32, "float32"),
        (np.float64, "float64"),
        (np.int32, "int32"),
        (np.int64, "int64"),
        (np.bool_, "bool"),
    ],
)
def test_torch_from_corten_shares(torch, np_dtype, torch_name, rng):
    a = _sample((3, 4), np_dtype, rng)
    t = corten.constant(a.copy())
    pt = torch.from_dlpack(t)
    assert pt.dtype == getattr(torch, torch_name)
    np.testing.assert_array_equal(pt.numpy(), a)
    assert pt.data_ptr() == t._data_ptr
    if np_dtype != np.bool_:
        pt[0, 0] = 5
        assert np.asarray(t)[0, 0] == 5
        np.asarray(t)[2, 3] = 7
        assert pt[2, 3].item() == 7


def test_torch_from_corten_view(torch):
    t = corten.constant(np.arange(20.0, dtype=np.float32).reshape(4, 5))
    v = t[1:, ::2]
    pt = torch.from_dlpack(v)
    np.testing.assert_array_equal(pt.numpy(), np.arange(20.0).reshape(4, 5)[1:, ::2])
    assert pt.stride() == (5, 2)
    pt[0, 0] = -1.0
    assert np.asarray(t)[1, 0] == -1.0


def test_corten_from_torch_shares(torch):
    x = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    t = corten.from_dlpack(x)
    assert t._data_ptr == x.data_ptr()
    x[0, 0] = 100.0
    assert t.numpy()[0, 0] == 100.0
    np.asarray(t)[2, 3] = -3.0
    assert x[2, 3].item() == -3.0


@pytest.mark.parametrize(
    "make",
    [
        lambda x: x.t(),
        lambda x: x[:, ::2],
        lambda x: x[1:, 1],
        lambda x: x.reshape(-1)[0:0],
        lambda x: x[0, 0],
        lambda x: x.expand(2, 3, 4),
    ],
    ids=["t", "step", "column", "empty", "scalar", "expand"],
)
def test_corten_from_torch_views(torch, make):
    x = make(torch.arange(12, dtype=torch.int64).reshape(3, 4))
    t = corten.from_dlpack(x)
    assert t.shape == tuple(x.shape)
    np.testing.assert_array_equal(np.asarray(t), x.numpy())


def test_corten_from_torch_bool_and_lifetime(torch):
    x = torch.tensor([True, False, True])
    t = corten.from_dlpack(x)
    assert t.dtype == corten.bool
    del x
    gc.collect()
    np.testing.assert_array_equal(np.asarray(t), [True, False, True])
    y = torch.full((1000,), 2.5, dtype=torch.float64)
    u = corten.from_dlpack(y)
    del y
    gc.collect()
    np.testing.assert_array_equal(np.asarray(u * 2.0), np.full(1000, 5.0))


def test_corten_from_torch_unsupported_dtype(torch):
    with pytest.raises(TypeError, match="uint8"):
        corten.from_dlpack(torch.zeros(3, dtype=torch.uint8))
    with pytest.raises(TypeError, match="bfloat16"):
        corten.from_dlpack(torch.zeros(3, dtype=torch.bfloat16))


def test_torch_round_trip_after_producer_deleted(torch):
    t = corten.constant(np.arange(6.0, dtype=np.float32))
    pt = torch.from_dlpack(t)
    del t
    gc.collect()
    back = corten.from_dlpack(pt)
    del pt
    gc.collect()
    np.testing.assert_array_equal(np.asarray(back), np.arange(6.0, dtype=np.float32))
