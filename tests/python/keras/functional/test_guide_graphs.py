"""The functional API guide: models sharing layers, models as layers, ensembles, multiple
inputs and outputs, non-linear topologies, shared layers, feature extraction, custom layers
and mixing with subclassing, each as the guide writes it; Dense-only variants beside them
check the same graph features with exact expected values."""

import numpy as np
import pytest

import corten as tf
from corten import keras
from corten.keras import layers

from functional_helpers import summary_lines


# ---------------------------------------------------------------- several models, one graph
def test_encoder_autoencoder_guide():
    encoder_input = keras.Input(shape=(28, 28, 1), name="img")
    x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    encoder_output = layers.GlobalMaxPooling2D()(x)
    encoder = keras.Model(encoder_input, encoder_output, name="encoder")
    lines = summary_lines(encoder)
    assert " max_pooling2d (MaxPooling2D  (None, 8, 8, 32)         0         " in lines
    assert lines[-4] == "Total params: 18,672"
    x = layers.Reshape((4, 4, 1))(encoder_output)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
    x = layers.UpSampling2D(3)(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)
    autoencoder = keras.Model(encoder_input, decoder_output, name="autoencoder")
    assert autoencoder.output_shape == (None, 28, 28, 1)
    assert summary_lines(autoencoder)[-4] == "Total params: 28,241"


def test_two_models_from_one_graph_dense():
    encoder_input = keras.Input(shape=(28, 28, 1), name="img")
    x = layers.Flatten()(encoder_input)
    x = layers.Dense(32, activation="relu")(x)
    encoder_output = layers.Dense(16, activation="relu")(x)
    encoder = keras.Model(encoder_input, encoder_output, name="encoder")
    x = layers.Dense(32, activation="relu")(encoder_output)
    x = layers.Dense(784, activation="sigmoid")(x)
    decoder_output = layers.Reshape((28, 28, 1))(x)
    autoencoder = keras.Model(encoder_input, decoder_output, name="autoencoder")
    assert [l.name for l in encoder.layers] == ["img", "flatten", "dense", "dense_1"]
    assert len(autoencoder.layers) == 7
    # one set of weights
    assert all(any(w is v for v in autoencoder.weights) for w in encoder.weights)
    img = np.random.default_rng(0).random((2, 28, 28, 1)).astype("float32")
    assert tuple(autoencoder(img).shape) == (2, 28, 28, 1)
    assert tuple(encoder(img).shape) == (2, 16)
    lines = summary_lines(autoencoder)
    assert lines[4] == " img (InputLayer)            [(None, 28, 28, 1)]       0         "
    assert " reshape (Reshape)           (None, 28, 28, 1)         0         " in lines


# ---------------------------------------------------------------- models are callable
def _dense_encoder_decoder():
    encoder_input = keras.Input(shape=(28, 28, 1), name="original_img")
    x = layers.Flatten()(encoder_input)
    encoder_output = layers.Dense(16, activation="relu")(x)
    encoder = keras.Model(encoder_input, encoder_output, name="encoder")
    decoder_input = keras.Input(shape=(16,), name="encoded_img")
    x = layers.Dense(784, activation="sigmoid")(decoder_input)
    decoder_output = layers.Reshape((28, 28, 1))(x)
    decoder = keras.Model(decoder_input, decoder_output, name="decoder")
    return encoder, decoder


