"""Pooling layers: MaxPooling1D/2D/3D, AveragePooling1D/2D/3D (the C++ max_pool and avg_pool
ops) and the global poolings (reductions)."""

from __future__ import annotations

from typing import Any

import corten
from corten import _C
from corten.keras.layers import _window_utils as wu
from corten.keras.layers.base_layer import Layer

__all__ = ["MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
           "AveragePooling2D", "AveragePooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D",
           "AvgPool1D", "AvgPool2D", "AvgPool3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
           "GlobalMaxPooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
           "GlobalAveragePooling3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
           "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D"]


class _Pooling(Layer):
    """A max or average pooling over `_rank` spatial dimensions."""

    _rank = 2
    _kind = "max"

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if strides is None:
            strides = pool_size
        self.pool_size = wu.normalize_tuple(pool_size, self._rank, "pool_size")
        self.strides = wu.normalize_tuple(strides, self._rank, "strides")
        self.padding = wu.normalize_padding(padding)
        self.data_format = wu.normalize_data_format(data_format)

    def call(self, inputs: Any) -> Any:
        wu.check_rank(self, tuple(inputs.shape), self._rank)
        fn = _C.max_pool if self._kind == "max" else _C.avg_pool
        return fn(inputs, list(self.pool_size), list(self.strides), self.padding,
                  self.data_format == "channels_first")

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = list(tuple(input_shape))
        wu.check_rank(self, tuple(shape), self._rank)
        for i, axis in enumerate(wu.spatial_axes(self._rank, self.data_format)):
            shape[axis] = wu.output_length(shape[axis], self.pool_size[i], self.padding,
                                           self.strides[i])
        return corten.TensorShape(tuple(shape))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "padding": self.padding,
                       "strides": self.strides, "data_format": self.data_format})
        return config


def _pool_class(name: str, kind: str, rank: int, default_size: Any,
                default_format: str | None) -> type:
    what = "maximum" if kind == "max" else "average"

    def __init__(self, pool_size: Any = default_size, strides: Any = None,
                 padding: str = "valid", data_format: str | None = default_format,
                 **kwargs: Any) -> None:
        _Pooling.__init__(self, pool_size, strides, padding, data_format, **kwargs)

    doc = (f"The {what} over windows of `pool_size` moved by `strides` ({rank}-D inputs: "
           f"(batch, *spatial, channels) or channels first).\n\n"
           "    Args:\n"
           "        pool_size: an int or a tuple of ints, the window.\n"
           "        strides: an int, a tuple, or None (= pool_size).\n"
           "        padding: 'valid' or 'same' (TensorFlow's rule; 'same' averages count only\n"
           "            the non-padded elements).\n"
           "        data_format: 'channels_last' (default) or 'channels_first'.\n")
    return type(name, (_Pooling,), {"__init__": __init__, "_rank": rank, "_kind": kind,
                                    "__doc__": doc, "__module__": __name__})


MaxPooling1D = _pool_class("MaxPooling1D", "max", 1, 2, "channels_last")
MaxPooling2D = _pool_class("MaxPooling2D", "max", 2, (2, 2), None)
MaxPooling3D = _pool_class("MaxPooling3D", "max", 3, (2, 2, 2), None)
AveragePooling1D = _pool_class("AveragePooling1D", "avg", 1, 2, "channels_last")
AveragePooling2D = _pool_class("AveragePooling2D", "avg", 2, (2, 2), None)
AveragePooling3D = _pool_class("AveragePooling3D", "avg", 3, (2, 2, 2), None)
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D


class _GlobalPooling(Layer):
    """A max or mean over every spatial dimension."""

    _rank = 2
    _kind = "max"

    def __init__(self, data_format: str | None = None, keepdims: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = wu.normalize_data_format(data_format)
        self.keepdims = bool(keepdims)

    def _axes(self) -> list[int]:
        return wu.spatial_axes(self._rank, self.data_format)

    def call(self, inputs: Any) -> Any:
        wu.check_rank(self, tuple(inputs.shape), self._rank)
        fn = corten.reduce_max if self._kind == "max" else corten.reduce_mean
        return fn(inputs, axis=self._axes(), keepdims=self.keepdims)

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = list(tuple(input_shape))
        wu.check_rank(self, tuple(shape), self._rank)
        axes = self._axes()
        if self.keepdims:
            out = [1 if i in axes else d for i, d in enumerate(shape)]
        else:
            out = [d for i, d in enumerate(shape) if i not in axes]
        return corten.TensorShape(tuple(out))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


def _global_class(name: str, kind: str, rank: int, default_format: str | None) -> type:
    what = "maximum" if kind == "max" else "mean"

    def __init__(self, data_format: str | None = default_format, keepdims: bool = False,
                 **kwargs: Any) -> None:
        _GlobalPooling.__init__(self, data_format, keepdims, **kwargs)

    doc = (f"The {what} over the {rank} spatial dimensions of each sample and channel.\n\n"
           "    Args:\n"
           "        data_format: 'channels_last' (default) or 'channels_first'.\n"
           "        keepdims: keep the spatial dimensions with length 1.\n")
    return type(name, (_GlobalPooling,), {"__init__": __init__, "_rank": rank, "_kind": kind,
                                          "__doc__": doc, "__module__": __name__})


GlobalMaxPooling1D = _global_class("GlobalMaxPooling1D", "max", 1, "channels_last")
GlobalMaxPooling2D = _global_class("GlobalMaxPooling2D", "max", 2, None)
GlobalMaxPooling3D = _global_class("GlobalMaxPooling3D", "max", 3, None)
GlobalAveragePooling2D = _global_class("GlobalAveragePooling2D", "avg", 2, None)
GlobalAveragePooling3D = _global_class("GlobalAveragePooling3D", "avg", 3, None)


class GlobalAveragePooling1D(_GlobalPooling):
    """The mean over the steps of each sample and channel; with a mask (batch, steps), the
    mean over the unmasked steps only (tf_keras: sum(x * mask) / sum(mask)).

    Args:
        data_format: 'channels_last' (default: (batch, steps, features)) or 'channels_first'.
        keepdims: keep the steps dimension with length 1.
    """

    _rank = 1
    _kind = "avg"

    def __init__(self, data_format: str = "channels_last", keepdims: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(data_format, keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None:
            return super().call(inputs)
        wu.check_rank(self, tuple(inputs.shape), self._rank)
        steps_axis = 1 if self.data_format == "channels_last" else 2
        m = corten.cast(mask, inputs.dtype)
        m = corten.expand_dims(m, 2 if self.data_format == "channels_last" else 1)
        total = corten.reduce_sum(inputs * m, axis=steps_axis, keepdims=self.keepdims)
        return total / corten.reduce_sum(m, axis=steps_axis, keepdims=self.keepdims)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None


GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = (GlobalMaxPooling1D, GlobalMaxPooling2D,
                                                     GlobalMaxPooling3D)
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (GlobalAveragePooling1D,
                                                     GlobalAveragePooling2D,
                                                     GlobalAveragePooling3D)
