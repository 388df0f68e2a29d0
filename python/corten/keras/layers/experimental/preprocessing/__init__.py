"""keras.layers.experimental.preprocessing: tf.keras 2's aliases of the preprocessing layers."""

from corten.keras.layers.image_preprocessing import (
    CenterCrop,
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    Rescaling,
    Resizing,
)
from corten.keras.layers.preprocessing_categorical import CategoryEncoding, Hashing
from corten.keras.layers.preprocessing_lookup import IntegerLookup, StringLookup
from corten.keras.layers.preprocessing_numeric import Discretization, Normalization
from corten.keras.layers.preprocessing_text import TextVectorization

__all__ = ["CategoryEncoding", "Discretization", "Hashing", "IntegerLookup", "Normalization",
           "StringLookup", "TextVectorization",
           "CenterCrop", "RandomContrast", "RandomCrop", "RandomFlip", "RandomRotation",
           "RandomTranslation", "RandomZoom", "Rescaling", "Resizing"]
