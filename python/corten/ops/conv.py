"""Convolution ops: TensorFlow's tf.nn.conv*/conv*_transpose/convolution/bias_add, and the
``conv``/``conv_transpose`` functions the Keras layers call.

The C++ ops take explicit padding (zeros before and after each spatial dimension); this
module turns TensorFlow's 'SAME'/'VALID', Keras's 'causal' and explicit lists into it, as
TensorFlow does: 'SAME' gives out = ceil(in / stride) with the odd pad at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from corten import _C
from corten.ops import _symbolic as _sym

Tensor = _C.Tensor

__all__ = ["conv1d", "conv2d", "conv3d", "convolution", "conv1d_transpose", "conv2d_transpose",
           "conv3d_transpose", "bias_add"]


def _tensor(x: Any) -> Any:
    return x if type(x) is Tensor else _C.convert_to_tensor(x)


def _shape(x: Any) -> tuple:
    return x._shape_tuple if type(x) is Tensor else tuple(x.shape)


def _tuple(value: Any, n: int, name: str, op: str) -> list[int]:
    if isinstance(value, int):
        return [value] * n
    values = [int(v) for v in value]
    if len(values) == 1:
        return values * n
    if len(values) != n:
        raise ValueError(f"{op}: `{name}` must be an int or {n} ints. Received: {name}={value}")
    return values


def same_padding(size: int | None, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's 'SAME' padding of one dimension: (before, after), the odd one after."""
    if size is None:
        return 0, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def explicit_padding(padding: Any, sizes: Sequence[int | None], kernel: Sequence[int],
                     strides: Sequence[int], dilations: Sequence[int], op: str) -> list[int]:
    """The flat (before, after) zero padding of each spatial dimension for a padding name
    ('valid', 'same', 'causal', any case) or a list of (before, after) pairs, one per spatial
    dimension.

    Raises:
        ValueError: an unknown padding name or a list of the wrong length.
    """
    nd = len(kernel)
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return [0] * (2 * nd)
        if mode == "same":
            out: list[int] = []
            for i in range(nd):
                out.extend(same_padding(sizes[i], kernel[i], strides[i], dilations[i]))
            return out
        if mode == "causal":
            out = []
            for i in range(nd):
                out.extend([(kernel[i] - 1) * dilations[i], 0])
            return out
        raise ValueError(f"{op}: `padding` must be 'VALID', 'SAME' or a list of pairs. "
                         f"Received: padding={padding!r}")
    pairs = [list(p) for p in padding]
    if len(pairs) != nd or any(len(p) != 2 for p in pairs):
        raise ValueError(f"{op}: explicit `padding` must hold {nd} (before, after) pairs, one per "
                         f"spatial dimension. Received: padding={padding}")
    return [int(v) for p in pairs for v in p]


def _spatial(shape: tuple, nd: int, channels_last: bool) -> list:
    return list(shape[1:1 + nd]) if channels_last else list(shape[2:2 + nd])


def conv(x: Any, kernel: Any, bias: Any = None, strides: Any = 1, padding: Any = "valid",
         dilation_rate: Any = 1, groups: int = 1, data_format: str = "channels_last",
         activation: str = "linear", reference: bool = False) -> Tensor:
    """act(conv(x, kernel) + bias), 1-3 spatial dimensions by the kernel's rank.

    Args:
        x: (batch, *spatial, channels) for channels_last, (batch, channels, *spatial) else.
        kernel: (*kernel_size, channels / groups, filters), Keras's layout.
        bias: (filters,) or None.
        strides, dilation_rate: an int or one per spatial dimension.
        padding: 'valid', 'same', 'causal' or (before, after) pairs per spatial dimension.
        groups: channel groups; channels and filters must be multiples of it.
        data_format: 'channels_last' or 'channels_first'.
        activation: a fused activation name (corten._C.linear_activations()).
        reference: run the plain direct-loop kernel (tests).

    Returns:
        (batch, *out, filters) (or channels_first).

    Raises:
        ValueError: shapes that do not fit, naming them.
    """
    if _sym.active and (type(x) is _sym.KT or type(kernel) is _sym.KT or type(bias) is _sym.KT):
        return _sym.op_node(conv, (x, kernel, bias, strides, padding, dilation_rate, groups,
                                   data_format, activation, reference), {})
    x = _tensor(x)
    kernel = _tensor(kernel)
    nd = len(_shape(kernel)) - 2
    if nd < 1 or nd > 3:
        raise ValueError(f"conv: the kernel must have rank 3, 4 or 5. Received: "
                         f"kernel.shape={_shape(kernel)}")
    last = data_format == "channels_last"
    s = _tuple(strides, nd, "strides", "conv")
    d = _tuple(dilation_rate, nd, "dilation_rate", "conv")
    k = list(_shape(kernel)[:nd])
    sizes = _spatial(_shape(x), nd, last) if len(_shape(x)) == nd + 2 else [None] * nd
    pads = explicit_padding(padding, sizes, k, s, d, "conv")
    return _C.conv(x, kernel, bias, s, d, pads, int(groups), last, activation, reference)


