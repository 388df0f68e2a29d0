"""The custom layers and models guide ("Making new Layers and Models via subclassing"), as in
/work/shared/seeds/custom_layers_and_models_zh.md and custom_layers_and_models_en_zh_notes.md.

Each test is one of the guide's code examples with only the imports changed
(``import corten as tf``, ``from corten import keras``, ``from corten.keras import layers``),
asserting what the text says it prints or does. MNIST is the bundled real-MNIST subset
(``keras.datasets.mnist_small``, 20,000 training images) instead of the full 60,000, so the
training examples run a few hundred steps.
"""

from __future__ import annotations

import numpy as np
import pytest

import corten as tf
from corten import keras
from corten.keras import layers



# --- Section 2: the Layer class -------------------------------------------------------------

class LinearVariables(keras.layers.Layer):
    # The guide's first `Linear`: weights made with tf.Variable in __init__.
    def __init__(self, units=32, input_dim=32):
        super(LinearVariables, self).__init__()
        w_init = tf.random_normal_initializer()
        self.w = tf.Variable(
            initial_value=w_init(shape=(input_dim, units), dtype="float32"),
            trainable=True,
        )
        b_init = tf.zeros_initializer()
        self.b = tf.Variable(
            initial_value=b_init(shape=(units,), dtype="float32"),
            trainable=True
        )

    def call(self, inputs):
        return tf.matmul(inputs, self.w) + self.b


class LinearAddWeight(keras.layers.Layer):
    # The guide's second `Linear`: the add_weight() shortcut.
    def __init__(self, units=32, input_dim=32):
        super(LinearAddWeight, self).__init__()
        self.w = self.add_weight(
            shape=(input_dim, units), initializer="random_normal", trainable=True
        )
        self.b = self.add_weight(shape=(units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return tf.matmul(inputs, self.w) + self.b


class Linear(keras.layers.Layer):
    # Section 4's `Linear`: weights created lazily in build().
    def __init__(self, units=32):
        super(Linear, self).__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units),
            initializer="random_normal",
            trainable=True,
        )
        self.b = self.add_weight(
            shape=(self.units,), initializer="random_normal", trainable=True
        )

    def call(self, inputs):
        return tf.matmul(inputs, self.w) + self.b


def _check_printed_linear_output(y, w):
    # The guide prints a (2, 4) float32 tensor whose two rows are equal (the input is all ones)
    # and whose entries are small (random_normal's stddev is 0.05): y = ones @ w + 0.
    assert isinstance(y, tf.Tensor)
    assert y.shape == (2, 4)
    assert y.dtype == tf.float32
    v = y.numpy()
    np.testing.assert_array_equal(v[0], v[1])
    np.testing.assert_allclose(v[0], w.numpy().sum(axis=0), rtol=1e-6, atol=1e-7)
    assert np.all(np.abs(v) < 0.5)
    assert "shape=(2, 4), dtype=float32" in repr(y)


def test_linear_with_variables():
    x = tf.ones((2, 2))
    linear_layer = LinearVariables(4, 2)
    y = linear_layer(x)
    print(y)
    _check_printed_linear_output(y, linear_layer.w)
    # "the layer tracks w and b automatically once they are set as attributes"
    assert linear_layer.weights == [linear_layer.w, linear_layer.b]
    assert len(linear_layer.trainable_weights) == 2
    np.testing.assert_array_equal(linear_layer.b.numpy(), np.zeros(4, np.float32))
    # random_normal_initializer(): mean 0, stddev 0.05.
    assert linear_layer.w.shape == (2, 4)
    assert np.all(np.abs(linear_layer.w.numpy()) < 0.3)


def test_linear_add_weight_shortcut():
    x = tf.ones((2, 2))
    linear_layer = LinearAddWeight(4, 2)
    y = linear_layer(x)
    print(y)
    _check_printed_linear_output(y, linear_layer.w)
    assert linear_layer.weights == [linear_layer.w, linear_layer.b]
    assert [w.shape for w in linear_layer.trainable_weights] == [(2, 4), (4,)]
    assert linear_layer.count_params() == 12


# --- Section 3: non-trainable weights -------------------------------------------------------

