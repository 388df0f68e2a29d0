"""Weights files in the safetensors layout (``Model.save_weights`` / ``load_weights``).

Layout (https://github.com/huggingface/safetensors, readable by ``safetensors.numpy``)::

    8 bytes      N, the header length, unsigned little-endian
    N bytes      a UTF-8 JSON object, padded with spaces to a multiple of 8 bytes:
                   {"<name>": {"dtype": "F32", "shape": [784, 64], "data_offsets": [b, e]}, ...,
                    "__metadata__": {"format": "corten.keras.weights", ...}}
    rest         the tensors' bytes, little-endian, C order; [b, e) is relative to here

Names are the weights' paths (``dense/kernel``), made unique with ``_1``, ``_2``... suffixes;
``__metadata__["weight_names"]`` (a JSON string, as safetensors metadata values are strings)
keeps the model's weight order. Loading matches the file to ``model.weights`` by name when
every name matches, else by position, and checks every shape before assigning anything.

Reading is the C++ reader's (``corten::WeightsFile``, corten/weights_file.h), the same one native
applications link: it never trusts the file (the header length is checked against the file size
before anything is allocated, every offset against the data section, every size against the
shape, and the per-tensor checksums are verified), so a truncated or corrupted file raises
``ValueError`` instead of reading out of bounds.
Writing goes to a temporary file in the same directory that replaces the target with
``os.replace`` once complete, so an interrupted save leaves any previous file intact.
"""

from __future__ import annotations

import json
import os
import struct
import warnings
import zlib
from typing import Any

import functools

import numpy as np

from corten import _C
from corten.keras.saving import atomic

__all__ = ["save_weights", "load_weights", "write_tensors", "read_tensors", "assign_weights"]

_FORMAT = "corten.keras.weights"


@functools.cache
def _dtypes() -> dict[str, np.dtype]:
    """The file's dtype codes. Built on first use: importing ml_dtypes (for bfloat16) takes
    about half of ``import corten``'s time, and most programs never save weights."""
    import ml_dtypes

    return {
        "F32": np.dtype("<f4"),
        "F64": np.dtype("<f8"),
        "F16": np.dtype("<f2"),
        "BF16": np.dtype(ml_dtypes.bfloat16),
        "I32": np.dtype("<i4"),
        "I64": np.dtype("<i8"),
        "BOOL": np.dtype("?"),
    }


@functools.cache
def _codes() -> dict[str, str]:
    # By dtype name: ml_dtypes' types share numpy's void type string ('<V2').
    return {v.name: k for k, v in _dtypes().items()}


def _dtype_code(arr: np.ndarray) -> str:
    code = _codes().get(arr.dtype.name)
    if code is None or arr.dtype.byteorder == ">":
        raise ValueError(f"Cannot save a weight of dtype {arr.dtype}: the weights file supports "
                         "float32, float64, float16, bfloat16, int32, int64 and bool. Received: "
                         f"dtype={arr.dtype}")
    return code


