"""Shape and array manipulation: reshape, transpose, concat, gather, pad, ..."""

from __future__ import annotations

from typing import Any

import numpy as np

from corten import _C
from corten.ops import _symbolic as _sym
from corten.dtypes import as_dtype, int32

Tensor = _C.Tensor

__all__ = [
    "reshape",
    "transpose",
    "expand_dims",
    "squeeze",
    "broadcast_to",
    "concat",
    "stack",
    "split",
    "unstack",
    "tile",
    "gather",
    "pad",
    "shape",
    "rank",
    "size",
    "identity",
]


def reshape(tensor: Any, shape: Any, name: str | None = None) -> Tensor:
    """Reshapes to ``shape`` (one entry may be -1). A view when the layout allows, else a copy.

    Raises:
        ValueError: if the element counts differ.
    """
    if _sym.active and (type(tensor) is _sym.KT):
        return _sym.op_node(reshape, (tensor, shape, name), {})
    return _C.reshape(tensor, shape)


def transpose(a: Any, perm: Any = None, conjugate: bool = False, name: str | None = None) -> Tensor:
    """Permutes the axes (reverses them when ``perm`` is None). Always a view."""
    if _sym.active and (type(a) is _sym.KT):
        return _sym.op_node(transpose, (a, perm, conjugate, name), {})
    return _C.transpose(a, perm)


def expand_dims(input: Any, axis: int, name: str | None = None) -> Tensor:  # noqa: A002
    """Inserts a size-1 axis at ``axis`` (in [-rank-1, rank]). A view."""
    if _sym.active and (type(input) is _sym.KT):
        return _sym.op_node(expand_dims, (input, axis, name), {})
    return _C.expand_dims(input, int(axis))


def squeeze(input: Any, axis: Any = None, name: str | None = None) -> Tensor:  # noqa: A002
    """Removes size-1 axes (only those in ``axis`` when given). A view.

    Raises:
        ValueError: if a listed axis does not have size 1.
    """
    if _sym.active and (type(input) is _sym.KT):
        return _sym.op_node(squeeze, (input, axis, name), {})
    return _C.squeeze(input, axis)


def broadcast_to(input: Any, shape: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """A broadcast view of ``input`` with the given shape."""
    if _sym.active and (type(input) is _sym.KT):
        return _sym.op_node(broadcast_to, (input, shape, name), {})
    return _C.broadcast_to(input, shape)


def concat(values: Any, axis: int, name: str | None = None) -> Tensor:
    """Joins tensors of the same rank and dtype along an existing axis.

    Args:
        values: a list of tensors (or tensor-likes); their shapes may differ only along ``axis``.
        axis: the axis to join along (negative counts from the end).

    Returns:
        A new tensor.

    Raises:
        ValueError: for an empty list, 0-d inputs, or shapes that differ elsewhere than ``axis``.
        TypeError: if the dtypes differ.

    Example:
        >>> concat([[[1, 2]], [[3, 4]]], axis=0).shape
        TensorShape([2, 2])
    """
    if _sym.active and (_sym.any_keras(values)):
        return _sym.op_node(concat, (values, axis, name), {})
    return _C.concat(values, int(axis))


def stack(values: Any, axis: int = 0, name: str | None = None) -> Tensor:
    """Joins tensors of the same shape and dtype along a new axis ``axis`` (in [-rank-1, rank]).

    Raises:
        ValueError: for an empty list or differing shapes.
        TypeError: if the dtypes differ.
    """
    if _sym.active and (_sym.any_keras(values)):
        return _sym.op_node(stack, (values, axis, name), {})
    return _C.stack(values, int(axis))


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | np.integer):
        return True
    return isinstance(value, Tensor) and value.ndim == 0 and value.dtype.is_integer


def split(value: Any, num_or_size_splits: Any, axis: int = 0, num: int | None = None,
          name: str | None = None) -> list[Tensor]:
    """Splits ``value`` along ``axis``; the pieces are views sharing its storage.

    Args:
        value: the tensor to split.
        num_or_size_splits: an int (that many equal pieces) or a list of piece sizes, one of
            which may be -1 (the remainder).
        axis: the axis to split.
        num: accepted for TensorFlow compatibility; when given it must equal the number of
            pieces.

    Raises:
        ValueError: if the sizes do not add up to the axis size, or an int does not divide it.
    """
    if _sym.active and (type(value) is _sym.KT):
        return _sym.op_node(split, (value, num_or_size_splits, axis, num, name), {})
    if _is_int(num_or_size_splits):
        pieces = _C.split(value, int(num_or_size_splits), int(axis))
    else:
        pieces = _C.split(value, num_or_size_splits, int(axis))
    if num is not None and int(num) != len(pieces):
        raise ValueError(f"split: num={num} does not match the {len(pieces)} pieces requested. "
                         f"Received: num={num}")
    return pieces


