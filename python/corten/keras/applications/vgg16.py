"""VGG16 (``keras.applications.vgg16``)."""

from __future__ import annotations

from corten.keras.applications import imagenet_utils
from corten.keras.applications.vgg import preprocess_input, vgg_constructor

__all__ = ["VGG16", "preprocess_input", "decode_predictions"]

VGG16 = vgg_constructor("vgg16")
decode_predictions = imagenet_utils.decode_predictions
