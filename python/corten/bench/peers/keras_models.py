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
    #: Called in the sampling layer's __init__ (Keras 3 creates its SeedGenerator there).
    init_sampling: Callable[[Any], None] = lambda layer: None


def tf_math(tf: Any, keras: Any) -> Math:
    """tf.keras 2 and corten: the guide's own calls."""
    return Math(mean=tf.reduce_mean, square=tf.square, exp=tf.exp,
                normal=lambda layer, z: keras.backend.random_normal(
                    shape=(tf.shape(z)[0], tf.shape(z)[1])),
                tensor=tf.constant)


def keras3_math(keras: Any) -> Math:
    def init(layer):
        layer.seed_generator = keras.random.SeedGenerator(0)

    return Math(mean=keras.ops.mean, square=keras.ops.square, exp=keras.ops.exp,
                normal=lambda layer, z: keras.random.normal(keras.ops.shape(z),
                                                            seed=layer.seed_generator),
                tensor=keras.ops.convert_to_tensor, init_sampling=init)


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


def keras_case(keras: Any, math: Math, case: str, data: dict[str, Any], batch: int,
               predict_batch: int) -> Callable[[], Any]:
    """The callable of a training or inference case for a Keras-API library."""
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
