"""MobileNetV2 (Sandler et al., https://arxiv.org/abs/1801.04381), tf.keras 2's layers and
names (``keras.applications.mobilenet_v2``)."""

from __future__ import annotations

import logging
from typing import Any

from corten.keras.applications import imagenet_utils

__all__ = ["MobileNetV2", "preprocess_input", "decode_predictions"]

_SIZES = (96, 128, 160, 192, 224)
#: (filters, stride, expansion) of the 17 inverted residual blocks.
_BLOCKS = ((16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6), (64, 2, 6),
           (64, 1, 6), (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6),
           (160, 2, 6), (160, 1, 6), (160, 1, 6), (320, 1, 6))


def _make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v  # never round down by over 10%


def _inverted_res_block(inputs: Any, expansion: int, stride: int, alpha: float, filters: int,
                        block_id: int) -> Any:
    from corten.keras import backend, layers

    channel_axis = 1 if backend.image_data_format() == "channels_first" else -1
    in_channels = inputs.shape[channel_axis]
    pointwise_filters = _make_divisible(int(filters * alpha), 8)
    prefix = f"block_{block_id}_" if block_id else "expanded_conv_"

    def bn(t, suffix):
        return layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999,
                                         name=prefix + suffix)(t)

    x = inputs
    if block_id:
        x = layers.Conv2D(expansion * in_channels, kernel_size=1, padding="same",
                          use_bias=False, activation=None, name=prefix + "expand")(x)
        x = layers.ReLU(6.0, name=prefix + "expand_relu")(bn(x, "expand_BN"))
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3),
                                 name=prefix + "pad")(x)
    x = layers.DepthwiseConv2D(kernel_size=3, strides=stride, activation=None, use_bias=False,
                               padding="same" if stride == 1 else "valid",
                               name=prefix + "depthwise")(x)
    x = layers.ReLU(6.0, name=prefix + "depthwise_relu")(bn(x, "depthwise_BN"))
    x = layers.Conv2D(pointwise_filters, kernel_size=1, padding="same", use_bias=False,
                      activation=None, name=prefix + "project")(x)
    x = bn(x, "project_BN")
    if in_channels == pointwise_filters and stride == 1:
        return layers.Add(name=prefix + "add")([inputs, x])
    return x


def MobileNetV2(input_shape: Any = None, alpha: float = 1.0,  # noqa: N802
                include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax") -> Any:
    """Instantiates the MobileNetV2 architecture (tf.keras 2's layers and names).

    Args:
        input_shape: the image shape without the batch (default (224, 224, 3)); square
            sizes 96, 128, 160, 192 and 224 have ImageNet weights.
        alpha: the width multiplier (filters of every layer scaled by it).
        include_top: whether to include the classifier.
        weights: None (random initialization), "imagenet" (Keras's file from the Keras cache,
            ``~/.keras/models``) or the path of a weights file to load.
        input_tensor: an optional Keras tensor to use as the image input.
        pooling: with `include_top=False`: None, "avg" or "max".
        classes: the number of classes with `include_top` and no pretrained weights.
        classifier_activation: the activation of the "predictions" layer (None for logits).

    Returns:
        A functional `keras.Model` named ``mobilenetv2_{alpha:.2f}_{rows}``.

    Raises:
        ValueError: for invalid `weights`, `classes`, `alpha` or `input_shape`.
        OSError: when `weights="imagenet"` and the file is neither cached nor downloadable.
    """
    from corten.keras import backend, layers
    from corten.keras.models import Model

    imagenet_utils.check_weights_argument(weights, include_top, classes)
    first = backend.image_data_format() == "channels_first"
    shape_from = input_shape
    if shape_from is None and input_tensor is not None:
        shape_from = tuple(input_tensor.shape)[1:]
    default_size = 224
    if shape_from is not None and len(shape_from) == 3:
        rows, cols = (shape_from[1], shape_from[2]) if first else (shape_from[0], shape_from[1])
        if rows == cols and rows in _SIZES:
            default_size = rows
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=default_size, min_size=32,
        data_format=backend.image_data_format(), require_flatten=include_top, weights=weights)
    rows, cols = (input_shape[1], input_shape[2]) if first else (input_shape[0], input_shape[1])
    if weights == "imagenet":
        if alpha not in (0.35, 0.50, 0.75, 1.0, 1.3, 1.4):
            raise ValueError("If imagenet weights are being loaded, alpha must be one of "
                             "`0.35`, `0.50`, `0.75`, `1.0`, `1.3` or `1.4` only; Received "
                             f"`alpha={alpha}`")
        if rows != cols or rows not in _SIZES:
            rows = 224
            logging.getLogger("corten").warning(
                "`input_shape` is undefined or non-square, or `rows` is not in "
                "[96, 128, 160, 192, 224]. Weights for input shape (224, 224) will be loaded "
                "as the default.")
    img_input = imagenet_utils.input_tensor_or_new(input_tensor, input_shape)
    channel_axis = 1 if first else -1
    x = layers.Conv2D(_make_divisible(32 * alpha, 8), kernel_size=3, strides=(2, 2),
                      padding="same", use_bias=False, name="Conv1")(img_input)
    x = layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999,
                                  name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(_BLOCKS):
        x = _inverted_res_block(x, filters=filters, alpha=alpha, stride=stride,
                                expansion=expansion, block_id=block_id)
    last = _make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last, kernel_size=1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999,
                                  name="Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    model = Model(imagenet_utils.model_inputs(input_tensor, img_input), x,
                  name=f"mobilenetv2_{alpha:0.2f}_{rows}")
    top = "" if include_top else "_no_top"
    imagenet_utils.load_weights(
        model, weights,
        f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}{top}.h5",
        "mobilenet_v2")
    return model


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Scales pixels from [0, 255] to [-1, 1] (Keras's "tf" mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions
