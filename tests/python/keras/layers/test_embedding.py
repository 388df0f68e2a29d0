"""Embedding and Masking."""

import numpy as np
import pytest

import corten as tf
from corten import keras
from corten.keras import layers
from corten.testing import run_layer_test


def test_embedding_through_the_harness():
    ids = np.random.default_rng(0).integers(0, 10, size=(2, 5)).astype("int32")
    run_layer_test(layers.Embedding, {"input_dim": 10, "output_dim": 3}, input_data=ids,
                   input_dtype="int32", expected_output_shape=(2, 5, 3),
                   expected_num_trainable_weights=1, expected_num_non_trainable_weights=0)


def test_embedding_gathers_rows_and_scatters_gradients():
    emb = layers.Embedding(4, 2)
    ids = np.array([[1, 3, 1]])
    out = emb(ids)
    np.testing.assert_array_equal(out.numpy(), emb.embeddings.numpy()[ids])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(emb(ids))
    grad = tape.gradient(loss, emb.embeddings)
    np.testing.assert_array_equal(grad.numpy(), [[0, 0], [2, 2], [0, 0], [1, 1]])


def test_an_out_of_range_id_names_it_its_position_and_input_dim():
    emb = layers.Embedding(4, 2, name="words")
    with pytest.raises(IndexError, match=r"(?s)'words'.*indices\[0, 2\] = 7 is not in \[0, 4\)"):
        emb(np.array([[1, 2, 7]]))
    with pytest.raises(IndexError, match=r"indices\[1, 0\] = -1"):
        emb(np.array([[1], [-1]]))


def test_mask_zero_gives_the_padding_mask_and_it_propagates():
    emb = layers.Embedding(5, 3, mask_zero=True)
    ids = np.array([[4, 2, 0, 0]])
    out = emb(ids)
    np.testing.assert_array_equal(out._keras_mask.numpy(), [[True, True, False, False]])
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Dense(2)(layers.Embedding(5, 3, mask_zero=True)(inputs))
    assert x._keras_mask is not None


def test_the_functional_guide_shared_embedding():
    shared_embedding = layers.Embedding(1000, 128)
    text_input_a = keras.Input(shape=(None,), dtype="int32")
    text_input_b = keras.Input(shape=(None,), dtype="int32")
    encoded_input_a = shared_embedding(text_input_a)
    encoded_input_b = shared_embedding(text_input_b)
    assert tuple(encoded_input_a.shape) == (None, None, 128)
    assert tuple(encoded_input_b.shape) == (None, None, 128)
    assert len(shared_embedding.weights) == 1


def test_embedding_argument_errors():
    with pytest.raises(ValueError, match="should be positive"):
        layers.Embedding(0, 3)


def test_masking():
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]]], "float32")
    out = layers.Masking(0.0)(x)
    np.testing.assert_array_equal(out._keras_mask.numpy(), [[True, False, True]])
    np.testing.assert_array_equal(out.numpy(), x)
    out = layers.Masking(1.0)(np.array([[[1.0, 1.0], [1.0, 2.0]]], "float32"))
    np.testing.assert_array_equal(out.numpy(), [[[0.0, 0.0], [1.0, 2.0]]])
    clone = layers.Masking.from_config(layers.Masking(2.0).get_config())
    assert clone.mask_value == 2.0


def test_input_is_an_alias_of_keras_input():
    assert layers.Input is keras.Input


def test_input_length_fills_in_the_output_shape():
    # As tf.keras: input_length fills the unknown sequence dimension and must match a known one.
    emb = layers.Embedding(5, 2, input_length=4)
    assert tuple(emb.compute_output_shape((None, None))) == (None, 4, 2)
    assert tuple(emb.compute_output_shape((3, 4))) == (3, 4, 2)
    with pytest.raises(ValueError, match=r'"input_length" is 4, but received input has shape'):
        emb.compute_output_shape((None, 5))
