"""keras.applications: the architectures equal tf.keras 2's (layer names in order, weight shapes
in order, parameter counts), they train and predict, and preprocess_input, decode_predictions
and the argument checks behave as Keras's.

The expected digests are tf.keras 2.21's: sha1 of the comma-joined layer names after the input
layer, and of the repr of the list of weight shapes in ``model.weights`` order (the order a
weights file is read in)."""

import hashlib
import json

import corten
import numpy as np
import pytest
from corten import keras
from corten.keras.applications import imagenet_utils, mobilenet_v2, resnet50, vgg16, vgg19

# (builder, include_top, model name, parameters, layers, names digest, shapes digest, output)
KERAS_ARCHITECTURES = [
    ("VGG16", True, "vgg16", 138357544, 23, "10cf47d10856e945", "d2bff8e4f13e4812",
     (None, 1000)),
    ("VGG16", False, "vgg16", 14714688, 19, "63ab95d2851a1b29", "f208e9770a579c3c",
     (None, 2, 2, 512)),
    ("VGG19", True, "vgg19", 143667240, 26, "a83b67d90fc43724", "ccf171e9f896da69",
     (None, 1000)),
    ("VGG19", False, "vgg19", 20024384, 22, "bdbcdcd1f3149766", "112f1b33337bbf22",
     (None, 2, 2, 512)),
    ("ResNet50", True, "resnet50", 25636712, 177, "da7875037bdfdecf", "5386e3f7f4e3225f",
     (None, 1000)),
    ("ResNet50", False, "resnet50", 23587712, 175, "a363bea0b97b3394", "a73accc38107e6bd",
     (None, 2, 2, 2048)),
    ("MobileNetV2", True, "mobilenetv2_1.00_224", 3538984, 156, "95e9c350a8c1496c",
     "23c88720ecedbdff", (None, 1000)),
    ("MobileNetV2", False, "mobilenetv2_1.00_64", 2257984, 154, "1338db4270aeb366",
     "476fa870957e8d99", (None, 2, 2, 1280)),
]


def _digest(items):
    return hashlib.sha1(items.encode()).hexdigest()[:16]


@pytest.mark.parametrize(("builder", "top", "name", "params", "n_layers", "names", "shapes",
                          "output"), KERAS_ARCHITECTURES,
                         ids=[f"{a[0]}-{'top' if a[1] else 'notop'}" for a in KERAS_ARCHITECTURES])
def test_architecture_equals_keras(builder, top, name, params, n_layers, names, shapes, output):
    kwargs = {} if top else {"input_shape": (64, 64, 3)}
    model = getattr(keras.applications, builder)(weights=None, include_top=top, **kwargs)
    assert model.name == name
    assert model.count_params() == params
    assert len(model.layers) == n_layers
    assert _digest(",".join(layer.name for layer in model.layers[1:])) == names
    assert _digest(repr([tuple(w.shape) for w in model.weights])) == shapes
    assert model.output_shape == output