def conv_transpose(x: Any, kernel: Any, bias: Any, output_spatial: Sequence[int | None],
                   strides: Any = 1, padding: Any = "valid", dilation_rate: Any = 1,
                   groups: int = 1, data_format: str = "channels_last",
                   activation: str = "linear", reference: bool = False) -> Tensor:
    """The transposed convolution: the adjoint of ``conv`` in its input, plus bias and a
    fused activation.

    Args:
        x: (batch, *spatial, in_channels) (or channels_first).
        kernel: (*kernel_size, filters / groups, in_channels), Keras's Conv*Transpose layout.
        bias: (filters,) or None.
        output_spatial: the result's spatial sizes (None where unknown for symbolic inputs);
            a convolution of that size with these options must give x's spatial shape.
        strides, padding, dilation_rate, groups, data_format, activation, reference: as conv;
            'same' padding is computed from output_spatial, as TensorFlow does.

    Returns:
        (batch, *output_spatial, filters) (or channels_first).

    Raises:
        ValueError: shapes that do not fit, naming them.
    """
    if _sym.active and (type(x) is _sym.KT or type(kernel) is _sym.KT or type(bias) is _sym.KT):
        return _sym.op_node(conv_transpose, (x, kernel, bias, output_spatial, strides, padding,
                                             dilation_rate, groups, data_format, activation,
                                             reference), {})
    x = _tensor(x)
    kernel = _tensor(kernel)
    nd = len(_shape(kernel)) - 2
    if nd < 1 or nd > 3:
        raise ValueError(f"conv_transpose: the kernel must have rank 3, 4 or 5. Received: "
                         f"kernel.shape={_shape(kernel)}")
    last = data_format == "channels_last"
    s = _tuple(strides, nd, "strides", "conv_transpose")
    d = _tuple(dilation_rate, nd, "dilation_rate", "conv_transpose")
    k = list(_shape(kernel)[:nd])
    out = [None if v is None else int(v) for v in output_spatial]
    pads = explicit_padding(padding, out, k, s, d, "conv_transpose")
    return _C.conv_transpose(x, kernel, bias, [-1 if v is None else v for v in out], s, d, pads,
                             int(groups), last, activation, reference)


# ---------------------------------------------------------------------------------------------
# TensorFlow's functions.

def _format(data_format: str | None, nd: int, op: str) -> bool:
    """Whether a TF data_format string ('NHWC', 'NCHW', ...) is channels_last."""
    if data_format is None:
        return True
    fmt = str(data_format).upper()
    spatial = "DHW"[3 - nd:] if nd > 1 else "W"
    if fmt in ("N" + spatial + "C", "NWC" if nd == 1 else "", "CHANNELS_LAST"):
        return True
    if fmt in ("NC" + spatial, "NCW" if nd == 1 else "", "CHANNELS_FIRST"):
        return False
    raise ValueError(f"{op}: `data_format` must be 'N{spatial}C' or 'NC{spatial}'. Received: "
                     f"data_format={data_format!r}")