class ComputeSum(keras.layers.Layer):
    def __init__(self, input_dim):
        super(ComputeSum, self).__init__()
        self.total = tf.Variable(initial_value=tf.zeros((input_dim,)), trainable=False)

    def call(self, inputs):
        self.total.assign_add(tf.reduce_sum(inputs, axis=0))
        return self.total


def test_non_trainable_weights(capsys):
    x = tf.ones((2, 2))
    my_sum = ComputeSum(2)
    y = my_sum(x)
    print(y.numpy())
    y = my_sum(x)
    print(y.numpy())
    print("weights:", len(my_sum.weights))
    print("non-trainable weights:", len(my_sum.non_trainable_weights))
    print("trainable_weights:", my_sum.trainable_weights)
    assert capsys.readouterr().out.splitlines() == [
        "[2. 2.]", "[4. 4.]", "weights: 1", "non-trainable weights: 1", "trainable_weights: []"]
    assert my_sum.non_trainable_weights == [my_sum.total]


def test_non_trainable_weight_is_not_trained():
    # "backpropagation does not update non-trainable weights": fit() leaves `total` to call().
    class SumThenDense(keras.Model):
        def __init__(self):
            super().__init__()
            self.sum = ComputeSum(3)
            self.dense = layers.Dense(1)

        def call(self, inputs):
            s = self.sum(inputs)
            return self.dense(inputs) + 0.0 * tf.reduce_sum(s)

    model = SumThenDense()
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((4, 3), np.float32)
    model.fit(x, np.zeros((4, 1), np.float32), batch_size=4, epochs=2, verbose=0)
    # Two training steps, each adding the column sums of the batch (4 ones per column).
    np.testing.assert_array_equal(model.sum.total.numpy(), [8.0, 8.0, 8.0])
    assert len(model.trainable_weights) == 2
    assert model.non_trainable_weights == [model.sum.total]


# --- Section 4: deferring weight creation until the input shape is known --------------------

def test_build_defers_weight_creation():
    x = tf.ones((2, 2))
    # At instantiation, we don't know on what inputs this is going to get called.
    linear_layer = Linear(32)
    assert linear_layer.weights == []
    assert not linear_layer.built
    # The layer's weights are created dynamically the first time the layer is called.
    y = linear_layer(x)
    assert linear_layer.built
    assert [w.shape for w in linear_layer.weights] == [(2, 32), (32,)]
    assert y.shape == (2, 32)
    # Later calls reuse the same weights.
    w_before = linear_layer.weights
    linear_layer(tf.ones((5, 2)))
    assert linear_layer.weights == w_before


# --- Section 5: layers are recursively composable -------------------------------------------

class MLPBlock(keras.layers.Layer):
    def __init__(self):
        super(MLPBlock, self).__init__()
        self.linear_1 = Linear(32)
        self.linear_2 = Linear(32)
        self.linear_3 = Linear(1)

    def call(self, inputs):
        x = self.linear_1(inputs)
        x = tf.nn.relu(x)
        x = self.linear_2(x)
        x = tf.nn.relu(x)
        return self.linear_3(x)


def test_mlp_block_tracks_sublayer_weights(capsys):
    mlp = MLPBlock()
    y = mlp(tf.ones(shape=(3, 64)))  # The first call to the `mlp` will create the weights
    print("weights:", len(mlp.weights))
    print("trainable weights:", len(mlp.trainable_weights))
    assert capsys.readouterr().out.splitlines() == ["weights: 6", "trainable weights: 6"]
    assert y.shape == (3, 1)
    assert [w.shape for w in mlp.weights] == [(64, 32), (32,), (32, 32), (32,), (32, 1), (1,)]
    assert mlp.count_params() == 64 * 32 + 32 + 32 * 32 + 32 + 32 + 1


# --- Section 6: add_loss --------------------------------------------------------------------

class ActivityRegularizationLayer(keras.layers.Layer):
    def __init__(self, rate=1e-2):
        super(ActivityRegularizationLayer, self).__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * tf.reduce_sum(inputs))
        return inputs


class OuterLayer(keras.layers.Layer):
    def __init__(self):
        super(OuterLayer, self).__init__()
        self.activity_reg = ActivityRegularizationLayer(1e-2)

    def call(self, inputs):
        return self.activity_reg(inputs)


