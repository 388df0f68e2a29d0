"""softmax and log_softmax against numpy float64 references over shapes, layouts and axes."""

from __future__ import annotations

import numpy as np
import pytest
from cases import FLOAT_DTYPES, LAYOUTS, SHAPES, as_layout, check_close, random_array

import corten as tf


def ref_softmax(x, axis):
    if x.size == 0:
        return x.copy()
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def ref_log_softmax(x, axis):
    if x.size == 0:
        return x.copy()
    s = x - np.max(x, axis=axis, keepdims=True)
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


OPS = {"softmax": (tf.nn.softmax, ref_softmax), "log_softmax": (tf.nn.log_softmax, ref_log_softmax)}

SHAPE_AXES = [(s, a) for s in SHAPES if len(s) >= 1 for a in sorted({None, 0, -1, len(s) - 1, len(s) // 2},
                                                                      key=str)]
SHAPE_AXES += [((300, 5), 0), ((5, 300), 1), ((3, 200, 4), 1), ((2, 3, 300), 0), ((130, 2), 0)]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(("shape", "axis"), SHAPE_AXES, ids=str)
@pytest.mark.parametrize("name", sorted(OPS))
def test_softmax(name, shape, axis, layout, rng):
    fn, ref = OPS[name]
    for dtype in FLOAT_DTYPES:
        a = random_array(rng, shape, dtype, -20, 20)
        got = fn(as_layout(a, layout), axis=axis)
        assert got.dtype == tf.as_dtype(dtype)
        check_close(got, ref(a.astype(np.float64), -1 if axis is None else axis), dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_softmax_is_stable_for_large_logits(dtype):
    x = tf.constant([1000.0, 0.0, -1000.0], dtype=dtype)
    np.testing.assert_allclose(tf.nn.softmax(x).numpy(), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(tf.nn.log_softmax(x).numpy(), [0.0, -1000.0, -2000.0])
    y = tf.constant(np.array([[-1000.0, -1000.0], [1e30 if dtype == "float32" else 1e300, 0.0]],
                             dtype=dtype))
    np.testing.assert_allclose(tf.nn.softmax(y).numpy(), [[0.5, 0.5], [1.0, 0.0]])
    np.testing.assert_allclose(tf.nn.log_softmax(y, axis=1).numpy()[0], [-np.log(2), -np.log(2)],
                               rtol=1e-6)
    # Along an outer axis (lane layout) too.
    np.testing.assert_allclose(tf.nn.softmax(tf.reshape(x, (3, 1)), axis=0).numpy().ravel(), [1.0, 0.0, 0.0])


def test_softmax_rows_sum_to_one_and_nan_propagates():
    a = np.random.default_rng(1).standard_normal((64, 1000)).astype(np.float32) * 30
    np.testing.assert_allclose(tf.nn.softmax(a).numpy().sum(axis=1), 1.0, rtol=1e-5)
    b = np.array([[1.0, np.nan, 2.0], [1.0, 2.0, 3.0]])
    got = tf.nn.softmax(b).numpy()
    assert np.isnan(got[0]).all() and not np.isnan(got[1]).any()
    assert np.isnan(tf.nn.log_softmax(b, axis=0).numpy()[:, 1]).all()


def test_softmax_empty_and_meta():
    assert tf.nn.softmax(tf.zeros((0, 3))).shape == (0, 3)
    assert tf.nn.log_softmax(tf.zeros((3, 0)), axis=1).shape == (3, 0)
    assert tf.nn.softmax(tf.zeros((3, 0)), axis=0).shape == (3, 0)
    m = tf._C.empty_meta([None, 10], "float32")
    got = tf.nn.softmax(m)
    assert tuple(got.shape) == (None, 10) and got.dtype == tf.float32


def test_softmax_errors():
    with pytest.raises(TypeError, match=r"softmax: expected a floating dtype \(float32, float64\); got int32"):
        tf.nn.softmax(tf.constant([1, 2]))
    with pytest.raises(TypeError, match=r"log_softmax: expected a floating dtype .*; got bool"):
        tf.nn.log_softmax(tf.constant([True]))
    with pytest.raises(ValueError, match=r"softmax: axis 2 is out of range for logits of rank 2 "
                                         r"\(shape \(3, 4\); expected -2 <= axis < 2\)"):
        tf.nn.softmax(tf.zeros((3, 4)), axis=2)
    with pytest.raises(ValueError, match=r"log_softmax: logits must have rank >= 1; got a scalar"):
        tf.nn.log_softmax(tf.constant(1.0))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("label_dtype", ["int32", "int64"])
@pytest.mark.parametrize(("shape", "axis"), [((7, 13), -1), ((3, 5, 4), 1), ((1, 1), 0),
                                             ((40, 300), 1)])
def test_sparse_cross_entropy_gradient_in_one_pass_equals_the_composite(dtype, label_dtype,
                                                                       shape, axis):
    # The tape's gradient takes the fused op; under an outer tape (higher-order gradients) it
    # takes the composite softmax - one_hot: the two agree bit for bit.
    rng = np.random.default_rng(0)
    logits = tf.Variable(rng.standard_normal(shape).astype(dtype) * 4)
    kept = tuple(d for i, d in enumerate(shape) if i != axis % len(shape))
    labels = tf.constant(rng.integers(0, shape[axis], kept).astype(label_dtype))
    weights = tf.constant(rng.uniform(0.5, 2.0, kept).astype(dtype))

    def loss():
        return tf._C.sparse_softmax_cross_entropy_with_logits(labels, logits, axis) * weights

    with tf.GradientTape() as tape:
        value = loss()
    fused = tape.gradient(value, logits)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as tape:
            value = loss()
        composite = tape.gradient(value, logits)
    del outer
    np.testing.assert_array_equal(fused.numpy(), composite.numpy())
    z = logits.numpy().astype("float64")
    p = ref_softmax(z, axis)
    hot = np.moveaxis(np.eye(shape[axis])[labels.numpy()], -1, axis % len(shape))
    want = np.expand_dims(weights.numpy(), axis) * (p - hot)
    np.testing.assert_allclose(fused.numpy(), want, rtol=1e-5 if dtype == "float32" else 1e-12,
                               atol=1e-6 if dtype == "float32" else 1e-14)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 15])
def test_short_lines_agree_with_long_line_kernels(dtype, n):
    # Lines shorter than a vector take the block path of Note [Short softmax lines]; the same
    # lines along a strided axis take the per-line kernels. Both within a few ulp of float64,
    # with the special rows (NaN, +inf, all -inf, huge spreads) giving the same non-finite
    # pattern; 300 lines span several blocks.
    rng = np.random.default_rng(n)
    x = (rng.standard_normal((300, n)) * 30).astype(dtype)
    x[5, 0] = np.nan
    x[6, -1] = np.inf
    x[7, :] = -np.inf
    x[8, 0] = -1e30
    labels = rng.integers(0, n, 300)
    strided = np.ascontiguousarray(x.T)  # the class axis 0: the per-line kernels
    tol = {"rtol": 2e-6 if dtype == "float32" else 1e-13, "atol": 1e-30}

    def same(a, b):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_array_equal(np.isposinf(a), np.isposinf(b))
        np.testing.assert_array_equal(np.isneginf(a), np.isneginf(b))
        finite = np.isfinite(a)
        np.testing.assert_allclose(a[finite], b[finite], **tol)

    for op in (tf.nn.softmax, tf.nn.log_softmax):
        same(op(x, axis=-1).numpy(), op(strided, axis=0).numpy().T)
    with np.errstate(invalid="ignore"):
        ref = ref_log_softmax(x.astype(np.float64), -1)
    finite = np.isfinite(ref).all(axis=1)
    np.testing.assert_allclose(tf.nn.log_softmax(x, axis=-1).numpy()[finite], ref[finite],
                               rtol=4e-6 if dtype == "float32" else 1e-13, atol=1e-5)
    xent = tf._C.sparse_softmax_cross_entropy_with_logits(tf.constant(labels), tf.constant(x),
                                                          -1).numpy()
    xent_long = tf._C.sparse_softmax_cross_entropy_with_logits(tf.constant(labels),
                                                               tf.constant(strided), 0).numpy()
    same(xent, xent_long)
