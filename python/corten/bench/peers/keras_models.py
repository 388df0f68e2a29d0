"""The seeds' models written once for every Keras-API library the bench runs.

corten, tf.keras 2 and Keras 3 share this code: the MLP and the VAE are the guides' own
subclassed models, so each library runs the code a user of that library would write. Keras 3
spells tensor math as ``keras.ops`` and draws noise from a ``SeedGenerator``; ``Math``
carries those few names. Imports nothing, so that every peer's interpreter can load it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Math:
    """The tensor functions the VAE needs, in one library's spelling."""

    mean: Callable[[Any], Any]
    square: Callable[[Any], Any]
    exp: Callable[[Any], Any]
    #: normal(layer, like) draws standard normal noise of `like`'s shape.
    normal: Callable[[Any, Any], Any]
    #: A numpy array as the library's tensor (what a user hands to model(x)).
    tensor: Callable[[Any], Any]
    #: positions(x): the positions 0, ..., T-1 of a batch of sequences x (batch, T). The
    #: transformer example computes T as tf.shape(x)[-1]; corten's functional tracing cannot
    #: hand that symbolic scalar to tf.range (TypeError: only tensors with one element can be
    #: converted to float), so both libraries read the static length x.shape[-1] (200).
    positions: Callable[[Any], Any] | None = None
    #: Called in the sampling layer's __init__ (Keras 3 creates its SeedGenerator there).
    init_sampling: Callable[[Any], None] = lambda layer: None


def tf_math(tf: Any, keras: Any) -> Math:
    """tf.keras 2 and corten: the guide's own calls."""
    return Math(mean=tf.reduce_mean, square=tf.square, exp=tf.exp,
                normal=lambda layer, z: keras.backend.random_normal(
                    shape=(tf.shape(z)[0], tf.shape(z)[1])),
                tensor=tf.constant,
                positions=lambda x: tf.range(start=0, limit=x.shape[-1], delta=1))


def keras3_math(keras: Any) -> Math:
    def init(layer):
        layer.seed_generator = keras.random.SeedGenerator(0)

    return Math(mean=keras.ops.mean, square=keras.ops.square, exp=keras.ops.exp,
                normal=lambda layer, z: keras.random.normal(keras.ops.shape(z),
                                                            seed=layer.seed_generator),
                tensor=keras.ops.convert_to_tensor, init_sampling=init,
                positions=lambda x: keras.ops.arange(0, keras.ops.shape(x)[-1], 1))


def mlp(keras: Any, num_classes: int = 10, width: int = 64) -> Any:
    """The seeds' digits MLP: 784 -> 64 -> 64 -> 10, ReLU, logits."""

    class MLP(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense_1 = keras.layers.Dense(width, activation="relu")
            self.dense_2 = keras.layers.Dense(width, activation="relu")
            self.classifier = keras.layers.Dense(num_classes)

        def call(self, inputs):
            return self.classifier(self.dense_2(self.dense_1(inputs)))

    return MLP()


def vae(keras: Any, math: Math, original_dim: int = 784, intermediate_dim: int = 64,
        latent_dim: int = 32) -> Any:
    """The custom-layers guide's VariationalAutoEncoder, encoder and decoder inlined."""

    class Sampling(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            math.init_sampling(self)

        def call(self, inputs):
            z_mean, z_log_var = inputs
            return z_mean + math.exp(0.5 * z_log_var) * math.normal(self, z_mean)

    class VAE(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.enc = keras.layers.Dense(intermediate_dim, activation="relu")
            self.mean = keras.layers.Dense(latent_dim)
            self.log_var = keras.layers.Dense(latent_dim)
            self.sampling = Sampling()
            self.dec = keras.layers.Dense(intermediate_dim, activation="relu")
            self.out = keras.layers.Dense(original_dim, activation="sigmoid")

        def call(self, inputs):
            h = self.enc(inputs)
            z_mean, z_log_var = self.mean(h), self.log_var(h)
            z = self.sampling((z_mean, z_log_var))
            self.add_loss(-0.5 * math.mean(z_log_var - math.square(z_mean)
                                           - math.exp(z_log_var) + 1))
            return self.out(self.dec(z))

    return VAE()


def compiled_mlp(keras: Any) -> Any:
    model = mlp(keras)
    model.compile(optimizer=keras.optimizers.RMSprop(),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def compiled_vae(keras: Any, math: Math) -> Any:
    model = vae(keras, math)
    model.compile(keras.optimizers.Adam(learning_rate=1e-3),
                  loss=keras.losses.MeanSquaredError())
    return model


def fit_epoch(model: Any, x: Any, y: Any, batch: int) -> Callable[[], float]:
    """One shuffled epoch of fit() per call; returns the epoch's loss."""
    return lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0).history["loss"][-1]


def toy_resnet(keras: Any) -> Any:
    """The functional guide's toy ResNet for CIFAR10 (223,242 parameters), compiled as there."""
    layers = keras.layers
    inputs = keras.Input(shape=(32, 32, 3), name="img")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    block_1_output = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_2_output = layers.add([x, block_1_output])
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_3_output = layers.add([x, block_2_output])
    x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10)(x)
    model = keras.Model(inputs, outputs, name="toy_resnet")
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True), metrics=["acc"])
    return model


