"""The Chinese notes "用keras构建自己的网络层" (/work/shared/seeds/custom_layers_zh_vae.md): custom
layers, sublayers, collected losses, config, a training-only dropout with tf.cond and a VAE
trained with fit() and with a GradientTape loop.

Each test is one of its code blocks with only the imports changed (``import corten as tf``,
``import corten.keras as keras``); MNIST is the bundled real-MNIST subset
(``keras.datasets.mnist_small``) and the training runs are cut to one or two epochs of it.
"""

from __future__ import annotations

import numpy as np

import corten as tf
import corten.keras as keras


# --- 1.1 / 1.2: a layer whose input size is known -------------------------------------------

def test_my_layer_variables():
    tf.keras.backend.clear_session()  # Destroys the current TF graph and creates a new one.

    class MyLayer(keras.layers.Layer):
        def __init__(self, input_dim=32, unit=32):
            super(MyLayer, self).__init__()

            w_init = tf.random_normal_initializer()
            self.weight = tf.Variable(initial_value=w_init(
                shape=(input_dim, unit), dtype=tf.float32), trainable=True)

            b_init = tf.zeros_initializer()
            self.bias = tf.Variable(initial_value=b_init(
                shape=(unit,), dtype=tf.float32), trainable=True)

        def call(self, inputs):
            return tf.matmul(inputs, self.weight) + self.bias

    x = tf.ones((3, 5))
    my_layer = MyLayer(5, 4)
    out = my_layer(x)
    print(out)
    assert out.shape == (3, 4) and out.dtype == tf.float32
    v = out.numpy()
    np.testing.assert_array_equal(v[0], v[1])
    np.testing.assert_array_equal(v[0], v[2])
    np.testing.assert_allclose(v[0], my_layer.weight.numpy().sum(axis=0), rtol=1e-6, atol=1e-7)
    assert my_layer.weights == [my_layer.weight, my_layer.bias]


def test_my_layer_add_weight_and_matmul_operator():
    tf.keras.backend.clear_session()

    class MyLayer(keras.layers.Layer):
        def __init__(self, input_dim=32, unit=32):
            super(MyLayer, self).__init__()
            self.weight = self.add_weight(shape=(input_dim, unit),
                                          initializer=keras.initializers.RandomNormal(),
                                          trainable=True)
            self.bias = self.add_weight(shape=(unit,),
                                        initializer=keras.initializers.Zeros(),
                                        trainable=True)

        def call(self, inputs):
            # return tf.matmul(inputs, self.weight) + self.bias
            return inputs @ self.weight + self.bias

    x = tf.ones((3, 5))
    my_layer = MyLayer(5, 4)
    out = my_layer(x)
    print(out)
    assert out.shape == (3, 4)
    np.testing.assert_allclose(out.numpy(), np.ones((3, 5)) @ my_layer.weight.numpy(),
                               rtol=1e-6, atol=1e-7)
    # RandomNormal's default stddev is 0.05.
    assert np.all(np.abs(my_layer.weight.numpy()) < 0.3)
    assert len(my_layer.trainable_weights) == 2


def test_add_layer_non_trainable(capsys):
    tf.keras.backend.clear_session()

    class AddLayer(keras.layers.Layer):
        def __init__(self, input_dim=32):
            super(AddLayer, self).__init__()
            self.sum = self.add_weight(shape=(input_dim,),
                                       initializer=keras.initializers.Zeros(),
                                       trainable=False)  # 不可训练！！！

        def call(self, inputs):
            self.sum.assign_add(tf.reduce_sum(inputs, axis=0))  # assign_add 可以自更新
            return self.sum

    x = tf.ones((1, 3))
    print(x.shape)  # (1, 3) 1个样本，三个特征，即网络输入是3
    my_layer = AddLayer(3)
    out = my_layer(x)
    print(out.numpy())
    out = my_layer(x)
    print(out.numpy())
    assert capsys.readouterr().out.splitlines() == ["(1, 3)", "[1. 1. 1.]", "[2. 2. 2.]"]
    print('weight:', my_layer.weights)
    print('non-trainable weight:', my_layer.non_trainable_weights)
    print('trainable weight:', my_layer.trainable_weights)  # trainable weight: []
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == "trainable weight: []"
    assert my_layer.weights == my_layer.non_trainable_weights == [my_layer.sum]


