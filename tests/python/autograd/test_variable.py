"""corten.Variable: construction, in-place updates, errors that leave the variable unchanged."""

import numpy as np
import pytest

import corten as tf
from corten import _C


def test_initial_value_is_copied_from_numpy():
    src = np.array([1.0, 2.0, 3.0])
    v = tf.Variable(src)
    src[0] = 100.0
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0, 3.0])


def test_initial_value_is_copied_from_tensor_and_variable():
    t = tf.constant([1.0, 2.0])
    v = tf.Variable(t)
    w = tf.Variable(v)
    v.assign([5.0, 6.0])
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0])


def test_callable_initial_value_and_dtype_conversion():
    v = tf.Variable(lambda: np.zeros((2, 3)), dtype=tf.float32)
    assert v.dtype == tf.float32
    assert v.shape == (2, 3)
    assert tf.Variable([1, 2], dtype=tf.float64).dtype == tf.float64
    assert tf.Variable([1, 2]).dtype == tf.int32
    assert tf.Variable(1.5).dtype == tf.float32


def test_attributes_and_trainable_setter():
    v = tf.Variable(np.ones((2, 3)), name="kernel")
    assert v.name == "kernel:0"
    assert tf.Variable(1.0).name == "Variable:0"
    assert v.shape == (2, 3)
    assert v.dtype == tf.float64
    assert v.trainable
    v.trainable = False
    assert not v.trainable
    assert not tf.Variable(1.0, trainable=False).trainable


def test_reads_like_a_tensor():
    v = tf.Variable([[1.0, 2.0], [3.0, 4.0]], dtype=tf.float64)
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal((v + 1).numpy(), a + 1)
    np.testing.assert_array_equal((2 * v).numpy(), 2 * a)
    np.testing.assert_array_equal((v @ v).numpy(), a @ a)
    np.testing.assert_array_equal(tf.matmul(v, v).numpy(), a @ a)
    np.testing.assert_array_equal(tf.reduce_sum(v, axis=0).numpy(), a.sum(0))
    np.testing.assert_array_equal(tf.exp(v).numpy(), np.exp(a))
    np.testing.assert_array_equal(v[1].numpy(), a[1])
    assert isinstance(v, tf.Tensor)
    assert "corten.Variable" in repr(v)


def test_np_asarray_shares_memory_and_sees_assignments():
    v = tf.Variable([1.0, 2.0])
    arr = np.asarray(v)
    v.assign([5.0, 6.0])
    np.testing.assert_array_equal(arr, [5.0, 6.0])
    v.assign_add([1.0, 1.0])
    np.testing.assert_array_equal(arr, [6.0, 7.0])


def test_numpy_returns_a_copy():
    v = tf.Variable([1.0, 2.0])
    n = v.numpy()
    v.assign([3.0, 4.0])
    np.testing.assert_array_equal(n, [1.0, 2.0])


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64, tf.int32, tf.int64])
def test_assign_updates_in_place(dtype):
    v = tf.Variable([1, 2, 3], dtype=dtype)
    ptr = v._data_ptr
    out = v.assign([4, 5, 6])
    assert out is v
    assert v._data_ptr == ptr
    np.testing.assert_array_equal(v.numpy(), [4, 5, 6])
    v.assign_add([1, 1, 1])
    np.testing.assert_array_equal(v.numpy(), [5, 6, 7])
    v.assign_sub(tf.constant([2, 2, 2], dtype=dtype))
    np.testing.assert_array_equal(v.numpy(), [3, 4, 5])
    assert v._data_ptr == ptr
    assert v.assign([0, 0, 0], read_value=False) is None


def test_assign_from_a_view_of_itself_reads_before_writing():
    v = tf.Variable([1.0, 2.0, 3.0, 4.0])
    v.assign(v[::-1])
    np.testing.assert_array_equal(v.numpy(), [4.0, 3.0, 2.0, 1.0])
    v.assign_add(v[::-1])
    np.testing.assert_array_equal(v.numpy(), [5.0, 5.0, 5.0, 5.0])


