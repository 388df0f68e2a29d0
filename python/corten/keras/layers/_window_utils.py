"""Argument normalisation and output lengths shared by the pooling, depthwise and resampling
layers (tf_keras's conv_utils)."""

from __future__ import annotations

from typing import Any


def normalize_tuple(value: Any, n: int, name: str, allow_zero: bool = False) -> tuple:
    """An int or an iterable of `n` ints as a tuple of `n` ints (positive, or >= 0 when
    allow_zero)."""
    if isinstance(value, int):
        values = (value,) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                             f"Received: {name}={value!r}") from None
        if len(values) != n or not all(isinstance(v, int) for v in values):
            raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                             f"Received: {name}={value!r}")
    low = 0 if allow_zero else 1
    if any(v < low for v in values):
        req = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers {req}. "
                         f"Received: {name}={value!r}")
    return values


def normalize_padding(value: Any) -> str:
    """'valid' or 'same' (case-insensitive)."""
    padding = value.lower() if isinstance(value, str) else value
    if padding not in ("valid", "same"):
        raise ValueError(f"The `padding` argument must be one of 'valid', 'same'. Received: "
                         f"padding={value!r}")
    return padding


def normalize_data_format(value: Any) -> str:
    """'channels_last' (the default for None) or 'channels_first'."""
    if value is None:
        return "channels_last"
    fmt = str(value).lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"The `data_format` argument must be one of 'channels_first', "
                         f"'channels_last'. Received: data_format={value!r}")
    return fmt


def output_length(length: int | None, window: int, padding: str, stride: int,
                  dilation: int = 1) -> int | None:
    """The output length of a window op along one axis (None stays None)."""
    if length is None:
        return None
    if padding == "same":
        return (length + stride - 1) // stride
    eff = (window - 1) * dilation + 1
    return max(length - eff + stride, 0) // stride


def spatial_axes(rank: int, data_format: str) -> list[int]:
    """The axes of the spatial dimensions of a (batch, ..., channels) input."""
    return list(range(2, rank + 2)) if data_format == "channels_first" else list(
        range(1, rank + 1))


def check_rank(layer: Any, shape: tuple, rank: int) -> None:
    """ValueError naming the layer unless the input has rank `rank` + 2."""
    if len(shape) != rank + 2:
        raise ValueError(f"Input 0 of layer {layer.name!r} ({type(layer).__name__}) is "
                         f"incompatible with the layer: expected ndim={rank + 2}, found "
                         f"ndim={len(shape)}. Full shape received: {tuple(shape)}")
