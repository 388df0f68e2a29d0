"""Spatial reshaping layers: UpSampling1D/2D/3D (the C++ resize op), ZeroPadding1D/2D/3D
(pad) and Cropping1D/2D/3D (slicing)."""

from __future__ import annotations

from typing import Any

import corten
from corten.keras.layers import _window_utils as wu
from corten.keras.layers.base_layer import Layer
from corten.ops import pooling as _pooling

__all__ = ["UpSampling1D", "UpSampling2D", "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D",
           "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D"]


def _dim(d: Any) -> int | None:
    return None if d is None else int(d)


class _UpSampling(Layer):
    """Repeats (nearest) or interpolates (bilinear) the spatial dimensions by integer factors."""

    _rank = 2

    def __init__(self, size: Any, data_format: str | None, interpolation: str,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = wu.normalize_tuple(size, self._rank, "size")
        self.data_format = wu.normalize_data_format(data_format)
        self.interpolation = interpolation

    def call(self, inputs: Any) -> Any:
        shape = tuple(inputs.shape)
        wu.check_rank(self, shape, self._rank)
        axes = wu.spatial_axes(self._rank, self.data_format)
        # -1: an unknown dimension (symbolic inputs) stays unknown.
        size = [-1 if shape[a] is None else int(shape[a]) * f
                for a, f in zip(axes, self.size, strict=True)]
        # tf.image.resize's rules (half_pixel_centers=True): nearest with an integer factor
        # is the repetition of each element.
        return _pooling.resize(inputs, size, self.interpolation, False, True,
                               self.data_format == "channels_first")

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = [_dim(d) for d in tuple(input_shape)]
        wu.check_rank(self, tuple(shape), self._rank)
        for a, f in zip(wu.spatial_axes(self._rank, self.data_format), self.size, strict=True):
            shape[a] = None if shape[a] is None else shape[a] * f
        return corten.TensorShape(tuple(shape))


class UpSampling1D(_UpSampling):
    """Repeats each step `size` times: (batch, steps, features) -> (batch, steps * size,
    features).

    Args:
        size: the repetition factor.
    """

    _rank = 1

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        super().__init__(size, "channels_last", "nearest", **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        config["size"] = self.size[0]
        return config


class UpSampling2D(_UpSampling):
    """Scales rows and columns by `size`, by repetition ('nearest') or bilinear interpolation
    (tf.image.resize, half-pixel centers).

    Args:
        size: an int or 2 ints, the factors for rows and columns.
        data_format: 'channels_last' (default) or 'channels_first'.
        interpolation: 'nearest' or 'bilinear'.
    """

    _rank = 2

    def __init__(self, size: Any = (2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs: Any) -> None:
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"`interpolation` argument should be one of ['nearest', "
                             f"'bilinear']. Received: interpolation={interpolation!r}")
        super().__init__(size, data_format, interpolation, **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"size": self.size, "data_format": self.data_format,
                       "interpolation": self.interpolation})
        return config


class UpSampling3D(_UpSampling):
    """Repeats each element `size` times along the three spatial dimensions.

    Args:
        size: an int or 3 ints.
        data_format: 'channels_last' (default) or 'channels_first'.
    """

    _rank = 3

    def __init__(self, size: Any = (2, 2, 2), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(size, data_format, "nearest", **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"size": self.size, "data_format": self.data_format})
        return config


def _pairs(value: Any, rank: int, name: str) -> tuple:
    """((before, after),) * rank from an int, `rank` ints or `rank` pairs."""
    if isinstance(value, int):
        return ((value, value),) * rank
    try:
        items = tuple(value)
    except TypeError:
        raise ValueError(f"`{name}` should be an int, a tuple of {rank} ints or a tuple of "
                         f"{rank} tuples of 2 ints. Received: {name}={value!r}") from None
    if rank == 1 and len(items) == 2 and all(isinstance(v, int) for v in items):
        out = (items,)
    elif len(items) == rank and all(isinstance(v, int) for v in items):
        out = tuple((v, v) for v in items)
    elif len(items) == rank:
        out = tuple(wu.normalize_tuple(v, 2, name, allow_zero=True) for v in items)
    else:
        raise ValueError(f"`{name}` should have {rank} elements. Received: {name}={value!r}")
    if any(v < 0 for p in out for v in p):
        raise ValueError(f"`{name}` must be >= 0. Received: {name}={value!r}")
    return tuple(tuple(int(v) for v in p) for p in out)


class _ZeroPadding(Layer):
    _rank = 2

    def __init__(self, padding: Any, data_format: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = _pairs(padding, self._rank, "padding")
        self.data_format = wu.normalize_data_format(data_format)

    def call(self, inputs: Any) -> Any:
        shape = tuple(inputs.shape)
        wu.check_rank(self, shape, self._rank)
        pads = [[0, 0] for _ in shape]
        for a, p in zip(wu.spatial_axes(self._rank, self.data_format), self.padding,
                        strict=True):
            pads[a] = list(p)
        return corten.pad(inputs, pads)

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = [_dim(d) for d in tuple(input_shape)]
        wu.check_rank(self, tuple(shape), self._rank)
        for a, p in zip(wu.spatial_axes(self._rank, self.data_format), self.padding,
                        strict=True):
            shape[a] = None if shape[a] is None else shape[a] + p[0] + p[1]
        return corten.TensorShape(tuple(shape))

    def get_config(self) -> dict:
        config = super().get_config()
        config["padding"] = self.padding[0] if self._rank == 1 else self.padding
        if self._rank > 1:
            config["data_format"] = self.data_format
        return config


class ZeroPadding1D(_ZeroPadding):
    """Adds zeros before and after the steps: padding is an int or (before, after).

    Args:
        padding: an int or a tuple of 2 ints.
    """

    _rank = 1

    def __init__(self, padding: Any = 1, **kwargs: Any) -> None:
        super().__init__(padding, "channels_last", **kwargs)


class ZeroPadding2D(_ZeroPadding):
    """Adds rows and columns of zeros around each image.

    Args:
        padding: an int, (rows, cols), or ((top, bottom), (left, right)).
        data_format: 'channels_last' (default) or 'channels_first'.
    """

    _rank = 2

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    """Adds zeros around each volume.

    Args:
        padding: an int, 3 ints, or 3 pairs of ints.
        data_format: 'channels_last' (default) or 'channels_first'.
    """

    _rank = 3

    def __init__(self, padding: Any = (1, 1, 1), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(padding, data_format, **kwargs)


class _Cropping(Layer):
    _rank = 2

    def __init__(self, cropping: Any, data_format: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = _pairs(cropping, self._rank, "cropping")
        self.data_format = wu.normalize_data_format(data_format)

    def _check(self, shape: tuple) -> None:
        wu.check_rank(self, shape, self._rank)
        for a, (b, e) in zip(wu.spatial_axes(self._rank, self.data_format), self.cropping,
                             strict=True):
            if shape[a] is not None and b + e >= shape[a]:
                raise ValueError(f"{type(self).__name__}: cropping {self.cropping} is too "
                                 f"large for the input shape {shape}: nothing would be left")

    def call(self, inputs: Any) -> Any:
        shape = tuple(inputs.shape)
        self._check(shape)
        index = [slice(None)] * len(shape)
        for a, (b, e) in zip(wu.spatial_axes(self._rank, self.data_format), self.cropping,
                             strict=True):
            index[a] = slice(b, -e if e else None)
        return inputs[tuple(index)]

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = [_dim(d) for d in tuple(input_shape)]
        self._check(tuple(shape))
        for a, (b, e) in zip(wu.spatial_axes(self._rank, self.data_format), self.cropping,
                             strict=True):
            shape[a] = None if shape[a] is None else shape[a] - b - e
        return corten.TensorShape(tuple(shape))

    def get_config(self) -> dict:
        config = super().get_config()
        config["cropping"] = self.cropping[0] if self._rank == 1 else self.cropping
        if self._rank > 1:
            config["data_format"] = self.data_format
        return config


class Cropping1D(_Cropping):
    """Removes steps at the start and end: cropping is an int or (start, end).

    Args:
        cropping: an int or a tuple of 2 ints.
    """

    _rank = 1

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any) -> None:
        super().__init__(cropping, "channels_last", **kwargs)


class Cropping2D(_Cropping):
    """Removes rows and columns at the edges of each image.

    Args:
        cropping: an int, (rows, cols), or ((top, bottom), (left, right)).
        data_format: 'channels_last' (default) or 'channels_first'.
    """

    _rank = 2

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    """Removes slices at the edges of each volume.

    Args:
        cropping: an int, 3 ints, or 3 pairs of ints.
        data_format: 'channels_last' (default) or 'channels_first'.
    """

    _rank = 3

    def __init__(self, cropping: Any = ((1, 1), (1, 1), (1, 1)),
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(cropping, data_format, **kwargs)
