"""IntegerLookup and StringLookup (tf.keras 2): map integer or string tokens to contiguous
indices through a vocabulary that is given or learned by ``adapt``.

The vocabulary lives in the layer's config (``vocabulary``, with the special tokens in front,
and ``idf_weights`` for tf_idf), so a saved model keeps it without executing code on load.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

import corten
from corten.keras.layers.preprocessing_base import (
    COUNT,
    INT,
    MULTI_HOT,
    ONE_HOT,
    TF_IDF,
    PreprocessingLayer,
    encode_categorical,
    encoded_shape,
    is_concrete,
    listify,
    validate_string_arg,
)
from corten.ops.hashing import sorted_lookup

__all__ = ["IntegerLookup", "StringLookup"]

_INT64_MAX = np.iinfo(np.int64).max


def _full_like(x: Any, value: int) -> Any:
    """An int64 tensor of x's shape filled with value (also for symbolic shapes)."""
    return corten.zeros_like(x, dtype="int64") + corten.constant(value, "int64")


class IndexLookup(PreprocessingLayer):
    """What IntegerLookup and StringLookup share: the index layout, the vocabulary, adapt and
    the encodings. Subclasses say how tokens are read, counted, hashed and compared."""

    _KEY_DTYPE = "int64"

    def _init_lookup(self, max_tokens: int | None, num_oov_indices: int, mask_token: Any,
                     oov_token: Any, vocabulary: Any, idf_weights: Any, invert: bool,
                     output_mode: str, sparse: bool, pad_to_max_tokens: bool,
                     kwargs: dict) -> None:
        name = type(self).__name__
        frozen_size = kwargs.pop("vocabulary_size", None)
        kwargs.pop("has_input_vocabulary", None)
        kwargs.pop("has_static_table", None)
        if output_mode == "binary":
            output_mode = MULTI_HOT
        if output_mode == "tf-idf":
            output_mode = TF_IDF
        if output_mode != INT and kwargs.get("dtype") in ("int64", corten.int64):
            del kwargs["dtype"]
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == INT else "float32"
        PreprocessingLayer.__init__(self, **kwargs)
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"If `max_tokens` is set for `{name}`, it must be greater than 1. "
                             f"Received: max_tokens={max_tokens}.")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{name}: if pad_to_max_tokens is True, must set `max_tokens`. "
                             f"Received: max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError(f"The value of `num_oov_indices` argument for `{name}` must >= 0."
                             f" Received num_oov_indices={num_oov_indices}.")
        validate_string_arg(output_mode, (INT, ONE_HOT, MULTI_HOT, COUNT, TF_IDF), name,
                            "output_mode")
        if invert and output_mode != INT:
            raise ValueError(f"{name}: `output_mode` must be 'int' when `invert` is true. "
                             f"Received: output_mode={output_mode}")
        if sparse:
            raise ValueError(f"{name}: sparse outputs are not supported; use sparse=False. "
                             "Received: sparse=True")
        if idf_weights is not None and output_mode != TF_IDF:
            raise ValueError(f"{name}: `idf_weights` should only be set if `output_mode` is "
                             f"'tf_idf'. Received: output_mode={output_mode}")
        if output_mode == INT and not corten.as_dtype(self.compute_dtype).is_integer:
            raise ValueError(f"{name}: when `output_mode='int'`, `dtype` should be an integer "
                             f"type. Received: dtype={self.compute_dtype}")
        self.invert = bool(invert)
        self.max_tokens = max_tokens
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = None if mask_token is None else self._token(mask_token)
        self.oov_token = None if oov_token is None else self._token(oov_token)
        self.output_mode = output_mode
        self.sparse = False
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.input_vocabulary = listify(vocabulary)
        self.input_idf_weights = listify(idf_weights)
        self._has_input_vocabulary = vocabulary is not None
        self._frozen_vocab_size = frozen_size
        self._tokens: list = []
        self._idf: Any = None
        self.reset_state()
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ---------------------------------------------------------------- token kind
    def _token(self, value: Any) -> Any:
        """A token as the vocabulary holds it."""
        raise NotImplementedError

    def _read_vocabulary_file(self, path: str) -> list:
        raise NotImplementedError

    def _tokens_of(self, vocabulary: Any) -> list:
        """The tokens of a vocabulary argument (list, array or tensor)."""
        raise NotImplementedError

    def _check_inputs(self, inputs: Any) -> Any:
        raise NotImplementedError

    def _oov_buckets(self, inputs: Any) -> Any:
        """The OOV index offset of each input when there are several OOV indices."""
        raise NotImplementedError

    def _batch_counts(self, data: Any) -> tuple[list, list, list, int]:
        """A batch's distinct tokens, their counts, the rows holding each, and its rows."""
        raise NotImplementedError

    def _sort_key(self, token: Any) -> Any:
        """The order of the lookup table's keys (sorted_lookup's order)."""
        return token

    def _tokens_constant(self, tokens: list) -> Any:
        return corten.constant(np.asarray(tokens, np.int64))
    # ---------------------------------------------------------------- vocabulary
    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == INT else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def _special_tokens(self) -> list:
        return [self.mask_token] * self._oov_start_index() + \
            [self.oov_token] * self.num_oov_indices

    def vocabulary_size(self) -> int:
        """The number of indices: the special ones plus the vocabulary's tokens."""
        return len(self._tokens) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The token of every index, in index order.

        Args:
            include_special_tokens: include the mask and OOV tokens at the front.

        Returns:
            A list of tokens (ints for IntegerLookup, str for StringLookup).
        """
        vocab = self._special_tokens() + list(self._tokens)
        if not include_special_tokens:
            vocab = vocab[self._token_start_index():]
        return vocab

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Sets the vocabulary (and for tf_idf the inverse document frequencies).

        Args:
            vocabulary: tokens (the special tokens may lead, in index order), or a path to a
                text file with one token per line.
            idf_weights: one weight per vocabulary entry, for tf_idf only.

        Raises:
            ValueError: for an empty, repeated or too large vocabulary, a misplaced special
                token, or idf_weights that do not fit.
        """
        name = type(self).__name__
        if self.output_mode == TF_IDF and idf_weights is None:
            raise ValueError(f"{name}: `idf_weights` must be set if output_mode is 'tf_idf'")
        if self.output_mode != TF_IDF and idf_weights is not None:
            raise ValueError(f"{name}: `idf_weights` should only be set if output_mode is "
                             f"'tf_idf'. Received: output_mode={self.output_mode}")
        if isinstance(vocabulary, (str, os.PathLike)):
            if not os.path.exists(vocabulary):
                raise ValueError(f"{name}: vocabulary file {vocabulary} does not exist.")
            vocabulary = self._read_vocabulary_file(os.fspath(vocabulary))
        vocab = self._tokens_of(vocabulary)
        if not vocab:
            raise ValueError(f"{name}: cannot set an empty vocabulary, you passed "
                             f"{listify(vocabulary)}.")
        special = self._special_tokens()
        start = self._token_start_index()
        found_special = vocab[:start] == special
        tokens = vocab[start:] if found_special else vocab
        seen: set = set()
        repeated = sorted({t for t in tokens if t in seen or seen.add(t)})
        if repeated:
            raise ValueError(f"{name}: the passed vocabulary has at least one repeated term. "
                             f"Please uniquify your dataset. The repeated terms are {repeated}")
        hint = ("Note that passed `vocabulary` does not need to include the OOV and mask "
                "tokens. Either remove all mask and OOV tokens, or include them only at the "
                f"start of the vocabulary in precisely this order: {special}.")
        if self.mask_token is not None and self.mask_token in seen:
            raise ValueError(f"{name}: found reserved mask token at unexpected location in "
                             f"`vocabulary`. {hint} Received: mask_token={self.mask_token}")
        if self.oov_token is not None and self.invert and self.oov_token in seen:
            raise ValueError(f"{name}: found reserved OOV token at unexpected location in "
                             f"`vocabulary`. {hint} Received: oov_token={self.oov_token}")
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise ValueError(f"{name}: attempted to set a vocabulary larger than the maximum "
                             f"vocab size. Passed vocab size is {start + len(tokens)}, max "
                             f"vocab size is {self.max_tokens}.")
        if self.output_mode == TF_IDF:
            weights = np.asarray(listify(idf_weights), dtype=np.float64)
            if weights.ndim != 1 or len(weights) != len(vocab):
                raise ValueError(f"{name}: `idf_weights` must be a 1-D list the length of "
                                 f"the vocabulary. Received: len(idf_weights)="
                                 f"{weights.size}, len(vocabulary)={len(vocab)}")
            idf = corten.constant(weights, dtype=self.compute_dtype)
            if not found_special and start:
                front = corten.fill((start,), corten.reduce_mean(idf))
                idf = corten.concat([front, idf], axis=0)
            self._set_idf(idf)
        self._tokens = tokens
        self._record_vocabulary_size()

    def _set_idf(self, idf: Any) -> None:
        if self.pad_to_max_tokens and self.max_tokens is not None:
            pad = self.max_tokens - int(idf.shape[0])
            if pad > 0:
                idf = corten.concat([idf, corten.zeros((pad,), idf.dtype)], axis=0)
        self._idf = idf

    def _record_vocabulary_size(self) -> None:
        if self.output_mode == INT or self.pad_to_max_tokens:
            self._frozen_vocab_size = self.vocabulary_size()
            return
        size = self.vocabulary_size()
        if self._frozen_vocab_size is not None and self._frozen_vocab_size != size \
                and self.built:
            raise RuntimeError(f"{type(self).__name__}: when using `output_mode="
                               f"{self.output_mode}` "
                               "and `pad_to_max_tokens=False`, the vocabulary size cannot be "
                               "changed after the layer is called. Old vocab size is "
                               f"{self._frozen_vocab_size}, new vocab size is {size}")
        self._frozen_vocab_size = size

    # ---------------------------------------------------------------- adapt
    def update_state(self, data: Any) -> None:
        """Counts the tokens of one batch (and the documents holding each, for tf_idf).

        Token counting is host-side bookkeeping over the batch's distinct tokens (a hash
        table in tf.keras); the ranking it produces equals tf.keras's.

        Args:
            data: a batch of tokens; each row is a document.

        Raises:
            ValueError: when the layer was given a vocabulary.
        """
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt {type(self).__name__} layer after setting a static "
                             "vocabulary via init argument or `set_vocabulary`.")
        tokens, counts, docs, rows = self._batch_counts(data)
        for t, c in zip(tokens, counts, strict=True):
            self._counts[t] = self._counts.get(t, 0) + c
        if self.output_mode == TF_IDF:
            for t, c in zip(tokens, docs, strict=True):
                self._doc_counts[t] = self._doc_counts.get(t, 0) + c
            self._num_documents += rows

    def reset_state(self) -> None:
        """Forgets the token counts gathered by ``update_state``."""
        self._counts: dict = {}
        self._doc_counts: dict = {}
        self._num_documents = 0

    def finalize_state(self) -> None:
        """Builds the vocabulary from the counts: most frequent first, ties by larger token,
        cut to `max_tokens`; for tf_idf also ``log(1 + docs / (1 + docs_with_token))``."""
        if self._has_input_vocabulary or not self._counts:
            self._record_vocabulary_size()
            return
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                self._counts.pop(special, None)
        ranked = sorted(self._counts.items(), key=lambda tc: (tc[1], self._sort_key(tc[0])),
                        reverse=True)
        if self.max_tokens:
            ranked = ranked[:max(self.max_tokens - self._token_start_index(), 0)]
        self._tokens = [t for t, _ in ranked]
        if self.output_mode == TF_IDF:
            docs = corten.constant([self._doc_counts.get(t, 0) for t in self._tokens],
                                   dtype="float64")
            idf = corten.log(1.0 + float(self._num_documents) / (1.0 + docs))
            idf = corten.cast(idf, self.compute_dtype)
            front = corten.fill((self._token_start_index(),), corten.reduce_mean(idf))
            self._set_idf(corten.concat([front, idf], axis=0))
        self.reset_state()
        self._record_vocabulary_size()

    # ---------------------------------------------------------------- call
    def _depth(self) -> int:
        if self.pad_to_max_tokens:
            return int(self.max_tokens)
        if self._frozen_vocab_size is None:
            raise RuntimeError(f"{type(self).__name__}: when using `output_mode="
                               f"{self.output_mode}` "
                               "and `pad_to_max_tokens=False`, you must set the layer's "
                               "vocabulary before calling it. Either pass a `vocabulary` "
                               "argument to the layer, or call `adapt` with some sample data.")
        return int(self._frozen_vocab_size)

    def call(self, inputs: Any) -> Any:
        inputs = self._check_inputs(inputs)
        if self.invert:
            return self._invert(inputs)
        lookups = self._lookup(inputs)
        if self.output_mode == INT:
            return corten.cast(lookups, self.compute_dtype)
        idf = self._idf if self.output_mode == TF_IDF else None
        return encode_categorical(type(self).__name__, lookups, self.output_mode, self._depth(),
                                  self.compute_dtype, idf_weights=idf)

    def _lookup(self, inputs: Any) -> Any:
        start = self._token_start_index()
        default = self._oov_start_index() if self.num_oov_indices == 1 else -1
        if self._tokens:
            keys, indices = self._table()
            position = sorted_lookup(inputs, keys)
            found = corten.greater_equal(position, 0)
            index = corten.gather(indices, corten.maximum(position, corten.zeros_like(position)))
            lookups = corten.where(found, index + start, _full_like(inputs, default))
        else:
            lookups = _full_like(inputs, default)
        if self.mask_token is not None:
            mask_value = 0 if self.output_mode == INT else _INT64_MAX
            lookups = corten.where(corten.equal(inputs, self.mask_token),
                                   _full_like(inputs, mask_value), lookups)
        if self.num_oov_indices == 0:
            if is_concrete(lookups):
                oov = np.asarray(inputs)[np.asarray(lookups) == -1]
                if oov.size:
                    raise ValueError(f"{type(self).__name__}: when `num_oov_indices=0` all "
                                     f"inputs should be in vocabulary, found OOV values "
                                     f"{oov.tolist()}, consider setting `num_oov_indices=1`.")
        elif self.num_oov_indices > 1:
            buckets = self._oov_buckets(inputs) + self._oov_start_index()
            lookups = corten.where(corten.equal(lookups, -1), buckets, lookups)
        return lookups

    def _table(self) -> tuple[Any, Any]:
        """The vocabulary sorted (the keys of the lookup) and each key's vocabulary position,
        cached until the vocabulary changes."""
        cached = self.__dict__.get("_table_cache")
        if cached is None or cached[0] is not self._tokens:
            order = sorted(range(len(self._tokens)), key=lambda i: self._sort_key(self._tokens[i]))
            keys = self._tokens_constant([self._tokens[i] for i in order])
            cached = (self._tokens, keys, corten.constant(np.asarray(order, np.int64)))
            self.__dict__["_table_cache"] = cached
        return cached[1], cached[2]

    def _invert(self, indices: Any) -> Any:
        # Indices outside the vocabulary (and the OOV indices) read the OOV token, appended
        # at the end of the table; index 0 reads the mask token when there is one.
        vocab = self.get_vocabulary()
        oov = self._token(self._INVERT_OOV) if self.oov_token is None else self.oov_token
        start, size = self._token_start_index(), len(vocab)
        table = self._tokens_constant(vocab + [oov])
        valid = corten.logical_and(corten.greater_equal(indices, start),
                                   corten.less(indices, size))
        if self.mask_token is not None:
            valid = corten.logical_or(valid, corten.equal(indices, 0))
        safe = corten.where(valid, indices, _full_like(indices, size))
        return corten.gather(table, safe)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self.output_mode == INT:
            return corten.TensorShape(tuple(input_shape))
        return corten.TensorShape(encoded_shape(input_shape, self.output_mode, self._depth()))

    def get_config(self) -> dict:
        config = super().get_config()
        vocabulary, idf = self.input_vocabulary, self.input_idf_weights
        if not self._has_input_vocabulary and self._tokens:
            # An adapted vocabulary travels in the config (special tokens in front), so that
            # loading restores it without running adapt.
            vocabulary = self.get_vocabulary()
            if self.output_mode == TF_IDF:
                idf = listify(self._idf)[:len(vocabulary)]
        config.update({
            "invert": self.invert, "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
            "mask_token": self.mask_token, "output_mode": self.output_mode,
            "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
            "idf_weights": idf, "vocabulary": vocabulary,
            "vocabulary_size": self._frozen_vocab_size})
        return config


