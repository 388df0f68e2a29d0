"""Checks on the raw bytes of an HDF5 file that keep a damaged file from hanging the process
inside libhdf5, run before h5py opens it.

Note [HDF5 hangs on damaged files]
libhdf5 trusts the sizes it reads from the file. One place where that turns a damaged byte
into an endless loop (h5py#2088, HDFGroup/hdf5#1707; still so in HDF5 2.0) is the decoding of
a global heap collection, which holds every variable-length string: the attribute
``layer_names`` and ``weight_names`` of tf.keras's files, the model config. libhdf5 walks the
objects of a collection with ``p = begin + need``, where ``need`` is the object's declared size
(plus its 16-byte header, unless it is the free-space object, index 0). A free-space object of
size 0 makes ``need`` 0 and the walk never advances; a size past the end of the collection
can wrap the pointer around to an earlier byte, from which the walk can come back. Neither
can be interrupted: the loop runs in C and holds the GIL. So every collection of the file is
walked here the way libhdf5 walks it, and a step that would not advance, or would leave the
collection, is refused with a ValueError naming the file and the byte offsets, before
libhdf5 sees the file.

A collection starts with the signature ``GCOL`` and version 1; one is checked when the size it
declares fits in the file (libhdf5 refuses one that does not, with an error, and a size that
does not fit is what four bytes of weight data that happen to spell ``GCOL`` would declare).
The scan is a byte search over a memory map: about 0.3 s for a 300 MB file in the page cache,
less than reading its weights takes.
"""

from __future__ import annotations

import mmap
import os
from typing import Any

import numpy as np

__all__ = ["check_hdf5_file", "hang_reason", "read_array", "read_attr"]

_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_COLLECTION = b"GCOL\x01"


def _sizes(data: Any) -> tuple[int, int] | None:
    """The superblock's (size of offsets, size of lengths), or None when no superblock is
    found at the offsets libhdf5 searches (0, 512, 1024, ...)."""
    offset = 0
    while offset + 16 <= len(data):
        if data[offset:offset + 8] == _SIGNATURE:
            version = data[offset + 8]
            at = offset + 13 if version in (0, 1) else offset + 9
            if at + 2 > len(data):
                return None
            return data[at], data[at + 1]
        offset = 512 if offset == 0 else offset * 2
    return None


def _walk_collection(data: Any, start: int, length_size: int) -> str | None:
    """Why libhdf5 would loop forever on the global heap collection at ``start``, or None.

    The walk is libhdf5's (H5HG__cache_heap_deserialize): objects follow a header of
    4 + 1 + 3 + length_size bytes; each has a 2-byte index, 2-byte reference count, 4 reserved
    bytes and a length_size-byte size, and takes ``header + size`` rounded up to 8 bytes,
    except the free-space object (index 0), which takes exactly ``size``.
    """
    header = 8 + length_size
    size = int.from_bytes(data[start + 8:start + 8 + length_size], "little")
    end = start + size
    if size < header or end > len(data):
        return None  # not checked: libhdf5 rejects it, or it is not a collection
    p = start + header
    object_header = 8 + length_size
    while p < end:
        if p + object_header > end:
            return None  # a tail too small for an object header: free space
        index = int.from_bytes(data[p:p + 2], "little")
        declared = int.from_bytes(data[p + 8:p + 8 + length_size], "little")
        need = object_header + (declared + 7) // 8 * 8 if index > 0 else declared
        if need == 0:
            return (f"the global heap collection at byte {start} has a free-space object of "
                    f"size 0 at byte {p}")
        if need > end - p:
            return (f"the object {index} of the global heap collection at byte {start} "
                    f"(bytes {start}..{end}) declares {declared} bytes at byte {p}, past the "
                    "collection's end")
        p += need
    return None


def hang_reason(data: Any) -> str | None:
    """Why libhdf5 would loop forever on HDF5 bytes (a bytes-like object or memory map), or
    None (Note [HDF5 hangs on damaged files])."""
    sizes = _sizes(data)
    if sizes is None:
        return None  # no superblock: h5py refuses to open it
    length_size = sizes[1]
    if length_size not in (2, 4, 8):
        return None  # libhdf5 refuses such a superblock
    start = data.find(_COLLECTION)
    while start >= 0:
        why = _walk_collection(data, start, length_size)
        if why is not None:
            return why + ", which would make the HDF5 library loop forever"
        start = data.find(_COLLECTION, start + 1)
    return None


def check_hdf5_file(filepath: str) -> None:
    """Refuses an HDF5 file on which libhdf5 would loop forever (`hang_reason`, read through a
    read-only memory map).

    Raises:
        ValueError: naming `filepath` and the damaged collection.
    """
    with open(filepath, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            why = hang_reason(data)
    if why is not None:
        raise ValueError(f"Cannot load HDF5 file {filepath!r}: {why}. The file is corrupted.")


# Note [HDF5 crashes on damaged datatypes]
# libhdf5 also trusts a datatype's fields. A variable-length datatype whose kind (4 bits: 0 a
# sequence, 1 a string) holds any other value decodes without complaint, and reading data of
# that type then crashes the process (a segmentation fault inside H5Aread/H5Dread, found by
# tests/python/keras/saving/fuzz_loading.py from a single flipped bit). The class of an
# attribute's or dataset's datatype can be asked without reading anything, and a Keras file
# holds only strings and numbers: anything else is refused before it is read.
def _h5():
    from corten.keras.saving import hdf5_format

    return hdf5_format._h5py()


def _class_name(cls: int) -> str:
    h5t = _h5().h5t
    names = {h5t.INTEGER: "integer", h5t.FLOAT: "float", h5t.STRING: "string",
             h5t.COMPOUND: "compound", h5t.VLEN: "variable-length sequence",
             h5t.ARRAY: "array", h5t.ENUM: "enum", h5t.OPAQUE: "opaque",
             h5t.REFERENCE: "reference", h5t.BITFIELD: "bitfield", h5t.TIME: "time"}
    return names.get(cls, f"unknown (class {cls})")


def read_attr(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.attrs[name]`` (``default`` when absent), after checking that its datatype is a
    string or a number (Note [HDF5 crashes on damaged datatypes]).

    Raises:
        ValueError: naming the attribute and the object, for any other datatype.
    """
    h5py = _h5()
    if name not in obj.attrs:
        return default
    cls = h5py.h5a.open(obj.id, name.encode("utf-8")).get_type().get_class()
    if cls not in (h5py.h5t.STRING, h5py.h5t.INTEGER, h5py.h5t.FLOAT):
        raise ValueError(f"the attribute {name!r} of {obj.name!r} has a {_class_name(cls)} "
                         "datatype, where a Keras file holds strings or numbers")
    return obj.attrs[name]


def read_array(dataset: Any) -> np.ndarray:
    """The data of an h5py dataset, after checking that its datatype is a number (Note [HDF5
    crashes on damaged datatypes]).

    Raises:
        ValueError: naming the dataset, for any other datatype.
    """
    h5t = _h5().h5t
    cls = dataset.id.get_type().get_class()
    if cls not in (h5t.INTEGER, h5t.FLOAT, h5t.ENUM):
        raise ValueError(f"the dataset {dataset.name!r} has a {_class_name(cls)} datatype, "
                         "where a Keras file holds numbers")
    return np.asarray(dataset)
