"""Trains the custom-layers guide's subclassed VAE (784-64-32) on MNIST, as the guide does.

    python examples/vae.py                 # full MNIST from the Keras cache
    python examples/vae.py --small         # bundled 20k-image subset
    TF_USE_LEGACY_KERAS=1 python examples/vae.py --framework tf   # the same script on tf.keras

Runs the guide's two trainings one after the other, each on a fresh model: its GradientTape loop
over ``tf.data`` (shuffle(1024).batch(64), Adam 1e-3, printing the running mean loss every 100
steps) and ``fit(x_train, x_train, epochs=2, batch_size=64)``. The guide prints a mean loss of
~0.0750 at the end of the loop's first epoch and 0.0750 / 0.0676 for fit's two epochs. Ends
with one ``RESULT {...}`` JSON line (losses and wall times) for scripts that collect runs.

The full MNIST comes from ``python -m corten.keras.datasets.fetch_mnist`` (Keras's cache path,
~/.keras/datasets/mnist.npz); with ``--framework tf`` the same file is read with numpy, since
tf.keras would try to download it again (the rebuilt file's bytes differ from Google's).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def _import(framework: str):
    if framework == "tf":
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf
        from tensorflow import keras
        from tensorflow.keras import layers
    else:
        import corten as tf
        from corten import keras
        from corten.keras import layers
    return tf, keras, layers


def build_classes(tf, keras, layers):
    """The guide's Sampling, Encoder, Decoder and VariationalAutoEncoder, verbatim."""

    class Sampling(layers.Layer):
        """Uses (z_mean, z_log_var) to sample z, the vector encoding a digit."""

        def call(self, inputs):
            z_mean, z_log_var = inputs
            batch = tf.shape(z_mean)[0]
            dim = tf.shape(z_mean)[1]
            epsilon = tf.keras.backend.random_normal(shape=(batch, dim))
            return z_mean + tf.exp(0.5 * z_log_var) * epsilon

    class Encoder(layers.Layer):
        """Maps MNIST digits to a triplet (z_mean, z_log_var, z)."""

        def __init__(self, latent_dim=32, intermediate_dim=64, name="encoder", **kwargs):
            super(Encoder, self).__init__(name=name, **kwargs)
            self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
            self.dense_mean = layers.Dense(latent_dim)
            self.dense_log_var = layers.Dense(latent_dim)
            self.sampling = Sampling()

        def call(self, inputs):
            x = self.dense_proj(inputs)
            z_mean = self.dense_mean(x)
            z_log_var = self.dense_log_var(x)
            z = self.sampling((z_mean, z_log_var))
            return z_mean, z_log_var, z

    class Decoder(layers.Layer):
        """Converts z, the encoded digit vector, back into a readable digit."""

        def __init__(self, original_dim, intermediate_dim=64, name="decoder", **kwargs):
            super(Decoder, self).__init__(name=name, **kwargs)
            self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
            self.dense_output = layers.Dense(original_dim, activation="sigmoid")

        def call(self, inputs):
            x = self.dense_proj(inputs)
            return self.dense_output(x)

    class VariationalAutoEncoder(keras.Model):
        """Combines the encoder and decoder into an end-to-end model for training."""

        def __init__(self, original_dim, intermediate_dim=64, latent_dim=32,
                     name="autoencoder", **kwargs):
            super(VariationalAutoEncoder, self).__init__(name=name, **kwargs)
            self.original_dim = original_dim
            self.encoder = Encoder(latent_dim=latent_dim, intermediate_dim=intermediate_dim)
            self.decoder = Decoder(original_dim, intermediate_dim=intermediate_dim)

        def call(self, inputs):
            z_mean, z_log_var, z = self.encoder(inputs)
            reconstructed = self.decoder(z)
            # Add KL divergence regularization loss.
            kl_loss = -0.5 * tf.reduce_mean(
                z_log_var - tf.square(z_mean) - tf.exp(z_log_var) + 1
            )
            self.add_loss(kl_loss)
            return reconstructed

    return VariationalAutoEncoder


