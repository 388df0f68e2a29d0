"""VGG16 (``keras.applications.vgg16``)."""

from __future__ import annotations

from typing import Any

from corten.keras.applications import imagenet_utils
from corten.keras.applications.vgg import build_vgg

__all__ = ["VGG16", "preprocess_input", "decode_predictions"]


def VGG16(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,  # noqa: N802
          input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
          classifier_activation: Any = "softmax") -> Any:
    """Instantiates the VGG16 architecture (tf.keras 2's layers and names).

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
        A functional `keras.Model` named "vgg16".

    Raises:
        ValueError: for invalid `weights`, `classes` or `input_shape`.
        OSError: when `weights="imagenet"` and the file is neither cached nor downloadable.
    """
    return build_vgg("vgg16", include_top, weights, input_tensor, input_shape, pooling, classes,
                     classifier_activation)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """RGB to BGR, then subtracts the ImageNet channel means (Keras's "caffe" mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


decode_predictions = imagenet_utils.decode_predictions
