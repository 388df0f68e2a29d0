"""Convolution layers: Conv1D/2D/3D and Conv1DTranspose/2DTranspose/3DTranspose (tf.keras 2),
on the C++ conv and conv_transpose ops (bias and activation fused into the kernels)."""

from __future__ import annotations

from typing import Any

import corten
from corten.keras import activations, constraints, initializers, regularizers
from corten.keras.layers._window_utils import (
    deconv_output_length,
    normalize_data_format,
    normalize_padding,
    normalize_tuple,
    output_length,
)
from corten.keras.layers.base_layer import Layer
from corten.keras.layers.core import _FUSED, _kernel_bias_config
from corten.ops import conv as conv_ops

Tensor = corten.Tensor

__all__ = ["Conv", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose",
           "Conv3DTranspose", "Convolution1D", "Convolution2D", "Convolution3D",
           "Convolution1DTranspose", "Convolution2DTranspose", "Convolution3DTranspose"]


def _own_args(frame_locals: dict) -> dict:
    """A constructor's arguments, from its ``locals()`` taken first thing, as keywords for the
    base class: the per-rank layers keep Keras's explicit signatures and forward them once.

    Args:
        frame_locals: ``locals()`` of the calling ``__init__``, before it binds anything.

    Returns:
        The named arguments and the ``**kwargs`` in one dict.
    """
    args = {k: v for k, v in frame_locals.items() if k not in ("self", "__class__", "kwargs")}
    args.update(frame_locals.get("kwargs", {}))
    return args


def _shape_of(inputs: Any) -> tuple:
    return inputs._shape_tuple if type(inputs) is Tensor else tuple(inputs.shape)


