"""String ops (``tf.strings``): case, whitespace, regexes, splitting, n-grams, Unicode,
conversion to and from numbers, and hashing. Every op runs in C++ on string tensors
(``corten.string``: variable-length byte strings, str stored as UTF-8)."""

from __future__ import annotations

from typing import Any

from corten import _C
from corten.dtypes import as_dtype, float32
from corten.ops.ragged import RaggedTensor

Tensor = _C.Tensor

__all__ = [
    "as_string", "join", "length", "lower", "ngrams", "reduce_join", "regex_full_match",
    "regex_replace", "split", "strip", "to_hash_bucket", "to_hash_bucket_fast",
    "to_hash_bucket_strong", "to_number", "unicode_decode", "unicode_encode", "unicode_split",
    "upper",
]


def _utf8(encoding: str, op: str) -> bool:
    if encoding in ("", None):
        return False
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        return True
    raise ValueError(f"{op}: unsupported encoding {encoding!r}; expected '' or 'utf-8'")


def lower(input: Any, encoding: str = "", name: str | None = None) -> Tensor:  # noqa: A002
    """Lower-cases ASCII letters, or with ``encoding="utf-8"`` also Latin, Greek and Cyrillic
    letters (one-to-one mappings)."""
    return _C.string_lower(input, _utf8(encoding, "lower"))


def upper(input: Any, encoding: str = "", name: str | None = None) -> Tensor:  # noqa: A002
    """Upper-cases ASCII letters, or with ``encoding="utf-8"`` also Latin, Greek and Cyrillic
    letters (one-to-one mappings)."""
    return _C.string_upper(input, _utf8(encoding, "upper"))