def test_models_called_like_layers():
    encoder, decoder = _dense_encoder_decoder()
    autoencoder_input = keras.Input(shape=(28, 28, 1), name="img")
    encoded_img = encoder(autoencoder_input)
    decoded_img = decoder(encoded_img)
    autoencoder = keras.Model(autoencoder_input, decoded_img, name="autoencoder")
    assert [l.name for l in autoencoder.layers] == ["img", "encoder", "decoder"]
    lines = summary_lines(autoencoder)
    assert lines[6] == " encoder (Functional)        (None, 16)                12560     "
    assert lines[8] == " decoder (Functional)        (None, 28, 28, 1)         13328     "
    assert lines[-4] == "Total params: 25,888"
    img = np.random.default_rng(0).random((3, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(autoencoder(img)),
                               np.asarray(decoder(encoder(img))), rtol=1e-6)
    # reusing the weights: training the autoencoder changes the encoder
    before = encoder.get_weights()[0].copy()
    autoencoder.compile(optimizer="adam", loss="mse")
    autoencoder.fit(img, img, epochs=1, verbose=0)
    assert not np.allclose(before, encoder.get_weights()[0])


def test_ensemble_guide():

    def get_model():
        inputs = keras.Input(shape=(128,))
        outputs = layers.Dense(1)(inputs)
        return keras.Model(inputs, outputs)

    model1, model2, model3 = get_model(), get_model(), get_model()
    inputs = keras.Input(shape=(128,))
    outputs = layers.average([model1(inputs), model2(inputs), model3(inputs)])
    ensemble_model = keras.Model(inputs=inputs, outputs=outputs)
    assert ensemble_model.count_params() == 3 * 129


def test_ensemble_with_ops():
    def get_model():
        inputs = keras.Input(shape=(128,))
        outputs = layers.Dense(1)(inputs)
        return keras.Model(inputs, outputs)

    model1, model2, model3 = get_model(), get_model(), get_model()
    inputs = keras.Input(shape=(128,))
    y1, y2, y3 = model1(inputs), model2(inputs), model3(inputs)
    outputs = (y1 + y2 + y3) / 3.0
    ensemble_model = keras.Model(inputs=inputs, outputs=outputs)
    assert ensemble_model.count_params() == 3 * 129
    x = np.random.default_rng(1).random((4, 128)).astype("float32")
    expected = (np.asarray(model1(x)) + np.asarray(model2(x)) + np.asarray(model3(x))) / 3
    np.testing.assert_allclose(np.asarray(ensemble_model(x)), expected, rtol=1e-5, atol=1e-6)
    names = [l.name for l in ensemble_model.layers]
    # Keras's order: by depth from the outputs, then by discovery
    assert names == ["input_4", "model", "model_1", "tf.__operators__.add", "model_2",
                     "tf.__operators__.add_1", "tf.math.truediv"]


# ---------------------------------------------------------------- multiple inputs and outputs
# tf.keras 2.21's per-layer (input shape, output shape, parameters) of the guide's ticket model,
# the shapes its plot_model(show_shapes=True) draws.
TICKET_LAYERS = {
    "title": ([(None, None)], [(None, None)], 0),
    "body": ([(None, None)], [(None, None)], 0),
    "embedding": ((None, None), (None, None, 64), 640000),
    "embedding_1": ((None, None), (None, None, 64), 640000),
    "lstm": ((None, None, 64), (None, 128), 98816),
    "lstm_1": ((None, None, 64), (None, 32), 12416),
    "tags": ([(None, 12)], [(None, 12)], 0),
    "concatenate": ([(None, 128), (None, 32), (None, 12)], (None, 172), 0),
    "priority": ((None, 172), (None, 1), 173),
    "department": ((None, 172), (None, 4), 692),
}


def test_multi_input_output_guide():
    num_tags, num_words, num_departments = 12, 10000, 4
    title_input = keras.Input(shape=(None,), name="title")
    body_input = keras.Input(shape=(None,), name="body")
    tags_input = keras.Input(shape=(num_tags,), name="tags")
    title_features = layers.Embedding(num_words, 64)(title_input)
    body_features = layers.Embedding(num_words, 64)(body_input)
    title_features = layers.LSTM(128)(title_features)
    body_features = layers.LSTM(32)(body_features)
    x = layers.concatenate([title_features, body_features, tags_input])
    priority_pred = layers.Dense(1, name="priority")(x)
    department_pred = layers.Dense(num_departments, name="department")(x)
    model = keras.Model(inputs=[title_input, body_input, tags_input],
                        outputs=[priority_pred, department_pred])
    assert model.count_params() == 1392097  # tf.keras 2.21, same layers
    got = {layer.name: (layer.input_shape, layer.output_shape, layer.count_params())
           for layer in model.layers}
    assert got == TICKET_LAYERS
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss={"priority": keras.losses.BinaryCrossentropy(from_logits=True),
                        "department": keras.losses.CategoricalCrossentropy(from_logits=True)},
                  loss_weights={"priority": 1.0, "department": 0.2})
    title_data = np.random.randint(num_words, size=(1280, 10))
    body_data = np.random.randint(num_words, size=(1280, 100))
    tags_data = np.random.randint(2, size=(1280, num_tags)).astype("float32")
    priority_targets = np.random.random(size=(1280, 1))
    dept_targets = np.random.randint(2, size=(1280, num_departments))
    history = model.fit({"title": title_data, "body": body_data, "tags": tags_data},
                        {"priority": priority_targets, "department": dept_targets},
                        epochs=2, batch_size=32, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]


