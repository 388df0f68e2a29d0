"""ResNet50 (He et al., https://arxiv.org/abs/1512.03385), tf.keras 2's layers and names
(``keras.applications.resnet`` and ``keras.applications.resnet50``)."""

from __future__ import annotations

from typing import Any

from corten.keras.applications import imagenet_utils

__all__ = ["ResNet50", "preprocess_input", "decode_predictions"]


def _block(x: Any, filters: int, stride: int = 1, conv_shortcut: bool = True,
           name: str = "") -> Any:
    """The bottleneck residual block: 1x1, 3x3, 1x1 (x4) convolutions and a shortcut."""
    from corten.keras import backend, layers

    bn_axis = 3 if backend.image_data_format() == "channels_last" else 1

    def bn(t, suffix):
        return layers.BatchNormalization(axis=bn_axis, epsilon=1.001e-5,
                                         name=f"{name}_{suffix}_bn")(t)

    if conv_shortcut:
        shortcut = bn(layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x), 0)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(bn(x, 1))
    x = layers.Conv2D(filters, 3, padding="SAME", name=f"{name}_2_conv")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(bn(x, 2))
    x = bn(layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x), 3)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def _stack(x: Any, filters: int, blocks: int, stride1: int = 2, name: str = "") -> Any:
    x = _block(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = _block(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def ResNet50(include_top: bool = True, weights: Any = "imagenet",  # noqa: N802
             input_tensor: Any = None, input_shape: Any = None, pooling: str | None = None,
             classes: int = 1000, classifier_activation: Any = "softmax") -> Any:
    """Instantiates the ResNet50 architecture (tf.keras 2's layers and names).

    Args:
        include_top: whether to include the classifier ("avg_pool" and "predictions").
        weights: None (random initialization), "imagenet" (Keras's file from the Keras cache,
            ``~/.keras/models``) or the path of a weights file to load.
        input_tensor: an optional Keras tensor to use as the image input.
        input_shape: the image shape without the batch, only when `include_top` is False
            (default (224, 224, 3)); at least 32x32.
        pooling: with `include_top=False`: None, "avg" or "max".
        classes: the number of classes with `include_top` and no pretrained weights.
        classifier_activation: the activation of the "predictions" layer (None for logits).

    Returns:
        A functional `keras.Model` named "resnet50".

    Raises:
        ValueError: for invalid `weights`, `classes` or `input_shape`.
        OSError: when `weights="imagenet"` and the file is neither cached nor downloadable.
    """
    from corten.keras import backend, layers
    from corten.keras.models import Model

    imagenet_utils.check_weights_argument(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=224, min_size=32, data_format=backend.image_data_format(),
        require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.input_tensor_or_new(input_tensor, input_shape)
    bn_axis = 3 if backend.image_data_format() == "channels_last" else 1
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=True, name="conv1_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=1.001e-5, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = _stack(x, 64, 3, stride1=1, name="conv2")
    x = _stack(x, 128, 4, name="conv3")
    x = _stack(x, 256, 6, name="conv4")
    x = _stack(x, 512, 3, name="conv5")
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = Model(imagenet_utils.model_inputs(input_tensor, img_input), x, name="resnet50")
    suffix = "" if include_top else "_notop"
    imagenet_utils.load_weights(model, weights,
                                f"resnet50_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
                                "resnet")
    return model


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """RGB to BGR, then subtracts the ImageNet channel means (Keras's "caffe" mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


decode_predictions = imagenet_utils.decode_predictions
