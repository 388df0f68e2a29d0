"""keras.layers."""

from corten.keras.layers.base_layer import Layer
from corten.keras.layers.activation_layers import (
    ELU,
    LeakyReLU,
    PReLU,
    ReLU,
    Softmax,
    ThresholdedReLU,
)
from corten.keras.layers.core import Activation, Dense, Dropout, Flatten, Identity, Lambda, Reshape
from corten.keras.layers.embedding import Embedding, Masking
from corten.keras.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from corten.keras.layers.normalization import LayerNormalization
from corten.keras.layers.regularization import (
    AlphaDropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from corten.keras.layers.reshaping import Permute, RepeatVector
from corten.keras.layers.recurrent import GRU, LSTM, RNN, SimpleRNN
from corten.keras.layers.recurrent_cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from corten.keras.layers.wrappers import Bidirectional, TimeDistributed
from corten.keras.engine.input_layer import Input, InputLayer

__all__ = ["Layer", "Dense", "Dropout", "Activation", "Flatten", "Reshape", "Lambda", "Identity",
           "Embedding", "Masking", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
           "Concatenate", "Dot", "add", "subtract", "multiply", "average", "maximum", "minimum",
           "concatenate", "dot", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax",
           "ThresholdedReLU", "Permute", "RepeatVector", "GaussianNoise", "GaussianDropout",
           "AlphaDropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "LayerNormalization", "Input", "InputLayer", "serialize", "deserialize",
           "RNN", "SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell",
           "StackedRNNCells", "Bidirectional", "TimeDistributed"]


def serialize(layer: Layer) -> dict:
    """``{"module", "class_name", "config", "registered_name"}`` for a layer (Keras 2.13+)."""
    from corten.keras.saving import serialization_lib  # saving sits above layers

    return serialization_lib.serialize_keras_object(layer)


def deserialize(config: dict, custom_objects: dict | None = None, **kwargs) -> Layer:
    """A layer from ``serialize``'s output (or a legacy ``{"class_name", "config"}`` dict).

    Raises:
        ValueError: for an unknown class (naming it and the fix) or a config that is not a
            layer's.
    """
    from corten.keras.saving import serialization_lib

    return serialization_lib.deserialize_layer(config, custom_objects=custom_objects)