def _ticket_model():
    """The guide's ticket model with Dense stand-ins for the Embedding/LSTM branches and
    arithmetic instead of concatenate."""
    num_tags, num_departments = 12, 4
    title_input = keras.Input(shape=(10,), name="title")
    body_input = keras.Input(shape=(100,), name="body")
    tags_input = keras.Input(shape=(num_tags,), name="tags")
    title_features = layers.Dense(16, activation="relu")(title_input)
    body_features = layers.Dense(16, activation="relu")(body_input)
    tags_features = layers.Dense(16, activation="relu")(tags_input)
    x = title_features + body_features + tags_features
    priority_pred = layers.Dense(1, name="priority")(x)
    department_pred = layers.Dense(num_departments, name="department")(x)
    return keras.Model(inputs=[title_input, body_input, tags_input],
                       outputs=[priority_pred, department_pred])


def _ticket_data(n=64):
    rng = np.random.default_rng(0)
    x = {"title": rng.random((n, 10)).astype("float32"),
         "body": rng.random((n, 100)).astype("float32"),
         "tags": rng.integers(0, 2, size=(n, 12)).astype("float32")}
    y = {"priority": rng.random((n, 1)).astype("float32"),
         "department": np.eye(4, dtype="float32")[rng.integers(0, 4, size=n)]}
    return x, y


def test_multi_io_names_and_call():
    model = _ticket_model()
    assert model.input_names == ["title", "body", "tags"]
    assert model.output_names == ["priority", "department"]
    x, _ = _ticket_data(5)
    by_dict = model(x)
    by_list = model([x["title"], x["body"], x["tags"]])
    assert isinstance(by_list, list) and len(by_list) == 2
    assert tuple(by_list[0].shape) == (5, 1) and tuple(by_list[1].shape) == (5, 4)
    np.testing.assert_allclose(np.asarray(by_dict[1]), np.asarray(by_list[1]), rtol=1e-6)
    with pytest.raises(ValueError, match="expects 3 input"):
        model([x["title"], x["body"]])
    with pytest.raises(ValueError, match='Missing data for input "tags"'):
        model({"title": x["title"], "body": x["body"]})


@pytest.mark.parametrize("style", ["list", "dict"])
def test_multi_io_fit_loss_weights(style):
    model = _ticket_model()
    losses = [keras.losses.BinaryCrossentropy(from_logits=True),
              keras.losses.CategoricalCrossentropy(from_logits=True)]
    weights = [1.0, 0.2]
    if style == "dict":
        losses = dict(zip(["priority", "department"], losses))
        weights = dict(zip(["priority", "department"], weights))
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss=losses, loss_weights=weights)
    x, y = _ticket_data()
    history = model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    assert set(history.history) == {"loss", "priority_loss", "department_loss"}
    h = history.history
    np.testing.assert_allclose(h["loss"][-1],
                               h["priority_loss"][-1] + 0.2 * h["department_loss"][-1],
                               rtol=1e-4)
    # lists in input order work too
    model.fit([x["title"], x["body"], x["tags"]], [y["priority"], y["department"]],
              epochs=1, batch_size=32, verbose=0)
    preds = model.predict(x, verbose=0)
    assert [p.shape for p in preds] == [(64, 1), (64, 4)]