def test_my_layer_build_unknown_input_size():
    tf.keras.backend.clear_session()

    class MyLayer(keras.layers.Layer):
        def __init__(self, unit=32):
            super(MyLayer, self).__init__()
            self.unit = unit

        def build(self, input_shape):  # IMPORTANT!!!
            self.weight = self.add_weight(shape=(input_shape[-1], self.unit),
                                          initializer=keras.initializers.RandomNormal(),
                                          trainable=True)
            self.bias = self.add_weight(shape=(self.unit,),
                                        initializer=keras.initializers.Zeros(),
                                        trainable=True)

        def call(self, inputs):
            return tf.matmul(inputs, self.weight) + self.bias

    my_layer = MyLayer(3)
    x = tf.ones((3, 5))  # 输入维度是5
    out = my_layer(x)
    print(out)
    assert out.shape == (3, 3)
    assert [w.shape for w in my_layer.weights] == [(5, 3), (3,)]


# --- 2.1: recursive composition -------------------------------------------------------------

class MyLayer(keras.layers.Layer):
    def __init__(self, unit=32):
        super(MyLayer, self).__init__()
        self.unit = unit

    def build(self, input_shape):  # IMPORTANT!!!
        self.weight = self.add_weight(shape=(input_shape[-1], self.unit),
                                      initializer=keras.initializers.RandomNormal(),
                                      trainable=True)
        self.bias = self.add_weight(shape=(self.unit,),
                                    initializer=keras.initializers.Zeros(),
                                    trainable=True)

    def call(self, inputs):
        return tf.matmul(inputs, self.weight) + self.bias


class MyBlock(keras.layers.Layer):
    def __init__(self):
        super(MyBlock, self).__init__()
        self.layer1 = MyLayer(32)
        self.layer2 = MyLayer(16)
        self.layer3 = MyLayer(2)

    def call(self, inputs):
        h1 = self.layer1(inputs)
        h1 = tf.nn.relu(h1)
        h2 = self.layer2(h1)
        h2 = tf.nn.relu(h2)
        return self.layer3(h2)


def test_block_weights_exist_only_after_call(capsys):
    my_block = MyBlock()
    print('trainable weights:', len(my_block.trainable_weights))  # 0: not built yet

    # The base build() only marks the block built: the sublayers build on their first call.
    my_block.build(input_shape=tf.ones(shape=(3, 64)).shape[-1])
    print('trainable weights:', len(my_block.trainable_weights))  # still 0

    y = my_block(tf.ones(shape=(3, 64)))
    print('trainable weights:', len(my_block.trainable_weights))  # 6
    assert capsys.readouterr().out.splitlines() == [
        "trainable weights: 0", "trainable weights: 0", "trainable weights: 6"]
    assert my_block.built
    assert y.shape == (3, 2)
    assert [w.shape for w in my_block.trainable_weights] == [
        (64, 32), (32,), (32, 16), (16,), (16, 2), (2,)]


def test_block_without_build_has_weights_at_once():
    tf.keras.backend.clear_session()

    class MyLayer(keras.layers.Layer):
        def __init__(self, unit=32):
            super(MyLayer, self).__init__()
            self.unit = unit

            self.weight = self.add_weight(shape=(64, self.unit),
                                          initializer=keras.initializers.RandomNormal(),
                                          trainable=True)
            self.bias = self.add_weight(shape=(self.unit,),
                                        initializer=keras.initializers.Zeros(),
                                        trainable=True)

        def call(self, inputs):
            return tf.matmul(inputs, self.weight) + self.bias

    class MyBlock(keras.layers.Layer):
        def __init__(self):
            super(MyBlock, self).__init__()
            self.layer1 = MyLayer(32)
            self.layer2 = MyLayer(16)
            self.layer3 = MyLayer(2)

        def call(self, inputs):
            h1 = self.layer1(inputs)
            h1 = tf.nn.relu(h1)
            h2 = self.layer2(h1)
            h2 = tf.nn.relu(h2)
            return self.layer3(h2)

    my_block = MyBlock()
    # trainable weights: 6: without a build(), the weights exist once the object does.
    assert len(my_block.trainable_weights) == 6
    my_block.build(input_shape=tf.ones(shape=(3, 64)).shape[-1])
    assert len(my_block.trainable_weights) == 6


# --- 2.2: collecting losses -----------------------------------------------------------------

def test_losses_collected_from_sublayers(capsys):
    tf.keras.backend.clear_session()

    class LossLayer(keras.layers.Layer):

        def __init__(self, rate=1e-2):
            super(LossLayer, self).__init__()
            self.rate = rate

        def call(self, inputs):
            self.add_loss(self.rate * tf.reduce_sum(inputs))
            return inputs

    class OutLayer(keras.layers.Layer):
        def __init__(self):
            super(OutLayer, self).__init__()
            self.loss_fun = LossLayer(1e-2)  # 这里调用了自定义的LossLayer

        def call(self, inputs):
            return self.loss_fun(inputs)

    my_layer = OutLayer()
    print(len(my_layer.losses))  # 还未call
    y = my_layer(tf.zeros(1, 1))
    print(len(my_layer.losses))  # 执行call之后
    y = my_layer(tf.zeros(1, 1))
    print(len(my_layer.losses))  # call之前会重新置0
    print(my_layer.losses)  # [<tf.Tensor: id=17, shape=(), dtype=float32, numpy=0.0>]
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == ["0", "1", "1"]
    assert out[3] == "[<corten.Tensor: shape=(), dtype=float32, numpy=0.0>]"
    assert y.shape == (1,)


