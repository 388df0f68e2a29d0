import gc
import threading
import time

import numpy as np
import pytest

import corten
from corten.data import AUTOTUNE, Dataset, TensorSpec


def values(ds):
    return [np.asarray(x).tolist() if not isinstance(x, (tuple, dict)) else x
            for x in ds.as_numpy_iterator()]


def test_from_tensor_slices_array_yields_tensors():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    ds = Dataset.from_tensor_slices(x)
    out = list(ds)
    assert len(out) == 4 and len(ds) == 4
    assert all(isinstance(t, corten.Tensor) for t in out)
    assert out[0].dtype == corten.float32 and out[0].shape == (3,)
    np.testing.assert_array_equal(out[2].numpy(), x[2])
    assert ds.element_spec == TensorSpec((3,), corten.float32)


@pytest.mark.parametrize(("dtype", "expected"), [
    (np.float64, corten.float64), (np.int64, corten.int64), (np.int32, corten.int32),
    (np.bool_, corten.bool), (np.uint8, corten.int32)])
def test_dtypes_preserved(dtype, expected):
    ds = Dataset.from_tensor_slices(np.zeros((2, 2), dtype))
    assert next(iter(ds)).dtype == expected
    assert ds.element_spec.dtype == expected


def test_python_lists_follow_tf_inference():
    assert values(Dataset.from_tensor_slices([1, 2, 3])) == [1, 2, 3]
    assert next(iter(Dataset.from_tensor_slices([1, 2]))).dtype == corten.int32
    assert next(iter(Dataset.from_tensor_slices([1.0, 2.0]))).dtype == corten.float32


def test_tuple_dict_nested_and_corten_tensors():
    x = corten.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=corten.float64)
    y = np.array([0, 1, 2])
    ds = Dataset.from_tensor_slices(({"a": x, "b": y}, y))
    feats, label = next(iter(ds))
    assert set(feats) == {"a", "b"}
    assert feats["a"].dtype == corten.float64
    np.testing.assert_array_equal(feats["a"].numpy(), [1.0, 2.0])
    assert int(label.numpy()) == 0
    spec = ds.element_spec
    assert spec[0]["a"] == TensorSpec((2,), corten.float64)
    assert spec[1] == TensorSpec((), corten.int64)


def test_mismatched_first_dimension_names_them():
    with pytest.raises(ValueError, match=r"3 .*shape=\(3, 2\).* 4 .*shape=\(4,\)"):
        Dataset.from_tensor_slices((np.zeros((3, 2)), np.zeros(4)))
    with pytest.raises(ValueError, match="scalar"):
        Dataset.from_tensor_slices(np.float32(1))


def test_from_tensors():
    ds = Dataset.from_tensors((np.arange(3), 5))
    (a, b), = list(ds)
    assert a.shape == (3,) and int(b.numpy()) == 5 and len(ds) == 1


def test_range_and_cardinality():
    assert values(Dataset.range(5)) == [0, 1, 2, 3, 4]
    assert values(Dataset.range(2, 10, 3)) == [2, 5, 8]
    assert values(Dataset.range(5, 0, -2)) == [5, 3, 1]
    ds = Dataset.range(3)
    assert next(iter(ds)).dtype == corten.int64
    assert int(ds.cardinality().numpy()) == 3
    assert int(ds.repeat().cardinality().numpy()) == corten.data.INFINITE_CARDINALITY
    assert int(ds.filter(lambda x: x > 0).cardinality().numpy()) == corten.data.UNKNOWN_CARDINALITY
    with pytest.raises(TypeError, match="infinite"):
        len(ds.repeat())
    with pytest.raises(TypeError, match="unknown"):
        len(ds.filter(lambda x: x > 0))
    assert bool(ds.repeat())


def test_map_unpacks_tuples_and_receives_tensors():
    ds = Dataset.from_tensor_slices((np.arange(4.0), np.arange(4.0) * 10))
    seen = []

    def fn(a, b):
        seen.append((type(a), type(b)))
        return a + b

    assert values(ds.map(fn)) == [0.0, 11.0, 22.0, 33.0]
    assert seen[0] == (corten.Tensor, corten.Tensor)
    d = Dataset.from_tensor_slices({"x": np.arange(3)}).map(lambda e: e["x"] * 2)
    assert values(d) == [0, 2, 4]
    assert d.element_spec == TensorSpec((), corten.int64)


def test_filter_repeat_take_skip():
    ds = Dataset.range(10)
    assert values(ds.filter(lambda x: corten.equal(corten.floormod(x, 2), 0))) == [0, 2, 4, 6, 8]
    assert values(ds.take(3)) == [0, 1, 2]
    assert values(ds.skip(8)) == [8, 9]
    assert values(ds.take(3).repeat(2)) == [0, 1, 2, 0, 1, 2]
    assert values(ds.take(2).repeat().take(5)) == [0, 1, 0, 1, 0]
    assert values(ds.take(-1)) == list(range(10))
    assert len(ds.take(3).repeat(2)) == 6 and len(ds.skip(20)) == 0
    assert values(Dataset.range(0).repeat()) == []
    with pytest.raises(ValueError, match="scalar bool"):
        list(ds.filter(lambda x: x))


