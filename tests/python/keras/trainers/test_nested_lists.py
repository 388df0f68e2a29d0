"""Nested Python lists: one array when rectangular (as in Keras 2), a clear error when ragged."""

import numpy as np
import pytest

import corten as tf
from corten import keras


def _model():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_fit_reads_a_nested_list_as_one_array_like_the_numpy_array():
    rows = [[i / 20, 1.0, -i / 10] for i in range(20)]
    targets = [[float(i % 3)] for i in range(20)]
    a, b = _model(), _model()
    b.set_weights(a.get_weights())
    from_lists = a.fit(rows, targets, epochs=2, shuffle=False, verbose=0)
    from_arrays = b.fit(np.array(rows, "float32"), np.array(targets, "float32"), epochs=2,
                        shuffle=False, verbose=0)
    np.testing.assert_allclose(from_lists.history["loss"], from_arrays.history["loss"],
                               rtol=1e-6)
    assert _model().predict(rows, verbose=0).shape == (20, 1)


def test_a_ragged_list_given_to_fit_names_the_argument():
    with pytest.raises(ValueError, match=r"^x is a ragged nested list .*pass a numpy array"):
        _model().fit([[1.0, 2.0, 3.0], [1.0]], [[0.0], [1.0]], verbose=0)
    with pytest.raises(ValueError, match=r"^y is a ragged nested list"):
        _model().fit([[1.0, 2.0, 3.0]] * 2, [[0.0], [1.0, 2.0]], verbose=0)


def test_a_ragged_list_given_to_a_layer_names_the_layer():
    layer = keras.layers.Dense(2, name="head")
    with pytest.raises(ValueError, match=r"the input of layer 'head' is a ragged nested list"):
        layer([[1.0, 2.0], [3.0]])
    assert layer([[1.0, 2.0], [3.0, 4.0]]).shape == (2, 2)


def test_a_ragged_list_given_to_constant_says_what_is_wrong():
    with pytest.raises(ValueError, match="cannot convert a ragged nested list"):
        tf.constant([[1.0, 2.0], [3.0]])
