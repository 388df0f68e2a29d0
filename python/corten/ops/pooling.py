"""Pooling, depthwise and separable convolution, and resizing: TensorFlow's tf.nn functions
over the C++ sliding-window ops (csrc/ops/pooling.cpp)."""

from __future__ import annotations

from typing import Any

from corten import _C
from corten.ops import _symbolic as _sym

Tensor = _C.Tensor

__all__ = ["max_pool", "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool", "avg_pool1d",
           "avg_pool2d", "avg_pool3d", "depthwise_conv2d", "separable_conv2d"]

def _channels_first(data_format: str | None, rank: int, op: str) -> bool:
    if data_format is None:
        return False
    fmt = str(data_format).upper()
    last = {"NWC", "NHWC", "NDHWC", "CHANNELS_LAST"}
    first = {"NCW", "NCHW", "NCDHW", "CHANNELS_FIRST"}
    expected_last = {1: "NWC", 2: "NHWC", 3: "NDHWC"}[rank]
    expected_first = {1: "NCW", 2: "NCHW", 3: "NCDHW"}[rank]
    if fmt in last and (fmt == expected_last or fmt == "CHANNELS_LAST"):
        return False
    if fmt in first and (fmt == expected_first or fmt == "CHANNELS_FIRST"):
        return True
    raise ValueError(f"{op}: data_format must be '{expected_last}' or '{expected_first}' for "
                     f"an input of rank {rank + 2}. Received: data_format={data_format!r}")


def _sequence(value: Any, rank: int, channels_first: bool, op: str, arg: str) -> list[int]:
    """TensorFlow's argument forms: an int, or 1, rank or rank + 2 ints (the batch and channel
    entries of the last form must be 1)."""
    if isinstance(value, int):
        return [value] * rank
    v = [int(e) for e in value]
    if len(v) == 1:
        return v * rank
    if len(v) == rank:
        return v
    if len(v) == rank + 2:
        outer = (v[0], v[1]) if channels_first else (v[0], v[-1])
        if outer != (1, 1):
            raise ValueError(f"{op}: {arg} over the batch or channel dimension is not "
                             f"supported; it must be 1 there. Received: {arg}={list(value)}")
        return v[2:] if channels_first else v[1:-1]
    raise ValueError(f"{op}: {arg} must be an int or a list of 1, {rank} or {rank + 2} ints. "
                     f"Received: {arg}={value!r}")


def _padding(padding: Any, op: str) -> str:
    if not isinstance(padding, str) or padding.upper() not in ("VALID", "SAME"):
        raise ValueError(f"{op}: padding must be 'VALID' or 'SAME' (explicit paddings are not "
                         f"supported). Received: padding={padding!r}")
    return padding.lower()


def _rank(x: Any, op: str) -> int:
    nd = len(x.shape)
    if not 3 <= nd <= 5:
        raise ValueError(f"{op}: input must have rank 3, 4 or 5. Received: input.shape="
                         f"{tuple(x.shape)}")
    return nd - 2


def _pool(kind: str, x: Any, ksize: Any, strides: Any, padding: Any, data_format: Any,
          rank: int | None, op: str) -> Tensor:
    if not hasattr(x, "shape"):
        from corten.ops.creation import convert_to_tensor

        x = convert_to_tensor(x)
    r = _rank(x, op)
    if rank is not None and r != rank:
        raise ValueError(f"{op}: input must have rank {rank + 2}. Received: input.shape="
                         f"{tuple(x.shape)}")
    cf = _channels_first(data_format, r, op)
    k = _sequence(ksize, r, cf, op, "ksize")
    s = _sequence(strides, r, cf, op, "strides")
    fn = _C.max_pool if kind == "max" else _C.avg_pool
    return fn(x, k, s, _padding(padding, op), cf)


