"""Tensor creation: constant, convert_to_tensor, zeros, ones and friends."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from corten import _C
from corten.ops import _symbolic as _sym
from corten.dtypes import as_dtype, float32, float64, int32, int64, string

Tensor = _C.Tensor

__all__ = [
    "constant",
    "convert_to_tensor",
    "zeros",
    "ones",
    "zeros_like",
    "ones_like",
    "fill",
    "range",
    "eye",
    "one_hot",
]


def constant(value: Any, dtype: Any = None, shape: Any = None, name: str | None = None) -> Tensor:
    """An immutable tensor holding ``value`` (a Python scalar, nested list, numpy array or
    Tensor), as TensorFlow's constants.

    Python floats become float32 and ints int32 (int64 when they do not fit); numpy arrays keep
    their dtype. The values are copied, so changing the numpy array afterwards does not change
    the constant, and ``np.asarray(constant)`` is a read-only view (``.numpy()`` returns a
    writable copy). With ``shape``, a scalar value is broadcast to it and other values are
    reshaped. ``convert_to_tensor`` and ``from_dlpack`` share memory instead, where they can.

    Raises:
        TypeError: a value corten has no dtype for (objects other than str and bytes,
            float16 arrays). Strings (str is stored as UTF-8) and bytes make string tensors.
        ValueError: a ragged nested list.
    """
    t = _C.constant(value, None if dtype is None else as_dtype(dtype))
    if shape is not None:
        shape = tuple(shape)
        if t.ndim == 0:
            t = _C.fill(shape, t) if t.dtype == string else _C.add(_C.zeros(shape, t.dtype), t)
        else:
            t = _C.reshape(t, shape)
    return t


def convert_to_tensor(value: Any, dtype: Any = None, dtype_hint: Any = None,
                      name: str | None = None) -> Tensor:
    """Converts value to a Tensor (tensors are returned as they are).

    Raises:
        TypeError: if value is not tensor-like or a tensor's dtype differs from ``dtype``.
    """
    if dtype is None and type(value) is Tensor:
        return value
    if _sym.active and type(value) is _sym.KT and (dtype is None or as_dtype(dtype) == value.dtype):
        return value
    if dtype is None and dtype_hint is not None and not isinstance(value, Tensor):
        try:
            return _C.convert_to_tensor(value, as_dtype(dtype_hint))
        except (TypeError, ValueError):
            pass
    return _C.convert_to_tensor(value, None if dtype is None else as_dtype(dtype))


def zeros(shape: Any, dtype: Any = float32, name: str | None = None) -> Tensor:
    """A tensor of the given shape filled with zeros."""
    return _C.zeros(shape, as_dtype(dtype))


def ones(shape: Any, dtype: Any = float32, name: str | None = None) -> Tensor:
    """A tensor of the given shape filled with ones."""
    return _C.ones(shape, as_dtype(dtype))


def _like(input: Any, dtype: Any, value: float) -> Tensor:
    t = _C.convert_to_tensor(input, None)
    dtype = t.dtype if dtype is None else as_dtype(dtype)
    if t.device == "meta":
        return _C.empty_meta(t._shape_tuple, dtype)
    if _C.trace_holds(t):
        # Inside corten.function the shape is read when the plan runs, not frozen at tracing.
        return _C.full_like(t, value, dtype)
    return _C.ones(t._shape_tuple, dtype) if value else _C.zeros(t._shape_tuple, dtype)


def zeros_like(input: Any, dtype: Any = None, name: str | None = None) -> Tensor:  # noqa: A002
    """Zeros with the shape of ``input`` and its dtype (or ``dtype``)."""
    if _sym.active and (type(input) is _sym.KT):
        return _sym.op_node(zeros_like, (input, dtype, name), {})
    return _like(input, dtype, 0)


def ones_like(input: Any, dtype: Any = None, name: str | None = None) -> Tensor:  # noqa: A002
    """Ones with the shape of ``input`` and its dtype (or ``dtype``)."""
    if _sym.active and (type(input) is _sym.KT):
        return _sym.op_node(ones_like, (input, dtype, name), {})
    return _like(input, dtype, 1)


def fill(dims: Any, value: Any, name: str | None = None) -> Tensor:
    """A tensor of shape ``dims`` filled with the scalar ``value`` (whose dtype it takes).

    Raises:
        ValueError: if ``value`` is not a scalar or ``dims`` has a negative entry.
    """
    return _C.fill(dims, value)


# TensorFlow's order for inferring range's dtype from its arguments.
_RANGE_DTYPES = [int32, int64, float32, float64]


def _range_dtype(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.dtype
    if isinstance(value, np.generic | np.ndarray):
        return as_dtype(np.asarray(value).dtype)
    if isinstance(value, builtins.float):
        return float32
    if isinstance(value, builtins.int):
        return int32 if -(2**31) <= value < 2**31 else int64
    raise TypeError(f"range: expected a number or a scalar tensor. Received: {value!r}")


def range(start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None,  # noqa: A001
          name: str | None = None) -> Tensor:
    """``start, start + delta, ...`` up to but excluding ``limit``, as a 1-D tensor.

    With one argument, it is the limit and the range starts at 0. The dtype, when not given,
    is inferred as in TensorFlow: int32 for Python ints, float32 for Python floats, and the
    widest of the arguments' dtypes for tensors. The length is ceil((limit - start) / delta),
    or 0 when that is negative.

    Raises:
        ValueError: if ``delta`` is 0 or a value is not finite.
        TypeError: for a bool dtype.

    Example:
        >>> range(1, 10, 3).numpy()
        array([1, 4, 7], dtype=int32)
    """
    if limit is None:
        start, limit = 0, start
    if _sym.active and any(type(v) is _sym.KT for v in (start, limit, delta)):
        return _sym.op_node(range, (start, limit, delta, dtype, name), {})
    if dtype is None:
        found = [_range_dtype(v) for v in (start, limit, delta)]
        for d in found:
            if d not in _RANGE_DTYPES:
                raise TypeError(f"range: unsupported argument dtype {d.name}. Received: {d.name}")
        dtype = builtins.max(found, key=_RANGE_DTYPES.index)
    if any(getattr(v, "device", None) == "meta" for v in (start, limit, delta)):
        # A bound read from a shape while a layer is traced symbolically (keras-io's
        # ``tf.range(start=0, limit=tf.shape(x)[-1])``): the length is known only when it runs.
        return _C.empty_meta((None,), as_dtype(dtype))
    return _C.range(builtins.float(start), builtins.float(limit), builtins.float(delta),
                    as_dtype(dtype))


def eye(num_rows: int, num_columns: int | None = None, batch_shape: Any = None,
        dtype: Any = float32, name: str | None = None) -> Tensor:
    """An identity matrix (ones on the main diagonal), optionally batched.

    Returns:
        A tensor of shape ``batch_shape + [num_rows, num_columns]``.

    Raises:
        ValueError: for negative sizes.
    """
    num_columns = num_rows if num_columns is None else num_columns
    return _C.eye(int(num_rows), int(num_columns), batch_shape, as_dtype(dtype))


def _scalar_dtype(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.dtype
    return _C.convert_to_tensor(value, None).dtype


def one_hot(indices: Any, depth: int, on_value: Any = None, off_value: Any = None,
            axis: int | None = None, dtype: Any = None, name: str | None = None) -> Tensor:
    """One-hot encoding of integer ``indices`` along a new axis of size ``depth``.

    ``on_value`` (default 1) is written where the index matches and ``off_value`` (default 0)
    elsewhere; negative or too large indices give rows of ``off_value``. The dtype is
    ``dtype``, else that of ``on_value``/``off_value``, else float32. ``axis`` (default -1,
    the last) is where the new axis goes.

    Raises:
        TypeError: if ``on_value``/``off_value`` do not match ``dtype`` or each other, or the
            indices are not integers.
        ValueError: for a negative depth or a bad axis.
    """
    if _sym.active and (type(indices) is _sym.KT):
        return _sym.op_node(one_hot, (indices, depth, on_value, off_value, axis, dtype, name), {})
    given = [v for v in (on_value, off_value) if v is not None]
    dtypes = [_scalar_dtype(v) for v in given]
    if dtype is not None:
        dtype = as_dtype(dtype)
        for v, d in zip(given, dtypes, strict=True):
            if isinstance(v, Tensor) and d != dtype:
                raise TypeError(f"one_hot: the dtype {d.name} of on_value/off_value does not "
                                f"match dtype {dtype.name}. Received: dtype={dtype.name}")
    elif dtypes:
        if len(dtypes) == 2 and dtypes[0] != dtypes[1]:
            raise TypeError(f"one_hot: on_value and off_value must have the same dtype; got "
                            f"{dtypes[0].name} and {dtypes[1].name}. "
                            f"Received: on_value={on_value!r}, off_value={off_value!r}")
        dtype = dtypes[0]
    else:
        dtype = float32
    on = 1.0 if on_value is None else builtins.float(on_value)
    off = 0.0 if off_value is None else builtins.float(off_value)
    return _C.one_hot(indices, int(depth), on, off, -1 if axis is None else int(axis), dtype)