def test_multi_io_summary_connected_to():
    model = _ticket_model()
    lines = summary_lines(model)
    assert len(lines[1]) == 98
    assert lines[2].rstrip() == (" Layer (type)                   Output Shape         Param #"
                                 "     Connected to")
    text = "\n".join(lines)
    assert " title (InputLayer)             [(None, 10)]         0           []" in text
    assert "['dense[0][0]',  " in text
    assert "'dense_1[0][0]']" in text


# ---------------------------------------------------------------- a toy ResNet
def test_toy_resnet_guide():
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
    lines = summary_lines(model)
    assert lines[-4] == "Total params: 223,242"
    # The guide trains on CIFAR10's first 1000 images; no offline copy of CIFAR10 exists, so
    # these are CIFAR-shaped images whose class is drawn into them (a bright square whose
    # position is the label), which the model can learn in two epochs.
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, (1000, 1))
    x_train = rng.integers(0, 128, (1000, 32, 32, 3)).astype("uint8")
    for i, k in enumerate(labels[:, 0]):
        r, c = divmod(int(k), 5)
        x_train[i, 4 + 12 * r:12 + 12 * r, 1 + 6 * c:6 + 6 * c, :] = 255
    x_train = x_train.astype("float32") / 255.0
    y_train = keras.utils.to_categorical(labels, 10)
    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=["acc"],
    )
    history = model.fit(x_train[:1000], y_train[:1000], batch_size=64, epochs=3,
                        validation_split=0.2, verbose=0)
    h = history.history
    assert set(h) == {"loss", "acc", "val_loss", "val_acc"}
    assert h["loss"][-1] < h["loss"][0]


def test_residual_dense():
    inputs = keras.Input(shape=(8,), name="x")
    x = layers.Dense(8, activation="relu")(inputs)
    block_1 = x + inputs
    x = layers.Dense(8, activation="relu")(block_1)
    block_2 = x + block_1
    x = layers.Dropout(0.5)(block_2)
    outputs = layers.Dense(2)(x)
    model = keras.Model(inputs, outputs, name="residual")
    data = np.random.default_rng(0).random((4, 8)).astype("float32")
    d1, d2, d3 = (model.get_layer(n) for n in ("dense", "dense_1", "dense_2"))
    b1 = np.asarray(d1(data)) + data
    b2 = np.asarray(d2(b1)) + b1
    np.testing.assert_allclose(np.asarray(model(data)), np.asarray(d3(b2)), rtol=1e-5)
    # dropout is active in training mode only
    assert not np.allclose(np.asarray(model(data, training=True)), np.asarray(model(data)))


# ---------------------------------------------------------------- shared layers
def test_shared_embedding_guide():
    shared_embedding = layers.Embedding(1000, 128)
    text_input_a = keras.Input(shape=(None,), dtype="int32")
    text_input_b = keras.Input(shape=(None,), dtype="int32")
    encoded_input_a = shared_embedding(text_input_a)
    encoded_input_b = shared_embedding(text_input_b)
    assert len(shared_embedding.inbound_nodes) == 2
    assert tuple(encoded_input_b.shape) == (None, None, 128)


