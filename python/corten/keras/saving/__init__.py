"""keras.saving: whole-model files (.keras zip, tf.keras 2's HDF5 layout, and .keras files of
tf.keras 2.13+ and Keras 3), weights files (safetensors or HDF5) and the serialization of
objects to configs."""

from corten.keras.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from corten.keras.saving.saving_lib import load_model, save_model
from corten.keras.saving.serialization_lib import (
    deserialize_keras_object,
    serialize_keras_object,
)
from corten.keras.saving.weights_file import load_weights, save_weights

__all__ = ["CustomObjectScope", "custom_object_scope", "get_custom_objects",
           "get_registered_name", "get_registered_object", "register_keras_serializable",
           "load_model", "save_model", "deserialize_keras_object", "serialize_keras_object",
           "load_weights", "save_weights"]
