"""keras.utils."""

from __future__ import annotations

import random as _random

import numpy as _np

import corten
from corten.keras.datasets._download import get_file
from corten.keras.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from corten.keras.saving.serialization_lib import (
    deserialize_keras_object,
    serialize_keras_object,
)
from corten.keras.utils.data_utils import pad_sequences, to_categorical
from corten.keras.utils.image_dataset import image_dataset_from_directory
from corten.keras.utils.image_utils import array_to_img, img_to_array, load_img, save_img
from corten.keras.utils.layer_utils import get_source_inputs
from corten.keras.utils.progbar import Progbar
from corten.keras.utils.text_dataset import text_dataset_from_directory
from corten.keras.utils.timeseries import timeseries_dataset_from_array
from corten.keras.utils.vis_utils import model_to_dot, plot_model

__all__ = ["set_random_seed", "Progbar", "get_file", "CustomObjectScope", "custom_object_scope",
           "get_custom_objects", "get_registered_name", "get_registered_object",
           "register_keras_serializable", "serialize_keras_object", "deserialize_keras_object",
           "plot_model", "model_to_dot", "to_categorical", "pad_sequences", "get_source_inputs"]
__all__ += ["timeseries_dataset_from_array"]
__all__ += ["image_dataset_from_directory", "load_img", "img_to_array", "array_to_img",
            "save_img", "text_dataset_from_directory"]


def set_random_seed(seed: int) -> None:
    """Seeds Python's random, numpy and corten (initializers, dropout, shuffling)."""
    if not isinstance(seed, int):
        raise ValueError(f"set_random_seed: expected an integer. Received: seed={seed!r}")
    _random.seed(seed)
    _np.random.seed(seed % (2**32))
    corten.random.set_seed(seed)
