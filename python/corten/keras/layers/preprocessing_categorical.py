"""Categorical preprocessing layers (tf.keras 2): CategoryEncoding and Hashing."""

from __future__ import annotations

from typing import Any

import numpy as np

import corten
from corten.keras.layers.base_layer import Layer
from corten.keras.layers.preprocessing_base import (
    COUNT,
    INT,
    MULTI_HOT,
    ONE_HOT,
    check_index_range,
    encode_categorical,
    encoded_shape,
    encoding_layer_kwargs,
    validate_string_arg,
)
from corten.ops.hashing import hash_bucket

__all__ = ["CategoryEncoding", "Hashing"]


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


class Hashing(Layer):
    """Hashes integer or string features into `num_bins` bins, as tf.keras 2 does: a string's
    bytes (an integer's decimal string) through FarmHash Fingerprint64, or with a `salt`
    through keyed SipHash-2-4,
    modulo the number of bins (Note [TensorFlow-compatible hashing]), so a value lands in the
    same bin as in TensorFlow.

    Args:
        num_bins: the number of bins, the mask bin included when `mask_value` is set.
        mask_value: a value that goes to bin 0 (the others hash into bins 1 to num_bins - 1).
        salt: an int or a pair of ints: use the keyed (strong) hash with this key.
        output_mode: "int" (bin indices, int64 by default), "one_hot", "multi_hot" or "count".
        sparse: only False is supported.
        **kwargs: base Layer arguments; the dtype is the output dtype.

    Returns:
        Called on an integer or string tensor, the bins (same shape) or their encoding.
    """

    def __init__(self, num_bins: int, mask_value: Any = None, salt: Any = None,
                 output_mode: str = "int", sparse: bool = False, **kwargs: Any) -> None:
        if num_bins is None or not isinstance(num_bins, (int, np.integer)) or num_bins <= 0:
            raise ValueError("The `num_bins` for `Hashing` cannot be `None` or non-positive "
                             f"values. Received: num_bins={num_bins}.")
        validate_string_arg(output_mode, (INT, ONE_HOT, MULTI_HOT, COUNT), "Hashing",
                            "output_mode")
        super().__init__(**encoding_layer_kwargs("Hashing", output_mode, sparse, kwargs))
        if salt is not None:
            if isinstance(salt, (tuple, list)) and len(salt) == 2 \
                    and all(isinstance(v, (int, np.integer)) for v in salt):
                salt = [int(v) for v in salt]
            elif isinstance(salt, (int, np.integer)) and not isinstance(salt, bool):
                salt = [int(salt), int(salt)]
            else:
                raise ValueError("The `salt` argument for `Hashing` can only be a tuple of size "
                                 f"2 integers, or a single integer. Received: salt={salt}.")
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.strong_hash = salt is not None
        self.salt = salt
        self.output_mode = output_mode
        self.sparse = False

    def call(self, inputs: Any) -> Any:
        if not (inputs.dtype.is_integer or inputs.dtype == corten.string):
            raise TypeError("Hashing: inputs must be integers or strings. Received: inputs "
                            f"dtype={inputs.dtype.name}, shape={tuple(inputs.shape)}")
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            mask = corten.equal(inputs, corten.convert_to_tensor(self.mask_value, inputs.dtype))
        hashed = hash_bucket(inputs, bins, key=self.salt)
        if mask is not None:
            hashed = corten.where(mask, corten.zeros_like(hashed), hashed + 1)
        return encode_categorical("Hashing", hashed, self.output_mode, self.num_bins,
                                  self.compute_dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return corten.TensorShape(encoded_shape(input_shape, self.output_mode, self.num_bins))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"num_bins": self.num_bins, "salt": self.salt,
                       "mask_value": self.mask_value, "output_mode": self.output_mode,
                       "sparse": self.sparse})
        return config
