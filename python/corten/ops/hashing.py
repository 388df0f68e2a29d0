"""Hashing of integers into buckets, TensorFlow-compatible (Note [TensorFlow-compatible hashing]
in csrc/cpu/hash_math.h), lookups in a sorted table of integer keys, and per-row bincounts:
the kernels of the categorical preprocessing layers."""

from __future__ import annotations

from typing import Any

from corten import _C
from corten._tensor import Tensor
from corten.ops import _symbolic as _sym

__all__ = ["hash_bucket", "sorted_lookup", "bincount"]

_UINT64 = 2**64


def hash_bucket(x: Any, num_buckets: int, key: Any = None, name: str | None = None) -> Tensor:
    """Hashes integers into ``num_buckets`` buckets as TensorFlow hashes their decimal strings.

    Without `key` the bucket is ``Fingerprint64(str(x)) % num_buckets``
    (``tf.strings.to_hash_bucket_fast(tf.as_string(x))``); with a key of two integers it is
    ``SipHash-2-4(key, str(x)) % num_buckets`` (``to_hash_bucket_strong``).

    Args:
        x: an int32 or int64 tensor.
        num_buckets: the number of buckets, >= 1.
        key: None, or two integers (each taken modulo 2**64, as TensorFlow's int64 key
            attribute reads as unsigned).
        name: unused (TensorFlow compatibility).

    Returns:
        An int64 tensor of x's shape with values in ``[0, num_buckets)``.

    Raises:
        TypeError: for non-integer inputs.
        ValueError: for num_buckets < 1 or a malformed key.
    """
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(hash_bucket, (x, num_buckets, key, name), {})
    if key is None:
        return _C.hash_bucket(x, int(num_buckets))
    if not isinstance(key, (list, tuple)) or len(key) != 2 \
            or not all(isinstance(k, int) and not isinstance(k, bool) for k in key):
        raise ValueError(f"hash_bucket: key must be two integers. Received: key={key!r}")
    return _C.hash_bucket(x, int(num_buckets), True, key[0] % _UINT64, key[1] % _UINT64)


def sorted_lookup(x: Any, keys: Any, name: str | None = None) -> Tensor:
    """The position of each value of ``x`` in the sorted integer ``keys``, or -1 if absent.

    Args:
        x: an int32 or int64 tensor.
        keys: a 1-D int64 tensor sorted ascending without repeats (the caller's promise:
            unsorted keys give unspecified positions).
        name: unused (TensorFlow compatibility).

    Returns:
        An int64 tensor of x's shape.

    Raises:
        TypeError: for non-integer inputs or keys that are not int64.
        ValueError: for keys that are not 1-D.
    """
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(sorted_lookup, (x, keys, name), {})
    return _C.sorted_lookup(x, keys)


def bincount(x: Any, depth: int, weights: Any = None, binary: bool = False,
             dtype: Any = "float32", name: str | None = None) -> Tensor:
    """Counts each value in ``[0, depth)`` per row of ``x`` (over all of a 1-D ``x``).

    Args:
        x: an int32 or int64 tensor of rank 1 or 2; values outside ``[0, depth)`` are skipped.
        depth: the number of bins.
        weights: optional weights of x's shape and of `dtype`, summed instead of ones (in
            input order, the same on every device and thread count).
        binary: give 1 where a value occurs instead of its count (no weights).
        dtype: the output dtype (float32, float64, int32 or int64).
        name: unused (TensorFlow compatibility).

    Returns:
        A tensor of shape ``(depth,)`` or ``(rows, depth)``.

    Raises:
        TypeError: for non-integer x or weights of another dtype.
        ValueError: for another rank, a negative depth, or weights of another shape.
    """
    if _sym.active and (type(x) is _sym.KT or type(weights) is _sym.KT):
        return _sym.op_node(bincount, (x, depth, weights, binary, dtype, name), {})
    return _C.bincount(x, int(depth), weights, bool(binary), dtype)
