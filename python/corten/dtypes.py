"""Element types: ``corten.float32``, ``float64``, ``float16``, ``bfloat16``, ``int32``,
``int64``, ``bool``, ``string``. float16 and bfloat16 are storage types: cast, copied, saved and
exchanged with numpy (bfloat16 through ``ml_dtypes``) and DLPack; arithmetic takes them after a
cast to float32."""

from __future__ import annotations

from typing import Any

from corten import _C

DType = _C.DType
float32 = DType.float32
float64 = DType.float64
int32 = DType.int32
int64 = DType.int64
bool = DType.bool  # noqa: A001  (TensorFlow's name)
string = DType.string
float16 = DType.float16
half = float16
bfloat16 = DType.bfloat16

__all__ = ["DType", "as_dtype", "bfloat16", "bool", "float16", "float32", "float64", "half",
           "int32", "int64", "string"]


# TensorFlow's DataType enum values (types.proto) of the supported dtypes: tf.as_dtype(1) is
# tf.float32, so `tf.zeros(1, 1)` (a call in the custom-layers guide) makes a float32 zero.
_DATATYPE_ENUM = {1: "float32", 2: "float64", 3: "int32", 7: "string", 9: "int64", 10: "bool",
                  14: "bfloat16", 19: "float16"}
_BY_NAME = {"float32": float32, "float64": float64, "int32": int32, "int64": int64, "bool": bool,
            "string": string, "float16": float16, "half": float16, "bfloat16": bfloat16}


def as_dtype(type_value: Any) -> DType:
    """Converts a DType, a name ("float32"), a numpy dtype, a Python type (``str`` and
    ``bytes`` are ``string``) or a TensorFlow DataType enum value (1: float32, 2: float64,
    3: int32, 7: string, 9: int64, 10: bool, 14: bfloat16, 19: float16) to a DType.

    Raises:
        TypeError: if the value names no supported dtype.
    """
    if type(type_value) is DType:
        return type_value
    if type(type_value) is str and type_value in _BY_NAME:
        return _BY_NAME[type_value]
    if type(type_value) is int:
        if type_value not in _DATATYPE_ENUM:
            raise TypeError(f"unsupported dtype {type_value}; expected one of float32, float64, "
                            "float16, bfloat16, int32, int64, bool, string")
        type_value = _DATATYPE_ENUM[type_value]
    return _C.as_dtype(type_value)


def _dtype_repr(self: DType) -> str:
    return f"corten.{self.name}"


_enum_eq = DType.__eq__
_enum_hash = DType.__hash__


def _dtype_eq(self: DType, other: object) -> bool:
    if type(other) is DType:
        return self.value == other.value
    # As in TensorFlow, a dtype compares equal to its name: x.dtype == "float32".
    if isinstance(other, str):
        try:
            other = as_dtype(other)
        except TypeError:
            return False
    return _enum_eq(self, other)


def _dtype_ne(self: DType, other: object) -> bool:
    return not _dtype_eq(self, other)


DType.__repr__ = _dtype_repr
DType.__str__ = _dtype_repr
DType.__eq__ = _dtype_eq
DType.__ne__ = _dtype_ne
DType.__hash__ = _enum_hash
# pybind11's enum `name` looks the value up in a dict of entries on every access (~1 us; dtype
# names are read on every layer call): a tuple indexed by the value instead.
_NAMES = tuple(name for name, _ in sorted(DType.__members__.items(), key=lambda kv: kv[1].value))
DType.name = property(lambda self: _NAMES[self.value], doc="The dtype's name, e.g. 'float32'.")