# ---------------------------------------------------------------------- raw tensors
def _layout(tensors: dict[str, np.ndarray],
            metadata: dict[str, str] | None) -> tuple[bytes, list[np.ndarray]]:
    header: dict[str, Any] = {}
    arrays = []
    offset = 0
    checksums: dict[str, int] = {}
    entries: dict[str, Any] = {}
    for name, value in tensors.items():
        arr = np.asarray(value)
        code = _dtype_code(arr)
        arr = np.asarray(arr, dtype=_dtypes()[code], order="C")  # keeps 0-d arrays 0-d
        entries[name] = {"dtype": code, "shape": [int(d) for d in arr.shape],
                         "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
        arrays.append(arr)
        checksums[name] = zlib.crc32(arr.reshape(-1).view(np.uint8))
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    meta[CHECKSUMS] = json.dumps(checksums, separators=(",", ":"))
    header["__metadata__"] = meta
    header.update(entries)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    return raw, arrays


def tensors_nbytes(tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> int:
    """The size of the file ``write_tensors`` would write."""
    raw, arrays = _layout(tensors, metadata)
    return 8 + len(raw) + sum(a.nbytes for a in arrays)


#: The metadata key of the per-tensor checksums: a JSON object of CRC-32 values (zlib's), one
#: per tensor, over its bytes. Verified on load when present; files without it still load.
CHECKSUMS = "corten_crc32"


def write_tensors_to(f: Any, tensors: dict[str, np.ndarray],
                     metadata: dict[str, str] | None = None) -> None:
    """Writes named arrays in the safetensors layout to the binary stream ``f``."""
    raw, arrays = _layout(tensors, metadata)
    f.write(struct.pack("<Q", len(raw)))
    f.write(raw)
    for arr in arrays:
        if arr.nbytes:
            f.write(arr.reshape(-1).view(np.uint8).data)


def write_tensors(filepath: Any, tensors: dict[str, np.ndarray],
                  metadata: dict[str, str] | None = None) -> None:
    """Writes named arrays to ``filepath`` in the safetensors layout, atomically."""
    with atomic.atomic_file(os.fspath(filepath)) as f:
        write_tensors_to(f, tensors, metadata)


def read_header(filepath: Any) -> tuple[dict[str, Any], dict[str, str], int]:
    """Reads and validates the header: ``(entries, metadata, data_start)``, each entry
    ``{"dtype": code, "shape": tuple, "offsets": (begin, end)}``.

    Raises:
        ValueError: for a truncated or corrupted file.
    """
    filepath = os.fspath(filepath)
    size = os.path.getsize(filepath)
    with open(filepath, "rb") as f:
        return read_header_from(f, size, filepath)


def read_header_from(f: Any, size: int, label: str) -> tuple[dict[str, Any], dict[str, str], int]:
    """``read_header`` for a binary stream of ``size`` bytes positioned at its start. The
    header is validated by the C++ reader (corten/weights_file.h), as every load is; only its
    bytes are read here, up to the reader's limit."""
    head = f.read(8)
    if len(head) == 8:
        (n,) = struct.unpack("<Q", head)
        if n <= min(size - 8, _C.weights_file_max_header):
            head += f.read(n)
    entries, metadata, data_start = _C.weights_file_header(head, size, label)
    return ({name: {"dtype": code, "shape": tuple(shape), "offsets": (begin, end)}
             for name, code, shape, begin, end in entries}, metadata, data_start)


def _arrays(names: list[str], tensors: list[Any]) -> dict[str, np.ndarray]:
    return {name: np.asarray(t.numpy()) for name, t in zip(names, tensors, strict=True)}


def read_tensors(filepath: Any) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Reads every array of a safetensors-layout file: ``(arrays by name, metadata)``, with the
    C++ reader (corten/weights_file.h): every size and offset is validated before anything is
    allocated, and the per-tensor checksums are verified.

    Raises:
        ValueError: for a truncated or corrupted file.
    """
    names, tensors, metadata = _C.weights_file_load(os.fspath(filepath))
    return _arrays(names, tensors), metadata


def read_tensors_from(f: Any, size: int,
                      label: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """``read_tensors`` for a binary stream of ``size`` bytes positioned at its start (a
    forward-only, compressed stream works too: its bytes are read once, in order)."""
    names, tensors, metadata = _C.weights_file_parse(f.read(size), label)
    return _arrays(names, tensors), metadata


# ---------------------------------------------------------------------- model weights
def _weight_path(variable: Any) -> str:
    name = getattr(variable, "_name", None) or getattr(variable, "name", "weight")
    return name[:-2] if name.endswith(":0") else name


def weight_names(weights: list[Any]) -> list[str]:
    """Unique paths of the weights, in order: ``dense/kernel``, ``dense/kernel_1``, ..."""
    names, used = [], set()
    for w in weights:
        base = _weight_path(w)
        name, i = base, 0
        while name in used or name == "__metadata__":
            i += 1
            name = f"{base}_{i}"
        used.add(name)
        names.append(name)
    return names


def save_weights(model: Any, filepath: Any, overwrite: bool = True,
                 save_format: Any = None) -> None:
    """Saves ``model.weights`` to exactly ``filepath``: in the safetensors layout, or in
    tf.keras 2's HDF5 layout for a name ending in ``.h5``/``.hdf5`` or ``save_format="h5"``,
    except a name ending in ``.weights.h5``, which gets the Keras 3 layout (with the
    optimizer's variables) as tf.keras 2.13+ writes it.

    Raises:
        ValueError: if the model has no weights yet.
        ImportError: for an HDF5 file without h5py.
        FileExistsError: if the file exists and ``overwrite`` is False.
    """
    from corten.keras.saving import hdf5_format

    filepath = os.fspath(filepath)
    if hdf5_format.is_hdf5_path(filepath, save_format):
        if save_format is None and filepath.lower().endswith(".weights.h5"):
            # tf.keras 2.13+ writes (and reads) such names in the Keras 3 layout.
            from corten.keras.saving import keras_zip

            if not overwrite and os.path.exists(filepath):
                raise FileExistsError(f"save_weights: {filepath!r} exists and overwrite=False")
            keras_zip.save_v3_weights(model, filepath)
            return
        hdf5_format.save_weights_to_hdf5(model, filepath, overwrite=overwrite)
        return
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save_weights: {filepath!r} exists and overwrite=False")
    weights = model.weights
    if not weights and not getattr(model, "built", False):
        raise ValueError(
            f"Unable to save the weights of model {model.name!r}: it has not created its "
            "weights yet. Call the model on a batch of data (or build it) first.")
    names = weight_names(weights)
    tensors = {n: np.asarray(w) for n, w in zip(names, weights)}
    write_tensors(filepath, tensors, metadata={
        "format": _FORMAT, "model": model.name, "weight_names": json.dumps(names)})


def _layer_of(name: str) -> str:
    return name.rsplit("/", 1)[0] if "/" in name else name


def load_weights(model: Any, filepath: Any, skip_mismatch: bool = False,
                 by_name: bool = False) -> None:
    """Loads weights written by ``save_weights`` into ``model``: a safetensors file, or an
    HDF5 file in tf.keras 2's layout (a weights file or a whole-model file), whose layers are
    matched by position, or by name with ``by_name``.

    Nothing is assigned unless every weight can be (apart from those ``skip_mismatch`` skips,
    with a warning).

    Raises:
        ValueError: for a truncated or corrupted file, a model without weights yet, a different
            number of weights or a shape mismatch (naming the layer and both shapes).
    """
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"load_weights: no such file: {filepath!r}")
    from corten.keras.saving import hdf5_format

    if hdf5_format.is_hdf5(filepath) or filepath.lower().endswith((".h5", ".hdf5")):
        hdf5_format.load_weights_from_hdf5(model, filepath, by_name=by_name,
                                           skip_mismatch=skip_mismatch)
        return
    arrays, metadata = read_tensors(filepath)
    assign_weights(model, arrays, metadata, filepath, skip_mismatch=skip_mismatch)


def numpy_dtype(code: str) -> np.dtype:
    """The numpy dtype of a safetensors dtype code ("F32", ...)."""
    return np.dtype(_dtypes()[code])


def assign_weights(model: Any, arrays: dict[str, np.ndarray], metadata: dict[str, str],
                   filepath: str, skip_mismatch: bool = False, check_only: bool = False) -> None:
    """Assigns named arrays (read from ``filepath``) to ``model.weights``: by name when every
    name matches, else by position; all shapes are checked before anything is assigned.
    With ``check_only``, only the checks run (the arrays may be shape-only stand-ins).

    Raises:
        ValueError: for a model without weights yet, a different number of weights or a shape
            mismatch (naming the layer and both shapes).
    """
    weights = model.weights
    if not weights:
        raise ValueError(
            f"Unable to load weights into model {model.name!r}, which has not created its "
            "weights yet. Call the model on a batch of data (or build it) first, then load "
            "the weights.")
    order = list(arrays)
    try:
        saved_order = json.loads(metadata.get("weight_names", "null"))
    except (TypeError, json.JSONDecodeError):
        saved_order = None
    if isinstance(saved_order, list) and sorted(map(str, saved_order)) == sorted(order):
        order = [str(n) for n in saved_order]
    names = weight_names(weights)
    if set(names) <= set(order) and len(names) == len(order):
        pairs = [(w, n, n) for w, n in zip(weights, names)]
    else:
        if len(order) != len(weights) and not skip_mismatch:
            raise ValueError(
                f"Weight count mismatch when loading {filepath!r} into model {model.name!r}: "
                f"the model has {len(weights)} weights but the file has {len(order)} "
                f"({order[:6]}{'...' if len(order) > 6 else ''}).")
        if len(order) != len(weights):
            warnings.warn(f"Skipping {abs(len(order) - len(weights))} weights: the model has "
                          f"{len(weights)} weights and {filepath!r} has {len(order)}.",
                          stacklevel=3)
        pairs = [(w, n, f) for w, n, f in zip(weights, names, order)]
    updates = []
    for var, model_name, file_name in pairs:
        value = arrays[file_name]
        want = tuple(var.shape)
        want_dtype = np.dtype(var.dtype.name)
        msg = None
        if tuple(value.shape) != want:
            msg = (f"Shape mismatch in layer {_layer_of(model_name)!r} for weight "
                   f"{model_name!r}: the model expects shape {want} but the weights file has "
                   f"shape {tuple(value.shape)} (saved as {file_name!r}).")
        elif value.dtype.kind != want_dtype.kind:  # float32 and float64 convert, as in Keras
            msg = (f"Dtype mismatch in layer {_layer_of(model_name)!r} for weight "
                   f"{model_name!r}: the model expects {want_dtype.name} but the weights file "
                   f"has {value.dtype.name} (saved as {file_name!r}).")
        if msg is not None:
            if skip_mismatch:
                warnings.warn("Skipping loading weights: " + msg, stacklevel=3)
                continue
            raise ValueError(msg)
        updates.append((var, value))
    if check_only:
        return
    for var, value in updates:
        var.assign(value.astype(np.dtype(var.dtype.name), copy=False))