def test_add_loss_reset_each_call():
    layer = OuterLayer()
    assert len(layer.losses) == 0  # No losses yet since the layer has never been called

    # `tf.zeros(1, 1)` is the guide's: shape 1, dtype enum 1 (float32).
    _ = layer(tf.zeros(1, 1))
    assert _.shape == (1,) and _.dtype == tf.float32
    assert len(layer.losses) == 1  # We created one loss value

    # `layer.losses` gets reset at the start of each __call__
    _ = layer(tf.zeros(1, 1))
    assert len(layer.losses) == 1  # This is the loss created during the call above
    assert float(layer.losses[0]) == 0.0

    # The value is the one from the last forward pass: rate * sum(inputs).
    layer(tf.ones((2, 3)))
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(layer.losses[0]), 1e-2 * 6, rtol=1e-6)
    assert layer.activity_reg.losses == layer.losses


class OuterLayerWithKernelRegularizer(keras.layers.Layer):
    def __init__(self):
        super(OuterLayerWithKernelRegularizer, self).__init__()
        self.dense = keras.layers.Dense(
            32, kernel_regularizer=tf.keras.regularizers.l2(1e-3)
        )

    def call(self, inputs):
        return self.dense(inputs)


def test_kernel_regularizer_loss():
    layer = OuterLayerWithKernelRegularizer()
    _ = layer(tf.zeros((1, 1)))

    # This is `1e-3 * sum(layer.dense.kernel ** 2)`,
    # created by the `kernel_regularizer` above.
    print(layer.losses)
    assert len(layer.losses) == 1
    (loss,) = layer.losses
    assert loss.shape == () and loss.dtype == tf.float32
    expected = 1e-3 * np.sum(layer.dense.kernel.numpy().astype(np.float64) ** 2)
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)
    # The guide prints 0.0016654292 (and 0.0018029165): a (1, 32) Glorot-uniform kernel has
    # E[sum w^2] = 32 * (6 / 33) / 3 ~= 1.94, so the loss is ~0.002.
    assert 5e-4 < float(loss) < 4e-3
    assert repr(layer.losses).startswith("[<corten.Tensor: shape=(), dtype=float32, numpy=0.00")