def test_dense_regularization_loss_collected():
    tf.keras.backend.clear_session()

    class OuterLayer(keras.layers.Layer):
        def __init__(self):
            super(OuterLayer, self).__init__()
            self.dense = keras.layers.Dense(32, kernel_regularizer=tf.keras.regularizers.l2(1e-3))

        def call(self, inputs):
            return self.dense(inputs)

    my_layer = OuterLayer()
    y = my_layer(tf.zeros((1, 1)))
    print(my_layer.losses)
    print(my_layer.weights)
    assert len(my_layer.losses) == 1
    np.testing.assert_allclose(float(my_layer.losses[0]),
                               1e-3 * np.sum(my_layer.dense.kernel.numpy() ** 2), rtol=1e-5)
    assert [w.shape for w in my_layer.weights] == [(1, 32), (32,)]
    assert y.shape == (1, 32)


# --- 3.1: serialization and a training-only layer --------------------------------------------

def test_linear_config(capsys):
    tf.keras.backend.clear_session()

    class Linear(keras.layers.Layer):
        def __init__(self, units=32, **kwargs):
            super(Linear, self).__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                     initializer='random_normal',
                                     trainable=True)
            self.b = self.add_weight(shape=(self.units,),
                                     initializer='random_normal',
                                     trainable=True)

        def call(self, inputs):
            return tf.matmul(inputs, self.w) + self.b

        def get_config(self):
            config = super(Linear, self).get_config()
            config.update({'units': self.units})
            return config

    layer = Linear(125)
    config = layer.get_config()
    print(config)
    # Output: {'name': 'linear', 'trainable': True, 'dtype': 'float32', 'units': 125}
    assert capsys.readouterr().out.strip() == (
        "{'name': 'linear', 'trainable': True, 'dtype': 'float32', 'units': 125}")
    assert Linear.from_config(config).get_config() == config


def test_dropout_with_cond():
    class MyDropout(keras.layers.Layer):
        def __init__(self, rate, **kwargs):
            super(MyDropout, self).__init__(**kwargs)
            self.rate = rate

        def call(self, inputs, training=None):  # 多了training参数
            return tf.cond(training,
                           lambda: tf.nn.dropout(inputs, rate=self.rate),
                           lambda: inputs)

    layer = MyDropout(0.25)
    x = tf.ones((100, 40))
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x.numpy())
    np.testing.assert_array_equal(layer(x, training=tf.constant(False)).numpy(), x.numpy())
    for flag in (True, tf.constant(True)):
        y = layer(x, training=flag).numpy()
        assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
        assert 0.2 < np.mean(y == 0.0) < 0.3
    # tf.cond(pred, true_fn, false_fn) as documented in the notes.
    assert tf.cond(True, true_fn=lambda: 1, false_fn=lambda: 2) == 1
    assert tf.cond(tf.constant(False), true_fn=lambda: 1, false_fn=lambda: 2) == 2


# --- 4.2: the VAE -------------------------------------------------------------------------

class Sampling(keras.layers.Layer):
    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = tf.shape(z_mean)[0]
        dim = tf.shape(z_mean)[1]
        epsilon = tf.keras.backend.random_normal(shape=(batch, dim))
        return z_mean + tf.exp(0.5 * z_log_var) * epsilon


class Encoder(keras.layers.Layer):  # 利用了keras的API Dense
    def __init__(self, latent_dim=32,
                 intermediate_dim=64, name='encoder', **kwargs):
        super(Encoder, self).__init__(name=name, **kwargs)
        self.dense_proj = keras.layers.Dense(intermediate_dim, activation='relu')
        self.dense_mean = keras.layers.Dense(latent_dim)
        self.dense_log_var = keras.layers.Dense(latent_dim)
        self.sampling = Sampling()  # 嵌套了未使用keras API的自定义Sampling

    def call(self, inputs):
        h1 = self.dense_proj(inputs)
        z_mean = self.dense_mean(h1)
        z_log_var = self.dense_log_var(h1)
        z = self.sampling((z_mean, z_log_var))
        return z_mean, z_log_var, z