def test_read_value_is_a_snapshot():
    v = tf.Variable([1.0, 2.0])
    snap = v.read_value()
    v.assign([3.0, 4.0])
    np.testing.assert_array_equal(snap.numpy(), [1.0, 2.0])


def test_ref_is_hashable():
    v = tf.Variable(1.0)
    w = tf.Variable(1.0)
    d = {v.ref(): 1, w.ref(): 2}
    assert d[v.ref()] == 1 and v.ref().deref() is v
    with pytest.raises(TypeError, match="unhashable"):
        hash(v)


# Errors: precise messages, variable untouched.

@pytest.mark.parametrize("method", ["assign", "assign_add", "assign_sub"])
def test_wrong_shape_raises_and_leaves_value(method):
    v = tf.Variable([1.0, 2.0])
    with pytest.raises(ValueError, match=rf"{method}: the value has shape \(3,\) but the variable "
                                         r"has shape \(2,\)"):
        getattr(v, method)([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=rf"{method}: the value has shape \(2, 2\)"):
        getattr(v, method)(np.ones((2, 2), np.float32))
    with pytest.raises(ValueError, match=rf"{method}: the value has shape \(\) but"):
        getattr(v, method)(tf.constant(1.0))
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


@pytest.mark.parametrize("method", ["assign", "assign_add", "assign_sub"])
def test_float_into_int_variable_raises_and_leaves_value(method):
    v = tf.Variable([1, 2])
    with pytest.raises(TypeError,
                       match=rf"{method}: cannot convert floating-point values to int32"):
        getattr(v, method)([1.5, 2.5])
    with pytest.raises(TypeError, match=rf"{method}: cannot convert the Python float 0.5 to int32"):
        getattr(v, method)(0.5)
    with pytest.raises(TypeError, match=rf"{method}: the value has dtype float32 but the variable "
                                        r"has dtype int32"):
        getattr(v, method)(tf.constant([1.5, 2.5]))
    np.testing.assert_array_equal(v.numpy(), [1, 2])
    assert v.dtype == tf.int32


@pytest.mark.parametrize("method", ["assign", "assign_add", "assign_sub"])
def test_other_dtype_errors_leave_value(method):
    v = tf.Variable([1.0, 2.0])
    with pytest.raises(TypeError, match=rf"{method}: the value has dtype float64 but the variable "
                                        r"has dtype float32 \(use corten.cast"):
        getattr(v, method)(tf.constant([1.0, 2.0], dtype=tf.float64))
    with pytest.raises(TypeError, match=rf"{method}: cannot convert bool values to float32"):
        getattr(v, method)(np.array([True, False]))
    with pytest.raises(TypeError, match=rf"{method}: cannot convert the string 'abc' to float32"):
        getattr(v, method)("abc")
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


def test_constructor_errors():
    with pytest.raises(ValueError, match="initial_value must be given"):
        tf.Variable()
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['foo'\]"):
        tf.Variable(1.0, foo=1)
    with pytest.raises(TypeError, match="cannot convert the Python float 1.5 to int32"):
        tf.Variable(1.5, dtype=tf.int32)
    with pytest.raises(ValueError, match="the initial value must have data; got a meta tensor"):
        tf.Variable(_C.empty_meta((2,), tf.float32))


def test_set_trainable_on_plain_tensor_raises():
    with pytest.raises(ValueError, match="set_trainable: the tensor is not a Variable"):
        _C.set_trainable(tf.constant(1.0), True)
    with pytest.raises(ValueError, match="assign: the destination is not a Variable"):
        _C.assign_variable(tf.constant([1.0]), [2.0], "assign")
    with pytest.raises(ValueError, match="assign_variable: unknown mode bogus"):
        _C.assign_variable(tf.Variable([1.0]), [2.0], "bogus")


def test_assign_is_not_recorded_by_a_tape():
    v = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(v * v)
        n = _C.records_created()
        v.assign_sub([0.5, 0.5])
        v.assign_add([0.5, 0.5])
        v.assign([1.0, 2.0])
        assert _C.records_created() == n
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), [2.0, 4.0])