def _make_pool(kind: str, rank: int | None, default_format: str | None):
    op = f"{kind}_pool" + ("" if rank is None else f"{rank}d")

    def pool(input: Any, ksize: Any, strides: Any, padding: Any,  # noqa: A002
             data_format: Any = default_format, name: str | None = None) -> Tensor:
        if _sym.active and type(input) is _sym.KT:
            return _sym.op_node(pool, (input, ksize, strides, padding, data_format, name), {})
        return _pool(kind, input, ksize, strides, padding, data_format, rank, op)

    what = "maximum" if kind == "max" else "average"
    dims = "N" if rank is None else f"{rank}-D"
    pool.__name__ = pool.__qualname__ = op
    pool.__doc__ = (
        f"The {what} of each window of a {dims} input (tf.nn.{op}).\n\n"
        "    Args:\n"
        "        input: a float tensor (batch, *spatial, channels), or channels first.\n"
        "        ksize: the window: an int or a list of 1, rank or rank + 2 ints.\n"
        "        strides: the window step, in the same forms.\n"
        "        padding: 'VALID' or 'SAME'.\n"
        "        data_format: 'NWC'/'NHWC'/'NDHWC' (default) or the channels-first form.\n"
        "        name: ignored.\n\n"
        "    Returns:\n"
        "        The pooled tensor.\n")
    return pool


max_pool = _make_pool("max", None, None)
max_pool1d = _make_pool("max", 1, "NWC")
max_pool2d = _make_pool("max", 2, "NHWC")
max_pool3d = _make_pool("max", 3, "NDHWC")
avg_pool = _make_pool("avg", None, None)
avg_pool1d = _make_pool("avg", 1, "NWC")
avg_pool2d = _make_pool("avg", 2, "NHWC")
avg_pool3d = _make_pool("avg", 3, "NDHWC")


def depthwise_conv(x: Any, kernel: Any, bias: Any = None, strides: Any = 1, padding: str = "valid",
                   dilations: Any = 1, channels_first: bool = False) -> Tensor:
    """Depthwise convolution over 1 to 3 spatial dimensions with Keras's kernel layout
    (*kernel_size, in_channels, depth_multiplier) and an optional bias (internal API; the
    DepthwiseConv layers call it).

    Args:
        x: (batch, *spatial, channels), or channels first.
        kernel: (*kernel_size, channels, depth_multiplier).
        bias: None or (channels * depth_multiplier,).
        strides, dilations: an int or one int per spatial dimension.
        padding: 'valid' or 'same'.
        channels_first: the layout of x.

    Returns:
        (batch, *out_spatial, channels * depth_multiplier), or channels first.
    """
    if _sym.active and (type(x) is _sym.KT or type(kernel) is _sym.KT or type(bias) is _sym.KT):
        return _sym.op_node(depthwise_conv, (x, kernel, bias, strides, padding, dilations,
                                             channels_first), {})
    r = len(x.shape) - 2
    s = [strides] * r if isinstance(strides, int) else list(strides)
    d = [dilations] * r if isinstance(dilations, int) else list(dilations)
    return _C.depthwise_conv(x, kernel, bias, s, d, padding, channels_first)


def _conv_strides(strides: Any, dilations: Any, cf: bool, op: str) -> tuple[list, list]:
    s = _sequence(strides, 2, cf, op, "strides")
    d = [1, 1] if dilations is None else _sequence(dilations, 2, cf, op, "dilations")
    if max(s) > 1 and max(d) > 1:
        raise ValueError(f"{op}: strides > 1 together with dilations > 1 is not supported. "
                         f"Received: strides={strides}, dilations={dilations}")
    return s, d


def depthwise_conv2d(input: Any, filter: Any, strides: Any, padding: Any,  # noqa: A002
                     data_format: Any = None, dilations: Any = None,
                     name: str | None = None) -> Tensor:
    """Depthwise 2-D convolution (tf.nn.depthwise_conv2d).

    Args:
        input: (batch, height, width, in_channels), or NCHW.
        filter: (filter_height, filter_width, in_channels, channel_multiplier).
        strides: 4 ints (batch and channel entries 1), or 1 or 2 ints.
        padding: 'VALID' or 'SAME'.
        data_format: 'NHWC' (default) or 'NCHW'.
        dilations: None or 1 or 2 ints (the dilation rate).
        name: ignored.

    Returns:
        (batch, out_height, out_width, in_channels * channel_multiplier), or NCHW.
    """
    if _sym.active and (type(input) is _sym.KT or type(filter) is _sym.KT):
        return _sym.op_node(depthwise_conv2d, (input, filter, strides, padding, data_format,
                                               dilations, name), {})
    op = "depthwise_conv2d"
    cf = _channels_first(data_format, 2, op)
    s, d = _conv_strides(strides, dilations, cf, op)
    if len(input.shape) != 4:
        raise ValueError(f"{op}: input must have rank 4. Received: input.shape="
                         f"{tuple(input.shape)}")
    return _C.depthwise_conv(input, filter, None, s, d, _padding(padding, op), cf)


