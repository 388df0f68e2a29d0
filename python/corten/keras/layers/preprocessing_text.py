"""TextVectorization (tf.keras 2): strings to token indices or token-count vectors.

Standardization, splitting, n-grams and the vocabulary lookup all run as corten string ops in
C++; the vocabulary is a StringLookup's and travels in the config, so a saved model keeps it
without executing code on load.
"""

from __future__ import annotations

from typing import Any

import corten
from corten.keras.layers.preprocessing_base import (
    COUNT,
    INT,
    MULTI_HOT,
    TF_IDF,
    PreprocessingLayer,
    encoded_shape,
    validate_string_arg,
)
from corten.keras.layers.preprocessing_lookup import StringLookup
from corten.keras.saving.serialization_lib import (
    deserialize_keras_object,
    serialize_keras_object,
)

__all__ = ["TextVectorization"]

LOWER_AND_STRIP_PUNCTUATION = "lower_and_strip_punctuation"
STRIP_PUNCTUATION = "strip_punctuation"
LOWER = "lower"
WHITESPACE = "whitespace"
CHARACTER = "character"

# tf.keras 2's punctuation class (string.punctuation).
DEFAULT_STRIP_REGEX = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'


class TextVectorization(PreprocessingLayer):
    """Maps text to integer sequences or to multi-hot, count or tf-idf vectors
    (tf.keras 2 semantics).

    Each string is standardized (lower-cased and stripped of punctuation by default), split
    into tokens (on whitespace by default), optionally combined into n-grams, and looked up in
    a vocabulary given or learned by ``adapt``. Index 0 is the padding/mask token ``""`` and
    index 1 the OOV token ``"[UNK]"`` in "int" mode.

    Args:
        max_tokens: the largest vocabulary size, special tokens included (None: no limit).
        standardize: "lower_and_strip_punctuation", "lower", "strip_punctuation", None, or a
            callable taking and returning a string tensor.
        split: "whitespace", "character", None, or a callable taking a 1-D string tensor and
            returning the tokens of each string (a RaggedTensor, as ``corten.strings.split``).
        ngrams: None, an int n (n-grams of widths 1..n) or a tuple of widths.
        output_mode: "int", "multi_hot", "count" or "tf_idf".
        output_sequence_length: for "int": pad or cut each sequence to this length.
        pad_to_max_tokens: make the encoded outputs `max_tokens` wide.
        vocabulary: a list of strings or a path to a text file with one token per line.
        idf_weights: the inverse document frequencies for tf_idf (with `vocabulary`).
        sparse: only False is supported.
        ragged: for "int": return a RaggedTensor of each string's indices.
        encoding: the text encoding ("utf-8").
        **kwargs: base Layer arguments; the dtype, the inputs', can only be "string".

    Returns:
        Called on a string tensor of shape (batch,) or (batch, 1): int64 indices of shape
        (batch, sequence length), or float vectors of shape (batch, vocabulary size).
    """

    def __init__(self, max_tokens: int | None = None,
                 standardize: Any = LOWER_AND_STRIP_PUNCTUATION, split: Any = WHITESPACE,
                 ngrams: Any = None, output_mode: str = INT,
                 output_sequence_length: int | None = None, pad_to_max_tokens: bool = False,
                 vocabulary: Any = None, idf_weights: Any = None, sparse: bool = False,
                 ragged: bool = False, encoding: str = "utf-8", **kwargs: Any) -> None:
        name = "TextVectorization"
        if output_mode == "binary":
            output_mode = MULTI_HOT
        if output_mode == "tf-idf":
            output_mode = TF_IDF
        # The layer's dtype is its inputs' (as tf.keras 2); the lookup's is the output's.
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "string"
        elif corten.as_dtype(kwargs["dtype"]) != corten.string:
            raise ValueError("`TextVectorization` may only have a dtype of string. Received "
                             f"dtype: {kwargs['dtype']}.")
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        super().__init__(**kwargs)
        if not callable(standardize):
            validate_string_arg(standardize, (LOWER_AND_STRIP_PUNCTUATION, LOWER,
                                              STRIP_PUNCTUATION, None), name, "standardize")
        if not callable(split):
            validate_string_arg(split, (WHITESPACE, CHARACTER, None), name, "split")
        if output_mode is not None:
            validate_string_arg(output_mode, (INT, COUNT, MULTI_HOT, TF_IDF), name,
                                "output_mode")
        if not (ngrams is None or (isinstance(ngrams, int) and not isinstance(ngrams, bool))
                or (isinstance(ngrams, tuple) and all(isinstance(n, int) for n in ngrams))):
            raise ValueError("`ngrams` must be None, an integer, or a tuple of integers. "
                             f"Received: ngrams={ngrams}")
        if not (output_sequence_length is None or isinstance(output_sequence_length, int)):
            raise ValueError("`output_sequence_length` must be either None or an integer "
                             f"when `output_mode` is 'int'. Received: output_sequence_length="
                             f"{output_sequence_length}")
        if output_mode != INT and output_sequence_length is not None:
            raise ValueError("`output_sequence_length` must not be set if `output_mode` is "
                             f"not 'int'. Received output_sequence_length="
                             f"{output_sequence_length}.")
        if ragged and output_mode != INT:
            raise ValueError("`ragged` must not be true if `output_mode` is `'int'`. "
                             f"Received: ragged={ragged} and output_mode={output_mode}")
        if ragged and output_sequence_length is not None:
            raise ValueError("`output_sequence_length` must not be set if ragged is True. "
                             f"Received: ragged={ragged} and output_sequence_length="
                             f"{output_sequence_length}")
        self._standardize = standardize
        self._split = split
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._ragged = bool(ragged)
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._encoding = encoding
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="",
            output_mode=output_mode if output_mode is not None else INT, sparse=sparse,
            encoding=encoding, vocabulary_size=vocabulary_size)

    # ---------------------------------------------------------------- vocabulary
    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        """The token of every index ("" and "[UNK]" first in "int" mode)."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        """The number of indices, special ones included."""
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Sets the vocabulary (a list of strings or a file path) and, for tf_idf, the idf
        weights."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    def update_state(self, data: Any) -> None:
        """Counts the tokens of one batch of strings."""
        self._lookup_layer.update_state(self._preprocess(data))

    def finalize_state(self) -> None:
        """Builds the vocabulary from the counts (most frequent first)."""
        self._lookup_layer.finalize_state()

    def reset_state(self) -> None:
        """Forgets the counts gathered by ``update_state``."""
        self._lookup_layer.reset_state()

    # ---------------------------------------------------------------- call
    def _preprocess(self, inputs: Any) -> Any:
        if isinstance(inputs, corten.Tensor) and inputs.dtype != corten.string:
            raise TypeError("TextVectorization: inputs must be strings. Received: inputs dtype="
                            f"{inputs.dtype.name}, shape={tuple(inputs.shape)}")
        inputs = corten.convert_to_tensor(inputs, dtype="string")
        if self._standardize in (LOWER, LOWER_AND_STRIP_PUNCTUATION):
            inputs = corten.strings.lower(inputs)
        if self._standardize in (STRIP_PUNCTUATION, LOWER_AND_STRIP_PUNCTUATION):
            inputs = corten.strings.regex_replace(inputs, DEFAULT_STRIP_REGEX, "")
        if callable(self._standardize):
            inputs = self._standardize(inputs)
        if self._split is not None:
            if inputs.ndim > 1:
                if inputs.shape[-1] != 1:
                    raise ValueError("When using `TextVectorization` to tokenize strings, the "
                                     "input rank must be 1 or the last shape dimension must be "
                                     f"1. Received: inputs.shape={tuple(inputs.shape)} with "
                                     f"rank={inputs.ndim}")
                inputs = corten.squeeze(inputs, axis=-1)
            if self._split == WHITESPACE:
                inputs = corten.strings.split(inputs)
            elif self._split == CHARACTER:
                inputs = corten.strings.unicode_split(inputs, "UTF-8")
            else:
                inputs = self._split(inputs)
        if self._ngrams is not None:
            inputs = corten.strings.ngrams(inputs, ngram_width=self._ngrams, separator=" ")
        return inputs

    def call(self, inputs: Any) -> Any:
        inputs = self._preprocess(inputs)
        if self._output_mode is None:
            return inputs
        lookups = self._lookup_layer.call(inputs)
        if self._output_mode != INT or self._ragged:
            return lookups
        length = self._output_sequence_length
        if isinstance(lookups, corten.RaggedTensor):
            return lookups.to_tensor(0, shape=(None, length))
        if length is None:
            return lookups
        # Dense tokens (no split): cut, then pad the last axis to the sequence length.
        lookups = lookups[..., :length]
        missing = length - int(lookups.shape[-1])
        if missing > 0:
            paddings = [[0, 0]] * (lookups.ndim - 1) + [[0, missing]]
            lookups = corten.pad(lookups, paddings)
        return lookups

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = tuple(input_shape)
        if self._output_mode == INT:
            if self._split is None:
                return corten.TensorShape(shape)
            return corten.TensorShape((shape[0] if shape else None,
                                       self._output_sequence_length))
        return corten.TensorShape(encoded_shape((shape[0] if shape else None, None),
                                                self._output_mode,
                                                self._lookup_layer._depth()))

    def get_config(self) -> dict:
        config = super().get_config()
        lookup = self._lookup_layer.get_config()
        config.update({
            "max_tokens": lookup["max_tokens"],
            "standardize": serialize_keras_object(self._standardize)
            if callable(self._standardize) else self._standardize,
            "split": serialize_keras_object(self._split) if callable(self._split)
            else self._split,
            "ngrams": self._ngrams_arg,
            "output_mode": self._output_mode,
            "output_sequence_length": self._output_sequence_length,
            "pad_to_max_tokens": lookup["pad_to_max_tokens"],
            "sparse": False,
            "ragged": self._ragged,
            "vocabulary": lookup["vocabulary"],
            "idf_weights": lookup["idf_weights"],
            "encoding": self._encoding,
            "vocabulary_size": lookup["vocabulary_size"],
        })
        return config

    @classmethod
    def from_config(cls, config: dict) -> TextVectorization:
        config = dict(config)
        if config.get("standardize") not in (LOWER_AND_STRIP_PUNCTUATION, LOWER,
                                             STRIP_PUNCTUATION, None):
            config["standardize"] = deserialize_keras_object(config["standardize"])
        if config.get("split") not in (WHITESPACE, CHARACTER, None):
            config["split"] = deserialize_keras_object(config["split"])
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        return cls(**config)
