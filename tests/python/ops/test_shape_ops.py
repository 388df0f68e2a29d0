"""Shape ops (concat, stack, split, unstack, tile, gather, pad, squeeze, expand_dims, reshape,
shape/rank/size, identity) against numpy references over shapes, layouts and dtypes."""

from __future__ import annotations

import numpy as np
import pytest
from cases import ALL_DTYPES, LAYOUTS, SHAPES, as_layout, check_close, random_array

import corten as tf

NONSCALAR = [s for s in SHAPES if len(s) > 0]


def _np(t):
    return np.asarray(t)


# ---------------------------------------------------------------- concat / stack


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", NONSCALAR, ids=str)
def test_concat(shape, layout, rng):
    for dtype in ALL_DTYPES:
        for axis in range(-len(shape), len(shape)):
            other = list(shape)
            other[axis] += 2
            a = random_array(rng, shape, dtype)
            b = random_array(rng, tuple(other), dtype)
            c = random_array(rng, shape, dtype)
            got = tf.concat([as_layout(a, layout), as_layout(b, layout), as_layout(c, layout)], axis)
            assert got.dtype == tf.as_dtype(dtype)
            check_close(got, np.concatenate([a, b, c], axis), dtype)


def test_concat_single_input_is_a_copy():
    x = tf.constant([[1.0, 2.0]])
    y = tf.concat([x], 0)
    assert y._storage_id != x._storage_id
    np.testing.assert_array_equal(_np(y), _np(x))


def test_concat_converts_python_values_to_the_tensor_dtype():
    x = tf.constant([[1.0, 2.0]], dtype=tf.float64)
    y = tf.concat([x, [[3, 4]]], axis=0)
    assert y.dtype == tf.float64
    np.testing.assert_array_equal(_np(y), [[1, 2], [3, 4]])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_stack(shape, layout, rng):
    for dtype in ALL_DTYPES:
        for axis in range(-len(shape) - 1, len(shape) + 1):
            xs = [random_array(rng, shape, dtype) for _ in range(3)]
            got = tf.stack([as_layout(x, layout) for x in xs], axis=axis)
            check_close(got, np.stack(xs, axis), dtype)


def test_concat_stack_meta_shapes():
    a = tf._C.empty_meta([None, 3], tf.float32)
    b = tf._C.empty_meta([2, None], tf.float32)
    assert tuple(tf.concat([a, b], 0).shape) == (None, 3)
    assert tuple(tf.concat([a, b], 1).shape) == (2, None)
    c = tf._C.empty_meta([2, 3], tf.float32)
    assert tuple(tf.concat([c, c], 0).shape) == (4, 3)
    assert tf.concat([c, c], 0).device == "meta"
    assert tuple(tf.stack([a, b], 1).shape) == (2, 2, 3)


def test_concat_errors():
    with pytest.raises(ValueError, match=r"concat: all inputs must have the same rank; got shapes "
                                         r"\(2, 3\) and \(2,\)"):
        tf.concat([tf.zeros([2, 3]), tf.zeros([2])], 0)
    with pytest.raises(ValueError, match=r"concat: input shapes must match except along axis 1; "
                                         r"got shapes \(2, 3\) and \(3, 3\)"):
        tf.concat([tf.zeros([2, 3]), tf.zeros([3, 3])], 1)
    with pytest.raises(TypeError, match=r"concat: all inputs must have the same dtype; got "
                                        r"float32 \(input 0\) and int32 \(input 1\)"):
        tf.concat([tf.zeros([2]), tf.zeros([2], tf.int32)], 0)
    with pytest.raises(ValueError, match=r"concat: cannot concatenate 0-d tensors"):
        tf.concat([tf.zeros([]), tf.zeros([])], 0)
    with pytest.raises(ValueError, match=r"concat: expected a non-empty list"):
        tf.concat([], 0)
    with pytest.raises(ValueError, match=r"concat: axis 2 is out of range for a tensor of rank 2"):
        tf.concat([tf.zeros([2, 3])], 2)
    with pytest.raises(TypeError, match=r"concat: values must be a list of tensors"):
        tf.concat("ab", 0)


