"""Element structure of a Dataset: nesting, leaf conversion and ``TensorSpec``.

As in ``tf.data``, tuples (named tuples too) and dicts are structure, and a Python list is a
value: ``from_tensor_slices([1, 2, 3])`` slices one tensor. A list that cannot become one array
(ragged parts, dicts inside) is kept as structure instead.

Inside a pipeline a leaf is a numpy array (numpy is the interchange format) or a corten Tensor
(what a ``map`` function returned). Iteration converts leaves to corten Tensors with corten's
dtype rules (``uint8``/``int16`` become ``int32``, ``float16`` becomes ``float32``, numpy
str/bytes/object arrays become ``string`` tensors, ...).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from corten import _C, nest
from corten.dtypes import DType, as_dtype
from corten.ops.creation import convert_to_tensor
from corten.tensor_shape import TensorShape

__all__ = ["TensorSpec"]

Tensor = _C.Tensor


class TensorSpec:
    """The shape and dtype of one component of a dataset element (``tf.TensorSpec``).

    Args:
        shape: the dimensions, ``None`` for an unknown dimension; ``shape=None`` means the
            rank is unknown too.
        dtype: a corten dtype (or anything ``corten.as_dtype`` accepts; numpy str, bytes
            and object dtypes mean ``string``).
        name: an optional name.
    """

    __slots__ = ("_shape", "_dtype", "_name")

    def __init__(self, shape: Any, dtype: Any = "float32", name: str | None = None) -> None:
        self._shape = None if shape is None else TensorShape(shape)
        self._dtype = _spec_dtype(dtype)
        self._name = name

    @property
    def shape(self) -> TensorShape | None:
        return self._shape

    @property
    def dtype(self) -> Any:
        return self._dtype

    @property
    def name(self) -> str | None:
        return self._name

    @classmethod
    def from_tensor(cls, tensor: Any, name: str | None = None) -> TensorSpec:
        arr = tensor if isinstance(tensor, Tensor) else np.asarray(tensor)
        return cls(tuple(arr.shape), output_dtype(arr), name)

    def is_compatible_with(self, other: Any) -> bool:
        """Whether ``other`` (a spec or a value) has a compatible shape and the same dtype."""
        if not isinstance(other, TensorSpec):
            other = TensorSpec.from_tensor(other)
        return other.dtype == self.dtype and shapes_compatible(self.shape, other.shape)

    def most_specific_compatible(self, other: TensorSpec) -> TensorSpec:
        if self.shape is None or other.shape is None or len(self.shape) != len(other.shape):
            shape = None
        else:
            shape = [a if a == b else None for a, b in zip(self.shape, other.shape)]
        return TensorSpec(shape, self.dtype, self.name)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TensorSpec):
            return NotImplemented
        return (self.shape == other.shape if self.shape is not None else other.shape is None) \
            and self.dtype == other.dtype and self.name == other.name

    def __hash__(self) -> int:
        return hash((None if self.shape is None else tuple(self.shape), str(self.dtype)))

    def __repr__(self) -> str:
        shape = "<unknown>" if self.shape is None else str(self.shape)
        dtype = self.dtype if isinstance(self.dtype, DType) else f"numpy.{self.dtype}"
        return f"TensorSpec(shape={shape}, dtype={dtype}, name={self.name!r})"


def _spec_dtype(dtype: Any) -> Any:
    if isinstance(dtype, DType):
        return dtype
    try:
        return as_dtype(dtype)
    except TypeError:
        return corten_dtype_of(np.dtype(dtype))


@functools.lru_cache(maxsize=None)
def corten_dtype_of(np_dtype: np.dtype) -> DType:
    """The corten dtype a numpy array of ``np_dtype`` becomes (corten's conversion rules)."""
    return convert_to_tensor(np.zeros((0,), dtype=np_dtype)).dtype


def output_dtype(leaf: Any) -> Any:
    """The dtype a leaf has once iteration converts it."""
    if isinstance(leaf, Tensor):
        return leaf.dtype
    arr = np.asarray(leaf)
    if arr.dtype.kind in "SUO":
        return DType.string
    return corten_dtype_of(arr.dtype)


def shapes_compatible(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return True
    if len(a) != len(b):
        return False
    return all(x is None or y is None or x == y for x, y in zip(a, b))


# --------------------------------------------------------------------------- structure


def is_structure(x: Any) -> bool:
    return isinstance(x, (tuple, list, Mapping))


def flatten(structure: Any) -> list[Any]:
    return nest.flatten(structure)


def pack(structure: Any, flat: list[Any]) -> Any:
    return nest.pack_sequence_as(structure, flat)


def map_structure(fn: Any, *structures: Any) -> Any:
    return nest.map_structure(fn, *structures)


def same_structure(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` nest the same way (same container kinds, keys and lengths)."""
    if isinstance(a, Mapping):
        return isinstance(b, Mapping) and sorted(a) == sorted(b) and all(
            same_structure(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and isinstance(b, tuple) == isinstance(a, tuple) \
            and len(a) == len(b) and all(same_structure(x, y) for x, y in zip(a, b))
    return not is_structure(b)


# --------------------------------------------------------------------------- leaves


def _value_to_array(value: Any) -> np.ndarray:
    """A Python value (scalar, list) as an array with TensorFlow's dtype inference
    (Python ints become int32, floats float32); strings become a bytes array."""
    try:
        return convert_to_tensor(value).numpy()
    except TypeError:
        arr = np.asarray(value)
        if arr.dtype.kind == "U":
            arr = np.char.encode(arr, "utf-8")
        return arr


def normalize(value: Any, copy_tensors: bool = True) -> Any:
    """Turns a user-given nested value into an element structure whose leaves are numpy arrays
    (or Tensors when ``copy_tensors`` is False).

    Raises:
        TypeError: for a None component or a value that is not numeric, bool or string.
    """
    if isinstance(value, Tensor):
        return np.array(value) if copy_tensors else value
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, np.generic):
        return np.asarray(value)
    if isinstance(value, Mapping):
        return {k: normalize(v, copy_tensors) for k, v in value.items()}
    if isinstance(value, tuple):
        items = [normalize(v, copy_tensors) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, list):
        if any(isinstance(v, Mapping) for v in value):
            return [normalize(v, copy_tensors) for v in value]
        try:
            if any(isinstance(v, (Tensor, np.ndarray)) for v in value):
                return np.stack([np.asarray(v) for v in value]) if value else np.zeros((0,))
            return _value_to_array(value)
        except ValueError:
            # Ragged parts cannot form one array: keep the list as structure.
            return [normalize(v, copy_tensors) for v in value]
    if value is None:
        raise TypeError("Dataset components cannot be None. Received: value=None")
    if isinstance(value, str):
        return np.asarray(value.encode("utf-8"))
    if isinstance(value, (bytes, bool, int, float)):
        return _value_to_array(value)
    if hasattr(value, "__array__"):
        return np.asarray(value)
    raise TypeError(
        "Dataset components must be tensors, numpy arrays, Python numbers, strings or "
        f"tuples/dicts/lists of them. Received: value of type {type(value).__name__}")


def to_output(leaf: Any) -> Any:
    """What iteration yields for a leaf: a corten Tensor."""
    if isinstance(leaf, Tensor):
        return leaf
    return convert_to_tensor(leaf)


def to_numpy(leaf: Any) -> Any:
    """What ``as_numpy_iterator`` yields for a leaf (the numpy value of ``to_output``)."""
    out = to_output(leaf)
    return out.numpy() if isinstance(out, Tensor) else out


def spec_of(element: Any) -> Any:
    """The element_spec structure of a concrete element."""
    return map_structure(TensorSpec.from_tensor, element)


def as_array(leaf: Any) -> np.ndarray:
    return np.asarray(leaf)
