"""Depthwise and separable convolutions: DepthwiseConv1D/2D (the C++ depthwise_conv op) and
SeparableConv1D/2D (depthwise, then a 1x1 convolution on the GEMM with fused bias and
activation)."""

from __future__ import annotations

from typing import Any

import corten
from corten.keras import activations, constraints, initializers, regularizers
from corten.keras.layers import _window_utils as wu
from corten.keras.layers.base_layer import Layer
from corten.keras.layers.core import _FUSED, _maybe
from corten.ops import pooling as _pooling

__all__ = ["DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
           "SeparableConvolution1D", "SeparableConvolution2D"]


class _DepthwiseBase(Layer):
    """The arguments, checks and depthwise step shared by the depthwise and separable
    convolutions."""

    _rank = 2

    def __init__(self, kernel_size: Any, strides: Any, padding: str, data_format: Any,
                 dilation_rate: Any, depth_multiplier: int, activation: Any, use_bias: bool,
                 depthwise_initializer: Any, bias_initializer: Any, depthwise_regularizer: Any,
                 bias_regularizer: Any, depthwise_constraint: Any, bias_constraint: Any,
                 **kwargs: Any) -> None:
        groups = kwargs.pop("groups", 1)
        super().__init__(**kwargs)
        if groups != 1:
            raise ValueError(f"{type(self).__name__}: groups must be 1 (a depthwise "
                             f"convolution has one group per channel). Received: "
                             f"groups={groups!r}")
        self.kernel_size = wu.normalize_tuple(kernel_size, self._rank, "kernel_size")
        self.strides = wu.normalize_tuple(strides, self._rank, "strides")
        causal = isinstance(padding, str) and padding.lower() == "causal"
        if causal and self._rank != 1:
            raise ValueError(f"{type(self).__name__}: `causal` padding is only supported for "
                             f"1-D inputs. Received: padding={padding!r}")
        self.padding = "causal" if causal else wu.normalize_padding(padding)
        self.data_format = wu.normalize_data_format(data_format)
        self.dilation_rate = wu.normalize_tuple(dilation_rate, self._rank, "dilation_rate")
        if not isinstance(depth_multiplier, int) or depth_multiplier < 1:
            raise ValueError(f"{type(self).__name__}: depth_multiplier must be a positive "
                             f"integer. Received: depth_multiplier={depth_multiplier!r}")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{type(self).__name__}: `strides > 1` not supported in "
                             f"conjunction with `dilation_rate > 1`. Received: "
                             f"strides={self.strides} and dilation_rate={self.dilation_rate}")
        self.depth_multiplier = depth_multiplier
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.groups = groups

    def _channels(self, input_shape: Any) -> int:
        shape = tuple(input_shape)
        wu.check_rank(self, shape, self._rank)
        axis = 1 if self.data_format == "channels_first" else -1
        if shape[axis] is None:
            raise ValueError(f"The channel dimension of the inputs to {type(self).__name__} "
                             f"should be defined. The input_shape received is {shape}, where "
                             f"axis {axis} (0-based) is the channel dimension, which found to "
                             f"be `None`.")
        return int(shape[axis])

    def _check_input(self, inputs: Any) -> None:
        shape = tuple(inputs.shape)
        wu.check_rank(self, shape, self._rank)
        axis = 1 if self.data_format == "channels_first" else len(shape) - 1
        want = self.depthwise_kernel.shape[self._rank]
        if shape[axis] is not None and shape[axis] != want:
            raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the layer: "
                             f"expected axis {axis} of input shape to have value {want}, but "
                             f"received input with shape {shape}")

    def _build_depthwise(self, channels: int) -> None:
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", shape=(*self.kernel_size, channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint, dtype=self.dtype, trainable=True)

    def _depthwise(self, inputs: Any, bias: Any) -> Any:
        padding = self.padding
        if padding == "causal":
            # Left padding of (kernel_size - 1) * dilation steps, then 'valid' (tf_keras).
            left = (self.kernel_size[0] - 1) * self.dilation_rate[0]
            steps = 2 if self.data_format == "channels_first" else 1
            pads = [[0, 0], [0, 0], [0, 0]]
            pads[steps] = [left, 0]
            inputs = corten.pad(inputs, pads)
            padding = "valid"
        return _pooling.depthwise_conv(inputs, self.depthwise_kernel, bias, list(self.strides),
                                       padding, list(self.dilation_rate),
                                       self.data_format == "channels_first")

    def _output_shape(self, input_shape: Any, channels_out: int) -> Any:
        shape = [None if d is None else int(d) for d in tuple(input_shape)]
        wu.check_rank(self, tuple(shape), self._rank)
        for i, axis in enumerate(wu.spatial_axes(self._rank, self.data_format)):
            shape[axis] = wu.output_length(shape[axis], self.kernel_size[i], self.padding,
                                           self.strides[i], self.dilation_rate[i])
        shape[1 if self.data_format == "channels_first" else -1] = channels_out
        return corten.TensorShape(tuple(shape))

    def _base_config(self) -> dict:
        config = super().get_config()
        config.update({
            "kernel_size": self.kernel_size, "strides": self.strides, "padding": self.padding,
            "data_format": self.data_format, "dilation_rate": self.dilation_rate,
            "groups": self.groups, "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "bias_regularizer": _maybe(regularizers.serialize, self.bias_regularizer),
            "activity_regularizer": _maybe(regularizers.serialize, self.activity_regularizer),
            "bias_constraint": _maybe(constraints.serialize, self.bias_constraint),
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "depthwise_regularizer": _maybe(regularizers.serialize, self.depthwise_regularizer),
            "depthwise_constraint": _maybe(constraints.serialize, self.depthwise_constraint),
        })
        return config


