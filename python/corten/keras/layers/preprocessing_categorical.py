"""Categorical preprocessing layers (tf.keras 2): CategoryEncoding."""

from __future__ import annotations

from typing import Any

import numpy as np

import corten
from corten.keras.layers.base_layer import Layer
from corten.keras.layers.preprocessing_base import (
    COUNT,
    MULTI_HOT,
    ONE_HOT,
    check_index_range,
    encode_categorical,
    encoded_shape,
    validate_string_arg,
)

__all__ = ["CategoryEncoding"]


class CategoryEncoding(Layer):
    """Encodes integer features in ``[0, num_tokens)`` as one-hot, multi-hot or count vectors.

    Args:
        num_tokens: the number of tokens; inputs must lie in ``[0, num_tokens)``.
        output_mode: "one_hot" (one row per input index; a trailing axis of size 1 is
            replaced), "multi_hot" (default; "binary" is accepted as its old name) or "count"
            (how often each token occurs along the last axis).
        sparse: only False is supported (dense outputs).
        **kwargs: base Layer arguments; the dtype (default float32) is the output dtype.

    Returns:
        Called on an integer tensor of rank <= 2 (and `count_weights` of the same shape in
        count mode), a tensor with a last dimension of `num_tokens`.
    """

    def __init__(self, num_tokens: int | None = None, output_mode: str = "multi_hot",
                 sparse: bool = False, **kwargs: Any) -> None:
        if "max_tokens" in kwargs:
            num_tokens = kwargs.pop("max_tokens")
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = MULTI_HOT
        validate_string_arg(output_mode, (COUNT, ONE_HOT, MULTI_HOT), "CategoryEncoding",
                            "output_mode")
        if num_tokens is None:
            raise ValueError("CategoryEncoding: num_tokens must be set to use this layer. If "
                             "the number of tokens is not known beforehand, use the "
                             "IntegerLookup layer instead.")
        if not isinstance(num_tokens, (int, np.integer)) or num_tokens < 1:
            raise ValueError("CategoryEncoding: `num_tokens` must be an integer >= 1. "
                             f"Received: num_tokens={num_tokens}")
        if sparse:
            raise ValueError("CategoryEncoding: sparse outputs are not supported; use "
                             "sparse=False. Received: sparse=True")
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode
        self.sparse = False

    def call(self, inputs: Any, count_weights: Any = None) -> Any:
        if count_weights is not None:
            if self.output_mode != COUNT:
                raise ValueError("CategoryEncoding: `count_weights` is not used when "
                                 "`output_mode` is not 'count'. Received: "
                                 f"output_mode={self.output_mode!r}")
            count_weights = corten.convert_to_tensor(count_weights)
            if tuple(count_weights.shape) != tuple(inputs.shape):
                raise ValueError("CategoryEncoding: `count_weights` must have the inputs' "
                                 f"shape {tuple(inputs.shape)}. Received: count_weights shape="
                                 f"{tuple(count_weights.shape)}")
        if not inputs.dtype.is_integer:
            inputs = corten.cast(inputs, "int64")
        check_index_range("CategoryEncoding", inputs, self.num_tokens)
        return encode_categorical("CategoryEncoding", inputs, self.output_mode, self.num_tokens,
                                  self.compute_dtype, count_weights=count_weights)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return corten.TensorShape(encoded_shape(input_shape, self.output_mode,
                                                self.num_tokens))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"num_tokens": self.num_tokens, "output_mode": self.output_mode,
                       "sparse": self.sparse})
        return config
