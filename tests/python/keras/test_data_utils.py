"""keras.utils.to_categorical and pad_sequences (also keras.preprocessing.sequence)."""

import numpy as np
import pytest

from corten import keras


def test_to_categorical():
    got = keras.utils.to_categorical([0, 2, 1, 2])
    np.testing.assert_array_equal(got, np.eye(3, dtype="float32")[[0, 2, 1, 2]])
    assert got.dtype == np.float32
    assert keras.utils.to_categorical(np.array([[1], [0]]), 3).shape == (2, 3)
    assert keras.utils.to_categorical([[0, 1], [1, 1]], 2).shape == (2, 2, 2)
    with pytest.raises(ValueError, match=r"in \[0, 3\)"):
        keras.utils.to_categorical([0, 3], 3)
    with pytest.raises(ValueError, match="integers"):
        keras.utils.to_categorical([0.5])


def test_pad_sequences():
    seqs = [[1, 2, 3], [4], [5, 6]]
    np.testing.assert_array_equal(keras.utils.pad_sequences(seqs),
                                  [[1, 2, 3], [0, 0, 4], [0, 5, 6]])
    np.testing.assert_array_equal(
        keras.preprocessing.sequence.pad_sequences(seqs, maxlen=2, padding="post",
                                                   truncating="post", value=-1),
        [[1, 2], [4, -1], [5, 6]])
    vecs = keras.utils.pad_sequences([np.ones((2, 3)), np.ones((1, 3))], dtype="float32")
    assert vecs.shape == (2, 2, 3)
    with pytest.raises(ValueError, match="not understood"):
        keras.utils.pad_sequences(seqs, padding="middle")
    with pytest.raises(ValueError, match="different from expected shape"):
        keras.utils.pad_sequences([np.ones((2, 3)), np.ones((1, 2))])
