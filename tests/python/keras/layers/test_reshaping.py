"""Permute and RepeatVector."""

import numpy as np
import pytest

from corten.keras import layers
from corten.testing import run_layer_test


def test_permute():
    x = np.arange(24, dtype="float32").reshape(2, 3, 4)
    out = run_layer_test(layers.Permute, {"dims": (2, 1)}, input_data=x,
                         expected_output_shape=(2, 4, 3), expected_num_trainable_weights=0)
    np.testing.assert_array_equal(out.numpy(), x.transpose(0, 2, 1))
    with pytest.raises(ValueError, match="must be consecutive and start from 1"):
        layers.Permute((0, 1))


def test_repeat_vector():
    x = np.arange(6, dtype="float32").reshape(2, 3)
    out = run_layer_test(layers.RepeatVector, {"n": 4}, input_data=x,
                         expected_output_shape=(2, 4, 3), expected_num_trainable_weights=0)
    np.testing.assert_array_equal(out.numpy(), np.repeat(x[:, None], 4, axis=1))
    with pytest.raises(ValueError, match="rank 2"):
        layers.RepeatVector(2)(np.ones((2, 3, 4), "float32"))
