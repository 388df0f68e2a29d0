"""libcorten's C API (corten/c_api.h) through ctypes, as a Rust, Go or C# program binds it:
the declarations, and tensors to and from numpy."""

from __future__ import annotations

import ctypes
import os

import numpy as np

OK, VALUE_ERROR, TYPE_ERROR = 0, 1, 2
#: numpy dtype of each corten_dtype.
DTYPES = {0: np.bool_, 1: np.int32, 2: np.int64, 3: np.float32, 4: np.float64}
CODES = {np.dtype(v): k for k, v in DTYPES.items()}


def load(path: str) -> ctypes.CDLL:
    """libcorten at `path` with the C API's signatures declared."""
    c = ctypes.CDLL(path)
    p, i64, i32, s = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32, ctypes.c_char_p
    declare = {
        "corten_last_error": (s, []),
        "corten_model_load": (ctypes.c_int, [s, ctypes.POINTER(p)]),
        "corten_model_load_signature": (ctypes.c_int, [s, s, ctypes.POINTER(p)]),
        "corten_model_free": (None, [p]),
        "corten_model_num_inputs": (i64, [p]),
        "corten_model_num_outputs": (i64, [p]),
        "corten_model_input_name": (s, [p, i64]),
        "corten_model_output_name": (s, [p, i64]),
        "corten_model_input_index": (ctypes.c_int, [p, s, ctypes.POINTER(i64)]),
        "corten_model_input_dtype": (ctypes.c_int, [p, i64]),
        "corten_model_input_rank": (i32, [p, i64]),
        "corten_model_input_shape": (ctypes.POINTER(i64), [p, i64]),
        "corten_model_predict": (ctypes.c_int, [p, ctypes.POINTER(p), i64, ctypes.POINTER(p),
                                                i64]),
        "corten_tensor_create": (ctypes.c_int, [ctypes.c_int, ctypes.POINTER(i64), i32, p,
                                                ctypes.POINTER(p)]),
        "corten_tensor_free": (None, [p]),
        "corten_tensor_dtype": (ctypes.c_int, [p]),
        "corten_tensor_rank": (i32, [p]),
        "corten_tensor_shape": (ctypes.POINTER(i64), [p]),
        "corten_tensor_data": (p, [p]),
        "corten_set_num_threads": (ctypes.c_int, [i32]),
        "corten_get_num_threads": (i32, []),
        "corten_set_cache_limit": (ctypes.c_int, [i64]),
        "corten_allocator_live_bytes": (i64, []),
        "corten_allocator_peak_bytes": (i64, []),
    }
    for name, (restype, argtypes) in declare.items():
        fn = getattr(c, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return c


def library_path() -> str:
    import corten

    return os.path.join(corten.get_library_dir(), "libcorten.so")


def load_or_skip() -> ctypes.CDLL:
    """The installed libcorten, or a pytest skip saying where it was looked for."""
    import pytest

    path = library_path()
    if not os.path.exists(path):
        pytest.skip(f"the shared library is not at {path} (a build without it)")
    return load(path)


def tensor(lib: ctypes.CDLL, arr: np.ndarray) -> ctypes.c_void_p:
    """A corten_tensor holding a copy of `arr`."""
    arr = np.ascontiguousarray(arr)
    shape = (ctypes.c_int64 * max(arr.ndim, 1))(*arr.shape)
    out = ctypes.c_void_p()
    status = lib.corten_tensor_create(CODES[arr.dtype], shape, arr.ndim, arr.ctypes.data,
                                      ctypes.byref(out))
    assert status == OK, lib.corten_last_error()
    return out


def array(lib: ctypes.CDLL, t: ctypes.c_void_p) -> np.ndarray:
    """A numpy copy of a corten_tensor."""
    rank = lib.corten_tensor_rank(t)
    shape = tuple(lib.corten_tensor_shape(t)[d] for d in range(rank))
    dtype = np.dtype(DTYPES[lib.corten_tensor_dtype(t)])
    n = int(np.prod(shape))
    raw = ctypes.string_at(lib.corten_tensor_data(t), n * dtype.itemsize) if n else b""
    return np.frombuffer(raw, dtype=dtype, count=n).reshape(shape).copy()


class Model:
    """A model loaded through the C API; freed with close()."""

    def __init__(self, lib: ctypes.CDLL, path: str, signature: str | None = None):
        self.lib = lib
        self.handle = ctypes.c_void_p()
        status = lib.corten_model_load(path.encode(), ctypes.byref(self.handle)) \
            if signature is None else \
            lib.corten_model_load_signature(path.encode(), signature.encode(),
                                            ctypes.byref(self.handle))
        if status != OK:
            raise ValueError(lib.corten_last_error().decode())

    @property
    def input_names(self) -> list[str]:
        n = self.lib.corten_model_num_inputs(self.handle)
        return [self.lib.corten_model_input_name(self.handle, i).decode() for i in range(n)]

    @property
    def output_names(self) -> list[str]:
        n = self.lib.corten_model_num_outputs(self.handle)
        return [self.lib.corten_model_output_name(self.handle, i).decode() for i in range(n)]

    def predict(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """The outputs for `inputs` (in the model's order); ValueError with the C API's
        message when the call fails."""
        lib = self.lib
        ins = [tensor(lib, x) for x in inputs]
        n_out = lib.corten_model_num_outputs(self.handle)
        outs = (ctypes.c_void_p * max(n_out, 1))()
        try:
            status = lib.corten_model_predict(self.handle, (ctypes.c_void_p * max(len(ins), 1))(
                *[t.value for t in ins]), len(ins), outs, n_out)
            if status != OK:
                raise ValueError(lib.corten_last_error().decode())
            return [array(lib, outs[i]) for i in range(n_out)]
        finally:
            for t in ins:
                lib.corten_tensor_free(t)
            for i in range(n_out):
                if outs[i]:
                    lib.corten_tensor_free(outs[i])

    def close(self) -> None:
        self.lib.corten_model_free(self.handle)
        self.handle = ctypes.c_void_p()