class _DepthwiseConv(_DepthwiseBase):
    def __init__(self, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 depth_multiplier: int = 1, data_format: Any = None, dilation_rate: Any = 1,
                 activation: Any = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, depthwise_constraint: Any = None,
                 bias_constraint: Any = None, kernel_initializer: Any = "glorot_uniform",
                 kernel_regularizer: Any = None, kernel_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate,
                         depth_multiplier, activation, use_bias, depthwise_initializer,
                         bias_initializer, depthwise_regularizer, bias_regularizer,
                         depthwise_constraint, bias_constraint,
                         activity_regularizer=activity_regularizer, **kwargs)

    def build(self, input_shape: Any) -> None:
        channels = self._channels(input_shape)
        self._build_depthwise(channels)
        self.bias = self.add_weight(
            "bias", shape=(channels * self.depth_multiplier,),
            initializer=self.bias_initializer, regularizer=self.bias_regularizer,
            constraint=self.bias_constraint, dtype=self.dtype,
            trainable=True) if self.use_bias else None
        self.built = True

    def call(self, inputs: Any) -> Any:
        self._check_input(inputs)
        return self.activation(self._depthwise(inputs, self.bias))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self._output_shape(input_shape, self._channels(input_shape) * self.depth_multiplier)

    def get_config(self) -> dict:
        return self._base_config()


class DepthwiseConv1D(_DepthwiseConv):
    """Convolves each input channel with its own `depth_multiplier` filters over steps
    (inputs (batch, steps, channels) or channels first).

    Args:
        kernel_size, strides, dilation_rate: an int or a tuple of 1 int.
        padding: 'valid', 'same' or 'causal'.
        depth_multiplier, data_format, activation, use_bias and the initializers,
        regularizers and constraints: as DepthwiseConv2D.
    """

    _rank = 1


class DepthwiseConv2D(_DepthwiseConv):
    """Convolves each input channel with its own `depth_multiplier` filters (Keras's
    DepthwiseConv2D; kernel (kh, kw, in_channels, depth_multiplier)).

    Args:
        kernel_size: an int or 2 ints.
        strides, dilation_rate: an int or 2 ints (not both > 1).
        padding: 'valid' or 'same'.
        depth_multiplier: output channels per input channel.
        data_format: 'channels_last' (default) or 'channels_first'.
        activation, use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer,
        bias_regularizer, activity_regularizer, depthwise_constraint, bias_constraint: as in
            Keras.
    """

    _rank = 2