def strip(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """Removes leading and trailing ASCII whitespace."""
    return _C.string_strip(input)


def regex_replace(input: Any, pattern: str, rewrite: str,  # noqa: A002
                  replace_global: bool = True, name: str | None = None) -> Tensor:
    """Replaces the matches of ``pattern`` (RE2 syntax, common subset) with ``rewrite``, in
    which ``\\1``..``\\9`` name groups and ``\\0`` the whole match.

    Raises:
        ValueError: an invalid pattern.
    """
    return _C.regex_replace(input, str(pattern), str(rewrite), bool(replace_global))


def regex_full_match(input: Any, pattern: str, name: str | None = None) -> Tensor:  # noqa: A002
    """Whether each whole string matches ``pattern`` (bool)."""
    return _C.regex_full_match(input, str(pattern))


def _ragged(pair: tuple) -> RaggedTensor:
    return RaggedTensor(pair[0], pair[1])


def split(input: Any, sep: str | None = None, maxsplit: int = -1,  # noqa: A002
          name: str | None = None) -> Any:
    """Splits strings on ``sep``, or on runs of whitespace when ``sep`` is None.

    Returns:
        For a scalar, a 1-D string tensor of the pieces; for a 1-D tensor, a RaggedTensor with
        one row per string.

    Raises:
        ValueError: an empty ``sep``, or input of rank 2 or more.
    """
    if sep == "":
        raise ValueError("split: sep must be None (whitespace) or a non-empty string")
    x = _C.convert_to_tensor(input, _C.DType.string)
    values, splits = _C.string_split(x, sep or "", int(maxsplit))
    return values if x.ndim == 0 else RaggedTensor(values, splits)


def ngrams(data: Any, ngram_width: Any, separator: str = " ", pad_values: Any = None,
           padding_width: int | None = None, preserve_short_sequences: bool = False,
           name: str | None = None) -> Any:
    """The n-grams of each row of tokens, every width in ``ngram_width`` in turn, joined by
    ``separator``.

    Args:
        data: a RaggedTensor of tokens, a 2-D string tensor (one row each) or a 1-D one (one
            sequence).
        ngram_width: an int or a sequence of ints.

    Returns:
        The same structure as ``data``: a RaggedTensor, or a 1-D tensor for 1-D data.

    Raises:
        NotImplementedError: padding and preserve_short_sequences.
    """
    if pad_values is not None or padding_width is not None or preserve_short_sequences:
        raise NotImplementedError("ngrams: pad_values, padding_width and "
                                  "preserve_short_sequences are not supported")
    widths = [int(ngram_width)] if isinstance(ngram_width, int) else [int(w) for w in ngram_width]
    if isinstance(data, RaggedTensor):
        return _ragged(_C.string_ngrams(data.values, data.row_splits, widths, separator))
    x = _C.convert_to_tensor(data, _C.DType.string)
    if x.ndim == 1:
        return _C.string_ngrams(x, [0, x.shape[0]], widths, separator)[0]
    if x.ndim == 2:
        rows, width = x.shape
        splits = _C.range(0, rows * width + 1, max(width, 1), _C.DType.int64) if width else \
            _C.zeros((rows + 1,), _C.DType.int64)
        return _ragged(_C.string_ngrams(_C.reshape(x, (-1,)), splits, widths, separator))
    raise ValueError(f"ngrams: data must be ragged, 1-D or 2-D; got shape {tuple(x.shape)}")


def reduce_join(inputs: Any, axis: int | None = None, keepdims: bool = False,
                separator: str = "", name: str | None = None) -> Tensor:
    """Joins strings along ``axis`` (all axes when None) with ``separator``."""
    x = _C.convert_to_tensor(inputs, _C.DType.string)
    if axis is None:
        out = _C.string_reduce_join(_C.reshape(x, (-1,)), separator)
        return _C.reshape(out, (1,) * x.ndim) if keepdims else out
    axis = int(axis) % max(x.ndim, 1)
    perm = [d for d in range(x.ndim) if d != axis] + [axis]
    out = _C.string_reduce_join(_C.transpose(x, perm), separator)
    return _C.expand_dims(out, axis) if keepdims else out


def join(inputs: Any, separator: str = "", name: str | None = None) -> Tensor:
    """Joins a list of string tensors (broadcast to one shape) elementwise."""
    parts = [_C.convert_to_tensor(t, _C.DType.string) for t in inputs]
    if not parts:
        raise ValueError("join: inputs must hold at least one tensor")
    shape = parts[0].shape
    for p in parts[1:]:
        shape = _C.broadcast_static_shape(shape, p.shape) if hasattr(_C, "broadcast_static_shape") \
            else (p.shape if len(p.shape) > len(shape) else shape)
    stacked = _C.stack([_C.broadcast_to(p, tuple(shape)) for p in parts], -1)
    return _C.string_reduce_join(stacked, separator)


def length(input: Any, unit: str = "BYTE", name: str | None = None) -> Tensor:  # noqa: A002
    """The length of each string (int32) in bytes or, with ``unit="UTF8_CHAR"``, characters."""
    if unit not in ("BYTE", "UTF8_CHAR"):
        raise ValueError(f"length: unit must be 'BYTE' or 'UTF8_CHAR'; got {unit!r}")
    return _C.string_length(input, unit == "UTF8_CHAR")


def _check_utf8(encoding: str, op: str) -> None:
    if encoding.upper().replace("_", "-") not in ("UTF-8", "UTF8"):
        raise ValueError(f"{op}: only the UTF-8 encoding is supported; got {encoding!r}")


def _unicode_rows(op: Any, name: str, input: Any, encoding: str, errors: str,  # noqa: A002
                  replacement_char: int) -> Any:
    _check_utf8(encoding, name)
    if errors != "replace" or replacement_char != 65533:
        raise NotImplementedError(f"{name}: only errors='replace' with U+FFFD")
    x = _C.convert_to_tensor(input, _C.DType.string)
    values, splits = op(x)
    return values if x.ndim == 0 else RaggedTensor(values, splits)


def unicode_decode(input: Any, input_encoding: str, errors: str = "replace",  # noqa: A002
                   replacement_char: int = 65533, name: str | None = None) -> Any:
    """The code points (int32) of each string; ill-formed bytes become U+FFFD.

    Returns:
        A 1-D tensor for a scalar, a RaggedTensor for a 1-D input.
    """
    return _unicode_rows(_C.unicode_decode, "unicode_decode", input, input_encoding, errors,
                         replacement_char)


def unicode_split(input: Any, input_encoding: str, errors: str = "replace",  # noqa: A002
                  replacement_char: int = 65533, name: str | None = None) -> Any:
    """Each string's characters as strings (a RaggedTensor for 1-D input)."""
    return _unicode_rows(_C.unicode_split, "unicode_split", input, input_encoding, errors,
                         replacement_char)


def unicode_encode(input: Any, output_encoding: str, errors: str = "replace",  # noqa: A002
                   replacement_char: int = 65533, name: str | None = None) -> Tensor:
    """UTF-8 strings from code points: a 1-D tensor gives a scalar, a RaggedTensor one string
    per row; invalid code points become U+FFFD."""
    _check_utf8(output_encoding, "unicode_encode")
    if isinstance(input, RaggedTensor):
        return _C.unicode_encode(input.values, input.row_splits)
    x = _C.convert_to_tensor(input, _C.DType.int32)
    if x.ndim != 1:
        raise ValueError(f"unicode_encode: expected a 1-D tensor or a RaggedTensor; got shape "
                         f"{tuple(x.shape)}")
    return _C.reshape(_C.unicode_encode(x, [0, x.shape[0]]), ())


def as_string(input: Any, precision: int = -1, scientific: bool = False,  # noqa: A002
              shortest: bool = False, width: int = -1, fill: str = "",
              name: str | None = None) -> Tensor:
    """The text of each number: integers in decimal, bools as true/false, floats with
    ``precision`` digits (6 by default), in scientific or shortest notation on request."""
    return _C.as_string(input, int(precision), bool(scientific), bool(shortest), int(width), fill)


def to_number(string_tensor: Any, out_type: Any = float32, name: str | None = None) -> Tensor:
    """Parses each string as a number of ``out_type`` (float32 by default).

    Raises:
        ValueError: naming the first string that is not a number.
    """
    return _C.string_to_number(string_tensor, as_dtype(out_type))


def to_hash_bucket_fast(input: Any, num_buckets: int, name: str | None = None) -> Tensor:  # noqa: A002
    """FarmHash Fingerprint64 of each string modulo ``num_buckets`` (int64), as TensorFlow."""
    return _C.hash_bucket(_C.convert_to_tensor(input, _C.DType.string), int(num_buckets))


to_hash_bucket = to_hash_bucket_fast


def to_hash_bucket_strong(input: Any, num_buckets: int, key: Any,  # noqa: A002
                          name: str | None = None) -> Tensor:
    """Keyed SipHash-2-4 of each string modulo ``num_buckets`` (int64); ``key`` is two ints."""
    k0, k1 = (int(k) for k in key)
    return _C.hash_bucket(_C.convert_to_tensor(input, _C.DType.string), int(num_buckets), True,
                          k0, k1)
