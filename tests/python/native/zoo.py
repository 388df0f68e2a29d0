"""Models for the native-inference tests: the seeds' models and one model of each layer family,
each with inputs to predict on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import corten as tf
import numpy as np
from corten import keras
from corten.bench.peers import keras_models
from corten.keras import layers

Case = tuple[Any, list[np.ndarray]]


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _seq(shape: tuple, *stack: Any) -> Any:
    return keras.Sequential([keras.Input(shape=shape), *stack])


def _images(shape: tuple, n: int = 3, seed: int = 0) -> list[np.ndarray]:
    return [_rng(seed).random((n, *shape), dtype=np.float32)]


# ------------------------------------------------------------------------------ the seeds


def seed_mlp() -> Case:
    """The functional guide's MNIST model."""
    inputs = keras.Input(shape=(784,))
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    return keras.Model(inputs, layers.Dense(10)(x), name="mnist_model"), _images((784,), 5)


def seed_toy_resnet() -> Case:
    return keras_models.toy_resnet(keras), _images((32, 32, 3), 2)


def seed_autoencoder() -> Case:
    """The functional guide's convolutional autoencoder."""
    encoder_input = keras.Input(shape=(28, 28, 1), name="img")
    x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    encoder_output = layers.GlobalMaxPooling2D()(x)
    x = layers.Reshape((4, 4, 1))(encoder_output)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
    x = layers.UpSampling2D(3)(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)
    return keras.Model(encoder_input, decoder_output, name="autoencoder"), \
        _images((28, 28, 1), 2)


def seed_ticket_classifier() -> Case:
    """The functional guide's multi-input, multi-output model (title, body, tags)."""
    rng = _rng(1)
    return keras_models.ticket_classifier(keras), [
        rng.integers(0, 10000, (3, 10)).astype(np.float32),
        rng.integers(0, 10000, (3, 25)).astype(np.float32),
        rng.integers(0, 2, (3, 12)).astype(np.float32)]


class Linear(keras.layers.Layer):
    """The custom-layers guide's Linear layer."""

    def __init__(self, units: int = 32):
        super().__init__()
        self.units = units

    def build(self, input_shape: Any) -> None:
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal",
                                 trainable=True)

    def call(self, inputs: Any) -> Any:
        return tf.matmul(inputs, self.w) + self.b


class MLPBlock(keras.Model):
    """The custom-layers guide's MLPBlock of Linear layers, as a subclassed model."""

    def __init__(self):
        super().__init__()
        self.linear_1 = Linear(32)
        self.linear_2 = Linear(32)
        self.linear_3 = Linear(1)

    def call(self, inputs: Any) -> Any:
        x = tf.nn.relu(self.linear_1(inputs))
        x = tf.nn.relu(self.linear_2(x))
        return self.linear_3(x)


def seed_mlp_block() -> Case:
    model = MLPBlock()
    model(tf.ones(shape=(3, 64)))  # the first call creates the weights, as in the guide
    return model, _images((64,), 4)


def seed_ensemble() -> Case:
    """The functional guide's ensemble: three nested models averaged."""

    def get_model():
        inputs = keras.Input(shape=(128,))
        return keras.Model(inputs, layers.Dense(1)(inputs))

    inputs = keras.Input(shape=(128,))
    outputs = layers.average([get_model()(inputs) for _ in range(3)])
    return keras.Model(inputs=inputs, outputs=outputs), _images((128,), 3)


def seed_shared_embedding() -> Case:
    """The functional guide's Embedding shared by two variable-length int32 inputs."""
    shared_embedding = layers.Embedding(1000, 128)
    text_input_a = keras.Input(shape=(None,), dtype="int32")
    text_input_b = keras.Input(shape=(None,), dtype="int32")
    encoded = layers.concatenate([shared_embedding(text_input_a),
                                  shared_embedding(text_input_b)], axis=1)
    model = keras.Model([text_input_a, text_input_b], encoded)
    rng = _rng(7)
    return model, [rng.integers(0, 1000, (2, 6)).astype(np.int32),
                   rng.integers(0, 1000, (2, 4)).astype(np.int32)]


def seed_custom_dense() -> Case:
    """The functional guide's CustomDense (the custom-layers guide's Linear, line for line) in
    a functional model."""
    inputs = keras.Input((4,))
    return keras.Model(inputs, Linear(10)(inputs)), _images((4,), 3)


class CustomRNN(layers.Layer):
    """The functional guide's from-scratch RNN: a Python loop over the time steps."""

    def __init__(self, units: int = 32):
        super().__init__()
        self.units = units
        self.projection_1 = layers.Dense(units=units, activation="tanh")
        self.projection_2 = layers.Dense(units=units, activation="tanh")
        self.classifier = layers.Dense(1)

    def call(self, inputs: Any) -> Any:
        outputs = []
        state = tf.zeros(shape=(inputs.shape[0], self.units))
        for t in range(inputs.shape[1]):
            h = self.projection_1(inputs[:, t, :])
            state = h + self.projection_2(state)
            outputs.append(state)
        return self.classifier(tf.stack(outputs, axis=1))


def seed_custom_rnn() -> Case:
    """The guide's Conv1D then CustomRNN, at its static batch of 16."""
    inputs = keras.Input(batch_shape=(16, 10, 5))
    model = keras.Model(inputs, CustomRNN()(layers.Conv1D(32, 3)(inputs)))
    return model, [_rng(8).random((16, 10, 5), dtype=np.float32)]


SEEDS: dict[str, Callable[[], Case]] = {
    "mlp": seed_mlp, "toy_resnet": seed_toy_resnet, "autoencoder": seed_autoencoder,
    "ticket_classifier": seed_ticket_classifier, "mlp_block": seed_mlp_block,
    "ensemble": seed_ensemble, "shared_embedding": seed_shared_embedding,
    "custom_dense": seed_custom_dense, "custom_rnn": seed_custom_rnn,
}