def unstack(value: Any, num: int | None = None, axis: int = 0,
            name: str | None = None) -> list[Tensor]:
    """The slices of ``value`` along ``axis`` (views), a list of tensors of rank - 1.

    Raises:
        ValueError: for 0-d inputs, or if ``num`` differs from the size of ``axis``.
    """
    if _sym.active and (type(value) is _sym.KT):
        return _sym.op_node(unstack, (value, num, axis, name), {})
    pieces = _C.unstack(value, int(axis))
    if num is not None and int(num) != len(pieces):
        raise ValueError(f"unstack: num={num} does not match the size {len(pieces)} of axis "
                         f"{axis}. Received: num={num}")
    return pieces


def tile(input: Any, multiples: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """Repeats ``input`` ``multiples[d]`` times along each axis d.

    Raises:
        ValueError: if ``multiples`` has not one non-negative entry per axis.
    """
    if _sym.active and (type(input) is _sym.KT):
        return _sym.op_node(tile, (input, multiples, name), {})
    return _C.tile(input, multiples)


def gather(params: Any, indices: Any, validate_indices: Any = None, axis: Any = None,
           batch_dims: int = 0, name: str | None = None) -> Tensor:
    """Gathers slices of ``params`` along ``axis`` at ``indices`` (int32/int64, any shape).

    The result has shape ``params.shape[:axis] + indices.shape[batch_dims:] +
    params.shape[axis + 1:]``. ``axis`` defaults to ``batch_dims``.

    Raises:
        IndexError: for an index outside [0, params.shape[axis]).
        ValueError: for inconsistent ``axis``/``batch_dims`` or batch shapes.
        TypeError: for non-integer indices.
    """
    if _sym.active and (type(params) is _sym.KT or type(indices) is _sym.KT):
        return _sym.op_node(gather, (params, indices, validate_indices, axis, batch_dims, name), {})
    batch_dims = int(batch_dims)
    axis = batch_dims if axis is None else int(axis)
    return _C.gather(params, indices, axis, batch_dims)


def pad(tensor: Any, paddings: Any, mode: str = "CONSTANT", constant_values: Any = 0,
        name: str | None = None) -> Tensor:
    """Pads ``tensor`` with ``paddings[d] = (before, after)`` elements along each axis d.

    Args:
        mode: "CONSTANT" (fill with ``constant_values``), "REFLECT" (mirror without the edge;
            paddings < size) or "SYMMETRIC" (mirror with the edge; paddings <= size),
            case-insensitive.

    Raises:
        ValueError: for a bad mode, negative paddings, paddings too large for the mode, or a
            paddings shape other than (rank, 2).
    """
    if _sym.active and (type(tensor) is _sym.KT):
        return _sym.op_node(pad, (tensor, paddings, mode, constant_values, name), {})
    if not isinstance(mode, str):
        raise TypeError(f"pad: mode must be a string. Received: mode={mode!r}")
    return _C.pad(tensor, paddings, mode, float(constant_values))


def shape(input: Any, out_type: Any = int32, name: str | None = None) -> Tensor:  # noqa: A002
    """The shape of ``input`` as a 1-D ``out_type`` (int32 or int64) tensor."""
    if _sym.active and (type(input) is _sym.KT):
        return _sym.op_node(shape, (input, out_type, name), {})
    return _C.shape(input, as_dtype(out_type))


def rank(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """The rank of ``input`` as a 0-d int32 tensor."""
    if _sym.active and (type(input) is _sym.KT):
        return _sym.op_node(rank, (input, name), {})
    return _C.rank(input)


def size(input: Any, out_type: Any = int32, name: str | None = None) -> Tensor:  # noqa: A002
    """The number of elements of ``input`` as a 0-d ``out_type`` tensor."""
    if _sym.active and (type(input) is _sym.KT):
        return _sym.op_node(size, (input, out_type, name), {})
    return _C.size(input, as_dtype(out_type))


def identity(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """A new tensor handle with the same values (it shares ``input``'s storage).

    Under a ``tf.device`` scope the result is on the scope's device: a copy when ``input`` is
    elsewhere (TensorFlow's way to move a tensor between devices).
    """
    if _sym.active and (type(input) is _sym.KT):
        return _sym.op_node(identity, (input, name), {})
    if _C.current_device_spec():
        return _C.place_on_scope_device(_C.identity(input), "identity")
    return _C.identity(input)