class Conv(Layer):
    """The base of the N-d convolution layers (tf.keras's Conv): ``activation(conv(inputs,
    kernel) + bias)``.

    Args:
        rank: the number of spatial dimensions (1, 2 or 3).
        filters: the number of output channels.
        kernel_size: an int or `rank` ints.
        strides: an int or `rank` ints (strides > 1 excludes dilation_rate > 1).
        padding: 'valid', 'same' or (Conv1D only) 'causal'.
        data_format: 'channels_last' (default) or 'channels_first'.
        dilation_rate: an int or `rank` ints.
        groups: channel groups; input channels and filters must be multiples of it.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint: as Dense.
    """

    def __init__(self, rank: int, filters: int, kernel_size: Any, strides: Any = 1,
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: Any = 1, groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None,
                 trainable: bool = True, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(trainable=trainable, name=name,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        if isinstance(filters, float):
            filters = int(filters)
        if filters is not None and filters <= 0:
            raise ValueError(f"Invalid value for argument `filters`. Expected a strictly positive "
                             f"value. Received filters={filters}.")
        self.filters = filters
        self.groups = groups or 1
        self.kernel_size = normalize_tuple(kernel_size, rank, "kernel_size")
        self.strides = normalize_tuple(strides, rank, "strides", allow_zero=True)
        self.padding = normalize_padding(padding, causal=True)
        self.data_format = normalize_data_format(data_format)
        self.dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._validate_init()

    def _validate_init(self) -> None:
        if self.filters is not None and self.filters % self.groups != 0:
            raise ValueError(f"The number of filters must be evenly divisible by the number of "
                             f"groups. Received: groups={self.groups}, filters={self.filters}")
        if not all(self.kernel_size):
            raise ValueError(f"The argument `kernel_size` cannot contain 0(s). Received: "
                             f"{self.kernel_size}")
        if not all(self.strides):
            raise ValueError(f"The argument `strides` cannot contains 0(s). Received: "
                             f"{self.strides}")
        if self.padding == "causal" and not isinstance(self, Conv1D):
            raise ValueError("Causal padding is only supported for `Conv1D` and "
                             "`SeparableConv1D`.")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"`strides > 1` not supported in conjunction with `dilation_rate > "
                             f"1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")

    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def _check_rank(self, shape: tuple) -> None:
        if len(shape) < self.rank + 2:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: "
                             f"expected min_ndim={self.rank + 2}, found ndim={len(shape)}. Full "
                             f"shape received: {tuple(shape)}")
        if len(shape) > self.rank + 2:
            # Keras folds extra leading batch dimensions; corten takes one batch dimension.
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: "
                             f"expected ndim={self.rank + 2} (one batch dimension), found "
                             f"ndim={len(shape)}. Full shape received: {tuple(shape)}")

    def _input_channel(self, shape: tuple) -> int:
        channel = shape[self._channel_axis()]
        if channel is None:
            raise ValueError(f"The channel dimension of the inputs should be defined. The "
                             f"input_shape received is {tuple(shape)}, where axis "
                             f"{self._channel_axis()} (0-based) is the channel dimension, which "
                             f"found to be `None`.")
        return int(channel)

    def _kernel_shape(self, input_channel: int) -> tuple:
        return self.kernel_size + (input_channel // self.groups, self.filters)

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        self._check_rank(shape)
        input_channel = self._input_channel(shape)
        if input_channel % self.groups != 0:
            raise ValueError(f"The number of input channels must be evenly divisible by the "
                             f"number of groups. Received groups={self.groups}, but the input "
                             f"has {input_channel} channels (full input shape is {shape}).")
        self.compute_output_shape(shape)  # validates the spatial sizes
        self.kernel = self.add_weight("kernel", shape=self._kernel_shape(input_channel),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, trainable=True,
                                      dtype=self.dtype)
        if self.use_bias:
            self.bias = self.add_weight("bias", shape=(self.filters,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, trainable=True,
                                        dtype=self.dtype)
        else:
            self.bias = None
        self._built_channels = input_channel
        self.built = True

    def _expected_channels(self) -> int:
        """The input channels the built kernel takes."""
        return self.kernel._shape_tuple[-2] * self.groups

    def _check_input(self, shape: tuple) -> None:
        self._check_rank(shape)
        expected = self._expected_channels()
        channel = shape[self._channel_axis()]
        if channel is not None and channel != expected:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: "
                             f"expected axis {self._channel_axis()} of input shape to have value "
                             f"{expected}, but received input with shape {tuple(shape)}")

    def _fused(self) -> tuple[str, Any]:
        """The activation fused into the kernel, and the one applied after it (or None)."""
        fused = _FUSED.get(self.activation)
        return (fused, None) if fused is not None else ("linear", self.activation)

    def call(self, inputs: Any) -> Any:
        self._check_input(_shape_of(inputs))
        fused, after = self._fused()
        out = conv_ops.conv(inputs, self.kernel, self.bias, self.strides, self.padding,
                            self.dilation_rate, self.groups, self.data_format, fused)
        return out if after is None else after(out)

    def _spatial_output_shape(self, spatial: list) -> list:
        return [output_length(length, self.kernel_size[i], self.padding, self.strides[i],
                              self.dilation_rate[i]) for i, length in enumerate(spatial)]

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = list(tuple(input_shape))
        self._check_rank(tuple(shape))
        if self.data_format == "channels_last":
            spatial = self._spatial_output_shape(shape[1:-1])
            out = shape[:1] + spatial + [self.filters]
        else:
            spatial = self._spatial_output_shape(shape[2:])
            out = shape[:1] + [self.filters] + spatial
        if any(d is not None and d <= 0 for d in spatial):
            raise ValueError(f"One of the dimensions in the output is <= 0 due to downsampling "
                             f"in {self.name}. Consider increasing the input size. Received "
                             f"input shape {tuple(shape)} and kernel_size {self.kernel_size} "
                             f"(dilation_rate {self.dilation_rate}, padding '{self.padding}'), "
                             f"which would produce output shape with a zero or negative value "
                             f"in a dimension.")
        return corten.TensorShape(tuple(out))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
            **_kernel_bias_config(self),
        })
        return config


class Conv1D(Conv):
    """1-D convolution (temporal): inputs (batch, steps, channels), kernel (kernel_size,
    channels / groups, filters); padding 'valid', 'same' or 'causal' (output[t] sees inputs up
    to t). Arguments as Conv."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str = "channels_last", dilation_rate: Any = 1, groups: int = 1,
                 activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(1, **_own_args(locals()))


class Conv2D(Conv):
    """2-D convolution (spatial): inputs (batch, rows, cols, channels), kernel (*kernel_size,
    channels / groups, filters). Arguments as Conv."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: Any = (1, 1), groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(2, **_own_args(locals()))


