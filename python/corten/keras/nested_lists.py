"""Nested Python lists of numbers as arrays, for layer calls and the data adapter.

A (nested) list whose leaves are numbers is one array, as in Keras 2 (its
ListsOfScalarsDataAdapter, and Layer.__call__ converting Python inputs), not a list of inputs;
a ragged one is refused with a message that says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_SCALARS = (int, float, bool, np.generic, str, bytes)


def is_list_of_scalars(x: Any) -> bool:
    """Whether ``x`` is a (nested) Python list of numbers: one array, not a list of inputs
    (Keras 2's ListsOfScalarsDataAdapter; as there, the first element decides)."""
    while isinstance(x, (list, tuple)) and x:
        x = x[0]
    return isinstance(x, _SCALARS)


def list_to_array(x: Any, name: str = "x") -> np.ndarray:
    """A nested list of numbers as one numpy array; a ragged one is refused, saying so."""
    try:
        arr = np.asarray(x)
    except ValueError:
        arr = None
    if arr is None or arr.dtype == object:
        raise ValueError(
            f"{name} is a ragged nested list (its rows have different lengths), which is not "
            f"one array: pad the rows to one length, or pass a numpy array. Received: "
            f"{name}={_preview(x)}")
    return arr


def _preview(x: Any, limit: int = 80) -> str:
    text = repr(x)
    return text if len(text) <= limit else text[:limit] + "..."