def test_shared_layer_one_set_of_weights():
    shared = layers.Dense(4, name="shared")
    input_a = keras.Input(shape=(3,), name="a")
    input_b = keras.Input(shape=(3,), name="b")
    out_a = shared(input_a)
    out_b = shared(input_b)
    model = keras.Model([input_a, input_b], [out_a, out_b])
    assert len(model.weights) == 2
    assert len(shared.inbound_nodes) == 2
    assert shared.get_output_at(1) is out_b
    assert shared.get_input_at(0) is input_a
    assert shared.output is out_a
    assert shared.input_shape == (None, 3)
    lines = summary_lines(model)
    assert any("['a[0][0]',  " in l for l in lines)
    assert any("'b[0][0]']" in l for l in lines)
    xa = np.ones((2, 3), "float32")
    xb = 2 * np.ones((2, 3), "float32")
    ya, yb = model([xa, xb])
    np.testing.assert_allclose(np.asarray(ya), np.asarray(shared(xa)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(yb), np.asarray(shared(xb)), rtol=1e-6)
    # different input shapes make input_shape ambiguous
    shared(keras.Input(shape=(None, 3)))
    with pytest.raises(AttributeError, match="multiple inbound nodes, with different input"):
        shared.input_shape  # noqa: B018


# ---------------------------------------------------------------- feature extraction
def test_feature_extraction_from_intermediate_outputs():
    inputs = keras.Input(shape=(6,))
    x = layers.Dense(5, activation="relu")(inputs)
    x = layers.Dense(4, activation="relu")(x)
    outputs = layers.Dense(3)(x)
    base = keras.Model(inputs, outputs)
    features_list = [layer.output for layer in base.layers]
    feat_extraction_model = keras.Model(inputs=base.input, outputs=features_list)
    img = np.random.default_rng(0).random((2, 6)).astype("float32")
    extracted = feat_extraction_model(img)
    assert [tuple(f.shape) for f in extracted] == [(2, 6), (2, 5), (2, 4), (2, 3)]
    np.testing.assert_allclose(np.asarray(extracted[-1]), np.asarray(base(img)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(extracted[0]), img)


def test_vgg19_feature_extraction_guide():
    # The guide loads ImageNet weights; weights=None builds the same graph without the
    # 575 MB download.
    vgg19 = tf.keras.applications.VGG19(weights=None)
    assert vgg19.count_params() == 143667240
    features_list = [layer.output for layer in vgg19.layers]
    feat_extraction_model = keras.Model(inputs=vgg19.xs, outputs=features_list)
    img = np.random.random((1, 224, 224, 3)).astype("float32")
    extracted_features = feat_extraction_model(img)
    assert len(extracted_features) == 26
    assert tuple(extracted_features[1].shape) == (1, 224, 224, 64)  # block1_conv1
    assert tuple(extracted_features[-5].shape) == (1, 7, 7, 512)  # block5_pool
    np.testing.assert_allclose(extracted_features[0].numpy(), img)
    np.testing.assert_allclose(extracted_features[-1].numpy(), vgg19(img).numpy(), rtol=1e-5,
                               atol=1e-7)


# ---------------------------------------------------------------- custom layers
class CustomDense(layers.Layer):
    def __init__(self, units=32):
        super().__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal",
                                 trainable=True)

    def call(self, inputs):
        return tf.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {"units": self.units}


def test_custom_dense_in_functional_model():
    inputs = keras.Input((4,))
    outputs = CustomDense(10)(inputs)
    model = keras.Model(inputs, outputs)
    assert model.output_shape == (None, 10)
    assert model.count_params() == 50
    x = np.ones((2, 4), "float32")
    layer = model.layers[1]
    np.testing.assert_allclose(np.asarray(model(x)),
                               x @ np.asarray(layer.w) + np.asarray(layer.b), rtol=1e-5)


# ---------------------------------------------------------------- mixing the APIs
def test_functional_model_inside_subclassed_layer(capsys):
    units = 32
    timesteps = 10
    input_dim = 5

    inputs = keras.Input((None, units))
    x = layers.GlobalAveragePooling1D()(inputs)
    outputs = layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)

    class CustomRNN(layers.Layer):
        def __init__(self):
            super(CustomRNN, self).__init__()
            self.units = units
            self.projection_1 = layers.Dense(units=units, activation="tanh")
            self.projection_2 = layers.Dense(units=units, activation="tanh")
            # Our previously-defined Functional model
            self.classifier = model

        def call(self, inputs):
            outputs = []
            state = tf.zeros(shape=(inputs.shape[0], self.units))
            for t in range(inputs.shape[1]):
                x = inputs[:, t, :]
                h = self.projection_1(x)
                y = h + self.projection_2(state)
                state = y
                outputs.append(y)
            features = tf.stack(outputs, axis=1)
            print(features.shape)
            return self.classifier(features)

    rnn_model = CustomRNN()
    _ = rnn_model(tf.zeros((1, timesteps, input_dim)))
    assert capsys.readouterr().out == "(1, 10, 32)\n"
    assert tuple(_.shape) == (1, 1)
    assert len(rnn_model.trainable_weights) == 6  # two projections and the model's Dense