def test_batch_structure_and_remainder():
    ds = Dataset.from_tensor_slices((np.arange(10.0).reshape(5, 2), np.arange(5)))
    batches = list(ds.batch(2))
    assert len(batches) == 3 == len(ds.batch(2))
    x, y = batches[0]
    assert isinstance(x, corten.Tensor) and x.shape == (2, 2) and y.shape == (2,)
    assert batches[-1][0].shape == (1, 2)
    assert len(list(ds.batch(2, drop_remainder=True))) == 2 == len(ds.batch(2, drop_remainder=True))
    assert ds.batch(2).element_spec[0] == TensorSpec((None, 2), corten.float64)
    assert ds.batch(2, drop_remainder=True).element_spec[0].shape == (2, 2)
    np.testing.assert_array_equal(
        [b.tolist() for b in Dataset.range(5).batch(2).unbatch().as_numpy_iterator()], range(5))


def test_batch_of_mapped_tensors_and_shape_mismatch():
    ds = Dataset.range(4).map(lambda x: corten.fill([2], corten.cast(x, corten.float32)))
    b = next(iter(ds.batch(4)))
    assert b.shape == (4, 2) and b.dtype == corten.float32
    gen = Dataset.from_generator(lambda: iter([np.zeros(2), np.zeros(3)]))
    with pytest.raises(ValueError, match=r"different shapes.*\(2,\).*\(3,\)"):
        list(gen.batch(2))
    with pytest.raises(ValueError, match="batch_size"):
        Dataset.range(3).batch(0)


def test_shuffle_is_a_seeded_permutation_and_reshuffles():
    ds = Dataset.range(100).shuffle(100, seed=7)
    a, b = values(ds), values(ds)
    assert sorted(a) == list(range(100)) and a != list(range(100))
    assert a != b  # reshuffle_each_iteration
    again = Dataset.range(100).shuffle(100, seed=7)
    assert values(again) == a and values(again) == b  # deterministic for a fixed seed
    fixed = Dataset.range(100).shuffle(100, seed=7, reshuffle_each_iteration=False)
    assert values(fixed) == values(fixed)
    assert values(Dataset.range(100).shuffle(100, seed=8)) != a


def test_shuffle_buffer_semantics():
    # With a buffer of size k, the first output is one of the first k elements and an element
    # never moves earlier by more than k - 1 positions.
    for seed in range(20):
        out = values(Dataset.range(50).shuffle(3, seed=seed))
        assert sorted(out) == list(range(50))
        assert out[0] in (0, 1, 2)
        assert all(pos >= v - 2 for pos, v in enumerate(out))
    assert values(Dataset.range(10).shuffle(1, seed=0)) == list(range(10))


def test_shuffle_uses_global_seed():
    corten.random.set_seed(3)
    a = values(Dataset.range(50).shuffle(50))
    corten.random.set_seed(3)
    b = values(Dataset.range(50).shuffle(50))
    corten.random.set_seed(None)
    assert a == b
    with pytest.raises(ValueError, match="buffer_size"):
        Dataset.range(3).shuffle(0)


def test_zip_and_concatenate():
    a, b = Dataset.range(3), Dataset.range(10, 15)
    z = Dataset.zip(a, b)
    assert values(z) == [(0, 10), (1, 11), (2, 12)] or len(list(z)) == 3
    assert [tuple(int(v) for v in e) for e in z.as_numpy_iterator()] == [(0, 10), (1, 11), (2, 12)]
    assert len(z) == 3 and len(Dataset.zip((a, b))) == 3
    d = next(iter(Dataset.zip({"x": a, "y": b})))
    assert int(d["y"].numpy()) == 10
    c = a.concatenate(b)
    assert values(c) == [0, 1, 2, 10, 11, 12, 13, 14] and len(c) == 8
    with pytest.raises(TypeError, match="dtypes"):
        a.concatenate(Dataset.from_tensor_slices(np.zeros(2, np.float32)))
    with pytest.raises(TypeError, match="zip"):
        Dataset.zip(a, [1, 2])
    e = Dataset.from_tensor_slices(np.zeros((2, 3))).concatenate(
        Dataset.from_tensor_slices(np.zeros((2, 4))))
    assert e.element_spec.shape == (None,)


