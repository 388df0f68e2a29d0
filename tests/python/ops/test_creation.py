"""Creation ops (zeros, ones, zeros_like, ones_like, fill, range, eye, one_hot) against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from cases import ALL_DTYPES, INT_DTYPES, LAYOUTS, SHAPES, as_layout, check_close, random_array

import corten as tf


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_zeros_ones(shape):
    for dtype in ALL_DTYPES:
        z = tf.zeros(shape, dtype)
        o = tf.ones(shape, dtype=dtype)
        assert z.dtype == tf.as_dtype(dtype) and o.dtype == tf.as_dtype(dtype)
        check_close(z, np.zeros(shape, dtype), dtype)
        check_close(o, np.ones(shape, dtype), dtype)
    assert tf.zeros([2]).dtype == tf.float32


def test_zeros_ones_errors_name_the_op():
    with pytest.raises(ValueError, match=r"zeros: dimensions must be >= 0; got shape \(2, -1\)"):
        tf.zeros([2, -1])
    with pytest.raises(ValueError, match=r"ones: dimensions must be >= 0; got shape \(-3,\)"):
        tf.ones([-3])
    with pytest.raises(MemoryError, match=r"zeros: .*needs more than 2\^63 bytes"):
        tf.zeros([2**40, 2**40])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_zeros_like_ones_like(shape, layout, rng):
    for dtype in ALL_DTYPES:
        t = as_layout(random_array(rng, shape, dtype), layout)
        z, o = tf.zeros_like(t), tf.ones_like(t)
        assert z.dtype == t.dtype and o.dtype == t.dtype
        check_close(z, np.zeros(shape), dtype)
        check_close(o, np.ones(shape), dtype)
        assert tf.zeros_like(t, dtype=tf.int64).dtype == tf.int64
    assert tf.ones_like([[1.5, 2.5]]).dtype == tf.float32


def test_zeros_like_meta():
    m = tf._C.empty_meta([None, 3], tf.float64)
    z = tf.zeros_like(m)
    assert z.device == "meta" and tuple(z.shape) == (None, 3) and z.dtype == tf.float64


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_fill(shape):
    for dtype in ALL_DTYPES:
        value = np.array(True if dtype == "bool" else 3, dtype=dtype)
        got = tf.fill(shape, tf.constant(value))
        assert got.dtype == tf.as_dtype(dtype)
        check_close(got, np.full(shape, value), dtype)
    assert tf.fill([2], 1.5).dtype == tf.float32
    assert tf.fill([2], 7).dtype == tf.int32
    np.testing.assert_array_equal(np.asarray(tf.fill(tf.constant([2, 1]), 9)), [[9], [9]])


def test_fill_from_a_strided_scalar_view():
    t = tf.constant(np.arange(6.0).reshape(2, 3))[1, ::-1][0]
    np.testing.assert_array_equal(np.asarray(tf.fill([3], t)), [5.0, 5.0, 5.0])


def test_fill_errors():
    with pytest.raises(ValueError, match=r"fill: value must be a scalar \(0-d tensor\); got shape "
                                         r"\(2,\)"):
        tf.fill([3], [1, 2])
    with pytest.raises(ValueError, match=r"fill: dimensions must be >= 0"):
        tf.fill([-2], 1.0)


RANGES = [
    ((5,), {}, "int32"),
    ((1, 10, 2), {}, "int32"),
    ((10, 1, -3), {}, "int32"),
    ((5, 1), {}, "int32"),
    ((-3, 3), {}, "int32"),
    ((0,), {}, "int32"),
    ((0.0, 1.0, 0.1), {}, "float32"),
    ((1, 2.5, 0.5), {}, "float32"),
    ((2.5, -1.0, -0.75), {}, "float32"),
    ((0, 1, 0.125), {"dtype": "float64"}, "float64"),
    ((3, 20, 4), {"dtype": "int64"}, "int64"),
    ((3, 20, 4), {"dtype": tf.float64}, "float64"),
    ((2**40, 2**40 + 5), {}, "int64"),
    ((-(2**62), 2**62, 2**61), {}, "int64"),
]


@pytest.mark.parametrize(("args", "kwargs", "dtype"), RANGES, ids=str)
def test_range(args, kwargs, dtype):
    got = tf.range(*args, **kwargs)
    assert got.dtype == tf.as_dtype(dtype)
    want = np.arange(*[np.float64(a) if dtype in ("float32", "float64") else int(a) for a in args])
    if dtype == "float32":
        want = np.arange(*[np.float64(np.float32(a)) for a in args])
    check_close(got, want.astype(np.float64) if "float" in dtype else want.astype(dtype), dtype)


def test_range_with_tensor_arguments():
    got = tf.range(tf.constant(1, dtype=tf.int64), 6, 2)
    assert got.dtype == tf.int64
    np.testing.assert_array_equal(np.asarray(got), [1, 3, 5])
    got = tf.range(tf.constant(2.0, dtype=tf.float64))
    assert got.dtype == tf.float64
    np.testing.assert_array_equal(np.asarray(got), [0.0, 1.0])
    np.testing.assert_array_equal(np.asarray(tf.range(np.int64(3))), [0, 1, 2])


def test_range_integer_dtype_truncates_like_a_cast():
    np.testing.assert_array_equal(np.asarray(tf.range(0.5, 3.9, dtype=tf.int32)), [0, 1, 2])


def test_range_errors():
    with pytest.raises(ValueError, match=r"range: delta must not be 0; got delta=0"):
        tf.range(0, 5, 0)
    with pytest.raises(ValueError, match=r"range: delta must not be 0"):
        tf.range(0.0, 5.0, 0.0)
    with pytest.raises(ValueError, match=r"range: delta must not be 0; got delta=0.5"):
        tf.range(0, 5, 0.5, dtype=tf.int32)
    with pytest.raises(TypeError, match=r"range: dtype bool is not supported"):
        tf.range(0, 5, 1, dtype=tf.bool)
    with pytest.raises(TypeError, match=r"range: unsupported argument dtype bool"):
        tf.range(tf.constant(True))
    with pytest.raises(ValueError, match=r"range: start, limit and delta must be finite"):
        tf.range(0.0, float("inf"))
    with pytest.raises(ValueError, match=r"range: limit=3e\+09 does not fit in int32"):
        tf.range(0, 3e9, dtype=tf.int32)
    with pytest.raises(ValueError, match=r"range: .*give too many elements"):
        tf.range(0.0, 1e30, 1e-10)
    with pytest.raises(ValueError, match=r"range: .*give too many elements"):
        tf.range(-(2**63), 2**63 - 1024, dtype=tf.int64)
    with pytest.raises(TypeError, match=r"range: expected a number"):
        tf.range("5")


@pytest.mark.parametrize(("rows", "cols", "batch"), [(0, None, None), (1, None, None),
                                                     (3, None, None), (2, 4, None), (4, 2, ()),
                                                     (3, 3, [2]), (2, 3, (2, 0)), (2, 2, (3, 1))],
                         ids=str)
def test_eye(rows, cols, batch):
    for dtype in ALL_DTYPES:
        got = tf.eye(rows, cols, batch_shape=batch, dtype=dtype)
        want = np.eye(rows, cols, dtype=dtype)
        if batch is not None:
            want = np.broadcast_to(want, tuple(batch) + want.shape)
        check_close(got, np.asarray(want), dtype)
    assert tf.eye(2).dtype == tf.float32


def test_eye_errors():
    with pytest.raises(ValueError, match=r"eye: num_rows must be >= 0; got -1"):
        tf.eye(-1)
    with pytest.raises(ValueError, match=r"eye: num_columns must be >= 0; got -2"):
        tf.eye(2, -2)
    with pytest.raises(ValueError, match=r"eye: batch_shape must contain sizes >= 0"):
        tf.eye(2, batch_shape=[-3])


def _one_hot_ref(idx, depth, on, off, axis):
    idx = np.asarray(idx)
    hot = idx[..., None] == np.arange(depth)
    out = np.where(hot, on, off).astype(np.float64)
    return np.moveaxis(out, -1, axis if axis != -1 else idx.ndim)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_one_hot(shape, layout, rng):
    for index_dtype in INT_DTYPES:
        idx = rng.integers(-2, 6, size=shape).astype(index_dtype)  # includes out-of-range
        t = as_layout(idx, layout)
        for axis in range(-1, len(shape) + 1):
            for depth in (0, 1, 4):
                got = tf.one_hot(t, depth, axis=axis)
                assert got.dtype == tf.float32
                check_close(got, _one_hot_ref(idx, depth, 1.0, 0.0, axis), "float32")
        for dtype in ALL_DTYPES:
            on, off = (True, False) if dtype == "bool" else (5, -1)
            got = tf.one_hot(t, 3, on_value=on, off_value=off, dtype=dtype)
            assert got.dtype == tf.as_dtype(dtype)
            check_close(got, _one_hot_ref(idx, 3, on, off, -1).astype(dtype), dtype)


def test_one_hot_dtype_inference():
    assert tf.one_hot([0, 1], 2, on_value=1, off_value=0).dtype == tf.int32
    assert tf.one_hot([0, 1], 2, on_value=2.5).dtype == tf.float32
    got = tf.one_hot([0, 1], 2, off_value=tf.constant(-1.0, dtype=tf.float64))
    assert got.dtype == tf.float64
    np.testing.assert_array_equal(np.asarray(got), [[1, -1], [-1, 1]])


def test_one_hot_errors():
    with pytest.raises(TypeError, match=r"one_hot: indices must be int32 or int64; got float32"):
        tf.one_hot([0.5], 3)
    with pytest.raises(ValueError, match=r"one_hot: depth must be >= 0; got -1"):
        tf.one_hot([0], -1)
    with pytest.raises(ValueError, match=r"one_hot: axis must be -1 or in \[0, 1\] for indices of "
                                         r"shape \(2,\); got 3"):
        tf.one_hot([0, 1], 3, axis=3)
    with pytest.raises(TypeError, match=r"one_hot: on_value and off_value must have the same "
                                        r"dtype; got int32 and float32"):
        tf.one_hot([0], 3, on_value=1, off_value=0.0)
    with pytest.raises(TypeError, match=r"one_hot: the dtype float64 of on_value/off_value does "
                                        r"not match dtype float32"):
        tf.one_hot([0], 3, on_value=tf.constant(1.0, dtype=tf.float64), dtype=tf.float32)


def test_one_hot_meta():
    m = tf._C.empty_meta([None, 3], tf.int32)
    got = tf.one_hot(m, 5, axis=1)
    assert got.device == "meta" and tuple(got.shape) == (None, 5, 3)


def test_range_bounded_by_a_shape_inside_a_functional_layer():
    # keras-io's TokenAndPositionEmbedding: the limit is tf.shape(x)[-1], symbolic while the
    # functional model is built, a number when it runs.
    from corten import keras
    from corten.keras import layers

    class Positions(layers.Layer):
        def call(self, x):
            return tf.range(start=0, limit=tf.shape(x)[-1], delta=1)

    inputs = layers.Input(shape=(7,))
    outputs = Positions()(inputs)
    assert tuple(outputs.shape) == (None,)
    model = keras.Model(inputs, outputs)
    np.testing.assert_array_equal(model(np.zeros((2, 7), "float32")).numpy(), np.arange(7))
    # A Keras tensor passed straight to tf.range becomes a node of the graph.
    length = keras.Input(shape=(), dtype="int32", batch_size=1)
    node = tf.range(tf.reduce_sum(length))
    assert isinstance(node, type(length))