def test_custom_rnn_with_static_batch_size():
    units, timesteps, input_dim, batch_size = 8, 5, 3, 4

    class CustomRNN(layers.Layer):
        def __init__(self):
            super().__init__()
            self.units = units
            self.projection_1 = layers.Dense(units=units, activation="tanh")
            self.projection_2 = layers.Dense(units=units, activation="tanh")
            self.classifier = layers.Dense(1)

        def call(self, inputs):
            outputs = []
            state = tf.zeros(shape=(inputs.shape[0], self.units))
            for t in range(inputs.shape[1]):
                x = inputs[:, t, :]
                h = self.projection_1(x)
                y = h + self.projection_2(state)
                state = y
                outputs.append(y)
            features = tf.stack(outputs, axis=1)
            return self.classifier(features)

    # `batch_shape` gives the static batch size CustomRNN needs (tf.zeros of the state)
    inputs = keras.Input(batch_shape=(batch_size, timesteps, input_dim))
    x = layers.Dense(6)(inputs)
    outputs = CustomRNN()(x)
    model = keras.Model(inputs, outputs)
    assert model.output_shape == (batch_size, timesteps, 1)
    data = np.random.default_rng(0).random((batch_size, timesteps, input_dim)).astype("float32")
    assert tuple(model(data).shape) == (batch_size, timesteps, 1)
    rnn_model = CustomRNN()
    assert tuple(rnn_model(tf.zeros((1, 10, 5))).shape) == (1, 10, 1)
    # batch_size= gives the same static dimension
    assert tuple(keras.Input(shape=(3,), batch_size=7).shape) == (7, 3)


def test_custom_rnn_guide_with_conv1d():
    units = 32
    timesteps = 10
    input_dim = 5
    batch_size = 16

    class CustomRNN(layers.Layer):
        def __init__(self):
            super(CustomRNN, self).__init__()
            self.units = units
            self.projection_1 = layers.Dense(units=units, activation="tanh")
            self.projection_2 = layers.Dense(units=units, activation="tanh")
            self.classifier = layers.Dense(1)

        def call(self, inputs):
            outputs = []
            state = tf.zeros(shape=(inputs.shape[0], self.units))
            for t in range(inputs.shape[1]):
                x = inputs[:, t, :]
                h = self.projection_1(x)
                y = h + self.projection_2(state)
                state = y
                outputs.append(y)
            features = tf.stack(outputs, axis=1)
            return self.classifier(features)

    inputs = keras.Input(batch_shape=(batch_size, timesteps, input_dim))
    x = layers.Conv1D(32, 3)(inputs)
    outputs = CustomRNN()(x)

    model = keras.Model(inputs, outputs)
    assert model.output_shape == (batch_size, timesteps - 2, 1)
    data = np.random.default_rng(0).random((batch_size, timesteps, input_dim)).astype("float32")
    assert tuple(model(data).shape) == (batch_size, timesteps - 2, 1)

    rnn_model = CustomRNN()
    _ = rnn_model(tf.zeros((1, 10, 5)))
    assert tuple(_.shape) == (1, 10, 1)
