"""Python-side conveniences of :class:`corten.Tensor` (the class itself lives in C++)."""

from __future__ import annotations

import numpy as np

from corten import _C
from corten.tensor_shape import TensorShape

Tensor = _C.Tensor
_string = _C.DType.string
_bfloat16 = _C.DType.bfloat16


_new_tuple = tuple.__new__


def _shape(self: Tensor) -> TensorShape:
    # The C++ side gives ints (None for unknown dims): no per-dim conversion needed.
    return _new_tuple(TensorShape, self._shape_tuple)


def _check_not_traced(t: Tensor, use: str) -> None:
    if _C.trace_holds(t):
        raise TypeError(f"corten.function: {use} of a traced tensor is not available while "
                        "tracing (its value changes from call to call); return the tensor from "
                        "the function instead, or run it eagerly with "
                        "corten.config.run_functions_eagerly(True)")


def _bfloat16_array(t: Tensor) -> np.ndarray:
    # numpy has no bfloat16 of its own and the buffer protocol no format for it: ml_dtypes'
    # (a dependency), through float32, which holds every bfloat16 exactly.
    import ml_dtypes

    return np.asarray(_C.cast(t, _C.DType.float32)).astype(ml_dtypes.bfloat16)


def _numpy(self: Tensor) -> np.ndarray | np.generic:
    """A numpy copy of the tensor's values (a numpy scalar for 0-d tensors)."""
    _check_not_traced(self, "numpy()")
    if not self.device.endswith("CPU:0"):  # a device tensor: numpy reads host memory
        self = self.cpu()
    # bfloat16 has no buffer format: numpy reaches __array__ (_array), which converts it.
    arr = _C.string_to_numpy(self) if self.dtype == _string else np.array(self, copy=True)
    return arr[()] if arr.ndim == 0 else arr


def _repr(self: Tensor) -> str:
    if self.device == "meta":
        return f"<corten.Tensor: shape={self.shape}, dtype={self.dtype.name}, device=meta>"
    if not self.device.endswith("CPU:0"):
        try:  # TensorFlow shows a device tensor's values too, copied to the host
            self = self.cpu()
        except (ValueError, NotImplementedError):
            return (f"<corten.Tensor: shape={self.shape}, dtype={self.dtype.name}, "
                    f"device={self.device!r}>")
    arr = np.asarray(self)
    value = repr(arr[()]) if arr.ndim == 0 and self.dtype == _string else \
        str(arr[()]) if arr.ndim == 0 else np.array_repr(arr)
    return f"<corten.Tensor: shape={self.shape}, dtype={self.dtype.name}, numpy={value}>"


def _str(self: Tensor) -> str:
    if self.device == "meta":
        return _repr(self)
    if not self.device.endswith("CPU:0"):
        try:
            self = self.cpu()
        except (ValueError, NotImplementedError):
            return _repr(self)
    body = np.array2string(np.asarray(self))
    sep = "\n" if "\n" in body else ""
    return f"corten.Tensor({sep}{body}, shape={self.shape}, dtype={self.dtype.name})"


def _iter(self: Tensor):
    if self.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    for i in range(len(self)):
        yield self[i]


def _array(self: Tensor, dtype=None, copy=None) -> np.ndarray:
    # Reached only when the buffer protocol failed, i.e. for meta and device tensors: copy a
    # device tensor to the host, and for the others raise the buffer protocol's error instead
    # of letting numpy wrap the tensor in an object array.
    if self.device == "meta":
        raise ValueError(f"a meta tensor of shape {self.shape} has no data to convert to numpy")
    _check_not_traced(self, "conversion to numpy")
    if self.dtype == _string:  # numpy has no variable-length strings: bytes objects, as TF
        arr = _C.string_to_numpy(self)
        return arr if dtype is None else arr.astype(dtype)
    if not self.device.endswith("CPU:0"):  # numpy interop copies a device tensor to the host
        return np.asarray(self.cpu(), dtype=dtype)
    if self.dtype == _bfloat16:
        arr = _bfloat16_array(self)
        return arr if dtype is None else arr.astype(dtype)
    memoryview(self)
    raise TypeError(f"cannot convert {self!r} to a numpy array")


def _get_shape(self: Tensor) -> TensorShape:
    return self.shape


Tensor.shape = property(_shape, doc="The tensor's shape as a TensorShape.")
Tensor.numpy = _numpy
Tensor.__repr__ = _repr
Tensor.__str__ = _str
Tensor.__iter__ = _iter
Tensor.get_shape = _get_shape
Tensor.__array__ = _array