# ------------------------------------------------------------------------- layer families


def _merging() -> Case:
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    outs = [layers.Add()([a, b]), layers.Subtract()([a, b]), layers.Multiply()([a, b]),
            layers.Average()([a, b]), layers.Maximum()([a, b]), layers.Minimum()([a, b]),
            layers.Concatenate()([a, b]), layers.Dot(axes=1)([a, b])]
    rng = _rng(2)
    return keras.Model([a, b], outs), [rng.standard_normal((3, 4)).astype(np.float32)
                                       for _ in range(2)]


def _masked_recurrent() -> Case:
    model = _seq((7,), layers.Embedding(30, 6, mask_zero=True),
                 layers.Bidirectional(layers.LSTM(5, return_sequences=True)),
                 layers.GRU(4), layers.Dense(2))
    tokens = _rng(3).integers(1, 30, (4, 7))
    tokens[1, 4:] = 0
    tokens[3, 2:] = 0
    return model, [tokens.astype(np.float32)]


def _attention() -> Case:
    tokens = keras.Input((6, 8))
    x = layers.MultiHeadAttention(2, 4)(tokens, tokens, use_causal_mask=True)
    x = layers.Attention(use_scale=True)([x, tokens])
    x = layers.AdditiveAttention()([x, tokens])
    outputs = layers.EinsumDense("abc,cd->abd", (None, 3), bias_axes="d")(x)
    return keras.Model(tokens, outputs), [_rng(6).standard_normal((3, 6, 8)).astype(np.float32)]


FAMILIES: dict[str, Callable[[], Case]] = {
    "core": lambda: (_seq((8,), layers.Dense(6, activation="gelu"), layers.Activation("swish"),
                          layers.Dense(3, use_bias=False), layers.Softmax()), _images((8,), 4)),
    "convolution_1d": lambda: (_seq((16, 3), layers.Conv1D(4, 3, padding="same", dilation_rate=2),
                                    layers.Conv1D(5, 3, strides=2, activation="relu"),
                                    layers.Conv1DTranspose(2, 3)), _images((16, 3))),
    "convolution_2d": lambda: (_seq((12, 12, 3), layers.Conv2D(4, 3, strides=2, padding="same"),
                                    layers.SeparableConv2D(4, 3, activation="relu"),
                                    layers.DepthwiseConv2D(2, depth_multiplier=2),
                                    layers.Conv2DTranspose(2, 3, strides=2)),
                               _images((12, 12, 3))),
    "convolution_3d": lambda: (_seq((6, 6, 6, 2), layers.Conv3D(3, 2),
                                    layers.Conv3DTranspose(2, 2)), _images((6, 6, 6, 2), 2)),
    "pooling": lambda: (_seq((16, 16, 3), layers.MaxPooling2D(2), layers.AveragePooling2D(
        2, padding="same"), layers.GlobalAveragePooling2D()), _images((16, 16, 3))),
    "pooling_1d_3d": lambda: (_seq((8, 8, 8, 2), layers.MaxPooling3D(2),
                                   layers.AveragePooling3D(2), layers.GlobalMaxPooling3D()),
                              _images((8, 8, 8, 2), 2)),
    "normalization": lambda: (_seq((6, 4), layers.BatchNormalization(),
                                   layers.LayerNormalization(),
                                   layers.GroupNormalization(2), layers.UnitNormalization()),
                              _images((6, 4))),
    "embedding": lambda: (_seq((9,), layers.Embedding(40, 8), layers.GlobalAveragePooling1D(),
                               layers.Dense(2)),
                          [_rng(4).integers(0, 40, (3, 9)).astype(np.float32)]),
    "recurrent": lambda: (_seq((5, 3), layers.SimpleRNN(4, return_sequences=True),
                               layers.LSTM(4, return_sequences=True, go_backwards=True),
                               layers.GRU(3)), _images((5, 3))),
    "masked_recurrent": _masked_recurrent,
    "reshaping": lambda: (_seq((8,), layers.Reshape((4, 2)), layers.Permute((2, 1)),
                               layers.Flatten(), layers.RepeatVector(3), layers.Cropping1D(1),
                               layers.ZeroPadding1D(2), layers.UpSampling1D(2)),
                          _images((8,))),
    "spatial_reshaping": lambda: (_seq((5, 5, 2), layers.ZeroPadding2D(1), layers.Cropping2D(
        ((1, 0), (0, 1))), layers.UpSampling2D(2)), _images((5, 5, 2))),
    "merging": _merging,
    "attention": _attention,
    "activations": lambda: (_seq((8,), layers.LeakyReLU(), layers.PReLU(), layers.ELU(),
                                 layers.ReLU(max_value=2.0), layers.ThresholdedReLU(0.1)),
                            [_rng(5).standard_normal((3, 8)).astype(np.float32)]),
    "regularization": lambda: (_seq((4, 3), layers.GaussianNoise(0.1), layers.Dropout(0.2),
                                    layers.SpatialDropout1D(0.1), layers.ActivityRegularization(
                                        l1=0.01), layers.Dense(2)), _images((4, 3))),
    "image_preprocessing": lambda: (_seq((16, 16, 3), layers.Rescaling(1 / 255.0),
                                         layers.Resizing(8, 8), layers.CenterCrop(6, 6),
                                         layers.Normalization(mean=0.5, variance=0.25),
                                         layers.RandomFlip(), layers.RandomRotation(0.1)),
                                    [_rng(6).integers(0, 256, (3, 16, 16, 3)).astype(
                                        np.float32)]),
}
