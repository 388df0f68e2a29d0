"""Core layers: Dense, Dropout, Activation, Flatten, Reshape, Lambda, Identity."""

from __future__ import annotations

import math
from typing import Any

import corten
from corten.keras import activations, constraints, initializers, regularizers
from corten.keras.layers.base_layer import Layer
from corten.ops import linalg as _linalg

Tensor = corten.Tensor

__all__ = ["Dense", "Dropout", "Activation", "Flatten", "Reshape", "Lambda", "Identity"]

# activation functions with a fused kernel in the matmul epilogue, from the C++ op's own list
_FUSED = {activations.get(name): name for name in _linalg.FUSED_ACTIVATIONS}


class Dense(Layer):
    """Densely-connected layer: ``activation(inputs @ kernel + bias)``.

    Args:
        units: output size.
        activation: a name or callable (None: linear).
        use_bias: whether to add a bias.
        kernel_initializer, bias_initializer: initializers (glorot_uniform and zeros).
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties added to losses.
        kernel_constraint, bias_constraint: projections applied after optimizer updates.
    """

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        units = int(units) if not isinstance(units, int) else units
        if units <= 0:
            raise ValueError(f"Received an invalid value for `units`, expected a positive "
                             f"integer. Received: units={units}")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        last = input_shape[-1] if len(input_shape) else None
        if last is None:
            raise ValueError(f"The last dimension of the inputs to a Dense layer should be "
                             f"defined. Found None. Full input shape received: {input_shape}")
        self.kernel = self.add_weight("kernel", shape=(last, self.units),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, dtype=self.dtype,
                                      trainable=True)
        if self.use_bias:
            self.bias = self.add_weight("bias", shape=(self.units,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, dtype=self.dtype,
                                        trainable=True)
        else:
            self.bias = None
        self.built = True

    def call(self, inputs: Any) -> Any:
        shape = inputs._shape_tuple if type(inputs) is Tensor else tuple(inputs.shape)
        in_dim = self.kernel._shape_tuple[0]
        if len(shape) < 2 or (shape[-1] is not None and shape[-1] != in_dim):
            raise ValueError(
                f"Input 0 of layer {self.name!r} is incompatible with the layer: expected axis -1 "
                f"of input shape to have value {in_dim}, but received input with "
                f"shape {shape}")
        fused = _FUSED.get(self.activation)
        if fused is not None:
            return _linalg.linear(inputs, self.kernel, self.bias, fused)
        out = corten.matmul(inputs, self.kernel)  # batch dimensions broadcast
        if self.bias is not None:
            out = out + self.bias
        return self.activation(out)

    def compute_output_shape(self, input_shape):
        return corten.TensorShape(tuple(input_shape)[:-1] + (self.units,))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "units": self.units,
            **_kernel_bias_config(self),
        })
        return config


def _maybe(fn, value):
    return None if value is None else fn(value)


def _kernel_bias_config(layer: Layer) -> dict:
    """The config entries of a kernel-and-bias layer's (Dense's, Conv's) activation, use_bias
    and kernel/bias initializers, regularizers and constraints, in Keras's key order.

    Args:
        layer: the layer.

    Returns:
        A dict for get_config.
    """
    return {
        "activation": activations.serialize(layer.activation),
        "use_bias": layer.use_bias,
        "kernel_initializer": initializers.serialize(layer.kernel_initializer),
        "bias_initializer": initializers.serialize(layer.bias_initializer),
        "kernel_regularizer": _maybe(regularizers.serialize, layer.kernel_regularizer),
        "bias_regularizer": _maybe(regularizers.serialize, layer.bias_regularizer),
        "activity_regularizer": _maybe(regularizers.serialize, layer.activity_regularizer),
        "kernel_constraint": _maybe(constraints.serialize, layer.kernel_constraint),
        "bias_constraint": _maybe(constraints.serialize, layer.bias_constraint),
    }