def _tf_list(value: Any, nd: int, last: bool, name: str, op: str) -> list[int]:
    """TensorFlow's strides/dilations: an int, or 1, nd or nd + 2 ints (the batch and channel
    entries must be 1)."""
    if value is None:
        return [1] * nd
    if isinstance(value, int):
        return [value] * nd
    values = [int(v) for v in value]
    if len(values) == 1:
        return values * nd
    if len(values) == nd:
        return values
    if len(values) == nd + 2:
        outer = (values[0], values[-1]) if last else (values[0], values[1])
        if outer != (1, 1):
            raise ValueError(f"{op}: `{name}` in the batch and depth dimensions must be 1. "
                             f"Received: {name}={value}")
        return values[1:-1] if last else values[2:]
    raise ValueError(f"{op}: `{name}` must have 1, {nd} or {nd + 2} elements. Received: "
                     f"{name}={value}")


def _tf_padding(padding: Any, nd: int, last: bool, op: str) -> Any:
    if isinstance(padding, str):
        if padding.upper() not in ("SAME", "VALID"):
            raise ValueError(f"{op}: `padding` must be 'SAME', 'VALID' or a list of pairs. "
                             f"Received: padding={padding!r}")
        return padding
    pairs = [list(p) for p in padding]
    if len(pairs) == nd + 2:
        outer = [pairs[0], pairs[-1]] if last else [pairs[0], pairs[1]]
        if any(v != 0 for p in outer for v in p):
            raise ValueError(f"{op}: explicit padding in the batch and depth dimensions must be "
                             f"0. Received: padding={padding}")
        return pairs[1:-1] if last else pairs[2:]
    return pairs


def _check_filters(op: str, filters: Tensor, nd: int, data_format: Any) -> bool:
    """ValueError naming `op` unless the filters have rank nd + 2; whether data_format is
    channels_last."""
    if len(_shape(filters)) != nd + 2:
        raise ValueError(f"{op}: `filters` must have rank {nd + 2}. Received: "
                         f"filters.shape={_shape(filters)}")
    return _format(data_format, nd, op)


def _nn_conv(op: str, input: Any, filters: Any, strides: Any, padding: Any, data_format: Any,
             dilations: Any, nd: int | None = None) -> Tensor:
    filters = _tensor(filters)
    nd = len(_shape(filters)) - 2 if nd is None else nd
    last = _check_filters(op, filters, nd, data_format)
    x_shape = _shape(input)
    if len(x_shape) != nd + 2:
        raise ValueError(f"{op}: `input` must have rank {nd + 2}. Received: "
                         f"input.shape={x_shape}")
    c = x_shape[-1] if last else x_shape[1]
    cin = _shape(filters)[-2]
    groups = 1
    if c is not None and cin and c % cin == 0:
        groups = c // cin
    return conv(input, filters, None, _tf_list(strides, nd, last, "strides", op),
                _tf_padding(padding, nd, last, op), _tf_list(dilations, nd, last, "dilations", op),
                groups, "channels_last" if last else "channels_first")


def conv1d(input: Any, filters: Any, stride: Any, padding: Any, data_format: str = "NWC",
           dilations: Any = None, name: str | None = None) -> Tensor:
    """1-D convolution (tf.nn.conv1d): input (N, W, C), filters (width, C, out).

    Args:
        input: (batch, width, channels) for 'NWC', (batch, channels, width) for 'NCW'.
        filters: (width, in_channels, out_channels).
        stride: an int or a list of 1 or 3 ints.
        padding: 'SAME', 'VALID' or explicit (before, after) pairs.
        data_format: 'NWC' or 'NCW'.
        dilations: an int or a list of 1 or 3 ints.
        name: ignored.

    Returns:
        The convolution, in input's layout.
    """
    if _sym.active and (type(input) is _sym.KT or type(filters) is _sym.KT):
        return _sym.op_node(conv1d, (input, filters, stride, padding, data_format, dilations),
                            {})
    return _nn_conv("conv1d", _tensor(input), filters, stride, padding, data_format, dilations, 1)