def separable_conv2d(input: Any, depthwise_filter: Any, pointwise_filter: Any,  # noqa: A002
                     strides: Any, padding: Any, data_format: Any = None,
                     dilations: Any = None, name: str | None = None) -> Tensor:
    """A depthwise 2-D convolution followed by a 1x1 convolution (tf.nn.separable_conv2d).

    Args:
        input: (batch, height, width, in_channels), or NCHW.
        depthwise_filter: (filter_height, filter_width, in_channels, channel_multiplier).
        pointwise_filter: (1, 1, in_channels * channel_multiplier, out_channels).
        strides: 4 ints (batch and channel entries 1), or 1 or 2 ints.
        padding: 'VALID' or 'SAME'.
        data_format: 'NHWC' (default) or 'NCHW'.
        dilations: None or 1 or 2 ints.
        name: ignored.

    Returns:
        (batch, out_height, out_width, out_channels), or NCHW.
    """
    if _sym.active and (type(input) is _sym.KT or type(depthwise_filter) is _sym.KT
                        or type(pointwise_filter) is _sym.KT):
        return _sym.op_node(separable_conv2d, (input, depthwise_filter, pointwise_filter,
                                               strides, padding, data_format, dilations,
                                               name), {})
    op = "separable_conv2d"
    pw_shape = tuple(pointwise_filter.shape)
    if len(pw_shape) != 4 or pw_shape[:2] != (1, 1):
        raise ValueError(f"{op}: pointwise_filter must have shape (1, 1, in_channels * "
                         f"channel_multiplier, out_channels). Received: pointwise_filter.shape="
                         f"{pw_shape}")
    y = depthwise_conv2d(input, depthwise_filter, strides, padding, data_format, dilations)
    cf = _channels_first(data_format, 2, op)
    return pointwise(y, _C.reshape(pointwise_filter, list(pw_shape[2:])), None, None, cf, op)


def pointwise(y: Any, kernel: Any, bias: Any, activation: str | None, channels_first: bool,
              op: str = "pointwise") -> Tensor:
    """A 1x1 convolution with a (in_channels, out_channels) kernel, on the GEMM with its fused
    bias and activation (internal API; the separable convolutions call it)."""
    from corten.ops.linalg import linear

    c = kernel.shape[0]
    if y.shape[-1 if not channels_first else 1] != c:
        raise ValueError(f"{op}: the pointwise kernel expects {c} input channels. Received: "
                         f"input.shape={tuple(y.shape)}, kernel.shape={tuple(kernel.shape)}")
    if not channels_first:
        return linear(y, kernel, bias, activation)
    nd = len(y.shape)
    perm = [0, *range(2, nd), 1]
    out = linear(_C.transpose(y, perm), kernel, bias, activation)
    return _C.transpose(out, [0, nd - 1, *range(1, nd - 1)])


def resize(x: Any, size: Any, method: str = "bilinear", align_corners: bool = False,
           half_pixel_centers: bool = True, channels_first: bool = False) -> Tensor:
    """Resizes the 1 to 3 spatial dimensions of x to `size` by 'nearest' or 'bilinear'
    interpolation with TensorFlow's coordinate rules (internal API; UpSampling and Resizing
    call it).

    Args:
        x: (batch, *spatial, channels), or channels first.
        size: the new spatial sizes.
        method: 'nearest' or 'bilinear' (linear along every spatial axis).
        align_corners, half_pixel_centers: TensorFlow's coordinate options (tf.image.resize
            uses half_pixel_centers=True).
        channels_first: the layout of x.

    Returns:
        x resized.
    """
    if _sym.active and type(x) is _sym.KT:
        return _sym.op_node(resize, (x, size, method, align_corners, half_pixel_centers,
                                     channels_first), {})
    return _C.resize(x, [int(s) for s in size], method, align_corners, half_pixel_centers,
                     channels_first)