class Dropout(Layer):
    """Randomly sets a fraction ``rate`` of inputs to 0 during training, scaling the rest by
    1/(1-rate); the identity at inference."""

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float value "
                             f"between 0 and 1. Received: rate={rate}")
        self.rate = rate
        self.noise_shape = noise_shape
        self.seed = seed
        self.supports_masking = True

    def call(self, inputs: Any, training: Any = None) -> Any:
        if not training or self.rate == 0:
            return corten.identity(inputs)
        if self.rate == 1:
            return corten.zeros_like(inputs)
        noise_shape = self.noise_shape
        if noise_shape is not None:
            dyn = corten.shape(inputs).numpy().tolist()
            noise_shape = [dyn[i] if d is None else d for i, d in enumerate(noise_shape)]
        return corten.nn.dropout(inputs, rate=self.rate, noise_shape=noise_shape, seed=self.seed)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed})
        return config


class Activation(Layer):
    """Applies an activation function."""

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs: Any) -> Any:
        return self.activation(inputs)

    def get_config(self) -> dict:
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class Flatten(Layer):
    """Flattens all but the batch dimension."""

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = data_format

    def call(self, inputs: Any) -> Any:
        if inputs.ndim <= 1:
            return corten.expand_dims(inputs, -1)
        rest = inputs.shape[1:]
        n = math.prod(rest) if all(d is not None for d in rest) else -1
        if n > 0:
            # The batch as -1: the same op at every batch size, so traced plans relax.
            return corten.reshape(inputs, (-1, n))
        return corten.reshape(inputs, (-1 if inputs.shape[0] is None else inputs.shape[0], n)) \
            if inputs.device == "meta" else corten.reshape(inputs, (inputs.shape[0], -1))

    def get_config(self) -> dict:
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class Reshape(Layer):
    """Reshapes the non-batch dimensions to ``target_shape`` (one entry may be -1)."""

    def __init__(self, target_shape: tuple, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def call(self, inputs: Any) -> Any:
        batch = inputs.shape[0]
        target = self.target_shape
        rest = tuple(inputs.shape[1:])
        if batch is None and -1 in target and None not in rest:
            # An unknown batch and a -1 would leave two unknowns: the -1 follows from the
            # known dimensions (the size check stays with reshape).
            known = math.prod(d for d in target if d != -1)
            size = math.prod(rest)
            if known > 0 and size % known == 0:
                target = tuple(size // known if d == -1 else d for d in target)
        if -1 not in target and math.prod(target) > 0:
            batch = None  # -1: the same op at every batch size, so traced plans relax
        return corten.reshape(inputs, (-1 if batch is None else batch,) + target)

    def get_config(self) -> dict:
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config


class Lambda(Layer):
    """Wraps a Python function of tensors as a layer.

    Its config names the function; loading finds it by that name among the `custom_objects`
    (or registered objects), never by running code from the file, so a Lambda of a named
    function saves and loads, and a Lambda of a ``lambda`` expression cannot be saved (Note
    [Safe deserialization]).
    """

    def __init__(self, function: Any, output_shape: Any = None, mask: Any = None,
                 arguments: dict | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.function = function
        self._output_shape = output_shape
        self.arguments = arguments or {}

    def call(self, inputs: Any) -> Any:
        return self.function(inputs, **self.arguments)

    def get_config(self) -> dict:
        name = getattr(self.function, "__name__", None)
        if name is None or name == "<lambda>":
            raise NotImplementedError(
                f"Layer {self.name!r} wraps a lambda expression, which cannot be saved without "
                "saving Python code; define the function with `def`, and pass it in "
                "`custom_objects` when loading, or write a Layer subclass with get_config().")
        from corten.keras.saving import serialization_lib  # saving sits above layers

        config = super().get_config()
        config.update({"function": serialization_lib.serialize_keras_object(self.function),
                       "output_shape": self._output_shape, "arguments": self.arguments})
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Lambda:
        from corten.keras.saving import serialization_lib

        config = dict(config)
        config["function"] = serialization_lib.deserialize_keras_object(
            config["function"], custom_objects=custom_objects)
        return cls(**config)


class Identity(Layer):
    """Returns its input."""

    def call(self, inputs: Any) -> Any:
        return inputs


