"""VGG19 (``keras.applications.vgg19``)."""

from __future__ import annotations

from corten.keras.applications import imagenet_utils
from corten.keras.applications.vgg import preprocess_input, vgg_constructor

__all__ = ["VGG19", "preprocess_input", "decode_predictions"]

VGG19 = vgg_constructor("vgg19")
decode_predictions = imagenet_utils.decode_predictions
