"""tf-style ops and operators on KerasTensors become graph nodes (TFOpLambda); add_loss and
add_metric of symbolic tensors; the cost of the symbolic check on eager ops."""


import numpy as np
import pytest

import corten as tf
from corten import keras
from corten.keras import layers


class Sampling(layers.Layer):
    """Uses (z_mean, z_log_var) to sample z, the vector encoding a digit."""

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = tf.shape(z_mean)[0]
        dim = tf.shape(z_mean)[1]
        epsilon = tf.keras.backend.random_normal(shape=(batch, dim))
        return z_mean + tf.exp(0.5 * z_log_var) * epsilon


def test_vae_functional_variant_with_add_loss():
    original_dim, intermediate_dim, latent_dim = 784, 64, 32
    original_inputs = tf.keras.Input(shape=(original_dim,), name="encoder_input")
    x = layers.Dense(intermediate_dim, activation="relu")(original_inputs)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    z = Sampling()((z_mean, z_log_var))
    encoder = tf.keras.Model(inputs=original_inputs, outputs=z, name="encoder")
    latent_inputs = tf.keras.Input(shape=(latent_dim,), name="z_sampling")
    x = layers.Dense(intermediate_dim, activation="relu")(latent_inputs)
    outputs = layers.Dense(original_dim, activation="sigmoid")(x)
    decoder = tf.keras.Model(inputs=latent_inputs, outputs=outputs, name="decoder")
    outputs = decoder(z)
    vae = tf.keras.Model(inputs=original_inputs, outputs=outputs, name="vae")
    kl_loss = -0.5 * tf.reduce_mean(z_log_var - tf.square(z_mean) - tf.exp(z_log_var) + 1)
    vae.add_loss(kl_loss)

    assert encoder.output_shape == (None, latent_dim)
    names = [l.name for l in vae.layers]
    for name in ("tf.math.square", "tf.math.exp", "tf.math.subtract", "tf.math.reduce_mean",
                 "tf.math.multiply", "tf.__operators__.add", "add_loss", "decoder"):
        assert name in names
    (x_train, _), _ = keras.datasets.mnist_small.load_data()
    x_train = x_train.reshape(-1, 784).astype("float32")[:512] / 255
    # the KL term is evaluated on every forward pass
    vae(x_train[:8])
    (kl,) = vae.losses
    zm = np.asarray(vae.get_layer("z_mean")(vae.get_layer("dense")(x_train[:8])))
    zv = np.asarray(vae.get_layer("z_log_var")(vae.get_layer("dense")(x_train[:8])))
    expected = -0.5 * np.mean(zv - zm**2 - np.exp(zv) + 1)
    np.testing.assert_allclose(float(kl), expected, rtol=1e-4)
    optimizer = tf.keras.optimizers.Adam(learning_rate=1e-3)
    vae.compile(optimizer, loss=tf.keras.losses.MeanSquaredError())
    history = vae.fit(x_train, x_train, epochs=3, batch_size=64, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_add_loss_only_in_compile_less_model():
    inputs = keras.Input(shape=(3,))
    outputs = layers.Dense(2)(inputs)
    model = keras.Model(inputs, outputs)
    model.add_loss(tf.reduce_mean(tf.square(outputs)))
    model.compile(optimizer="adam")
    history = model.fit(np.random.default_rng(0).random((16, 3)).astype("float32"),
                        epochs=2, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]


def test_symbolic_add_metric():
    inputs = keras.Input(shape=(3,))
    outputs = layers.Dense(2)(inputs)
    model = keras.Model(inputs, outputs)
    model.add_metric(tf.reduce_sum(outputs), name="out_sum")
    model.compile(optimizer="sgd", loss="mse")
    data = np.ones((4, 3), "float32")
    history = model.fit(data, np.zeros((4, 2), "float32"), batch_size=4, epochs=1, verbose=0)
    assert "out_sum" in history.history
    model.evaluate(data, np.zeros((4, 2), "float32"), verbose=0)


def test_operators_and_ops_build_nodes():
    x = keras.Input(shape=(4,), name="x")
    y = keras.Input(shape=(4,), name="y")
    outs = [x + y, x - 1.0, 2.0 * x, x / y, -x, abs(x), x ** 2.0, 1.0 - x, x[:, 1:3],
            tf.reduce_sum(x, axis=1), tf.matmul(x, tf.ones((4, 2))), x @ tf.ones((4, 5)),
            tf.nn.relu(x), tf.reshape(x, (-1, 2, 2)), tf.concat([x, y], axis=1),
            tf.stack([x, y], axis=1), tf.maximum(x, y), tf.cast(x > y, "float32")]
    model = keras.Model([x, y], outs)
    xv = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
    yv = np.random.default_rng(1).standard_normal((3, 4)).astype("float32") + 3
    got = [np.asarray(t) for t in model([xv, yv])]
    expected = [xv + yv, xv - 1, 2 * xv, xv / yv, -xv, np.abs(xv), xv ** 2, 1 - xv, xv[:, 1:3],
                xv.sum(1), xv @ np.ones((4, 2)), xv @ np.ones((4, 5)), np.maximum(xv, 0),
                xv.reshape(-1, 2, 2), np.concatenate([xv, yv], 1), np.stack([xv, yv], 1),
                np.maximum(xv, yv), (xv > yv).astype("float32")]
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    assert [tuple(t.shape) for t in outs[:3]] == [(None, 4)] * 3
    assert tuple(outs[8].shape) == (None, 2)
    assert tuple(outs[13].shape) == (None, 2, 2)


def test_keras_tensor_has_no_value():
    x = keras.Input(shape=(2,))
    with pytest.raises(TypeError, match="symbolic"):
        bool(x)
    with pytest.raises(TypeError):
        np.asarray(x)
    assert x in [x] and hash(x) == hash(x)


def test_graph_construction_shape_errors():
    inputs = keras.Input(shape=(784,))
    x = layers.Dense(64)(inputs)
    dense = layers.Dense(3)
    dense(keras.Input(shape=(10,)))
    with pytest.raises(ValueError, match=r"layer 'dense_1'.*expected axis -1 of input shape to "
                                         r"have value 10.*\(None, 64\)"):
        dense(x)
    other = keras.Input(shape=(5,))
    with pytest.raises(ValueError, match=r"tf.__operators__.add"):
        x + other  # noqa: B018
    with pytest.raises(ValueError, match=r"matmul.*\(None, 64\)"):
        tf.matmul(x, tf.ones((3, 2)))


def test_graph_disconnected_and_bad_inputs():
    a = keras.Input(shape=(3,), name="a")
    b = keras.Input(shape=(3,), name="b")
    out = layers.Dense(2)(a + b)
    with pytest.raises(ValueError, match="Graph disconnected: cannot obtain value for tensor"):
        keras.Model(a, out)
    with pytest.raises(ValueError, match="must come from `tf.keras.Input`"):
        keras.Model(np.zeros((2, 3)), out)
    with pytest.raises(ValueError, match="Only provide the `shape` OR `batch_shape`"):
        keras.Input(shape=(3,), batch_shape=(2, 3))
    with pytest.raises(ValueError, match="provide to Input a `shape`"):
        keras.Input()
    d = layers.Dense(2, name="same")
    d2 = layers.Dense(2, name="same")
    with pytest.raises(ValueError, match='The name "same" is used 2 times'):
        keras.Model(a, d2(d(a)))


def test_masks_flow_along_the_graph():
    class Masker(layers.Layer):
        def call(self, inputs):
            return inputs

        def compute_mask(self, inputs, mask=None):
            return tf.not_equal(inputs, 0.0)

    class MaskedSum(layers.Layer):
        def call(self, inputs, mask=None):
            return tf.reduce_sum(inputs * tf.cast(mask, inputs.dtype), axis=1)

    inputs = keras.Input(shape=(4,))
    masked = Masker()(inputs)
    assert masked._keras_mask is not None
    outputs = MaskedSum()(masked)
    model = keras.Model(inputs, outputs)
    x = np.array([[1.0, 0.0, 2.0, 0.0]], "float32")
    np.testing.assert_allclose(np.asarray(model(x)), [3.0])


def test_training_flag_reaches_layers():
    seen = []

    class Probe(layers.Layer):
        def call(self, inputs, training=None):
            seen.append(training)
            return inputs

    inputs = keras.Input(shape=(2,))
    model = keras.Model(inputs, Probe()(inputs))
    seen.clear()
    model(np.ones((1, 2), "float32"), training=True)
    model(np.ones((1, 2), "float32"))
    assert seen == [True, None] or seen == [True, False]
    # an explicit training argument at construction is kept
    inputs = keras.Input(shape=(2,))
    model = keras.Model(inputs, Probe()(inputs, training=True))
    seen.clear()
    model(np.ones((1, 2), "float32"), training=False)
    assert seen == [True]


def test_layer_with_add_loss_and_metric_in_functional_model():
    # the subclassing guide's LogisticEndpoint, called on two symbolic inputs
    class LogisticEndpoint(keras.layers.Layer):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
            self.accuracy_fn = keras.metrics.BinaryAccuracy()

        def call(self, targets, logits, sample_weights=None):
            loss = self.loss_fn(targets, logits, sample_weights)
            self.add_loss(loss)
            acc = self.accuracy_fn(targets, logits, sample_weights)
            self.add_metric(acc, name="accuracy")
            return tf.nn.softmax(logits)

    inputs = keras.Input(shape=(3,), name="inputs")
    targets = keras.Input(shape=(10,), name="targets")
    logits = keras.layers.Dense(10)(inputs)
    predictions = LogisticEndpoint(name="predictions")(logits, targets)
    model = keras.Model(inputs=[inputs, targets], outputs=predictions)
    model.compile(optimizer="adam")
    rng = np.random.default_rng(0)
    data = {"inputs": rng.random((3, 3)), "targets": rng.random((3, 10))}
    history = model.fit(data, verbose=0)
    assert history.history["loss"][0] > 0
    # one real batch of 3 samples; the symbolic trace at construction updated nothing
    assert model.get_layer("predictions").accuracy_fn.count.numpy() == 3
