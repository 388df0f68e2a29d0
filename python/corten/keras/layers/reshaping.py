"""Reshaping layers beyond Flatten and Reshape: Permute and RepeatVector."""

from __future__ import annotations

from typing import Any

import corten
from corten.keras.layers.base_layer import Layer

__all__ = ["Permute", "RepeatVector"]


class Permute(Layer):
    """Permutes the non-batch dimensions: `dims` is a permutation of 1..rank-1
    (``Permute((2, 1))`` swaps the two dimensions after the batch one)."""

    def __init__(self, dims: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Invalid permutation argument `dims` for Permute Layer. The set of "
                             f"indices in `dims` must be consecutive and start from 1. "
                             f"Received dims={self.dims}")
        self.supports_masking = True

    def call(self, inputs: Any) -> Any:
        if inputs.ndim != len(self.dims) + 1:
            raise ValueError(f"Permute{self.dims} needs inputs of rank {len(self.dims) + 1}; "
                             f"got shape {tuple(inputs.shape)}")
        return corten.transpose(inputs, (0, *self.dims))

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = tuple(input_shape)
        return corten.TensorShape((shape[0], *(shape[d] for d in self.dims)))

    def get_config(self) -> dict:
        config = super().get_config()
        config["dims"] = self.dims
        return config


class RepeatVector(Layer):
    """Repeats a batch of vectors `n` times: (batch, features) -> (batch, n, features)."""

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n = int(n)
        if self.n < 0:
            raise ValueError(f"RepeatVector: n must be >= 0. Received: n={n}")

    def call(self, inputs: Any) -> Any:
        if inputs.ndim != 2:
            raise ValueError(f"RepeatVector needs inputs of rank 2 (batch, features); got shape "
                             f"{tuple(inputs.shape)}")
        return corten.tile(corten.expand_dims(inputs, 1), (1, self.n, 1))

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = tuple(input_shape)
        return corten.TensorShape((shape[0], self.n, shape[1]))

    def get_config(self) -> dict:
        config = super().get_config()
        config["n"] = self.n
        return config
