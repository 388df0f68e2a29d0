"""corten.keras: the tf.keras API (Keras 2 semantics) on corten tensors.

    from corten import keras
    from corten.keras import layers
"""

from corten.keras import (
    activations,
    applications,
    backend,
    callbacks,
    constraints,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    mixed_precision,
    optimizers,
    preprocessing,
    regularizers,
    saving,
    utils,
)
from corten.keras.engine.input_layer import Input
from corten.keras.layers import InputLayer, Layer
from corten.keras.models import Model, Sequential

__all__ = ["activations", "applications", "backend", "callbacks", "constraints", "datasets",
           "initializers", "layers", "losses", "metrics", "mixed_precision", "optimizers",
           "preprocessing", "regularizers", "saving", "utils", "Input", "InputLayer", "Layer",
           "Model", "Sequential"]