class Decoder(keras.layers.Layer):
    def __init__(self, original_dim,
                 intermediate_dim=64, name='decoder', **kwargs):
        super(Decoder, self).__init__(name=name, **kwargs)
        self.dense_proj = keras.layers.Dense(intermediate_dim, activation='relu')
        self.dense_output = keras.layers.Dense(original_dim, activation='sigmoid')

    def call(self, inputs):
        h1 = self.dense_proj(inputs)
        return self.dense_output(h1)


class VAE(keras.Model):
    def __init__(self, original_dim, latent_dim=32,
                 intermediate_dim=64, name='encoder', **kwargs):
        super(VAE, self).__init__(name=name, **kwargs)

        self.original_dim = original_dim
        self.encoder = Encoder(latent_dim=latent_dim,
                               intermediate_dim=intermediate_dim)
        self.decoder = Decoder(original_dim=original_dim,
                               intermediate_dim=intermediate_dim)

    def call(self, inputs):
        z_mean, z_log_var, z = self.encoder(inputs)
        reconstructed = self.decoder(z)

        # Here the KL term is summed over the batch and the latent units (the English guide
        # averages it), so it dominates the loss.
        kl_loss = -0.5 * tf.reduce_sum(
            z_log_var - tf.square(z_mean) - tf.exp(z_log_var) + 1)
        self.add_loss(kl_loss)
        return reconstructed


def _params(original, latent, intermediate):
    return ((original * intermediate + intermediate) + 2 * (intermediate * latent + latent)
            + (latent * intermediate + intermediate) + (intermediate * original + original))


def test_vae_fit_summed_kl(mnist_small_flat):
    tf.keras.backend.clear_session()
    (x_train, _), _ = mnist_small_flat
    vae = VAE(784, 32, 64)  # latent 32, intermediate 64
    optimizer = tf.keras.optimizers.Adam(learning_rate=1e-3)

    vae.compile(optimizer, loss=tf.keras.losses.MeanSquaredError())
    history = vae.fit(x_train, x_train, epochs=2, batch_size=64, verbose=0)  # the notes: 3
    losses = history.history["loss"]
    assert vae.count_params() == _params(784, 32, 64) == 107_472
    assert vae.name == "encoder"  # the notes' default name for the model
    assert len(losses) == 2 and np.all(np.isfinite(losses))
    assert losses[1] < losses[0]
    # The summed KL is pushed towards 0 (the posterior collapses onto the prior), leaving
    # mostly the reconstruction MSE (~0.05-0.07).
    assert losses[1] < 0.2
    out = vae(tf.constant(x_train[:64]))
    assert out.shape == (64, 784) and len(vae.losses) == 1


def test_vae_gradient_tape_loop(mnist_small_flat, capsys):
    tf.keras.backend.clear_session()
    (x_train, _), _ = mnist_small_flat
    train_dataset = tf.data.Dataset.from_tensor_slices(x_train)
    train_dataset = train_dataset.shuffle(buffer_size=1024).batch(64)

    original_dim = 784
    vae = VAE(original_dim, 64, 32)  # latent 64, intermediate 32

    optimizer = tf.keras.optimizers.Adam(learning_rate=1e-3)
    mse_loss_fn = tf.keras.losses.MeanSquaredError()

    loss_metric = tf.keras.metrics.Mean()

    step_losses = []
    # 每个epoch迭代. (The notes run 3 epochs of 60,000 images; one of the subset here.)
    for epoch in range(1):
        print('Start of epoch %d' % (epoch,))

        # 取出每个batch的数据并训练.
        for step, x_batch_train in enumerate(train_dataset):
            with tf.GradientTape() as tape:
                reconstructed = vae(x_batch_train)
                # 计算 reconstruction loss
                loss = mse_loss_fn(x_batch_train, reconstructed)
                loss += sum(vae.losses)  # 添加 KLD regularization loss

                # The notes take the gradient inside the `with` block: allowed on a
                # non-persistent tape.
                grads = tape.gradient(loss, vae.trainable_variables)
                optimizer.apply_gradients(zip(grads, vae.trainable_variables))
            loss_metric(loss)
            step_losses.append(float(loss))
            if step % 100 == 0:
                print('step %s: mean loss = %s' % (step, loss_metric.result()))

    assert vae.count_params() == _params(784, 64, 32) == 57_296
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Start of epoch 0"
    assert out[1].startswith("step 0: mean loss = corten.Tensor(")
    assert out[2].startswith("step 100: mean loss = corten.Tensor(")
    assert len(step_losses) == 313  # 20,000 images in batches of 64
    assert np.all(np.isfinite(step_losses))
    assert np.mean(step_losses[-10:]) < 0.2 * np.mean(step_losses[:5])