def test_stack_errors():
    with pytest.raises(ValueError, match=r"stack: all inputs must have the same shape; got shapes "
                                         r"\(2, 3\) \(input 0\) and \(3, 2\) \(input 1\)"):
        tf.stack([tf.zeros([2, 3]), tf.zeros([3, 2])])
    with pytest.raises(ValueError, match=r"stack: expected a non-empty list"):
        tf.stack([])
    with pytest.raises(ValueError, match=r"stack: axis 2 is out of range for inputs of rank 1 "
                                         r"\(expected -2 <= axis <= 1\)"):
        tf.stack([tf.zeros([2])], axis=2)
    with pytest.raises(TypeError, match=r"stack: all inputs must have the same dtype"):
        tf.stack([tf.zeros([2]), tf.zeros([2], tf.int64)])


# ---------------------------------------------------------------- split / unstack


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 4), (0, 3)], ids=str)
def test_split_sizes(shape, layout, rng):
    for dtype in ALL_DTYPES:
        a = random_array(rng, shape, dtype)
        t = as_layout(a, layout)
        for axis in range(-len(shape), len(shape)):
            n = shape[axis]
            sizes = [0, n // 2, n - n // 2]
            for spec in (sizes, [n // 2, -1], [-1]):
                got = tf.split(t, spec, axis=axis)
                bounds = np.cumsum([s if s >= 0 else n - sum(x for x in spec if x >= 0)
                                    for s in spec])[:-1]
                want = np.split(a, bounds, axis=axis)
                assert len(got) == len(want)
                for g, w in zip(got, want, strict=True):
                    check_close(g, w, dtype)
                    assert g._storage_id == t._storage_id


@pytest.mark.parametrize("shape", [(6,), (3, 4), (2, 6, 4)], ids=str)
def test_split_even(shape, rng):
    a = random_array(rng, shape, "float64")
    for axis in range(len(shape)):
        for num in (1, 2, 3):
            if shape[axis] % num:
                continue
            got = tf.split(a, num, axis=axis)
            for g, w in zip(got, np.split(a, num, axis=axis), strict=True):
                check_close(g, w, "float64")
    got = tf.split(a, tf.constant(shape[0] // 2 if shape[0] % 2 == 0 else 1), 0)
    assert len(got) in (1, shape[0] // 2)


def test_split_views_see_writes():
    base = np.arange(12.0).reshape(3, 4)
    t = tf.convert_to_tensor(base)
    pieces = tf.split(t, [1, 3], axis=1)
    base[0, 2] = -1.0
    assert _np(pieces[1])[0, 1] == -1.0


def test_split_errors():
    x = tf.zeros([4, 6])
    with pytest.raises(ValueError, match=r"split: the sizes \(2, 3\) add up to 5, but axis 1 of "
                                         r"the tensor of shape \(4, 6\) has size 6"):
        tf.split(x, [2, 3], axis=1)
    with pytest.raises(ValueError, match=r"split: at most one size can be -1"):
        tf.split(x, [-1, -1], axis=1)
    with pytest.raises(ValueError, match=r"split: sizes must be >= 0 or -1; got sizes \(-2, 8\)"):
        tf.split(x, [-2, 8], axis=1)
    with pytest.raises(ValueError, match=r"split: the sizes \(7, -1\) add up to 7, more than"):
        tf.split(x, [7, -1], axis=1)
    with pytest.raises(ValueError, match=r"split: axis 1 of size 6 \(shape \(4, 6\)\) cannot be "
                                         r"split into 4 equal pieces"):
        tf.split(x, 4, axis=1)
    with pytest.raises(ValueError, match=r"split: num_or_size_splits must be >= 1; got 0"):
        tf.split(x, 0)
    with pytest.raises(ValueError, match=r"split: cannot split a 0-d tensor"):
        tf.split(tf.zeros([]), 1)
    with pytest.raises(ValueError, match=r"split: size_splits must not be empty"):
        tf.split(x, [])
    with pytest.raises(ValueError, match=r"split: axis 1 is out of range for a tensor of rank 1"):
        tf.split(tf.zeros([2]), 1, axis=1)
    with pytest.raises(ValueError, match=r"split: num=3 does not match"):
        tf.split(x, 2, num=3)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", NONSCALAR, ids=str)
def test_unstack(shape, layout, rng):
    for dtype in ALL_DTYPES:
        a = random_array(rng, shape, dtype)
        t = as_layout(a, layout)
        for axis in range(-len(shape), len(shape)):
            got = tf.unstack(t, axis=axis)
            want = [np.take(a, i, axis=axis) for i in range(a.shape[axis])]
            assert len(got) == len(want)
            for g, w in zip(got, want, strict=True):
                check_close(g, w, dtype)
                assert g._storage_id == t._storage_id


def test_unstack_errors():
    with pytest.raises(ValueError, match=r"unstack: cannot unstack a 0-d tensor"):
        tf.unstack(tf.zeros([]))
    with pytest.raises(ValueError, match=r"unstack: num=3 does not match the size 2 of axis 0"):
        tf.unstack(tf.zeros([2, 3]), num=3)
    with pytest.raises(ValueError, match=r"unstack: cannot unstack along axis 0 of unknown size"):
        tf.unstack(tf._C.empty_meta([None, 3], tf.float32))
    with pytest.raises(ValueError, match=r"unstack: axis 2 is out of range for a tensor of rank 2"):
        tf.unstack(tf.zeros([2, 3]), axis=2)


def test_split_unstack_meta():
    m = tf._C.empty_meta([None, 6], tf.float32)
    assert [tuple(p.shape) for p in tf.split(m, [2, -1], axis=1)] == [(None, 2), (None, 4)]
    assert [tuple(p.shape) for p in tf.split(m, 2, axis=0)] == [(None, 6), (None, 6)]
    assert [tuple(p.shape) for p in tf.split(m, [1, -1], axis=0)] == [(1, 6), (None, 6)]
    assert [tuple(p.shape) for p in tf.unstack(m, axis=1)] == [(None,)] * 6


# ---------------------------------------------------------------- tile


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_tile(shape, layout, rng):
    for dtype in ALL_DTYPES:
        a = random_array(rng, shape, dtype)
        for multiples in ([1] * len(shape), [2] * len(shape), list(rng.integers(0, 4, len(shape))),
                          [5] + [1] * (len(shape) - 1) if shape else []):
            got = tf.tile(as_layout(a, layout), multiples)
            check_close(got, np.tile(a, multiples) if shape else a.copy(), dtype)


def test_tile_large_multiple():
    got = tf.tile(tf.constant([1, 2, 3]), [1000])
    np.testing.assert_array_equal(_np(got), np.tile([1, 2, 3], 1000))


def test_tile_meta():
    m = tf._C.empty_meta([None, 3], tf.float32)
    assert tuple(tf.tile(m, [2, 2]).shape) == (None, 6)
    assert tuple(tf.tile(m, [0, 1]).shape) == (0, 3)


def test_tile_errors():
    with pytest.raises(ValueError, match=r"tile: multiples must have one entry per dimension of "
                                         r"input; got 1 multiples \(2,\) for shape \(2, 3\)"):
        tf.tile(tf.zeros([2, 3]), [2])
    with pytest.raises(ValueError, match=r"tile: multiples must be >= 0; got \(2, -1\)"):
        tf.tile(tf.zeros([2, 3]), [2, -1])
    with pytest.raises(ValueError, match=r"tile: the output shape is too large"):
        tf.tile(tf.zeros([2, 3]), [2**62, 1])


# ---------------------------------------------------------------- gather


def _gather_ref(params, indices, axis, batch_dims):
    if batch_dims == 0:
        return np.take(params, indices, axis=axis)
    out = [_gather_ref(p, i, axis - 1, batch_dims - 1) for p, i in zip(params, indices, strict=True)]
    return np.stack(out) if out else np.zeros((0,) + _gather_ref_shape(params, indices, axis,
                                                                      batch_dims)[1:])


def _gather_ref_shape(params, indices, axis, batch_dims):
    return params.shape[:axis] + indices.shape[batch_dims:] + params.shape[axis + 1:]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", NONSCALAR, ids=str)
@pytest.mark.parametrize("index_shape", [(), (1,), (0,), (5,), (2, 3)], ids=str)
def test_gather(shape, index_shape, layout, rng):
    for dtype in ALL_DTYPES:
        a = random_array(rng, shape, dtype)
        for axis in range(-len(shape), len(shape)):
            n = shape[axis]
            if n == 0 and np.prod(index_shape) > 0:
                continue
            for index_dtype in ("int32", "int64"):
                idx = rng.integers(0, max(n, 1), size=index_shape).astype(index_dtype)
                got = tf.gather(as_layout(a, layout), tf.constant(idx), axis=axis)
                check_close(got, np.take(a, idx, axis=axis), dtype)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_gather_batch_dims(layout, rng):
    params = random_array(rng, (2, 3, 4, 5), "float64")
    indices = rng.integers(0, 4, size=(2, 3, 6))
    t = as_layout(params, layout)
    for axis in (2, -2):
        got = tf.gather(t, indices, axis=axis, batch_dims=2)
        check_close(got, _gather_ref(params, indices, 2, 2), "float64")
    for axis in (1, 2, 3):
        idx1 = rng.integers(0, params.shape[axis], size=(2, 7))
        got = tf.gather(t, idx1, axis=axis, batch_dims=1)
        check_close(got, _gather_ref(params, idx1, axis, 1), "float64")
    # As in TensorFlow, axis defaults to batch_dims *before* normalisation: -1, the last axis.
    got = tf.gather(t, indices, batch_dims=-1)
    check_close(got, _gather_ref(params, indices, 3, 2), "float64")


@pytest.mark.usefixtures("restore_config")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_embedding_gradient_is_the_same_on_every_thread_count(dtype, rng):
    # The gradient of a table lookup adds each looked-up row's gradient into the table's row;
    # with one task it is cut by destination rows over the threads, each row still summed in
    # index order. Many repeats of few rows make the order visible in the last bits.
    table = tf.constant(random_array(rng, (1000, 48), dtype))
    ids = tf.constant(np.concatenate([rng.integers(0, 1000, 3000), np.full(2000, 7),
                                      np.full(1000, 999)]).astype(np.int32).reshape(60, 100))
    g = tf.constant(random_array(rng, (60, 100, 48), dtype))

    def grad():
        with tf.GradientTape() as tape:
            tape.watch(table)
            loss = tf.reduce_sum(tf.gather(table, ids) * g)
        return tf.convert_to_tensor(tape.gradient(loss, table)).numpy()

    want = np.zeros((1000, 48), np.float64)
    np.add.at(want, ids.numpy().ravel(), g.numpy().reshape(-1, 48).astype(np.float64))
    got = {}
    for threads in (1, 2, 3):
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        got[threads] = grad()
    check_close(tf.constant(got[1]), want, dtype, rtol=1e-4 if dtype == "float32" else 1e-10)
    for threads in (2, 3):
        assert got[threads].tobytes() == got[1].tobytes(), threads


def test_gather_python_indices_and_defaults():
    got = tf.gather(tf.constant([[1, 2], [3, 4], [5, 6]]), [2, 0])
    np.testing.assert_array_equal(_np(got), [[5, 6], [1, 2]])


def test_gather_meta():
    p = tf._C.empty_meta([None, 5, 4], tf.float32)
    i = tf._C.empty_meta([None, 7], tf.int32)
    assert tuple(tf.gather(p, i, axis=1).shape) == (None, None, 7, 4)
    assert tuple(tf.gather(p, i, axis=1, batch_dims=1).shape) == (None, 7, 4)


def test_gather_errors():
    x = tf.zeros([3, 4])
    with pytest.raises(IndexError, match=r"gather: indices\[1\] = 4 is not in \[0, 4\): axis 1 "
                                         r"of params \(shape \(3, 4\)\) has size 4"):
        tf.gather(x, [0, 4], axis=1)
    with pytest.raises(IndexError, match=r"gather: indices\[0, 1\] = -1 is not in \[0, 3\)"):
        tf.gather(x, tf.constant([[0, -1]], dtype=tf.int64))
    with pytest.raises(IndexError, match=r"gather: indices = 7 is not in \[0, 3\)"):
        tf.gather(x, 7)
    with pytest.raises(IndexError, match=r"gather: indices\[0\] = 0 is not in \[0, 0\)"):
        tf.gather(tf.zeros([0, 2]), [0])
    with pytest.raises(TypeError, match=r"gather: indices must be int32 or int64; got float32"):
        tf.gather(x, [0.5])
    with pytest.raises(ValueError, match=r"gather: params must have rank >= 1; got shape \(\)"):
        tf.gather(tf.zeros([]), [0])
    with pytest.raises(ValueError, match=r"gather: batch_dims=3 must be in \[-2, 2\] for indices "
                                         r"of shape \(3, 1\)"):
        tf.gather(x, [[0], [1], [2]], axis=1, batch_dims=3)
    with pytest.raises(ValueError, match=r"gather: batch_dims \(1\) must be <= axis \(0\)"):
        tf.gather(x, [[0], [1], [2]], axis=0, batch_dims=1)
    with pytest.raises(ValueError, match=r"gather: the first 1 dimensions \(batch_dims\) of params "
                                         r"and indices must be equal; got params shape \(3, 4\) "
                                         r"and indices shape \(2, 1\)"):
        tf.gather(x, [[0], [1]], axis=1, batch_dims=1)
    with pytest.raises(ValueError, match=r"gather: axis 2 is out of range for a tensor of rank 2"):
        tf.gather(x, [0], axis=2)


# ---------------------------------------------------------------- pad


def _pad_specs(shape, mode):
    limit = {"CONSTANT": 3, "REFLECT": None, "SYMMETRIC": None}[mode]
    specs = [[(0, 0)] * len(shape)]
    for k in (1, 2):
        spec = []
        for d in shape:
            hi = limit if limit is not None else (d - 1 if mode == "REFLECT" else d)
            spec.append((min(k, hi), min(k + 1, hi)) if hi > 0 else (0, 0))
        specs.append(spec)
    return specs


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", SHAPES + [(5, 1, 3)], ids=str)
@pytest.mark.parametrize("mode", ["CONSTANT", "REFLECT", "SYMMETRIC"])
def test_pad(mode, shape, layout, rng):
    for dtype in ALL_DTYPES:
        a = random_array(rng, shape, dtype)
        for spec in _pad_specs(shape, mode):
            if mode == "CONSTANT":
                value = True if dtype == "bool" else 7
                got = tf.pad(as_layout(a, layout), spec, constant_values=value)
                want = np.pad(a, spec, mode="constant", constant_values=value) if shape else a
            else:
                got = tf.pad(as_layout(a, layout), spec, mode=mode.lower())
                want = np.pad(a, spec, mode=mode.lower()) if shape else a
            check_close(got, np.asarray(want), dtype)


def test_pad_constant_default_and_tensor_paddings():
    got = tf.pad(tf.constant([[1.5]]), tf.constant([[1, 0], [0, 2]]))
    np.testing.assert_array_equal(_np(got), [[0, 0, 0], [1.5, 0, 0]])


def test_pad_meta():
    m = tf._C.empty_meta([None, 3], tf.float32)
    assert tuple(tf.pad(m, [[1, 1], [2, 2]], "REFLECT").shape) == (None, 7)


def test_pad_errors():
    x = tf.zeros([3, 4])
    with pytest.raises(ValueError, match=r"pad: REFLECT paddings must be less than the dimension "
                                         r"size; got \(3, 0\) for axis 0 of size 3 \(shape "
                                         r"\(3, 4\)\)"):
        tf.pad(x, [[3, 0], [0, 0]], "REFLECT")
    with pytest.raises(ValueError, match=r"pad: SYMMETRIC paddings must be at most the dimension "
                                         r"size; got \(0, 5\) for axis 1 of size 4"):
        tf.pad(x, [[0, 0], [0, 5]], "SYMMETRIC")
    with pytest.raises(ValueError, match=r"pad: paddings must be >= 0; got \(-1, 0\) for axis 1"):
        tf.pad(x, [[0, 0], [-1, 0]])
    with pytest.raises(ValueError, match=r"pad: paddings must have one \(before, after\) pair per "
                                         r"dimension; got 1 pairs for a tensor of shape \(3, 4\)"):
        tf.pad(x, [[1, 1]])
    with pytest.raises(ValueError, match=r"pad: paddings must have shape \(rank, 2\); got shape "
                                         r"\(2, 3\)"):
        tf.pad(x, [[1, 1, 1], [1, 1, 1]])
    with pytest.raises(TypeError, match=r"pad: paddings must be integers; got dtype float32"):
        tf.pad(x, [[0.5, 1], [1, 1]])
    with pytest.raises(ValueError, match=r"pad: mode must be one of 'CONSTANT', 'REFLECT', "
                                         r"'SYMMETRIC'; got 'WRAP'"):
        tf.pad(x, [[1, 1], [1, 1]], "WRAP")
    with pytest.raises(TypeError, match=r"pad: mode must be a string"):
        tf.pad(x, [[1, 1], [1, 1]], 3)
    with pytest.raises(ValueError, match=r"pad: the output shape is too large"):
        tf.pad(x, [[2**62, 2**62], [0, 0]])


# ---------------------------------------------------------------- views: reshape, squeeze, ...


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_expand_dims_and_squeeze(shape, rng):
    for dtype in ALL_DTYPES:
        a = random_array(rng, shape, dtype)
        t = tf.constant(a)
        for axis in range(-len(shape) - 1, len(shape) + 1):
            e = tf.expand_dims(t, axis)
            check_close(e, np.expand_dims(a, axis), dtype)
            assert e._storage_id == t._storage_id
            check_close(tf.squeeze(e, axis), a, dtype)
        check_close(tf.squeeze(t), np.squeeze(a), dtype)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_squeeze_layouts(layout, rng):
    a = random_array(rng, (3, 1, 4), "float32")
    t = as_layout(a, layout)
    check_close(tf.squeeze(t, [1]), np.squeeze(a, 1), "float32")
    check_close(tf.squeeze(t, -2), np.squeeze(a, -2), "float32")


def test_squeeze_and_expand_dims_errors():
    with pytest.raises(ValueError, match=r"squeeze: cannot squeeze axis 0 of a tensor of shape "
                                         r"\(3, 1\): its size is 3, not 1"):
        tf.squeeze(tf.zeros([3, 1]), 0)
    with pytest.raises(ValueError, match=r"squeeze: axis 5 is out of range for a tensor of rank 2"):
        tf.squeeze(tf.zeros([3, 1]), 5)
    with pytest.raises(ValueError, match=r"expand_dims: axis 4 is out of range for a tensor of "
                                         r"rank 2 \(expected -3 <= axis <= 2\)"):
        tf.expand_dims(tf.zeros([3, 1]), 4)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_reshape_view_or_copy(layout, rng):
    a = random_array(rng, (4, 6), "float64")
    t = as_layout(a, layout)
    for shape in [(24,), (6, 4), (2, 2, 6), (-1, 3), (4, 6, 1)]:
        r = tf.reshape(t, shape)
        check_close(r, a.reshape(shape), "float64")
        # "strided" has a uniform stride of 2 over all 24 elements, so every reshape is a view.
        # Splitting axis 0 or appending a size-1 axis keeps the inner axis: a view for any layout.
        if layout in ("contiguous", "strided") or shape in ((4, 6, 1), (2, 2, 6)):
            assert r._storage_id == t._storage_id  # strides allow a view
        else:
            assert r._storage_id != t._storage_id  # needs a copy


def test_reshape_errors():
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\) "
                                         r"\(6 elements\) into shape \(4,\)"):
        tf.reshape(tf.zeros([2, 3]), [4])
    with pytest.raises(ValueError, match=r"reshape: only one dimension can be -1"):
        tf.reshape(tf.zeros([2, 3]), [-1, -1])


# ---------------------------------------------------------------- shape, rank, size, identity


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_shape_rank_size(shape):
    t = tf.zeros(shape)
    s = tf.shape(t)
    assert s.dtype == tf.int32
    np.testing.assert_array_equal(_np(s), np.array(shape, dtype=np.int32).reshape(len(shape)))
    s64 = tf.shape(t, out_type=tf.int64)
    assert s64.dtype == tf.int64
    np.testing.assert_array_equal(_np(s64), np.array(shape, dtype=np.int64).reshape(len(shape)))
    r = tf.rank(t)
    assert r.dtype == tf.int32 and int(r) == len(shape) and r.ndim == 0
    n = tf.size(t)
    assert n.dtype == tf.int32 and int(n) == int(np.prod(shape))
    assert tf.size(t, out_type=tf.int64).dtype == tf.int64


def test_shape_of_meta_is_meta():
    m = tf._C.empty_meta([None, 3], tf.float32)
    assert tf.shape(m).device == "meta" and tuple(tf.shape(m).shape) == (2,)
    assert tf.rank(m).device == "meta"
    assert tf.size(m).device == "meta"


def test_shape_errors():
    with pytest.raises(TypeError, match=r"shape: out_type must be int32 or int64; got float32"):
        tf.shape(tf.zeros([2]), out_type=tf.float32)
    with pytest.raises(TypeError, match=r"size: out_type must be int32 or int64; got bool"):
        tf.size(tf.zeros([2]), out_type=tf.bool)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_identity(layout, rng):
    a = random_array(rng, (3, 4), "int64")
    t = as_layout(a, layout)
    i = tf.identity(t)
    assert not i._is_same(t)
    assert i._storage_id == t._storage_id
    check_close(i, a, "int64")
    assert tf.identity(tf._C.empty_meta([None], tf.float32)).device == "meta"
