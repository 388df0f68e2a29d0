"""Argument normalisation and output lengths shared by the convolution, depthwise, pooling and
resampling layers (tf_keras's conv_utils)."""

from __future__ import annotations

from typing import Any


def normalize_tuple(value: Any, n: int, name: str, allow_zero: bool = False) -> tuple:
    """An int or n ints as a tuple of n ints (Keras's conv_utils.normalize_tuple).

    Args:
        value: an int, or an iterable of `n` ints.
        n: the number of ints.
        name: the argument's name, for the error.
        allow_zero: whether 0 is allowed (otherwise each value must be positive).

    Returns:
        A tuple of `n` ints.

    Raises:
        ValueError: not an int or n ints, or a value below 1 (below 0 with allow_zero).
    """
    error = (f"The `{name}` argument must be a tuple of {n} integers. Received {name}={value}")
    if isinstance(value, int):
        values = (value,) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise ValueError(error) from None
        if len(values) != n:
            raise ValueError(error)
        for v in values:
            if not isinstance(v, int):
                raise ValueError(f"{error} including element {v} of type {type(v)}")
    low = 0 if allow_zero else 1
    bad = [v for v in values if v < low]
    if bad:
        req = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{error}, including values {set(bad)} that do not satisfy `value "
                         f"{req}`")
    return values


def normalize_padding(value: Any, causal: bool = False) -> str:
    """'valid' or 'same' (any case), and 'causal' where `causal` is set.

    Args:
        value: the `padding` argument.
        causal: whether 'causal' is accepted (Conv1D).

    Returns:
        The padding in lower case.
    """
    padding = value.lower() if isinstance(value, str) else value
    if padding in ("valid", "same") or (causal and padding == "causal"):
        return padding
    if causal:  # tf.keras's conv_utils words it so
        raise ValueError(f"The `padding` argument must be a list/tuple or one of \"valid\", "
                         f"\"same\" (or \"causal\", only for `Conv1D). Received: {value}")
    raise ValueError(f"The `padding` argument must be one of 'valid', 'same'. Received: "
                     f"padding={value!r}")


def normalize_data_format(value: Any) -> str:
    """'channels_last' (the default for None) or 'channels_first' (any case)."""
    if value is None:
        return "channels_last"
    fmt = str(value).lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"The `data_format` argument must be one of \"channels_first\", "
                         f"\"channels_last\". Received: {value}")
    return fmt


def output_length(length: int | None, window: int, padding: str, stride: int,
                  dilation: int = 1) -> int | None:
    """The output length of a window op (convolution, pooling) along one axis.

    'causal' pads as many steps as 'same' (on the left only), so it keeps the same length; a
    window longer than the input gives 0. None stays None.
    """
    if length is None:
        return None
    if padding in ("same", "causal"):
        return (length + stride - 1) // stride
    eff = (window - 1) * dilation + 1
    return max(length - eff + stride, 0) // stride


def deconv_output_length(length: int | None, kernel: int, padding: str,
                         output_padding: int | None = None, stride: int = 0,
                         dilation: int = 1) -> int | None:
    """The output size of a transposed convolution (Keras's deconv_output_length)."""
    if length is None:
        return None
    kernel = kernel + (kernel - 1) * (dilation - 1)
    if output_padding is None:
        if padding == "valid":
            return length * stride + max(kernel - stride, 0)
        return length * stride
    pad = kernel // 2 if padding == "same" else 0
    return (length - 1) * stride + kernel - 2 * pad + output_padding


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
