"""The models of the native-inference bench (bench/native_latency.py), written once for corten
and tf.keras 2 (which converts them for LiteRT). Imports nothing, so every peer's interpreter
can load it.

Each case is a functional model and the shape of one input row; corten saves it, the peers
rebuild it from the same code and take corten's weights.
"""

from __future__ import annotations

from typing import Any

if __package__:
    from . import keras_models
else:
    import keras_models

#: Sequence length of the text model's inputs.
TEXT_LENGTH = 64


def dense_stack(keras: Any, inputs: int, widths: tuple[int, ...]) -> Any:
    """Dense layers with ReLU between them and logits out: the seeds' MLP shape."""
    x = first = keras.Input(shape=(inputs,), name="x")
    for w in widths[:-1]:
        x = keras.layers.Dense(w, activation="relu")(x)
    return keras.Model(first, keras.layers.Dense(widths[-1])(x))


def lstm_text(keras: Any) -> Any:
    """A sentiment model over token ids: Embedding(20000, 64), LSTM(64), a sigmoid unit."""
    tokens = keras.Input(shape=(TEXT_LENGTH,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(20000, 64)(tokens)
    x = keras.layers.LSTM(64)(x)
    return keras.Model(tokens, keras.layers.Dense(1, activation="sigmoid")(x))


#: name -> (builder(keras), input row shape, input dtype)
CASES = {
    "mlp_32_64_64_10": (lambda keras: dense_stack(keras, 32, (64, 64, 10)), (32,), "float32"),
    "mlp_784_64_64_10": (lambda keras: dense_stack(keras, 784, (64, 64, 10)), (784,), "float32"),
    "mlp_784_128_10": (lambda keras: dense_stack(keras, 784, (128, 10)), (784,), "float32"),
    "toy_resnet": (keras_models.toy_resnet, (32, 32, 3), "float32"),
    "lstm_text": (lstm_text, (TEXT_LENGTH,), "int32"),
}


def probe(np: Any, case: str, batch: int) -> Any:
    """Seeded inputs of `case` for `batch` rows: uniform floats, or token ids."""
    _, shape, dtype = CASES[case]
    rng = np.random.default_rng(0)
    if dtype == "int32":
        return rng.integers(0, 20000, (batch, *shape)).astype(np.int32)
    return rng.random((batch, *shape), dtype=np.float32)