def test_training_loop_adds_layer_losses(mnist_small_flat):
    # The guide's loop uses `layer`, `model` and `train_dataset` without defining them: here
    # `layer` and `model` are one classifier whose forward pass adds an activity loss and
    # whose last Dense has a kernel regularizer, so `model.losses` holds both kinds.
    class Classifier(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(64, activation="relu")
            self.activity_reg = ActivityRegularizationLayer(1e-4)
            self.out = layers.Dense(10, kernel_regularizer=tf.keras.regularizers.l2(1e-3))

        def call(self, inputs):
            return self.out(self.activity_reg(self.hidden(inputs)))

    (x_train, y_train), _ = mnist_small_flat
    layer = model = Classifier()
    train_dataset = tf.data.Dataset.from_tensor_slices((x_train[:9600], y_train[:9600]))
    train_dataset = train_dataset.shuffle(buffer_size=1024).batch(64)

    # Instantiate an optimizer. (The guide's SGD at 1e-3 barely moves in 150 steps; the loop
    # is the guide's, the learning rate is raised so the decrease is unambiguous.)
    optimizer = tf.keras.optimizers.SGD(learning_rate=1e-1)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    history, extra = [], []
    # Iterate over the batches of a dataset.
    for x_batch_train, y_batch_train in train_dataset:
        with tf.GradientTape() as tape:
            logits = layer(x_batch_train)  # Logits for this minibatch
            # Loss value for this minibatch
            loss_value = loss_fn(y_batch_train, logits)
            # Add extra losses created during this forward pass:
            loss_value += sum(model.losses)

        grads = tape.gradient(loss_value, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        history.append(float(loss_value))
        extra.append([float(v) for v in model.losses])

    assert len(history) == 150
    # One activity loss and one weight-regularization loss per step, both positive.
    assert all(len(e) == 2 and e[0] > 0 and e[1] > 0 for e in extra)
    first, last = np.mean(history[:10]), np.mean(history[-10:])
    assert first > 1.8  # ~ln(10) plus the small extra losses at the start
    assert last < 0.6 * first
    assert all(g is not None for g in grads)


def test_add_loss_with_fit_functional():
    inputs = keras.Input(shape=(3,))
    outputs = ActivityRegularizationLayer()(inputs)
    model = keras.Model(inputs, outputs)

    # If there is a loss passed in `compile`, the regularization
    # losses get added to it
    model.compile(optimizer="adam", loss="mse")
    x, y = np.random.random((2, 3)), np.random.random((2, 3))
    h = model.fit(x, y, verbose=0)
    expected = np.mean((x - y) ** 2) + 1e-2 * x.sum()
    np.testing.assert_allclose(h.history["loss"][0], expected, rtol=1e-4)

    # It's also possible not to pass any loss in `compile`,
    # since the model already has a loss to minimize, via the `add_loss`
    # call during the forward pass!
    model.compile(optimizer="adam")
    x, y = np.random.random((2, 3)), np.random.random((2, 3))
    h = model.fit(x, y, verbose=0)
    np.testing.assert_allclose(h.history["loss"][0], 1e-2 * x.sum(), rtol=1e-4)
    assert len(model.losses) == 1


# --- Section 7: add_metric ------------------------------------------------------------------

class LogisticEndpoint(keras.layers.Layer):
    def __init__(self, name=None):
        super(LogisticEndpoint, self).__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
        self.accuracy_fn = keras.metrics.BinaryAccuracy()

    def call(self, targets, logits, sample_weights=None):
        # Compute the training-time loss value and add it
        # to the layer using `self.add_loss()`.
        loss = self.loss_fn(targets, logits, sample_weights)
        self.add_loss(loss)

        # Log accuracy as a metric and add it
        # to the layer using `self.add_metric()`.
        acc = self.accuracy_fn(targets, logits, sample_weights)
        self.add_metric(acc, name="accuracy")

        # Return the inference-time prediction tensor (for `.predict()`).
        return tf.nn.softmax(logits)


def test_logistic_endpoint_metrics(capsys):
    layer = LogisticEndpoint()

    targets = tf.ones((2, 2))
    logits = tf.ones((2, 2))
    y = layer(targets, logits)

    print("layer.metrics:", layer.metrics)
    print("current accuracy value:", float(layer.metrics[0].result()))
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("layer.metrics: [<") and "BinaryAccuracy" in out[0]
    assert out[1] == "current accuracy value: 1.0"
    # One metric: the BinaryAccuracy object itself (add_metric of its result adds no Mean).
    assert len(layer.metrics) == 1
    assert layer.metrics[0] is layer.accuracy_fn
    assert layer.metrics[0].name == "binary_accuracy"
    # The loss: BCE(from_logits) of targets 1 and logits 1 = log(1 + e^-1).
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(layer.losses[0]), np.log1p(np.exp(-1.0)), rtol=1e-5)
    np.testing.assert_allclose(y.numpy(), np.full((2, 2), 0.5, np.float32))
    # Metrics accumulate across calls (a moving average), losses do not.
    layer(tf.zeros((2, 2)), tf.ones((2, 2)))
    assert float(layer.metrics[0].result()) == 0.5
    assert len(layer.losses) == 1


def test_logistic_endpoint_with_fit_functional():
    inputs = keras.Input(shape=(3,), name="inputs")
    targets = keras.Input(shape=(10,), name="targets")
    logits = keras.layers.Dense(10)(inputs)
    # As in the guide, (logits, targets) are passed to call(targets, logits): the Dense
    # outputs are the "targets", so binary accuracy is 0 (the guide prints 0.0000e+00).
    predictions = LogisticEndpoint(name="predictions")(logits, targets)

    model = keras.Model(inputs=[inputs, targets], outputs=predictions)
    model.compile(optimizer="adam")

    data = {
        "inputs": np.random.random((3, 3)),
        "targets": np.random.random((3, 10)),
    }
    h = model.fit(data, verbose=0)
    assert set(h.history) == {"loss", "binary_accuracy"}
    assert h.history["binary_accuracy"] == [0.0]
    assert 0.0 < h.history["loss"][0] < 5.0


# --- Section 8: serialization -------------------------------------------------------------

def test_get_config_units_only(capsys):
    class Linear(keras.layers.Layer):
        def __init__(self, units=32):
            super(Linear, self).__init__()
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(
                shape=(input_shape[-1], self.units),
                initializer="random_normal",
                trainable=True,
            )
            self.b = self.add_weight(
                shape=(self.units,), initializer="random_normal", trainable=True
            )

        def call(self, inputs):
            return tf.matmul(inputs, self.w) + self.b

        def get_config(self):
            return {"units": self.units}

    # Now you can recreate the layer from its config:
    layer = Linear(64)
    config = layer.get_config()
    print(config)
    new_layer = Linear.from_config(config)
    assert capsys.readouterr().out.strip() == "{'units': 64}"
    assert isinstance(new_layer, Linear) and new_layer.units == 64
    assert new_layer(tf.ones((2, 3))).shape == (2, 64)


class LinearConfig(keras.layers.Layer):
    # The guide's `Linear` that forwards **kwargs (name, dtype, ...) to the base class.
    def __init__(self, units=32, **kwargs):
        super(LinearConfig, self).__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units),
            initializer="random_normal",
            trainable=True,
        )
        self.b = self.add_weight(
            shape=(self.units,), initializer="random_normal", trainable=True
        )

    def call(self, inputs):
        return tf.matmul(inputs, self.w) + self.b

    def get_config(self):
        # The intended version: start from the base config, then add `units`. (Some copies
        # of this guide drop the first line and call `config.update(...)` on an undefined
        # `config`; the seed texts here, zh and en, both show this line.)
        config = super(LinearConfig, self).get_config()
        config.update({"units": self.units})
        return config