class IntegerLookup(IndexLookup):
    """Maps integer features to indices in a vocabulary (tf.keras 2 semantics).

    Index layout: the mask index (0, when `mask_token` is set and output_mode is "int"),
    then `num_oov_indices` out-of-vocabulary indices, then the vocabulary's tokens. With
    several OOV indices an unknown token ``t`` goes to ``t mod num_oov_indices``.

    Args:
        max_tokens: the largest vocabulary size, special indices included (None: no limit).
        num_oov_indices: the number of OOV indices (1); 0 makes unknown tokens an error.
        mask_token: the token that means "masked" (None: no mask index).
        oov_token: the token `invert` returns for OOV indices (-1).
        vocabulary: a list or array of integer tokens, or a path to a file with one token per
            line (None: call ``adapt``).
        vocabulary_dtype: the tokens' integer dtype ("int64").
        idf_weights: the inverse document frequencies for tf_idf (with `vocabulary`).
        invert: map indices back to tokens.
        output_mode: "int", "one_hot", "multi_hot", "count" or "tf_idf".
        sparse: only False is supported.
        pad_to_max_tokens: make the encoded outputs `max_tokens` wide.
        **kwargs: base Layer arguments; the dtype is the output dtype (int64 for "int").

    Returns:
        Called on an integer tensor, the indices (same shape) or their encoding.
    """


    _INVERT_OOV = -1

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1,
                 mask_token: int | None = None, oov_token: int | None = -1,
                 vocabulary: Any = None, vocabulary_dtype: str = "int64",
                 idf_weights: Any = None, invert: bool = False, output_mode: str = "int",
                 sparse: bool = False, pad_to_max_tokens: bool = False, **kwargs: Any) -> None:
        if not corten.as_dtype(vocabulary_dtype).is_integer:
            raise ValueError("IntegerLookup: `vocabulary_dtype` must be an integer dtype. "
                             f"Received: vocabulary_dtype={vocabulary_dtype}")
        legacy = {"max_values": "max_tokens", "mask_value": "mask_token",
                  "oov_value": "oov_token"}
        renamed = {new: kwargs.pop(old) for old, new in legacy.items() if old in kwargs}
        max_tokens = renamed.get("max_tokens", max_tokens)
        mask_token = renamed.get("mask_token", mask_token)
        oov_token = renamed.get("oov_token", oov_token)
        self._init_lookup(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                          idf_weights, invert, output_mode, sparse, pad_to_max_tokens, kwargs)
        self.vocabulary_dtype = corten.as_dtype(vocabulary_dtype).name

    def _token(self, value: Any) -> int:
        return int(value)

    def _read_vocabulary_file(self, path: str) -> list:
        with open(path) as f:
            return [int(line) for line in f.read().split("\n") if line.strip()]

    def _tokens_of(self, vocabulary: Any) -> list:
        return [int(v) for v in np.asarray(listify(vocabulary), dtype=np.int64).reshape(-1)]

    def _check_inputs(self, inputs: Any) -> Any:
        if not inputs.dtype.is_integer:
            raise TypeError("IntegerLookup: inputs must be integers. Received: inputs dtype="
                            f"{inputs.dtype.name}, shape={tuple(inputs.shape)}")
        return corten.cast(inputs, "int64")

    def call(self, inputs: Any) -> Any:
        out = super().call(inputs)
        return corten.cast(out, self.vocabulary_dtype) if self.invert else out

    def _oov_buckets(self, inputs: Any) -> Any:
        return corten.floormod(inputs, self.num_oov_indices)

    def _batch_counts(self, data: Any) -> tuple[list, list, list, int]:
        values = np.asarray(corten.convert_to_tensor(data)).astype(np.int64)
        if values.ndim < 2:
            values = values.reshape(1, -1)
        values = values.reshape(values.shape[0], -1)
        tokens, counts = np.unique(values, return_counts=True)
        docs: list = []
        if self.output_mode == TF_IDF:
            # Each row's distinct tokens: sorted rows, first of every run.
            rows = np.sort(values, axis=1)
            first = np.ones(rows.shape, bool)
            first[:, 1:] = rows[:, 1:] != rows[:, :-1]
            doc_tokens, doc_counts = np.unique(rows[first], return_counts=True)
            by_token = dict(zip(doc_tokens.tolist(), doc_counts.tolist(), strict=True))
            docs = [by_token[t] for t in tokens.tolist()]
        else:
            docs = [0] * len(tokens)
        return tokens.tolist(), counts.tolist(), docs, values.shape[0]

    def get_config(self) -> dict:
        config = super().get_config()
        config["vocabulary_dtype"] = self.vocabulary_dtype
        return config


