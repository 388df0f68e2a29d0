"""VGG16 and VGG19 (Simonyan and Zisserman, https://arxiv.org/abs/1409.1556), tf.keras 2's
layer names, so that Keras weight files map onto them."""

from __future__ import annotations

from typing import Any

from corten.keras.applications import imagenet_utils

#: Convolutions per block (64, 128, 256, 512 and 512 filters).
_BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}


_DOC = """Instantiates the {title} architecture (tf.keras 2's layers and names).

    Args:
        include_top: whether to include the three fully-connected layers on top.
        weights: None (random initialization), "imagenet" (Keras's file from the Keras cache,
            ``~/.keras/models``) or the path of a weights file to load.
        input_tensor: an optional Keras tensor to use as the image input.
        input_shape: the image shape without the batch, only when `include_top` is False
            (default (224, 224, 3)); at least 32x32.
        pooling: with `include_top=False`: None (the last convolution block's 4-D output),
            "avg" or "max" (global pooling to a 2-D output).
        classes: the number of classes with `include_top` and no pretrained weights.
        classifier_activation: the activation of the "predictions" layer (None for logits).

    Returns:
        A functional `keras.Model` named "{name}".

    Raises:
        ValueError: for invalid `weights`, `classes` or `input_shape`.
        OSError: when `weights="imagenet"` and the file is neither cached nor downloadable.
    """


def vgg_constructor(name: str) -> Any:
    """The public constructor (``VGG16`` or ``VGG19``) of `name` ("vgg16" or "vgg19")."""

    def constructor(include_top: bool = True, weights: Any = "imagenet",
                    input_tensor: Any = None, input_shape: Any = None,
                    pooling: str | None = None, classes: int = 1000,
                    classifier_activation: Any = "softmax") -> Any:
        return build_vgg(name, include_top, weights, input_tensor, input_shape, pooling, classes,
                         classifier_activation)

    constructor.__name__ = constructor.__qualname__ = name.upper()
    constructor.__doc__ = _DOC.format(title=name.upper(), name=name)
    return constructor


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """RGB to BGR, then subtracts the ImageNet channel means (Keras's "caffe" mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def build_vgg(name: str, include_top: bool = True, weights: Any = "imagenet",
              input_tensor: Any = None, input_shape: Any = None, pooling: str | None = None,
              classes: int = 1000, classifier_activation: Any = "softmax") -> Any:
    """Builds `name` ("vgg16" or "vgg19"); the arguments are those of ``VGG16``."""
    from corten.keras import backend, layers
    from corten.keras.models import Model

    imagenet_utils.check_weights_argument(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=224, min_size=32, data_format=backend.image_data_format(),
        require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.input_tensor_or_new(input_tensor, input_shape)
    x = img_input
    for block, (convs, filters) in enumerate(zip(_BLOCKS[name], (64, 128, 256, 512, 512),
                                                 strict=True), start=1):
        for i in range(1, convs + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same",
                              name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    model = Model(imagenet_utils.model_inputs(input_tensor, img_input), x, name=name)
    suffix = "" if include_top else "_notop"
    imagenet_utils.load_weights(model, weights,
                                f"{name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5", name)
    return model