class _SeparableConv(_DepthwiseBase):
    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1,
                 padding: str = "valid", data_format: Any = None, dilation_rate: Any = 1,
                 depth_multiplier: int = 1, activation: Any = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 depthwise_constraint: Any = None, pointwise_constraint: Any = None,
                 bias_constraint: Any = None, kernel_initializer: Any = "glorot_uniform",
                 kernel_regularizer: Any = None, kernel_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate,
                         depth_multiplier, activation, use_bias, depthwise_initializer,
                         bias_initializer, depthwise_regularizer, bias_regularizer,
                         depthwise_constraint, bias_constraint,
                         activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(filters, int) or filters < 1:
            raise ValueError(f"Invalid value for argument `filters`. Expected a strictly "
                             f"positive value. Received filters={filters!r}.")
        self.filters = filters
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = constraints.get(pointwise_constraint)
        # tf.keras's separable layers inherit Conv's kernel_* arguments and write them into
        # get_config, though no weight uses them; accept them so its configs load.
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def build(self, input_shape: Any) -> None:
        channels = self._channels(input_shape)
        self._build_depthwise(channels)
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel",
            shape=(*([1] * self._rank), channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, dtype=self.dtype, trainable=True)
        self.bias = self.add_weight(
            "bias", shape=(self.filters,), initializer=self.bias_initializer,
            regularizer=self.bias_regularizer, constraint=self.bias_constraint,
            dtype=self.dtype, trainable=True) if self.use_bias else None
        self.built = True

    def call(self, inputs: Any) -> Any:
        self._check_input(inputs)
        y = self._depthwise(inputs, None)
        kernel = corten.reshape(self.pointwise_kernel, tuple(self.pointwise_kernel.shape)[-2:])
        fused = _FUSED.get(self.activation)
        out = _pooling.pointwise(y, kernel, self.bias, fused,
                                 self.data_format == "channels_first",
                                 type(self).__name__)
        return out if fused is not None else self.activation(out)

    def compute_output_shape(self, input_shape: Any) -> Any:
        self._channels(input_shape)
        return self._output_shape(input_shape, self.filters)

    def get_config(self) -> dict:
        config = self._base_config()
        config.update({
            "filters": self.filters,
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "pointwise_regularizer": _maybe(regularizers.serialize, self.pointwise_regularizer),
            "pointwise_constraint": _maybe(constraints.serialize, self.pointwise_constraint),
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": _maybe(regularizers.serialize, self.kernel_regularizer),
            "kernel_constraint": _maybe(constraints.serialize, self.kernel_constraint),
        })
        return config


class SeparableConv1D(_SeparableConv):
    """A depthwise convolution over steps followed by a pointwise (1x1) one mixing channels
    into `filters` outputs (Keras's SeparableConv1D; weights depthwise_kernel (k, in, m),
    pointwise_kernel (1, in * m, filters), bias (filters,)).

    Args:
        filters, kernel_size, strides, padding, ...: as SeparableConv2D (sizes an int or a
            tuple of 1 int; padding may also be 'causal').
    """

    _rank = 1


class SeparableConv2D(_SeparableConv):
    """A depthwise 2-D convolution followed by a pointwise (1x1) one mixing channels into
    `filters` outputs (Keras's SeparableConv2D; weights depthwise_kernel (kh, kw, in, m),
    pointwise_kernel (1, 1, in * m, filters), bias (filters,)).

    Args:
        filters: output channels.
        kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
        activation, use_bias, and the initializers, regularizers and constraints of the three
            weights: as in Keras.
        kernel_initializer, kernel_regularizer, kernel_constraint: accepted and kept in the
            config, unused, as in tf.keras (whose configs carry them).
    """

    _rank = 2


SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D