class StringLookup(IndexLookup):
    """Maps string features to indices in a vocabulary (tf.keras 2 semantics).

    Index layout: the mask index (0, when `mask_token` is set and output_mode is "int"), then
    `num_oov_indices` out-of-vocabulary indices, then the vocabulary's tokens. With several OOV
    indices an unknown token goes to its FarmHash Fingerprint64 modulo `num_oov_indices`, as
    ``tf.strings.to_hash_bucket_fast``.

    Args:
        max_tokens: the largest vocabulary size, special indices included (None: no limit).
        num_oov_indices: the number of OOV indices (1); 0 makes unknown tokens an error.
        mask_token: the token that means "masked" (None: no mask index).
        oov_token: the token `invert` returns for OOV indices ("[UNK]").
        vocabulary: a list or array of strings, or a path to a UTF-8 text file with one token
            per line (None: call ``adapt``).
        idf_weights: the inverse document frequencies for tf_idf (with `vocabulary`).
        encoding: the text encoding of the tokens ("utf-8").
        invert: map indices back to tokens.
        output_mode: "int", "one_hot", "multi_hot", "count" or "tf_idf".
        sparse: only False is supported.
        pad_to_max_tokens: make the encoded outputs `max_tokens` wide.
        **kwargs: base Layer arguments; the dtype is the output dtype (int64 for "int").

    Returns:
        Called on a string tensor (or a RaggedTensor of strings), the indices or their
        encoding.
    """

    _KEY_DTYPE = "string"
    _INVERT_OOV = "[UNK]"

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1,
                 mask_token: str | None = None, oov_token: str = "[UNK]",
                 vocabulary: Any = None, idf_weights: Any = None, encoding: str = "utf-8",
                 invert: bool = False, output_mode: str = "int", sparse: bool = False,
                 pad_to_max_tokens: bool = False, **kwargs: Any) -> None:
        if encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            raise ValueError(f"StringLookup: only the utf-8 encoding is supported. Received: "
                             f"encoding={encoding!r}")
        kwargs.pop("vocabulary_dtype", None)
        self._init_lookup(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                          idf_weights, invert, output_mode, sparse, pad_to_max_tokens, kwargs)
        self.encoding = encoding

    def _token(self, value: Any) -> str:
        if isinstance(value, (bytes, np.bytes_)):
            return bytes(value).decode("utf-8", errors="replace")
        return str(value)

    def _read_vocabulary_file(self, path: str) -> list:
        with open(path, encoding="utf-8") as f:
            return [line.rstrip("\r") for line in f.read().split("\n") if line.strip()]

    def _tokens_of(self, vocabulary: Any) -> list:
        if isinstance(vocabulary, corten.Tensor):
            vocabulary = vocabulary.numpy()
        return [self._token(v) for v in np.asarray(vocabulary, dtype=object).reshape(-1)]

    def _sort_key(self, token: str) -> bytes:
        return token.encode("utf-8")

    def _tokens_constant(self, tokens: list) -> Any:
        return corten.constant(np.asarray(tokens, dtype=object).reshape(-1)) if tokens else \
            corten.constant(np.zeros((0,), dtype=object), dtype="string")

    def _check_inputs(self, inputs: Any) -> Any:
        if self.invert:
            if not inputs.dtype.is_integer:
                raise TypeError("StringLookup: with invert=True the inputs must be integer "
                                f"indices. Received: inputs dtype={inputs.dtype.name}, "
                                f"shape={tuple(inputs.shape)}")
            return corten.cast(inputs, "int64")
        if inputs.dtype != corten.string:
            raise TypeError("StringLookup: inputs must be strings. Received: inputs dtype="
                            f"{inputs.dtype.name}, shape={tuple(inputs.shape)}")
        return inputs

    def _oov_buckets(self, inputs: Any) -> Any:
        return corten.strings.to_hash_bucket_fast(inputs, self.num_oov_indices)

    def _batch_counts(self, data: Any) -> tuple[list, list, list, int]:
        if isinstance(data, corten.RaggedTensor):
            values, splits = data.values, data.row_splits
        else:
            t = corten.convert_to_tensor(data, dtype="string")
            if t.ndim < 2:
                t = corten.reshape(t, (1, -1))
            rows = int(t.shape[0])
            width = int(np.prod(t.shape[1:]))
            values = corten.reshape(t, (-1,))
            splits = corten.range(0, rows * width + 1, max(width, 1), dtype="int64") if width \
                else corten.zeros((rows + 1,), "int64")
        tokens, counts, docs = corten._C.token_counts(values, splits)
        decoded = [t.decode("utf-8", errors="replace") for t in tokens.numpy().tolist()]
        return decoded, counts.numpy().tolist(), docs.numpy().tolist(), \
            int(splits.shape[0]) - 1

    def call(self, inputs: Any) -> Any:
        if isinstance(inputs, corten.RaggedTensor):
            # Lookups keep the rows; the encodings count each row's tokens.
            indices = super().call(inputs.values) if self.output_mode == INT else \
                self._lookup(self._check_inputs(inputs.values))
            if self.output_mode == INT:
                return corten.RaggedTensor(indices, inputs.row_splits)
            # Padding with -1, which the encodings skip.
            dense = corten.RaggedTensor(indices, inputs.row_splits).to_tensor(-1)
            idf = self._idf if self.output_mode == TF_IDF else None
            return encode_categorical("StringLookup", dense, self.output_mode, self._depth(),
                                      self.compute_dtype, idf_weights=idf)
        if not isinstance(inputs, corten.Tensor):
            inputs = corten.convert_to_tensor(inputs)
        return super().call(inputs)

    def get_config(self) -> dict:
        config = super().get_config()
        config["encoding"] = self.encoding
        return config