def test_get_config_includes_base_config():
    layer = LinearConfig(64)
    config = layer.get_config()
    print(config)
    new_layer = LinearConfig.from_config(config)
    # The guide prints {'name': 'linear_7', 'trainable': True, 'dtype': 'float32', 'units': 64}.
    assert list(config) == ["name", "trainable", "dtype", "units"]
    assert config["name"].startswith("linear_config")
    assert config["trainable"] is True
    assert config["dtype"] == "float32"
    assert config["units"] == 64
    assert new_layer.get_config() == config
    assert new_layer.name == layer.name

    # kwargs reach the base class and come back in the config.
    named = LinearConfig(8, name="proj", trainable=False, dtype="float64")
    assert named.get_config() == {"name": "proj", "trainable": False, "dtype": "float64",
                                  "units": 8}
    assert named(tf.ones((1, 2))).dtype == tf.float64
    assert len(named.non_trainable_weights) == 2


def test_from_config_override():
    # "This is the base implementation of from_config()": cls(**config).
    class Scaled(LinearConfig):
        @classmethod
        def from_config(cls, config):
            return cls(**config)

    layer = Scaled(5, name="scaled")
    clone = Scaled.from_config(layer.get_config())
    assert type(clone) is Scaled and clone.units == 5 and clone.name == "scaled"


# --- Section 9 and 10: the privileged training and mask arguments ----------------------------

class CustomDropout(keras.layers.Layer):
    def __init__(self, rate, **kwargs):
        super(CustomDropout, self).__init__(**kwargs)
        self.rate = rate

    def call(self, inputs, training=None):
        if training:
            return tf.nn.dropout(inputs, rate=self.rate)
        return inputs


def test_training_argument_explicit():
    layer = CustomDropout(0.5)
    x = tf.ones((64, 64))
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x.numpy())
    y = layer(x, training=True).numpy()
    # Inverted dropout: kept units are scaled by 1 / (1 - rate), dropped ones are zero.
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert 0.4 < np.mean(y == 0.0) < 0.6


def test_training_argument_set_by_fit_and_predict():
    # "exposing `training` lets fit() use the layer correctly in training and inference".
    seen = []

    class Recording(CustomDropout):
        def call(self, inputs, training=None):
            seen.append(training)
            return super().call(inputs, training=training)

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(4)
            self.dropout = Recording(0.5)

        def call(self, inputs):
            return self.dropout(self.dense(inputs))

    model = Net()
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 3), np.float32), np.zeros((8, 4), np.float32)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    # Once per trace of the compiled step; the dropout makes that trace fall back to eager
    # execution, which calls the layer again.
    assert seen
    assert all(t is True for t in seen)
    seen.clear()
    model.evaluate(x, y, batch_size=8, verbose=0)
    model.predict(x, batch_size=8, verbose=0)
    assert seen == [False, False]
    seen.clear()
    model(x)  # outside fit/predict: the call signature's default
    assert seen == [None]
    model(x, training=True)  # the outer call's `training` reaches the sublayer
    assert seen == [None, True]


