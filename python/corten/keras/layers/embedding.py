"""Embedding and Masking: integer ids to vectors, and masks from padding values."""

from __future__ import annotations

from typing import Any

import corten
from corten.keras import constraints, initializers, regularizers
from corten.keras.layers.base_layer import Layer

__all__ = ["Embedding", "Masking"]


class Embedding(Layer):
    """Turns integer ids into dense vectors: row ``id`` of an ``(input_dim, output_dim)`` table.

    The forward is a C++ gather and its gradient a scatter-add into the table. An id outside
    ``[0, input_dim)`` raises an error naming the id, its position and input_dim, on every
    device (tf.keras errors on CPU and returns zeros on GPU).

    Args:
        input_dim: the vocabulary size (largest id + 1).
        output_dim: the size of each vector.
        embeddings_initializer, embeddings_regularizer, embeddings_constraint: of the table.
        activity_regularizer: a penalty on the output.
        mask_zero: whether id 0 is padding: the output then carries the mask ``ids != 0``
            (and input_dim must leave room for it).
        input_length: the length of the sequences, when fixed (for the output shape of
            Flatten/Dense after it).
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, activity_regularizer: Any = None,
                 embeddings_constraint: Any = None, mask_zero: bool = False,
                 input_length: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("autocast", False)
        if input_length is not None and "input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if int(input_dim) <= 0 or int(output_dim) <= 0:
            raise ValueError(f"Both `input_dim` and `output_dim` should be positive, Received "
                             f"input_dim = {input_dim} and output_dim = {output_dim}")
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.input_length = input_length

    def build(self, input_shape: Any) -> None:
        self.embeddings = self.add_weight(
            name="embeddings", shape=(self.input_dim, self.output_dim),
            initializer=self.embeddings_initializer, regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint, experimental_autocast=False)
        self.built = True

    def call(self, inputs: Any) -> Any:
        if not inputs.dtype.is_integer:
            inputs = corten.cast(inputs, "int32")
        out = corten.gather(self.embeddings, inputs)
        # Under a mixed policy the rows looked up are cast, not the whole table, as tf.keras
        # does: the same values, and the table's gradient stays in its own dtype.
        if self.compute_dtype != self.variable_dtype:
            out = corten.cast(out, self.compute_dtype)
        return out

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if not self.mask_zero:
            return None
        return corten.not_equal(inputs, corten.cast(0, inputs.dtype))

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = tuple(input_shape)
        if self.input_length is None:
            return corten.TensorShape(shape + (self.output_dim,))
        # As tf.keras: input_length fills in the unknown sequence dimensions and must agree
        # with the known ones.
        lengths = list(self.input_length) if isinstance(self.input_length, (list, tuple)) \
            else [self.input_length]
        if len(lengths) != len(shape) - 1:
            raise ValueError(f'"input_length" is {self.input_length}, but received input has '
                             f"shape {shape}")
        for i, (given, seen) in enumerate(zip(lengths, shape[1:], strict=True)):
            if given is not None and seen is not None and given != seen:
                raise ValueError(f'"input_length" is {self.input_length}, but received input '
                                 f"has shape {shape}")
            if given is None:
                lengths[i] = seen
        return corten.TensorShape((shape[0], *lengths, self.output_dim))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "input_dim": self.input_dim, "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": None if self.embeddings_regularizer is None
            else regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": None if self.activity_regularizer is None
            else regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": None if self.embeddings_constraint is None
            else constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero, "input_length": self.input_length,
        })
        return config


class Masking(Layer):
    """Masks the time steps whose features all equal `mask_value` (they are zeroed, and the
    output carries the mask for the layers after it).

    Args:
        mask_value: the padding value.
    """

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return corten.reduce_any(corten.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs: Any) -> Any:
        keep = self.compute_mask(inputs)
        return corten.multiply(inputs, corten.cast(corten.expand_dims(keep, -1), inputs.dtype))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return corten.TensorShape(tuple(input_shape))

    def get_config(self) -> dict:
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config