def load_x_train(framework: str, keras, small: bool) -> np.ndarray:
    if small:
        if framework == "tf":
            here = os.path.dirname(os.path.abspath(__file__))
            path = os.path.join(here, "..", "python", "corten", "keras", "datasets", "data",
                                "mnist_small.npz")
            with np.load(path) as f:
                x_train = f["x_train"]
        else:
            (x_train, _), _ = keras.datasets.mnist_small.load_data()
    elif framework == "tf":
        with np.load(os.path.expanduser("~/.keras/datasets/mnist.npz")) as f:
            x_train = f["x_train"]
    else:
        (x_train, _), _ = keras.datasets.mnist.load_data()
    return x_train.reshape(len(x_train), 784).astype("float32") / 255


def train_loop(tf, vae, x_train, epochs, batch_size):
    """The guide's GradientTape loop; returns the running mean at the end of each epoch."""
    optimizer = tf.keras.optimizers.Adam(learning_rate=1e-3)
    mse_loss_fn = tf.keras.losses.MeanSquaredError()

    loss_metric = tf.keras.metrics.Mean()

    train_dataset = tf.data.Dataset.from_tensor_slices(x_train)
    train_dataset = train_dataset.shuffle(buffer_size=1024).batch(batch_size)

    epoch_means = []
    # Iterate over epochs.
    for epoch in range(epochs):
        print("Start of epoch %d" % (epoch,))

        # Iterate over the batches of the dataset.
        for step, x_batch_train in enumerate(train_dataset):
            with tf.GradientTape() as tape:
                reconstructed = vae(x_batch_train)
                # Compute reconstruction loss
                loss = mse_loss_fn(x_batch_train, reconstructed)
                loss += sum(vae.losses)  # Add KLD regularization loss

            grads = tape.gradient(loss, vae.trainable_weights)
            optimizer.apply_gradients(zip(grads, vae.trainable_weights))

            loss_metric(loss)

            if step % 100 == 0:
                print("step %d: mean loss = %.4f" % (step, loss_metric.result()))
        epoch_means.append(float(loss_metric.result()))
    return epoch_means


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framework", choices=["corten", "tf"], default="corten")
    parser.add_argument("--small", action="store_true", help="the bundled 20k-image subset")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--mode", choices=["both", "loop", "fit"], default="both")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--verbose", default="auto", help="fit()'s verbose")
    args = parser.parse_args(argv)
    verbose = args.verbose if args.verbose == "auto" else int(args.verbose)

    tf, keras, layers = _import(args.framework)
    keras.utils.set_random_seed(args.seed)
    VariationalAutoEncoder = build_classes(tf, keras, layers)
    x_train = load_x_train(args.framework, keras, args.small)
    result = {"framework": args.framework, "version": tf.__version__,
              "train_images": len(x_train), "epochs": args.epochs,
              "batch_size": args.batch_size}

    if args.mode in ("both", "loop"):
        original_dim = 784
        vae = VariationalAutoEncoder(original_dim, 64, 32)
        start = time.perf_counter()
        result["loop_epoch_mean_loss"] = train_loop(tf, vae, x_train, args.epochs,
                                                    args.batch_size)
        result["loop_seconds"] = time.perf_counter() - start
        print(f"GradientTape loop: {result['loop_seconds']:.1f}s")

    if args.mode in ("both", "fit"):
        vae = VariationalAutoEncoder(784, 64, 32)

        optimizer = tf.keras.optimizers.Adam(learning_rate=1e-3)

        vae.compile(optimizer, loss=tf.keras.losses.MeanSquaredError())
        start = time.perf_counter()
        history = vae.fit(x_train, x_train, epochs=args.epochs, batch_size=args.batch_size,
                          verbose=verbose)
        result["fit_seconds"] = time.perf_counter() - start
        result["fit_epoch_loss"] = [float(v) for v in history.history["loss"]]
        print(f"fit: {result['fit_seconds']:.1f}s")

    print("RESULT " + json.dumps(result))
    return result


if __name__ == "__main__":
    main()
