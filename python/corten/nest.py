"""Flattening and re-packing of nested structures (TensorFlow's tf.nest, the parts corten uses).

Lists, tuples (named tuples too) and dicts (in sorted key order, as TensorFlow) are structure;
everything else, tensors and None included, is a leaf.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from corten._C import Tensor as _Tensor

__all__ = ["flatten", "flatten_up_to", "pack_sequence_as", "map_structure"]


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def flatten(structure: Any) -> list[Any]:
    """The leaves of ``structure``, depth first."""
    t = type(structure)
    if t is list or t is tuple:
        return [leaf for item in structure for leaf in flatten(item)]
    if t is _Tensor or structure is None:  # the common leaves, before the ABC checks
        return [structure]
    if isinstance(structure, Mapping):
        return [leaf for k in sorted(structure) for leaf in flatten(structure[k])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def _pack(s: Any, it: Iterator[Any]) -> Any:
    # A module-level function, not a closure: a recursive closure would form a reference cycle
    # (function <-> cell) that keeps the packed leaves alive until the cyclic GC runs.
    if isinstance(s, Mapping):
        built = {k: _pack(s[k], it) for k in sorted(s)}
        if isinstance(s, dict):
            return {k: built[k] for k in s}
        return type(s)((k, built[k]) for k in s)
    if _is_namedtuple(s):
        return type(s)(*[_pack(v, it) for v in s])
    if isinstance(s, list):  # a list subclass (a layer's tracked list) packs as a plain list
        return [_pack(v, it) for v in s]
    if isinstance(s, tuple):
        return type(s)(_pack(v, it) for v in s)
    return next(it)


def pack_sequence_as(structure: Any, flat: list[Any]) -> Any:
    """Rebuilds ``structure`` with the leaves taken from ``flat`` in order.

    Raises:
        ValueError: if ``flat`` has a different number of leaves.
    """
    t = type(structure)
    if (t is list or t is tuple) and all(isinstance(s, _Tensor) or s is None for s in structure):
        # a flat list or tuple of tensors (variables): the per-step case of GradientTape
        if len(flat) != len(structure):
            raise ValueError(f"pack_sequence_as: the structure has {len(structure)} leaves but "
                             f"{len(flat)} values were given")
        return t(flat)
    leaves = list(flat)
    n = len(flatten(structure))
    if n != len(leaves):
        raise ValueError(
            f"pack_sequence_as: the structure has {n} leaves but {len(leaves)} values were given"
        )
    return _pack(structure, iter(leaves))


def flatten_up_to(shallow: Any, structure: Any, what: str = "structure") -> list[Any]:
    """The parts of ``structure`` at the leaf positions of ``shallow`` (tf.nest's
    flatten_up_to): ``structure`` must have ``shallow``'s nesting down to its leaves, and may
    nest further below them.

    Raises:
        ValueError: if ``structure`` does not have ``shallow``'s nesting; names ``what``.
    """
    out: list[Any] = []
    _flatten_up_to(shallow, structure, what, "", out)
    return out


def _flatten_up_to(shallow: Any, s: Any, what: str, path: str, out: list[Any]) -> None:
    if isinstance(shallow, Mapping):
        if not isinstance(s, Mapping) or sorted(s) != sorted(shallow):
            raise ValueError(
                f"{what}{path} must be a mapping with keys {sorted(shallow)}. "
                f"Received: {type(s).__name__} {s!r}")
        for k in sorted(shallow):
            _flatten_up_to(shallow[k], s[k], what, f"{path}[{k!r}]", out)
    elif isinstance(shallow, (list, tuple)):
        if not isinstance(s, (list, tuple)) or len(s) != len(shallow):
            raise ValueError(
                f"{what}{path} must be a list or tuple of {len(shallow)} elements. "
                f"Received: {type(s).__name__} {s!r}")
        for i, (a, b) in enumerate(zip(shallow, s)):
            _flatten_up_to(a, b, what, f"{path}[{i}]", out)
    else:
        out.append(s)


def map_structure(fn, *structures: Any) -> Any:
    """Applies ``fn`` to corresponding leaves of the structures."""
    flats = [flatten(s) for s in structures]
    return pack_sequence_as(structures[0], [fn(*xs) for xs in zip(*flats)])
