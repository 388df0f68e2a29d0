"""keras.layers."""

from corten.keras.engine.input_layer import Input, InputLayer
from corten.keras.layers.activation_layers import (
    ELU,
    LeakyReLU,
    PReLU,
    ReLU,
    Softmax,
    ThresholdedReLU,
)
from corten.keras.layers.attention import AdditiveAttention, Attention
from corten.keras.layers.base_layer import Layer
from corten.keras.layers.batch_normalization import BatchNormalization
from corten.keras.layers.convolutional import (
    Conv1D,
    Conv1DTranspose,
    Conv2D,
    Conv2DTranspose,
    Conv3D,
    Conv3DTranspose,
    Convolution1D,
    Convolution1DTranspose,
    Convolution2D,
    Convolution2DTranspose,
    Convolution3D,
    Convolution3DTranspose,
)
from corten.keras.layers.convolutional_depthwise import (
    DepthwiseConv1D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
    SeparableConvolution1D,
    SeparableConvolution2D,
)
from corten.keras.layers.core import Activation, Dense, Dropout, Flatten, Identity, Lambda, Reshape
from corten.keras.layers.einsum_dense import EinsumDense
from corten.keras.layers.embedding import Embedding, Masking
from corten.keras.layers.image_preprocessing import (
    CenterCrop,
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    Rescaling,
    Resizing,
)
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
from corten.keras.layers.multi_head_attention import MultiHeadAttention
from corten.keras.layers.normalization import (
    GroupNormalization,
    LayerNormalization,
    UnitNormalization,
)
from corten.keras.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
    AvgPool1D,
    AvgPool2D,
    AvgPool3D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
    GlobalAvgPool1D,
    GlobalAvgPool2D,
    GlobalAvgPool3D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GlobalMaxPool3D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
    MaxPool1D,
    MaxPool2D,
    MaxPool3D,
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
)
from corten.keras.layers.preprocessing_categorical import CategoryEncoding, Hashing
from corten.keras.layers.preprocessing_lookup import IntegerLookup, StringLookup
from corten.keras.layers.preprocessing_text import TextVectorization
from corten.keras.layers.preprocessing_numeric import Discretization, Normalization
from corten.keras.layers.recurrent import GRU, LSTM, RNN, SimpleRNN
from corten.keras.layers.recurrent_cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from corten.keras.layers.regularization import (
    ActivityRegularization,
    AlphaDropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from corten.keras.layers.reshaping import Permute, RepeatVector
from corten.keras.layers.spatial_reshaping import (
    Cropping1D,
    Cropping2D,
    Cropping3D,
    UpSampling1D,
    UpSampling2D,
    UpSampling3D,
    ZeroPadding1D,
    ZeroPadding2D,
    ZeroPadding3D,
)
from corten.keras.layers.wrappers import Bidirectional, TimeDistributed

__all__ = ["Layer", "ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax", "ThresholdedReLU",
           "Activation", "Dense", "Dropout", "Flatten", "Identity", "Lambda", "Reshape",
           "Embedding", "Masking", "Add", "Average", "Concatenate", "Dot", "Maximum", "Minimum",
           "Multiply", "Subtract", "add", "average", "concatenate", "dot", "maximum", "minimum",
           "multiply", "subtract", "LayerNormalization", "AlphaDropout", "GaussianDropout",
           "ActivityRegularization", "GaussianNoise", "SpatialDropout1D", "SpatialDropout2D",
           "SpatialDropout3D", "Permute",
           "RepeatVector", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
           "AvgPool1D", "AvgPool2D", "AvgPool3D", "GlobalAveragePooling1D",
           "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalAvgPool1D",
           "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D",
           "GlobalMaxPool3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
           "MaxPool1D", "MaxPool2D", "MaxPool3D", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
           "Cropping1D", "Cropping2D", "Cropping3D", "UpSampling1D", "UpSampling2D",
           "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "DepthwiseConv1D",
           "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D",
           "SeparableConvolution2D", "BatchNormalization", "GroupNormalization",
           "UnitNormalization", "GRU", "LSTM", "RNN", "SimpleRNN", "GRUCell", "LSTMCell",
           "SimpleRNNCell", "StackedRNNCells", "Bidirectional", "TimeDistributed", "Input",
           "InputLayer", "Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Conv3D",
           "Conv3DTranspose", "Convolution1D", "Convolution1DTranspose", "Convolution2D",
           "Convolution2DTranspose", "Convolution3D", "Convolution3DTranspose", "serialize",
           "deserialize"]
__all__ += ["Normalization", "CategoryEncoding", "Discretization", "IntegerLookup", "StringLookup",
            "TextVectorization",
            "Hashing"]
__all__ += ["AdditiveAttention", "Attention", "EinsumDense", "MultiHeadAttention"]
__all__ += ["CenterCrop", "RandomBrightness", "RandomContrast", "RandomCrop", "RandomFlip",
            "RandomRotation", "RandomTranslation", "RandomZoom", "Rescaling", "Resizing"]

# keras.layers.experimental (EinsumDense and the preprocessing layers' older paths), imported
# last: it re-exports the classes above.
from corten.keras.layers import experimental  # noqa: E402, F401


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