def conv2d(input: Any, filters: Any, strides: Any, padding: Any, data_format: str = "NHWC",
           dilations: Any = None, name: str | None = None) -> Tensor:
    """2-D convolution (tf.nn.conv2d): input (N, H, W, C), filters (h, w, C, out).

    Args:
        input: (batch, height, width, channels) for 'NHWC', channels second for 'NCHW'.
        filters: (height, width, in_channels, out_channels); in_channels dividing the input's
            channels gives a grouped convolution.
        strides: an int or a list of 1, 2 or 4 ints.
        padding: 'SAME', 'VALID' or explicit pairs ([[0, 0], [t, b], [l, r], [0, 0]] for NHWC).
        data_format: 'NHWC' or 'NCHW'.
        dilations: an int or a list of 1, 2 or 4 ints.
        name: ignored.

    Returns:
        The convolution, in input's layout.
    """
    if _sym.active and (type(input) is _sym.KT or type(filters) is _sym.KT):
        return _sym.op_node(conv2d, (input, filters, strides, padding, data_format, dilations),
                            {})
    return _nn_conv("conv2d", _tensor(input), filters, strides, padding, data_format, dilations,
                    2)


def conv3d(input: Any, filters: Any, strides: Any, padding: Any, data_format: str = "NDHWC",
           dilations: Any = None, name: str | None = None) -> Tensor:
    """3-D convolution (tf.nn.conv3d): input (N, D, H, W, C), filters (d, h, w, C, out).

    Args:
        input: (batch, depth, height, width, channels) for 'NDHWC', channels second for 'NCDHW'.
        filters: (depth, height, width, in_channels, out_channels).
        strides: an int or a list of 1, 3 or 5 ints.
        padding: 'SAME', 'VALID' or explicit pairs.
        data_format: 'NDHWC' or 'NCDHW'.
        dilations: an int or a list of 1, 3 or 5 ints.
        name: ignored.

    Returns:
        The convolution, in input's layout.
    """
    if _sym.active and (type(input) is _sym.KT or type(filters) is _sym.KT):
        return _sym.op_node(conv3d, (input, filters, strides, padding, data_format, dilations),
                            {})
    return _nn_conv("conv3d", _tensor(input), filters, strides, padding, data_format, dilations,
                    3)


def convolution(input: Any, filters: Any, strides: Any = None, padding: str = "VALID",
                data_format: str | None = None, dilations: Any = None,
                name: str | None = None) -> Tensor:
    """N-d convolution (tf.nn.convolution), 1-3 spatial dimensions by the filters' rank.

    Args:
        input: (batch, *spatial, channels), or channels second when data_format starts
            with 'NC'.
        filters: (*spatial_filter, in_channels, out_channels).
        strides, dilations: None, an int, or one per spatial dimension.
        padding: 'SAME', 'VALID' or explicit pairs.
        data_format: None (channels last) or TensorFlow's format string.
        name: ignored.

    Returns:
        The convolution, in input's layout.
    """
    if _sym.active and (type(input) is _sym.KT or type(filters) is _sym.KT):
        return _sym.op_node(convolution, (input, filters, strides, padding, data_format,
                                          dilations), {})
    return _nn_conv("convolution", _tensor(input), filters, strides, padding, data_format,
                    dilations)


def _nn_conv_transpose(op: str, input: Any, filters: Any, output_shape: Any, strides: Any,
                       padding: Any, data_format: Any, dilations: Any, nd: int) -> Tensor:
    filters = _tensor(filters)
    last = _check_filters(op, filters, nd, data_format)
    if hasattr(output_shape, "numpy"):
        output_shape = output_shape.numpy().tolist()
    output_shape = [int(v) for v in output_shape]
    if len(output_shape) == nd:
        spatial = output_shape
    elif len(output_shape) == nd + 2:
        spatial = output_shape[1:-1] if last else output_shape[2:]
        channels = output_shape[-1] if last else output_shape[1]
        if channels != _shape(filters)[-2]:
            raise ValueError(f"{op}: output_shape's channels ({channels}) must equal "
                             f"filters.shape[-2] ({_shape(filters)[-2]}). Received: "
                             f"output_shape={output_shape}, filters.shape={_shape(filters)}")
    else:
        raise ValueError(f"{op}: `output_shape` must have {nd + 2} (or {nd}) elements. "
                         f"Received: output_shape={output_shape}")
    return conv_transpose(input, filters, None, spatial,
                          _tf_list(strides, nd, last, "strides", op),
                          _tf_padding(padding, nd, last, op),
                          _tf_list(dilations, nd, last, "dilations", op), 1,
                          "channels_last" if last else "channels_first")