class Conv3D(Conv):
    """3-D convolution (volumes): inputs (batch, depth, rows, cols, channels), kernel
    (*kernel_size, channels / groups, filters). Arguments as Conv."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1, 1),
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: Any = (1, 1, 1), groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(3, **_own_args(locals()))


class _ConvTranspose(Conv):
    """The transposed convolutions' shared code: kernel (*kernel_size, filters, in_channels),
    output sizes by Keras's deconv_output_length, `output_padding` (each below its stride)."""

    def __init__(self, rank: int, filters: int, kernel_size: Any, strides: Any = 1,
                 padding: str = "valid", output_padding: Any = None,
                 data_format: str | None = None, dilation_rate: Any = 1,
                 activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        args = _own_args(locals())
        del args["output_padding"]  # Conv has none; set below
        super().__init__(**args)
        self.output_padding = output_padding
        if self.output_padding is not None:
            self.output_padding = normalize_tuple(self.output_padding, rank, "output_padding",
                                                  allow_zero=True)
            for stride, out_pad in zip(self.strides, self.output_padding, strict=True):
                if out_pad >= stride:
                    raise ValueError(f"Strides must be greater than output padding. Received "
                                     f"strides={self.strides}, "
                                     f"output_padding={self.output_padding}.")

    def _check_rank(self, shape: tuple) -> None:
        if len(shape) != self.rank + 2:
            raise ValueError(f"Inputs should have rank {self.rank + 2}. Received "
                             f"input_shape={tuple(shape)}.")

    def _kernel_shape(self, input_channel: int) -> tuple:
        return self.kernel_size + (self.filters, input_channel)

    def _expected_channels(self) -> int:
        return self.kernel._shape_tuple[-1]

    def _spatial_output_shape(self, spatial: list) -> list:
        pads = self.output_padding or (None,) * self.rank
        return [deconv_output_length(length, self.kernel_size[i], self.padding, pads[i],
                                     self.strides[i], self.dilation_rate[i])
                for i, length in enumerate(spatial)]

    def call(self, inputs: Any) -> Any:
        shape = _shape_of(inputs)
        self._check_input(shape)
        spatial = shape[1:-1] if self.data_format == "channels_last" else shape[2:]
        out_spatial = self._spatial_output_shape(list(spatial))
        fused, after = self._fused()
        out = conv_ops.conv_transpose(inputs, self.kernel, self.bias, out_spatial, self.strides,
                                      self.padding, self.dilation_rate, 1, self.data_format,
                                      fused)
        return out if after is None else after(out)

    def get_config(self) -> dict:
        config = super().get_config()
        config["output_padding"] = self.output_padding
        return config


class Conv1DTranspose(_ConvTranspose):
    """1-D transposed convolution: inputs (batch, steps, channels), kernel (kernel_size,
    filters, channels). Arguments as Conv, plus output_padding."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 output_padding: Any = None, data_format: str | None = None,
                 dilation_rate: Any = 1, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(1, **_own_args(locals()))


class Conv2DTranspose(_ConvTranspose):
    """2-D transposed convolution ("deconvolution"): inputs (batch, rows, cols, channels),
    kernel (*kernel_size, filters, channels). Arguments as Conv, plus output_padding."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: str = "valid", output_padding: Any = None,
                 data_format: str | None = None, dilation_rate: Any = (1, 1),
                 activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(2, **_own_args(locals()))


class Conv3DTranspose(_ConvTranspose):
    """3-D transposed convolution: inputs (batch, depth, rows, cols, channels), kernel
    (*kernel_size, filters, channels). Arguments as Conv, plus output_padding."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1, 1),
                 padding: str = "valid", output_padding: Any = None,
                 data_format: str | None = None, dilation_rate: Any = (1, 1, 1),
                 activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(3, **_own_args(locals()))


# Keras 2's aliases.
Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution3D = Conv3D
Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = Conv2DTranspose
Convolution3DTranspose = Conv3DTranspose