def ticket_classifier(keras: Any, num_tags: int = 12, num_words: int = 10000,
                      num_departments: int = 4, width: int = 64, title_units: int = 128,
                      body_units: int = 32) -> Any:
    """The functional guide's multi-input, multi-output model: a ticket's title, body and tags
    in, its priority and department out (1,392,097 parameters at the guide's sizes, as tf.keras
    counts them)."""
    layers = keras.layers
    title_input = keras.Input(shape=(None,), name="title")
    body_input = keras.Input(shape=(None,), name="body")
    tags_input = keras.Input(shape=(num_tags,), name="tags")
    title_features = layers.LSTM(title_units)(layers.Embedding(num_words, width)(title_input))
    body_features = layers.LSTM(body_units)(layers.Embedding(num_words, width)(body_input))
    x = layers.concatenate([title_features, body_features, tags_input])
    priority_pred = layers.Dense(1, name="priority")(x)
    department_pred = layers.Dense(num_departments, name="department")(x)
    return keras.Model(inputs=[title_input, body_input, tags_input],
                       outputs=[priority_pred, department_pred])


def bilstm_classifier(keras: Any, max_features: int = 20000) -> Any:
    """keras-io's bidirectional LSTM text classifier: Embedding(20000, 128), two
    Bidirectional(LSTM(64)), a sigmoid unit; Adam and binary cross-entropy."""
    layers = keras.layers
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(max_features, 128)(inputs)
    x = layers.Bidirectional(layers.LSTM(64, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(64))(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    return model


def transformer_classifier(keras: Any, math: Math, maxlen: int = 200,
                           vocab_size: int = 20000, embed_dim: int = 32, num_heads: int = 2,
                           ff_dim: int = 32) -> Any:
    """keras-io's "Text classification with Transformer" (examples/nlp/
    text_classification_with_transformer.py, tf.keras 2 version): TokenAndPositionEmbedding,
    one TransformerBlock (MultiHeadAttention(num_heads, key_dim=embed_dim), Dropout 0.1,
    residual + LayerNormalization(1e-6), feed-forward ff_dim relu -> embed_dim),
    GlobalAveragePooling1D, Dropout, Dense(20, relu), Dropout, Dense(2, softmax); compiled
    as there: "adam", sparse categorical cross-entropy, accuracy."""
    layers = keras.layers

    class TransformerBlock(layers.Layer):
        def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
            super().__init__()
            self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
            self.ffn = keras.Sequential([layers.Dense(ff_dim, activation="relu"),
                                         layers.Dense(embed_dim)])
            self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
            self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
            self.dropout1 = layers.Dropout(rate)
            self.dropout2 = layers.Dropout(rate)

        def call(self, inputs, training=None):
            attn_output = self.att(inputs, inputs)
            attn_output = self.dropout1(attn_output, training=training)
            out1 = self.layernorm1(inputs + attn_output)
            ffn_output = self.ffn(out1)
            ffn_output = self.dropout2(ffn_output, training=training)
            return self.layernorm2(out1 + ffn_output)

    class TokenAndPositionEmbedding(layers.Layer):
        def __init__(self, maxlen, vocab_size, embed_dim):
            super().__init__()
            self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
            self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

        def call(self, x):
            positions = self.pos_emb(math.positions(x))
            return self.token_emb(x) + positions

    inputs = layers.Input(shape=(maxlen,))
    x = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)(inputs)
    x = TransformerBlock(embed_dim, num_heads, ff_dim)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


#: The synthetic data sets of the convolution and recurrent training cases: (samples, batch).
CIFAR_SHAPED = (2000, 64)
SEQUENCES = (2000, 32)
SEQUENCE_LENGTH = 200


def synthetic_data(np: Any, case: str) -> tuple[Any, Any]:
    """Seeded data every library builds identically: CIFAR-shaped images in [0, 1) with one-hot
    labels, or integer sequences (ids in [1, 20000)) with binary labels (float (n, 1) for the
    BiLSTM's sigmoid, int32 class ids (n,) for the Transformer's softmax)."""
    rng = np.random.default_rng(0)
    if "ResNet" in case:
        n = CIFAR_SHAPED[0]
        x = rng.random((n, 32, 32, 3), dtype=np.float32)
        return x, np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
    n = SEQUENCES[0]
    x = rng.integers(1, 20000, (n, SEQUENCE_LENGTH)).astype(np.int32)
    y = rng.integers(0, 2, (n, 1))
    if "Transformer" in case:  # class ids for the two-way softmax
        return x, y[:, 0].astype(np.int32)
    return x, y.astype(np.float32)


def keras_case(keras: Any, math: Math, case: str, data: dict[str, Any], batch: int,
               predict_batch: int) -> Callable[[], Any]:
    """The callable of a training or inference case for a Keras-API library."""
    if case.startswith("training/fit Transformer"):
        import numpy as np

        xs, ys = synthetic_data(np, case)
        return fit_epoch(transformer_classifier(keras, math), xs, ys, SEQUENCES[1])
    if case.startswith("training/fit toy ResNet") or case.startswith("training/fit BiLSTM"):
        import numpy as np

        resnet = "ResNet" in case
        model = toy_resnet(keras) if resnet else bilstm_classifier(keras)
        xs, ys = synthetic_data(np, case)
        return fit_epoch(model, xs, ys, (CIFAR_SHAPED if resnet else SEQUENCES)[1])
    x, y = data["x"], data["y"]
    if case.startswith("training/fit MLP"):
        return fit_epoch(compiled_mlp(keras), x, y, batch)
    if case.startswith("training/fit VAE"):
        return fit_epoch(compiled_vae(keras, math), x, x, batch)
    xb = x[:predict_batch]
    tb = math.tensor(xb)
    model = mlp(keras)
    model(tb)
    if case.startswith("inference/predict MLP"):
        return lambda: model.predict(xb, verbose=0)
    if case.startswith("inference/call MLP"):
        return lambda: model(tb)
    raise KeyError(case)