def test_mask_argument_passed_automatically():
    # A mask-producing layer (compute_mask, like Embedding(mask_zero=True) or Masking) followed
    # by a layer whose call() takes `mask`: Keras passes the previous layer's mask by itself.
    class ZeroMasking(keras.layers.Layer):
        def call(self, inputs):
            return inputs

        def compute_mask(self, inputs, mask=None):
            return tf.reduce_any(tf.not_equal(inputs, 0.0), axis=-1)

    class MaskedMean(keras.layers.Layer):
        def call(self, inputs, mask=None):
            self.received = mask
            if mask is None:
                return tf.reduce_mean(inputs, axis=1)
            m = tf.expand_dims(tf.cast(mask, inputs.dtype), -1)
            return tf.reduce_sum(inputs * m, axis=1) / tf.reduce_sum(m, axis=1)

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.masking = ZeroMasking()
            self.pool = MaskedMean()

        def call(self, inputs):
            return self.pool(self.masking(inputs))

    # Two sequences of 3 timesteps, 2 features; zero timesteps are padding.
    x = np.array([[[1, 2], [3, 4], [0, 0]], [[5, 6], [0, 0], [0, 0]]], np.float32)
    net = Net()
    y = net(tf.constant(x))
    np.testing.assert_array_equal(net.pool.received.numpy(),
                                  [[True, True, False], [True, False, False]])
    np.testing.assert_allclose(y.numpy(), [[2, 3], [5, 6]])
    # An explicit mask wins over the propagated one.
    pool = MaskedMean()
    pool(tf.constant(x), mask=tf.constant([[True, False, False], [True, True, True]]))
    np.testing.assert_array_equal(pool.received.numpy(),
                                  [[True, False, False], [True, True, True]])


# --- Section 11: the Model class ------------------------------------------------------------

class ResNetBlock(layers.Layer):
    # The guide refers to a "mini-resnet example above" it never shows: a small residual
    # block of two 3x3 convolutions and a 1x1 projection.
    def __init__(self, filters=8):
        super().__init__()
        self.conv_1 = layers.Conv2D(filters, 3, padding="same", activation="relu")
        self.conv_2 = layers.Conv2D(filters, 3, padding="same")
        self.proj = layers.Conv2D(filters, 1)

    def call(self, inputs):
        x = self.conv_2(self.conv_1(inputs))
        return tf.nn.relu(x + self.proj(inputs))


