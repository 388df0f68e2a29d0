"""Absurd sizes get a clear ValueError, never undefined behaviour (each test failed before its
fix; the sanitizer job runs them under UBSan)."""

import numpy as np
import pytest

import corten as tf


def test_zero_size_shape_whose_strides_overflow_is_rejected():
    with pytest.raises(ValueError, match=r"shape \(1048576, 0, 1048576, 1048576, 1048576\) is "
                                         r"too large: its strides do not fit in int64"):
        tf.zeros((2**20, 0, 2**20, 2**20, 2**20))


def test_zero_size_shape_with_huge_dimensions_that_fit_is_fine():
    t = tf.zeros((2**20, 0, 2**20))
    assert t.shape == (2**20, 0, 2**20)
    assert np.asarray(t).size == 0


def test_a_view_with_a_huge_step_exports_to_numpy():
    x = tf.constant([1.0, 2.0, 3.0])
    y = x[:: 2**62]
    np.testing.assert_array_equal(np.asarray(y), [1.0])
    np.testing.assert_array_equal(y.numpy(), [1.0])


def test_element_counts_that_overflow_are_rejected():
    with pytest.raises(MemoryError, match=r"zeros: a float32 tensor of shape .* needs more than 2\^63 bytes"):
        tf.zeros((2**40, 2**40))


def test_a_batch_larger_than_memory_is_refused_at_its_first_element():
    ds = tf.data.Dataset.range(2**62).batch(2**40).take(1)
    with pytest.raises(MemoryError, match=r"batch: a batch of 1099511627776 elements of 8 bytes"):
        next(iter(ds))


def test_a_huge_batch_size_over_a_short_dataset_is_fine():
    batches = [b.numpy().tolist() for b in tf.data.Dataset.range(5).batch(2**40)]
    assert batches == [[0, 1, 2, 3, 4]]