def test_from_generator_signature_and_errors():
    def gen():
        for i in range(3):
            yield np.full((2,), i), i

    sig = (TensorSpec((None,), corten.float32), TensorSpec((), corten.int32))
    ds = Dataset.from_generator(gen, output_signature=sig)
    x, y = next(iter(ds))
    assert x.dtype == corten.float32 and y.dtype == corten.int32
    assert len(list(ds)) == 3 and len(list(ds)) == 3  # re-iterable: calls gen again
    assert ds.element_spec == sig
    with pytest.raises(TypeError, match="unknown"):
        len(ds)
    old = Dataset.from_generator(gen, output_types=(corten.float64, corten.int64),
                                 output_shapes=((2,), ()))
    assert next(iter(old))[0].dtype == corten.float64
    bad_shape = Dataset.from_generator(gen, output_signature=(TensorSpec((3,), corten.float32),
                                                              TensorSpec((), corten.int32)))
    with pytest.raises(ValueError, match="shape"):
        list(bad_shape)
    bad_struct = Dataset.from_generator(gen, output_signature=TensorSpec((2,), corten.float32))
    with pytest.raises(TypeError, match="structure"):
        list(bad_struct)
    with pytest.raises(TypeError, match="callable"):
        Dataset.from_generator([1, 2])
    inferred = Dataset.from_generator(gen)
    assert inferred.element_spec[0].shape == (2,)
    with_args = Dataset.from_generator(lambda n: range(n), args=(4,),
                                       output_signature=TensorSpec((), corten.int64))
    assert values(with_args) == [0, 1, 2, 3]


def test_cache_reads_the_first_complete_pass():
    calls = []

    def gen():
        calls.append(1)
        yield from range(3)

    ds = Dataset.from_generator(gen, output_signature=TensorSpec((), corten.int64)).cache()
    assert values(ds) == [0, 1, 2] and values(ds) == [0, 1, 2]
    assert len(calls) == 1
    shuffled = Dataset.range(20).shuffle(20, seed=1).cache()
    assert values(shuffled) == values(shuffled)
    with pytest.raises(NotImplementedError):
        Dataset.range(3).cache("file")


def test_prefetch_order_errors_and_thread_stop():
    assert values(Dataset.range(100).prefetch(3)) == list(range(100))
    assert values(Dataset.range(5).prefetch(AUTOTUNE)) == list(range(5))

    def broken():
        yield 1
        raise RuntimeError("producer failed")

    ds = Dataset.from_generator(broken, output_signature=TensorSpec((), corten.int32)).prefetch(2)
    it = iter(ds)
    assert int(next(it).numpy()) == 1
    with pytest.raises(RuntimeError, match="producer failed"):
        next(it)

    def prefetch_threads():
        return [t for t in threading.enumerate() if t.name == "corten-data-prefetch"]

    before = len(prefetch_threads())
    it = iter(Dataset.range(10).repeat().prefetch(2))
    next(it)
    assert len(prefetch_threads()) == before + 1
    del it
    gc.collect()
    deadline = time.time() + 5
    while len(prefetch_threads()) > before and time.time() < deadline:
        time.sleep(0.01)
    assert len(prefetch_threads()) == before


def test_as_numpy_iterator_and_misc():
    ds = Dataset.from_tensor_slices({"a": np.arange(2), "s": ["x", "yy"]})
    first = next(ds.as_numpy_iterator())
    assert isinstance(first["a"], (np.ndarray, np.generic)) and first["s"] == b"x"
    assert values(Dataset.range(3).enumerate(5).map(lambda i, x: i)) == [5, 6, 7]
    assert int(Dataset.range(5).reduce(corten.constant(0, corten.int64),
                                       lambda s, x: s + x).numpy()) == 10
    assert int(Dataset.range(1).get_single_element().numpy()) == 0
    with pytest.raises(ValueError, match="more than one"):
        Dataset.range(2).get_single_element()
    assert values(Dataset.range(3).flat_map(lambda x: Dataset.range(x))) == [0, 0, 1]
    assert values(Dataset.range(4).apply(lambda d: d.skip(2))) == [2, 3]
    assert "TensorSpec(shape=(), dtype=corten.int64" in repr(Dataset.range(2))


def test_guide_pipeline_shape():
    # custom_layers_and_models: from_tensor_slices(x_train).shuffle(1024).batch(64)
    x = np.random.default_rng(0).random((300, 784)).astype("float32")
    ds = corten.data.Dataset.from_tensor_slices(x).shuffle(buffer_size=1024).batch(64)
    steps = [b.shape for b in ds]
    assert steps[0] == (64, 784) and steps[-1] == (300 - 4 * 64, 784) and len(steps) == 5
    total = np.concatenate([b.numpy() for b in ds])
    np.testing.assert_array_equal(np.sort(total, axis=0), np.sort(x, axis=0))


@pytest.mark.parametrize("drop_remainder", [False, True])
def test_batches_of_slices_equal_batches_of_elements(drop_remainder):
    # Batching a slice dataset takes row ranges; through map it stacks elements: same batches.
    x = np.arange(23 * 3, dtype="float32").reshape(23, 3)
    labels = np.array([f"s{i}" for i in range(23)])
    ds = Dataset.from_tensor_slices((x, {"t": labels}))
    fast = list(ds.batch(5, drop_remainder=drop_remainder))
    slow = list(ds.map(lambda a, b: (a, b)).batch(5, drop_remainder=drop_remainder))
    assert len(fast) == len(slow) == (4 if drop_remainder else 5)
    for (fa, fb), (sa, sb) in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(fa.numpy(), sa.numpy())
        assert fb["t"].numpy().tolist() == sb["t"].numpy().tolist()