def conv1d_transpose(input: Any, filters: Any, output_shape: Any, strides: Any,
                     padding: Any = "SAME", data_format: str = "NWC", dilations: Any = None,
                     name: str | None = None) -> Tensor:
    """The transpose of conv1d (tf.nn.conv1d_transpose).

    Args:
        input: (batch, width, in_channels) for 'NWC'.
        filters: (width, output_channels, in_channels).
        output_shape: the full output shape (batch, width, output_channels).
        strides, padding, data_format, dilations: as conv1d.
        name: ignored.

    Returns:
        A tensor of output_shape.
    """
    if _sym.active and (type(input) is _sym.KT or type(filters) is _sym.KT):
        return _sym.op_node(conv1d_transpose, (input, filters, output_shape, strides, padding,
                                               data_format, dilations), {})
    return _nn_conv_transpose("conv1d_transpose", input, filters, output_shape, strides, padding,
                              data_format, dilations, 1)


def conv2d_transpose(input: Any, filters: Any, output_shape: Any, strides: Any,
                     padding: Any = "SAME", data_format: str = "NHWC", dilations: Any = None,
                     name: str | None = None) -> Tensor:
    """The transpose of conv2d (tf.nn.conv2d_transpose), the gradient of conv2d in its input.

    Args:
        input: (batch, height, width, in_channels) for 'NHWC'.
        filters: (height, width, output_channels, in_channels).
        output_shape: the full output shape (batch, height, width, output_channels).
        strides, padding, data_format, dilations: as conv2d.
        name: ignored.

    Returns:
        A tensor of output_shape.
    """
    if _sym.active and (type(input) is _sym.KT or type(filters) is _sym.KT):
        return _sym.op_node(conv2d_transpose, (input, filters, output_shape, strides, padding,
                                               data_format, dilations), {})
    return _nn_conv_transpose("conv2d_transpose", input, filters, output_shape, strides, padding,
                              data_format, dilations, 2)


def conv3d_transpose(input: Any, filters: Any, output_shape: Any, strides: Any,
                     padding: Any = "SAME", data_format: str = "NDHWC", dilations: Any = None,
                     name: str | None = None) -> Tensor:
    """The transpose of conv3d (tf.nn.conv3d_transpose).

    Args:
        input: (batch, depth, height, width, in_channels) for 'NDHWC'.
        filters: (depth, height, width, output_channels, in_channels).
        output_shape: the full output shape.
        strides, padding, data_format, dilations: as conv3d.
        name: ignored.

    Returns:
        A tensor of output_shape.
    """
    if _sym.active and (type(input) is _sym.KT or type(filters) is _sym.KT):
        return _sym.op_node(conv3d_transpose, (input, filters, output_shape, strides, padding,
                                               data_format, dilations), {})
    return _nn_conv_transpose("conv3d_transpose", input, filters, output_shape, strides, padding,
                              data_format, dilations, 3)


def bias_add(value: Any, bias: Any, data_format: str | None = None,
             name: str | None = None) -> Tensor:
    """value + bias along the channels axis (tf.nn.bias_add): the last axis, or axis 1 when
    data_format starts with 'NC'.

    Args:
        value: a tensor of rank >= 2 (rank >= 3 for channels first).
        bias: a 1-D tensor, as long as value's channels axis.
        data_format: None, 'N...C' or 'NC...'.
        name: ignored.

    Returns:
        value + bias.

    Raises:
        ValueError: a bias that is not 1-D or does not match the channels axis.
    """
    if _sym.active and (type(value) is _sym.KT or type(bias) is _sym.KT):
        return _sym.op_node(bias_add, (value, bias, data_format), {})
    value = _tensor(value)
    bias = _tensor(bias)
    shape, bshape = _shape(value), _shape(bias)
    first = data_format is not None and str(data_format).upper().startswith("NC")
    axis = 1 if first else len(shape) - 1
    if len(bshape) != 1 or len(shape) < (3 if first else 2) or (
            shape[axis] is not None and bshape[0] is not None and shape[axis] != bshape[0]):
        raise ValueError(f"bias_add: bias must be 1-D and match value's channels axis {axis}. "
                         f"Received: value.shape={shape}, bias.shape={bshape}")
    if first:
        bias = _C.reshape(bias, [-1] + [1] * (len(shape) - 2))
    return _C.add(value, bias)