def test_resnet_model_fit_and_save(tmp_path, mnist_small_flat):
    Dense = layers.Dense

    class ResNet(tf.keras.Model):

        def __init__(self, num_classes=1000):
            super(ResNet, self).__init__()
            self.block_1 = ResNetBlock()
            self.block_2 = ResNetBlock()
            self.global_pool = layers.GlobalAveragePooling2D()
            self.classifier = Dense(num_classes)

        def call(self, inputs):
            x = self.block_1(inputs)
            x = self.block_2(x)
            x = self.global_pool(x)
            return self.classifier(x)

    (x_train, y_train), _ = mnist_small_flat
    images = x_train[:256].reshape(256, 28, 28, 1)
    resnet = ResNet(num_classes=10)
    dataset = tf.data.Dataset.from_tensor_slices((images, y_train[:256])).batch(32)
    resnet.compile(optimizer="adam",
                   loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = resnet.fit(dataset, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3
    assert history.history["loss"][-1] < history.history["loss"][0]
    # Model exposes its inner layers, and the saving APIs.
    assert resnet.layers == [resnet.block_1, resnet.block_2, resnet.global_pool,
                             resnet.classifier]
    path = str(tmp_path / "resnet.weights.safetensors")
    resnet.save_weights(path)
    before = [w.numpy() for w in resnet.weights]
    for w in resnet.weights:
        w.assign(tf.zeros_like(w))
    resnet.load_weights(path)
    for a, b in zip(before, resnet.weights):
        np.testing.assert_array_equal(a, b.numpy())
    resnet.save(str(tmp_path / "resnet.keras"))
    assert (tmp_path / "resnet.keras").stat().st_size > 0


# --- Section 12: putting it all together, the VAE --------------------------------------------

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

    def __init__(
            self,
            original_dim,
            intermediate_dim=64,
            latent_dim=32,
            name="autoencoder",
            **kwargs
    ):
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


# Weights of the 784-64-32 VAE: encoder 784*64+64, 2 x (64*32+32); decoder 32*64+64, 64*784+784.
VAE_PARAMS = (784 * 64 + 64) + 2 * (64 * 32 + 32) + (32 * 64 + 64) + (64 * 784 + 784)


def test_sampling_layer():
    z_mean = tf.constant(np.full((500, 4), 2.0, np.float32))
    z_log_var = tf.constant(np.full((500, 4), np.log(0.25), np.float32))
    z = Sampling()((z_mean, z_log_var)).numpy()
    assert z.shape == (500, 4)
    # z = mean + exp(log_var / 2) * eps: mean 2, standard deviation 0.5.
    assert abs(z.mean() - 2.0) < 0.05
    assert abs(z.std() - 0.5) < 0.05


def test_vae_structure():
    vae = VariationalAutoEncoder(784, 64, 32)
    x = tf.constant(np.random.default_rng(0).random((3, 784)).astype(np.float32))
    reconstructed = vae(x)
    assert reconstructed.shape == (3, 784)
    r = reconstructed.numpy()
    assert np.all((r >= 0) & (r <= 1))  # sigmoid outputs
    assert vae.layers == [vae.encoder, vae.decoder]
    assert vae.name == "autoencoder"
    assert vae.encoder.name == "encoder" and vae.decoder.name == "decoder"
    assert len(vae.trainable_weights) == 10 and vae.non_trainable_weights == []
    assert vae.count_params() == VAE_PARAMS == 107_472
    # The KL loss of the last forward pass, a non-negative scalar.
    assert len(vae.losses) == 1
    assert vae.losses[0].shape == () and float(vae.losses[0]) >= 0.0
    z_mean, z_log_var, z = vae.encoder(x)
    assert z_mean.shape == z_log_var.shape == z.shape == (3, 32)


def test_vae_custom_training_loop(mnist_small_flat):
    (x_train, _), _ = mnist_small_flat
    original_dim = 784
    vae = VariationalAutoEncoder(original_dim, 64, 32)

    optimizer = tf.keras.optimizers.Adam(learning_rate=1e-3)
    mse_loss_fn = tf.keras.losses.MeanSquaredError()

    loss_metric = tf.keras.metrics.Mean()

    train_dataset = tf.data.Dataset.from_tensor_slices(x_train)
    train_dataset = train_dataset.shuffle(buffer_size=1024).batch(64)

    epochs = 2
    printed = {}
    step_losses = []
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
            step_losses.append(float(loss))

            if step % 100 == 0:
                line = "step %d: mean loss = %.4f" % (step, loss_metric.result())
                print(line)
                printed[(epoch, step)] = float(loss_metric.result())
        if epoch == 0:
            first_epoch_mean = float(loss_metric.result())

    # 313 batches per epoch on the 20,000-image subset (the guide's 938 on 60,000); the metric
    # is never reset, so each printed value is the running mean since the first step, and the
    # guide's printout at the same global step is the reference.
    assert len(step_losses) == 2 * 313
    assert set(printed) == {(e, s) for e in (0, 1) for s in (0, 100, 200, 300)}
    guide = {0: 0.3265, 100: 0.1250, 200: 0.0989, 300: 0.0890, 400: 0.0841, 500: 0.0808,
             600: 0.0786}
    for (epoch, step), value in printed.items():
        global_step = epoch * 313 + step
        nearest = min(guide, key=lambda s: abs(s - global_step))
        if abs(nearest - global_step) <= 15:
            assert abs(value - guide[nearest]) < 0.12 * guide[nearest], (epoch, step, value)
    assert 0.08 < first_epoch_mean < 0.10  # the guide's mean passes 0.0890 at step 300
    # The mean keeps falling and the per-step loss falls well below the start.
    means = [printed[k] for k in sorted(printed)]
    assert all(a > b for a, b in zip(means, means[1:]))
    assert np.mean(step_losses[-20:]) < 0.08  # guide: ~0.07 per step late in epoch 1
    assert np.mean(step_losses[-20:]) < 0.3 * np.mean(step_losses[:5])


def test_vae_fit(mnist_small_flat):
    (x_train, _), _ = mnist_small_flat
    vae = VariationalAutoEncoder(784, 64, 32)

    optimizer = tf.keras.optimizers.Adam(learning_rate=1e-3)

    vae.compile(optimizer, loss=tf.keras.losses.MeanSquaredError())
    history = vae.fit(x_train, x_train, epochs=2, batch_size=64, verbose=0)
    losses = history.history["loss"]
    assert list(history.history) == ["loss"]
    assert len(losses) == 2
    # The guide (60,000 images): 0.0750 then 0.0676. Here each epoch is 313 steps, so the first
    # epoch's mean includes more of the early descent (0.088 here), and the second lands near
    # the guide's (0.0683 here).
    assert losses[0] > losses[1]
    assert 0.08 < losses[0] < 0.10
    assert 0.064 < losses[1] < 0.072
    # The reported loss includes the KL term added with add_loss: evaluate agrees with it.
    x = x_train[:512]
    eval_loss = vae.evaluate(x, x, batch_size=64, verbose=0)
    recon = vae.predict(x, batch_size=64, verbose=0)
    assert recon.shape == (512, 784)
    # One forward pass by hand: its reconstruction MSE plus its KL loss (z is sampled, so the
    # two runs differ a little).
    out = vae(tf.constant(x))
    (kl,) = vae.losses
    assert float(kl) > 0.0
    by_hand = float(np.mean((out.numpy() - x) ** 2)) + float(kl)
    assert abs(eval_loss - by_hand) < 0.003
    assert abs(float(np.mean((recon - x) ** 2)) + float(kl) - eval_loss) < 0.003


def test_vae_functional(mnist_small_flat):
    (x_train, _), _ = mnist_small_flat
    original_dim = 784
    intermediate_dim = 64
    latent_dim = 32

    # Define encoder model.
    original_inputs = tf.keras.Input(shape=(original_dim,), name="encoder_input")
    x = layers.Dense(intermediate_dim, activation="relu")(original_inputs)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    z = Sampling()((z_mean, z_log_var))
    encoder = tf.keras.Model(inputs=original_inputs, outputs=z, name="encoder")

    # Define decoder model.
    latent_inputs = tf.keras.Input(shape=(latent_dim,), name="z_sampling")
    x = layers.Dense(intermediate_dim, activation="relu")(latent_inputs)
    outputs = layers.Dense(original_dim, activation="sigmoid")(x)
    decoder = tf.keras.Model(inputs=latent_inputs, outputs=outputs, name="decoder")

    # Define VAE model.
    outputs = decoder(z)
    vae = tf.keras.Model(inputs=original_inputs, outputs=outputs, name="vae")

    # Add KL divergence regularization loss.
    kl_loss = -0.5 * tf.reduce_mean(z_log_var - tf.square(z_mean) - tf.exp(z_log_var) + 1)
    vae.add_loss(kl_loss)

    assert encoder.count_params() == (784 * 64 + 64) + 2 * (64 * 32 + 32)
    assert decoder.count_params() == (32 * 64 + 64) + (64 * 784 + 784)
    assert vae.count_params() == VAE_PARAMS

    # Train. (The guide runs 3 epochs on 60,000 images: 0.0746, 0.0676, 0.0676.)
    optimizer = tf.keras.optimizers.Adam(learning_rate=1e-3)
    vae.compile(optimizer, loss=tf.keras.losses.MeanSquaredError())
    history = vae.fit(x_train, x_train, epochs=2, batch_size=64, verbose=0)
    losses = history.history["loss"]
    assert losses[0] > losses[1]
    assert 0.08 < losses[0] < 0.14
    assert 0.06 < losses[1] < 0.085