def test_mobilenet_v2_trains_and_predicts_on_small_images():
    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), alpha=0.35,
                                           classes=10)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.random((16, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, 16)
    moving_mean = model.get_layer("bn_Conv1").moving_mean.numpy().copy()
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert not np.allclose(model.get_layer("bn_Conv1").moving_mean.numpy(), moving_mean)
    probs = model.predict(mobilenet_v2.preprocess_input(x * 255), verbose=0)
    assert probs.shape == (16, 10)
    np.testing.assert_allclose(probs.sum(-1), 1, rtol=1e-5)


def test_resnet50_and_vgg16_feature_extractors_run():
    x = np.random.default_rng(1).random((2, 32, 32, 3)).astype("float32") * 255
    features = keras.applications.ResNet50(weights=None, include_top=False, pooling="avg",
                                           input_shape=(32, 32, 3))(resnet50.preprocess_input(x))
    assert tuple(features.shape) == (2, 2048)
    assert np.all(np.isfinite(features.numpy()))
    vgg = keras.applications.VGG16(weights=None, include_top=False, pooling="max",
                                   input_shape=(32, 32, 3))
    assert tuple(vgg(vgg16.preprocess_input(x)).shape) == (2, 512)


def test_input_tensor_is_used_as_the_model_input():
    inputs = keras.Input(shape=(48, 48, 3))
    model = keras.applications.VGG19(weights=None, include_top=False, input_tensor=inputs)
    assert model.inputs[0] is inputs
    assert model.output_shape == (None, 1, 1, 512)


def test_preprocess_input_modes_match_keras_formulas():
    x = np.random.default_rng(2).random((2, 5, 5, 3)).astype("float32") * 255
    caffe = x[..., ::-1] - np.array([103.939, 116.779, 123.68])
    np.testing.assert_allclose(vgg19.preprocess_input(x), caffe, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(mobilenet_v2.preprocess_input(x), x / 127.5 - 1, atol=1e-5)
    torch_mode = (x / 255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    np.testing.assert_allclose(imagenet_utils.preprocess_input(x, mode="torch"), torch_mode,
                               rtol=1e-5, atol=1e-5)
    first = imagenet_utils.preprocess_input(x.transpose(0, 3, 1, 2),
                                            data_format="channels_first")
    np.testing.assert_allclose(first, caffe.transpose(0, 3, 1, 2), rtol=1e-5, atol=1e-4)
    as_tensor = vgg19.preprocess_input(corten.constant(x))
    assert isinstance(as_tensor, corten.Tensor)
    np.testing.assert_allclose(as_tensor.numpy(), caffe, rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="mode"):
        imagenet_utils.preprocess_input(x, mode="keras")
    with pytest.raises(ValueError, match=r"3 color channels on axis 3.*\(2, 5, 5, 4\)"):
        imagenet_utils.preprocess_input(np.zeros((2, 5, 5, 4)))


def test_decode_predictions_reads_the_cached_class_index(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    (tmp_path / "models" / "imagenet_class_index.json").write_text(json.dumps(index))
    preds = np.zeros((2, 1000), "float32")
    preds[0, [7, 3, 9]] = [0.5, 0.3, 0.2]
    preds[1, 999] = 1.0
    decoded = vgg19.decode_predictions(preds, top=3)
    assert decoded[0] == [("n00000007", "class_7", 0.5), ("n00000003", "class_3",
                                                         pytest.approx(0.3)),
                          ("n00000009", "class_9", pytest.approx(0.2))]
    assert decoded[1][0][:2] == ("n00000999", "class_999")
    with pytest.raises(ValueError, match=r"shape \(samples, 1000\).*\(2, 10\)"):
        vgg19.decode_predictions(np.zeros((2, 10)))


def test_argument_errors_and_missing_imagenet_weights(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        keras.applications.VGG19(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="path to the weights file"):
        keras.applications.ResNet50(weights=str(tmp_path / "absent.weights.h5"))
    with pytest.raises(ValueError, match=r"at least 32x32.*\(16, 16, 3\)"):
        keras.applications.VGG16(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="static `input_shape`"):
        imagenet_utils.obtain_input_shape((None, None, 3), 224, 32, "channels_last", True)
    with pytest.raises(ValueError, match="alpha must be one of"):
        keras.applications.MobileNetV2(weights="imagenet", alpha=0.6)
    with pytest.raises(ValueError, match="Only `None` and `softmax`"):
        keras.applications.MobileNetV2(weights="imagenet", classifier_activation="relu",
                                       input_shape=(96, 96, 3), alpha=0.35)
    # "imagenet" looks in the Keras cache; offline, the error says where to put the file
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("CORTEN_DATASETS_ORIGIN", "http://127.0.0.1:9/")
    monkeypatch.setattr(imagenet_utils, "WEIGHTS_ORIGIN", "http://127.0.0.1:9/")
    with pytest.raises(OSError, match="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96"
                                      "_no_top.h5 in .*models"):
        keras.applications.MobileNetV2(weights="imagenet", include_top=False, alpha=0.35,
                                       input_shape=(96, 96, 3))


def test_weights_from_a_user_file_round_trip(tmp_path):
    keras.utils.set_random_seed(3)
    model = keras.applications.MobileNetV2(weights=None, include_top=False, alpha=0.35,
                                           input_shape=(32, 32, 3))
    path = str(tmp_path / "mnv2.weights.safetensors")
    model.save_weights(path)
    keras.utils.set_random_seed(4)
    again = keras.applications.MobileNetV2(weights=path, include_top=False, alpha=0.35,
                                           input_shape=(32, 32, 3))
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
