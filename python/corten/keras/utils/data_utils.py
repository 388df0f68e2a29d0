"""to_categorical and pad_sequences: the array helpers Keras scripts prepare their data with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import corten

__all__ = ["to_categorical", "pad_sequences"]


def to_categorical(y: Any, num_classes: int | None = None, dtype: str = "float32") -> np.ndarray:
    """One-hot rows for integer class ids (a trailing axis of size 1 is dropped, as Keras 2).

    Args:
        y: integer class ids, any shape.
        num_classes: the number of classes (default: the largest id + 1).
        dtype: the dtype of the result.

    Returns:
        A numpy array of shape ``y.shape + (num_classes,)``.

    Raises:
        ValueError: ids that are negative or not below num_classes, or non-integer ids.
    """
    ids = np.asarray(y)
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        if not np.all(np.equal(np.mod(ids, 1), 0)):
            raise ValueError(f"to_categorical: class ids must be integers. Received: y={y!r}")
    ids = ids.astype("int64")
    if ids.ndim and ids.shape[-1] == 1 and ids.ndim > 1:
        ids = ids.reshape(ids.shape[:-1])
    if num_classes is None:
        num_classes = int(ids.max()) + 1 if ids.size else 0
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        raise ValueError(f"to_categorical: class ids must be in [0, {num_classes}); got ids from "
                         f"{ids.min()} to {ids.max()}")
    return corten.one_hot(ids, int(num_classes), dtype=dtype).numpy()


def pad_sequences(sequences: Sequence[Any], maxlen: int | None = None, dtype: str = "int32",
                  padding: str = "pre", truncating: str = "pre", value: Any = 0.0) -> np.ndarray:
    """Pads (or truncates) a list of sequences to one length (Keras's pad_sequences).

    Args:
        sequences: a list of sequences (lists or arrays, possibly of vectors).
        maxlen: the length (default: the longest sequence's).
        dtype: the dtype of the result.
        padding: "pre" or "post": where the padding goes.
        truncating: "pre" or "post": which end of a longer sequence is cut.
        value: the padding value.

    Returns:
        A numpy array of shape ``(len(sequences), maxlen) + (feature shape)``.

    Raises:
        ValueError: a bad padding/truncating mode, or sequences whose items differ in shape.
    """
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood')
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    lengths, sample_shape = [], ()
    for x in sequences:
        if not hasattr(x, "__len__"):
            raise ValueError(f"`sequences` must be a list of iterables. Found non-iterable: {x!r}")
        lengths.append(len(x))
        if len(x) and not sample_shape:
            sample_shape = np.asarray(x).shape[1:]
    if maxlen is None:
        maxlen = max(lengths, default=0)
    out = np.full((len(sequences), maxlen) + sample_shape, value, dtype=dtype)
    for i, seq in enumerate(sequences):
        if not len(seq):
            continue
        trunc = np.asarray(seq, dtype=dtype)[-maxlen:] if truncating == "pre" \
            else np.asarray(seq, dtype=dtype)[:maxlen]
        if trunc.shape[1:] != sample_shape:
            raise ValueError(f"Shape of sample {trunc.shape[1:]} of sequence at position {i} is "
                             f"different from expected shape {sample_shape}")
        if maxlen == 0:
            continue
        if padding == "post":
            out[i, :len(trunc)] = trunc
        else:
            out[i, maxlen - len(trunc):] = trunc
    return out
