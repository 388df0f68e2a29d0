"""The core layers through the shared layer harness (corten.testing.run_layer_test)."""

import corten as tf
import numpy as np
import pytest
from corten.keras import layers
from corten.testing import run_layer_test


@pytest.mark.parametrize("activation", [None, "relu", "gelu", "softmax"])
def test_dense(activation):
    run_layer_test(layers.Dense, {"units": 3, "activation": activation}, input_shape=(2, 4),
                   expected_output_shape=(2, 3), expected_num_trainable_weights=2,
                   expected_num_non_trainable_weights=0, supports_masking=True)


def test_dense_on_rank_3_input():
    run_layer_test(layers.Dense, {"units": 5, "use_bias": False}, input_shape=(2, 3, 4),
                   expected_output_shape=(2, 3, 5), expected_num_trainable_weights=1)


def test_dropout():
    out = run_layer_test(layers.Dropout, {"rate": 0.5, "seed": 1}, input_shape=(3, 4),
                         expected_output_shape=(3, 4), expected_num_trainable_weights=0,
                         expected_num_non_trainable_weights=0, supports_masking=True)
    assert tf.reduce_all(out == tf.constant(np.asarray(out))).numpy()  # identity at inference


@pytest.mark.parametrize("activation", ["relu", "tanh", "hard_sigmoid", "swish"])
def test_activation(activation):
    run_layer_test(layers.Activation, {"activation": activation}, input_shape=(2, 3, 4),
                   expected_output_shape=(2, 3, 4), expected_num_trainable_weights=0,
                   supports_masking=True)


def test_flatten():
    run_layer_test(layers.Flatten, {}, input_shape=(2, 3, 4), expected_output_shape=(2, 12),
                   expected_num_trainable_weights=0)


def test_reshape():
    run_layer_test(layers.Reshape, {"target_shape": (4, 3)}, input_shape=(2, 3, 4),
                   expected_output_shape=(2, 4, 3), expected_num_trainable_weights=0,
                   run_mixed_shapes=False)


def test_reshape_with_an_inferred_dimension():
    run_layer_test(layers.Reshape, {"target_shape": (-1, 2)}, input_shape=(2, 3, 4),
                   expected_output_shape=(2, 6, 2), run_mixed_shapes=False)


def scale_by_two(x):
    return x * 2.0


def test_lambda_of_a_named_function():
    out = run_layer_test(layers.Lambda, {"function": scale_by_two}, input_shape=(2, 3),
                         expected_output_shape=(2, 3), expected_num_trainable_weights=0,
                         custom_objects={"scale_by_two": scale_by_two})
    assert out.shape == (2, 3)


def test_lambda_of_a_lambda_expression_says_how_to_make_it_saveable():
    layer = layers.Lambda(lambda x: x + 1.0)
    with pytest.raises(NotImplementedError, match="define the function with `def`"):
        layer.get_config()


def test_lambda_loading_never_runs_an_unknown_function():
    config = layers.Lambda(scale_by_two).get_config()
    with pytest.raises(ValueError, match="scale_by_two"):
        layers.Lambda.from_config(config)


def test_identity():
    run_layer_test(layers.Identity, {}, input_shape=(2, 3), expected_output_shape=(2, 3),
                   expected_num_trainable_weights=0)


def test_the_harness_catches_a_wrong_output_shape():
    with pytest.raises(AssertionError, match=r"output shape \(2, 3\), expected \(2, 4\)"):
        run_layer_test(layers.Dense, {"units": 3}, input_shape=(2, 4),
                       expected_output_shape=(2, 4))


def test_the_harness_catches_a_config_that_loses_an_argument():
    class Forgetful(layers.Dense):
        def get_config(self):
            config = super().get_config()
            config["units"] = 7
            return config

    with pytest.raises(AssertionError, match=r"from_config\(get_config\(\)\) built other weights"):
        run_layer_test(Forgetful, {"units": 3}, input_shape=(2, 4), run_saving_check=False)


def test_the_harness_catches_a_weight_that_does_not_train():
    class Frozen(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")
            self.unused = self.add_weight(shape=(1,), initializer="ones")

        def call(self, x):
            return x * self.w

    with pytest.raises(AssertionError, match="left the trainable weight .* unchanged"):
        run_layer_test(Frozen, {}, input_shape=(2, 3), run_saving_check=False,
                       custom_objects={"Frozen": Frozen})


@pytest.mark.parametrize(("target", "expected"), [((-1,), (None, 36)), ((4, -1), (None, 4, 9)),
                                                  ((-1, 3), (None, 12, 3))])
def test_reshape_infers_the_minus_one_beside_an_unknown_batch(target, expected):
    from corten import keras

    inputs = keras.Input((2, 18))
    outputs = layers.Reshape(target)(inputs)
    assert tuple(outputs.shape) == expected
    model = keras.Model(inputs, outputs)
    x = np.arange(72, dtype="float32").reshape(2, 2, 18)
    np.testing.assert_array_equal(np.asarray(model(x)), x.reshape((2,) + expected[1:]))
