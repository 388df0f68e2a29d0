"""Image preprocessing layers with tf.keras 2 semantics: Rescaling, Resizing, CenterCrop,
RandomCrop, RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomContrast and
RandomBrightness.

Inputs are channels_last images, one (height, width, channels) or a batch (n, height, width,
channels), of any real dtype; outputs have the layer's compute dtype (float32 by default).

The random layers augment when training: inside fit, with ``training=True``, and (as in
tf.keras 2, whose ``call`` defaults ``training`` to True) when called directly without a
``training`` argument; ``training=False`` (predict, evaluate) passes the images through. Their
draws come from corten's Philox streams keyed by the layer's ``seed`` (as Dropout's), so a fixed
seed (with ``corten.random.set_seed``) repeats the same augmentations on any thread count. The
rotation, zoom and translation sample the images through the C++ ``image_transform`` op
(TensorFlow's ImageProjectiveTransformV3), whose transforms are built from the draws with
tensor ops, so traced training steps draw anew at every step.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import corten
from corten.keras.layers.base_layer import Layer
from corten.ops.image import image_transform
from corten.ops.pooling import resize

__all__ = ["Rescaling", "Resizing", "CenterCrop", "RandomCrop", "RandomFlip", "RandomRotation",
           "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness"]

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


def _check_fill_and_interpolation(layer: str, fill_mode: str, interpolation: str) -> None:
    # tf.keras 2 raises NotImplementedError for both (check_fill_mode_and_interpolation).
    if fill_mode not in _FILL_MODES:
        raise NotImplementedError(f"{layer}: unknown `fill_mode` {fill_mode!r}. Only 'reflect', "
                                  "'wrap', 'constant' and 'nearest' are supported.")
    if interpolation not in _INTERPOLATIONS:
        raise NotImplementedError(f"{layer}: unknown `interpolation` {interpolation!r}. Only "
                                  "'nearest' and 'bilinear' are supported.")


def _as_images(layer: Layer, inputs: Any, dtype: str | None = None) -> Any:
    """inputs as a tensor of the layer's compute dtype (Keras's convert_inputs)."""
    if isinstance(inputs, dict):
        raise ValueError(f"{type(layer).__name__}: this layer processes a tensor of an image or "
                         f"a batch of images. Received: type(inputs)={type(inputs)}")
    x = inputs if isinstance(inputs, corten.Tensor) else corten.convert_to_tensor(inputs)
    dtype = dtype or layer.compute_dtype
    if x.dtype.name != dtype:
        x = corten.cast(x, dtype)
    return x


def _check_image_rank(layer: Layer, x: Any) -> None:
    if x.ndim not in (3, 4):
        raise ValueError(f"{type(layer).__name__}: expected images of rank 3 (height, width, "
                         f"channels) or 4 (batch, height, width, channels). Received: "
                         f"inputs.shape={tuple(x.shape)}")


def _is_meta(x: Any) -> bool:
    return x.device == "meta"


def _resize_images(x: Any, height: int, width: int, method: str) -> Any:
    """tf.image.resize (half-pixel centers) of one image or a batch."""
    if x.ndim == 3:
        return corten.squeeze(resize(corten.expand_dims(x, 0), [height, width], method), [0])
    return resize(x, [height, width], method)


def _crop(x: Any, top: int, left: int, height: int, width: int) -> Any:
    if x.ndim == 3:
        return x[top:top + height, left:left + width, :]
    return x[:, top:top + height, left:left + width, :]


def _smart_resize(x: Any, height: int, width: int, method: str = "bilinear") -> Any:
    """Keras's smart_resize: the largest centred crop of the target aspect ratio, resized."""
    h, w = _image_size(x)
    if h < 0 or w < 0:  # unknown sizes (shape inference): only the output shape matters
        return _resize_images(x, height, width, method)
    # In float32 then truncated, as Keras computes the crop.
    crop_h = min(h, int(np.float32(w * height) / np.float32(width)))
    crop_w = min(w, int(np.float32(h * width) / np.float32(height)))
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    return _resize_images(_crop(x, top, left, crop_h, crop_w), height, width, method)


def _image_size(x: Any) -> tuple[int, int]:
    """(height, width), -1 where unknown (shape inference)."""
    h, w = x.shape[-3], x.shape[-2]
    return (-1 if h is None else int(h)), (-1 if w is None else int(w))


def _batch_shape(x: Any) -> list[int]:
    """The shape of per-image draws broadcast over (batch, 1, 1, 1), or (1, 1, 1) unbatched."""
    return [int(x.shape[0]), 1, 1, 1] if x.ndim == 4 else [1, 1, 1]


def _range_of(factor: Any, name: str, layer: str) -> tuple[float, float]:
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(f"{layer}: `{name}` must be a number or a tuple of two numbers. "
                             f"Received: {name}={factor}")
        return float(factor[0]), float(factor[1])
    return -float(factor), float(factor)


class Rescaling(Layer):
    """Multiplies inputs by `scale` and adds `offset`, in training and at inference.

    Args:
        scale: the scale (a float, or per-channel values broadcast against the inputs).
        offset: the offset added after scaling.

    Input shape: any. Output shape: the input's, of the layer's compute dtype.
    """

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any) -> None:
        self.scale = scale
        self.offset = offset
        super().__init__(**kwargs)

    def call(self, inputs: Any) -> Any:
        x = _as_images(self, inputs)
        dtype = x.dtype
        scale = corten.constant(self.scale, dtype=dtype)
        offset = corten.constant(self.offset, dtype=dtype)
        return corten.add(corten.multiply(x, scale), offset)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return corten.TensorShape(input_shape)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"scale": self.scale, "offset": self.offset})
        return config


class Resizing(Layer):
    """Resizes images to (height, width), by bilinear or nearest-neighbour interpolation
    (tf.image.resize's rules).

    Args:
        height, width: the output size.
        interpolation: 'bilinear' (default) or 'nearest'.
        crop_to_aspect_ratio: when True, first crop the largest centred window of the target
            aspect ratio, so that the images are not distorted.

    Input shape: (..., h, w, c) of rank 3 or 4. Output shape: (..., height, width, c).
    """

    def __init__(self, height: int, width: int, interpolation: str = "bilinear",
                 crop_to_aspect_ratio: bool = False, **kwargs: Any) -> None:
        if interpolation not in _INTERPOLATIONS:
            raise NotImplementedError(
                f"Resizing: interpolation {interpolation!r} is not supported; use 'bilinear' "
                "or 'nearest'.")
        _check_size("Resizing", height, width)
        self.height = height
        self.width = width
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        super().__init__(**kwargs)

    def call(self, inputs: Any) -> Any:
        x = _as_images(self, inputs)
        _check_image_rank(self, x)
        if self.crop_to_aspect_ratio:
            return _smart_resize(x, self.height, self.width, self.interpolation)
        return _resize_images(x, self.height, self.width, self.interpolation)

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = list(corten.TensorShape(input_shape).as_list())
        shape[-3], shape[-2] = self.height, self.width
        return corten.TensorShape(shape)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"height": self.height, "width": self.width,
                       "interpolation": self.interpolation,
                       "crop_to_aspect_ratio": self.crop_to_aspect_ratio})
        return config


def _check_size(layer: str, height: Any, width: Any) -> None:
    for name, v in (("height", height), ("width", width)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{layer}: `{name}` must be a positive integer. Received: "
                             f"{name}={v!r}")


class CenterCrop(Layer):
    """Crops the central (height, width) window of images; an image smaller than that is
    resized instead (the largest window of the target aspect ratio, bilinear).

    Args:
        height, width: the output size.

    Input shape: (..., h, w, c) of rank 3 or 4. Output shape: (..., height, width, c).
    """

    def __init__(self, height: int, width: int, **kwargs: Any) -> None:
        _check_size("CenterCrop", height, width)
        self.height = height
        self.width = width
        kwargs["autocast"] = False
        super().__init__(**kwargs)

    def call(self, inputs: Any) -> Any:
        x = _as_images(self, inputs)
        _check_image_rank(self, x)
        h, w = _image_size(x)
        h_diff, w_diff = h - self.height, w - self.width
        if h < 0 or w < 0 or h_diff < 0 or w_diff < 0:
            return _smart_resize(x, self.height, self.width)
        return _crop(x, h_diff // 2, w_diff // 2, self.height, self.width)

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = list(corten.TensorShape(input_shape).as_list())
        shape[-3], shape[-2] = self.height, self.width
        return corten.TensorShape(shape)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"height": self.height, "width": self.width})
        return config


class _RandomImageLayer(Layer):
    """Shared parts of the random layers: the seed, identity at inference, shape-preserving
    output shape."""

    def __init__(self, seed: int | None = None, force_generator: bool = False,
                 rng_type: str | None = None, **kwargs: Any) -> None:
        # force_generator, rng_type: tf.keras 2's choice of random generator, in its configs;
        # corten's layers draw from their Philox stream whatever they say.
        super().__init__(**kwargs)
        self.seed = seed

    def call(self, inputs: Any, training: Any = True) -> Any:
        x = _as_images(self, inputs)
        if not training or _is_meta(x):
            return x
        _check_image_rank(self, x)
        if x.shape.num_elements() == 0:
            return x
        return self._augment(x)

    def _augment(self, x: Any) -> Any:
        raise NotImplementedError

    def _uniform(self, shape: list[int], lo: float, hi: float, dtype: str = "float32") -> Any:
        return corten.random.uniform(shape, lo, hi, dtype, seed=self.seed)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return corten.TensorShape(input_shape)

    def get_config(self) -> dict:
        config = super().get_config()
        config["seed"] = self.seed
        return config


class RandomCrop(_RandomImageLayer):
    """When training, crops one random (height, width) window, the same for every image of the
    batch; at inference (or for images smaller than the window) resizes like CenterCrop's
    fallback (the largest centred window of the target aspect ratio).

    Args:
        height, width: the output size.
        seed: the seed of the crop positions.

    Input shape: (..., h, w, c) of rank 3 or 4. Output shape: (..., height, width, c).
    """

    def __init__(self, height: int, width: int, seed: int | None = None,
                 **kwargs: Any) -> None:
        _check_size("RandomCrop", height, width)
        kwargs["autocast"] = False
        super().__init__(seed=seed, **kwargs)
        self.height = height
        self.width = width

    def call(self, inputs: Any, training: Any = True) -> Any:
        x = _as_images(self, inputs)
        _check_image_rank(self, x)
        h, w = _image_size(x)
        h_diff, w_diff = h - self.height, w - self.width
        if not training or _is_meta(x) or h_diff < 0 or w_diff < 0:
            return _smart_resize(x, self.height, self.width)
        # Two int32 draws reduced modulo the number of positions, as Keras's; the window is
        # gathered with tensor indices so that a traced step draws a new one at each replay.
        r = corten.random.uniform([2], 0, 2**31 - 1, "int32", seed=self.seed)
        top = corten.math.floormod(r[0], h_diff + 1)
        left = corten.math.floormod(r[1], w_diff + 1)
        rows = corten.add(corten.range(self.height, dtype="int32"), top)
        cols = corten.add(corten.range(self.width, dtype="int32"), left)
        return corten.gather(corten.gather(x, rows, axis=x.ndim - 3), cols, axis=x.ndim - 2)

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = list(corten.TensorShape(input_shape).as_list())
        shape[-3], shape[-2] = self.height, self.width
        return corten.TensorShape(shape)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"height": self.height, "width": self.width})
        return config


HORIZONTAL = "horizontal"
VERTICAL = "vertical"
HORIZONTAL_AND_VERTICAL = "horizontal_and_vertical"


class RandomFlip(_RandomImageLayer):
    """When training, flips each image left-right and/or top-bottom with probability 1/2.

    Args:
        mode: 'horizontal' (left-right), 'vertical' (top-bottom) or 'horizontal_and_vertical'
            (both, independently; the default).
        seed: the seed of the coin flips.

    Input shape: (..., h, w, c) of rank 3 or 4. Output shape: the input's.
    """

    def __init__(self, mode: str = HORIZONTAL_AND_VERTICAL, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        if mode not in (HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL):
            raise ValueError(f"RandomFlip layer {self.name} received an unknown mode argument "
                             f"{mode}")
        self.mode = mode
        self.horizontal = mode in (HORIZONTAL, HORIZONTAL_AND_VERTICAL)
        self.vertical = mode in (VERTICAL, HORIZONTAL_AND_VERTICAL)

    def _signs(self, n: int, active: bool) -> Any:
        # Each image flips along an axis when its uniform draw is below 1/2 (tf.image's random
        # flips): a sign of -1 for that axis, else 1.
        if not active:
            return corten.ones([n], "float32")
        u = self._uniform([n], 0.0, 1.0)
        return corten.where(corten.less(u, 0.5), corten.constant(-1.0), corten.constant(1.0))

    def _augment(self, x: Any) -> Any:
        # Both flips in one pass: image_transform with nearest sampling at x' = sx x + offset,
        # y' = sy y + offset, integer points read exactly (the flipped pixels bit for bit).
        unbatched = x.ndim == 3
        if unbatched:
            x = corten.expand_dims(x, 0)
        n = int(x.shape[0])
        h, w = _image_size(x)
        sx, sy = self._signs(n, self.horizontal), self._signs(n, self.vertical)
        zero = corten.zeros([n], "float32")
        t = corten.stack([sx, zero, (1.0 - sx) * (0.5 * (w - 1)), zero, sy,
                          (1.0 - sy) * (0.5 * (h - 1)), zero, zero], axis=1)
        out = image_transform(x, t, [h, w], "nearest", "nearest")
        return corten.squeeze(out, [0]) if unbatched else out

    def get_config(self) -> dict:
        config = super().get_config()
        config["mode"] = self.mode
        return config


class _TransformLayer(_RandomImageLayer):
    """A random layer that samples each image through a projective transform."""

    def __init__(self, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        _check_fill_and_interpolation(type(self).__name__, fill_mode, interpolation)
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.interpolation = interpolation

    def _transforms(self, n: int, height: int, width: int) -> Any:
        raise NotImplementedError

    def _augment(self, x: Any) -> Any:
        unbatched = x.ndim == 3
        if unbatched:
            x = corten.expand_dims(x, 0)
        h, w = _image_size(x)
        t = self._transforms(int(x.shape[0]), h, w)
        out = image_transform(x, t, [h, w], self.interpolation, self.fill_mode, self.fill_value)
        return corten.squeeze(out, [0]) if unbatched else out

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"fill_mode": self.fill_mode, "fill_value": self.fill_value,
                       "interpolation": self.interpolation})
        return config


def _column(v: Any) -> Any:
    return corten.reshape(v, [-1, 1])


def rotation_transforms(angles: Any, height: int, width: int) -> Any:
    """(n, 8) transforms rotating images by `angles` (radians, counter-clockwise) about their
    centre (Keras's get_rotation_matrix)."""
    angles = corten.reshape(angles, [-1])
    c, s = corten.cos(angles), corten.sin(angles)
    h1, w1 = float(height - 1), float(width - 1)
    x_off = (w1 - (c * w1 - s * h1)) / 2.0
    y_off = (h1 - (s * w1 + c * h1)) / 2.0
    zero = corten.zeros_like(angles)
    return corten.stack([c, -s, x_off, s, c, y_off, zero, zero], axis=1)


def zoom_transforms(zooms: Any, height: int, width: int) -> Any:
    """(n, 8) transforms from (n, 2) [zx, zy] zooms about the image centre (Keras's
    get_zoom_matrix: a factor above 1 shows more of the image, smaller)."""
    zx, zy = zooms[:, 0], zooms[:, 1]
    x_off = ((width - 1.0) / 2.0) * (1.0 - zx)
    y_off = ((height - 1.0) / 2.0) * (1.0 - zy)
    zero = corten.zeros_like(zx)
    return corten.stack([zx, zero, x_off, zero, zy, y_off, zero, zero], axis=1)


def translation_transforms(translations: Any) -> Any:
    """(n, 8) transforms from (n, 2) [dx, dy] translations in pixels (Keras's
    get_translation_matrix)."""
    dx, dy = translations[:, 0], translations[:, 1]
    one, zero = corten.ones_like(dx), corten.zeros_like(dx)
    return corten.stack([one, zero, -dx, zero, one, -dy, zero, zero], axis=1)


class RandomRotation(_TransformLayer):
    """When training, rotates each image by a random angle.

    Args:
        factor: a fraction of 2 pi, or a (lower, upper) pair: the angle is drawn from
            [lower * 2 pi, upper * 2 pi] (a single value f means (-f, f)); positive angles
            rotate counter-clockwise.
        fill_mode: 'reflect' (default), 'wrap', 'constant' or 'nearest': how points outside
            the image are filled.
        interpolation: 'bilinear' (default) or 'nearest'.
        seed: the seed of the angles.
        fill_value: the value of outside points under fill_mode='constant'.

    Input shape: (..., h, w, c) of rank 3 or 4. Output shape: the input's.
    """

    def __init__(self, factor: Any, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.factor = factor
        self.lower, self.upper = _range_of(factor, "factor", "RandomRotation")
        if self.upper < self.lower:
            raise ValueError("`factor` argument cannot have a negative value. Received: "
                             f"factor={factor}")

    def _transforms(self, n: int, height: int, width: int) -> Any:
        angles = self._uniform([n], self.lower * 2.0 * math.pi, self.upper * 2.0 * math.pi)
        return rotation_transforms(angles, height, width)

    def get_config(self) -> dict:
        config = super().get_config()
        config["factor"] = self.factor
        return config


class RandomZoom(_TransformLayer):
    """When training, zooms each image in or out by a random factor.

    Args:
        height_factor: a fraction, or a (lower, upper) pair in [-1, 1]: the vertical zoom
            is drawn from [1 + lower, 1 + upper] (a single value f means (-f, f)); positive
            values zoom out, negative values zoom in.
        width_factor: the same for the horizontal zoom; None (default) keeps the aspect ratio
            (the vertical draw is used for both).
        fill_mode, interpolation, seed, fill_value: as RandomRotation's.

    Input shape: (..., h, w, c) of rank 3 or 4. Output shape: the input's.
    """

    def __init__(self, height_factor: Any, width_factor: Any = None, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor = height_factor
        self.height_lower, self.height_upper = _range_of(height_factor, "height_factor",
                                                         "RandomZoom")
        if abs(self.height_lower) > 1.0 or abs(self.height_upper) > 1.0:
            raise ValueError("`height_factor` argument must have values between [-1, 1]. "
                             f"Received: height_factor={height_factor}")
        self.width_factor = width_factor
        if width_factor is not None:
            self.width_lower, self.width_upper = _range_of(width_factor, "width_factor",
                                                           "RandomZoom")
            if self.width_lower < -1.0 or self.width_upper < -1.0:
                raise ValueError("`width_factor` argument must have values larger than -1. "
                                 f"Received: width_factor={width_factor}")

    def _transforms(self, n: int, height: int, width: int) -> Any:
        zy = self._uniform([n, 1], 1.0 + self.height_lower, 1.0 + self.height_upper)
        zx = zy if self.width_factor is None else \
            self._uniform([n, 1], 1.0 + self.width_lower, 1.0 + self.width_upper)
        return zoom_transforms(corten.concat([zx, zy], axis=1), height, width)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor})
        return config


class RandomTranslation(_TransformLayer):
    """When training, shifts each image by a random offset.

    Args:
        height_factor: a fraction of the height, or a (lower, upper) pair in [-1, 1]: the
            vertical shift is drawn from [lower * height, upper * height] (a single value f
            means (-f, f)); positive values shift down.
        width_factor: the same for the horizontal shift (positive: right).
        fill_mode, interpolation, seed, fill_value: as RandomRotation's.

    Input shape: (..., h, w, c) of rank 3 or 4. Output shape: the input's.
    """

    def __init__(self, height_factor: Any, width_factor: Any, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self.height_lower, self.height_upper = _range_of(height_factor, "height_factor",
                                                         "RandomTranslation")
        self.width_lower, self.width_upper = _range_of(width_factor, "width_factor",
                                                       "RandomTranslation")
        for name, lo, hi, f in (("height_factor", self.height_lower, self.height_upper,
                                 height_factor),
                                ("width_factor", self.width_lower, self.width_upper,
                                 width_factor)):
            if hi < lo:
                raise ValueError(f"`{name}` cannot have upper bound less than lower bound, got "
                                 f"{f}")
            if abs(lo) > 1.0 or abs(hi) > 1.0:
                raise ValueError(f"`{name}` argument must have values between [-1, 1]. "
                                 f"Received: {name}={f}")

    def _transforms(self, n: int, height: int, width: int) -> Any:
        dy = self._uniform([n, 1], self.height_lower, self.height_upper) * float(height)
        dx = self._uniform([n, 1], self.width_lower, self.width_upper) * float(width)
        return translation_transforms(corten.concat([dx, dy], axis=1))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor})
        return config


class RandomContrast(_RandomImageLayer):
    """When training, scales each channel's deviation from its mean by a random factor drawn
    from [1 - lower, 1 + upper] (one factor per call, as tf.image.random_contrast), then clips
    to [0, 255].

    Args:
        factor: a fraction in [0, 1], or a (lower, upper) pair (a single value f means (f, f)).
        seed: the seed of the factor.

    Input shape: (..., h, w, c) of rank 3 or 4. Output shape: the input's.
    """

    def __init__(self, factor: Any, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.factor = factor
        if isinstance(factor, (tuple, list)):
            self.lower, self.upper = float(factor[0]), float(factor[1])
        else:
            self.lower = self.upper = float(factor)
        if self.lower < 0.0 or self.upper < 0.0 or self.lower > 1.0:
            raise ValueError("`factor` argument cannot have negative values or values greater "
                             f"than 1. Received: factor={factor}")

    def _augment(self, x: Any) -> Any:
        f = corten.cast(self._uniform([], 1.0 - self.lower, 1.0 + self.upper), x.dtype)
        mean = corten.reduce_mean(x, axis=[x.ndim - 3, x.ndim - 2], keepdims=True)
        out = corten.add(corten.multiply(corten.subtract(x, mean), f), mean)
        return corten.clip_by_value(out, 0.0, 255.0)

    def get_config(self) -> dict:
        config = super().get_config()
        config["factor"] = self.factor
        return config


class RandomBrightness(_RandomImageLayer):
    """When training, adds to each image a random offset, a fraction of the value range, then
    clips to the value range.

    Args:
        factor: a number in [-1, 1], or a (lower, upper) pair: the offset is drawn from
            [lower, upper] * (value_range[1] - value_range[0]) (a single value f means
            (-|f|, |f|)).
        value_range: the [low, high] range of the input values (default (0, 255)).
        seed: the seed of the offsets.

    Input shape: (..., h, w, c) of rank 3 or 4. Output shape: the input's.
    """

    _FACTOR_VALIDATION_ERROR = ("The `factor` argument should be a number (or a list of two "
                                "numbers) in the range [-1.0, 1.0]. ")
    _VALUE_RANGE_VALIDATION_ERROR = "The `value_range` argument should be a list of two numbers. "

    def __init__(self, factor: Any, value_range: Any = (0, 255), seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        if isinstance(factor, (tuple, list)):
            if len(factor) != 2:
                raise ValueError(self._FACTOR_VALIDATION_ERROR + f"Got {factor}")
            for f in factor:
                self._check_factor(f)
            self._factor = sorted(factor)
        elif isinstance(factor, (int, float)) and not isinstance(factor, bool):
            self._check_factor(factor)
            self._factor = [-abs(factor), abs(factor)]
        else:
            raise ValueError(self._FACTOR_VALIDATION_ERROR + f"Got {factor}")
        if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
            raise ValueError(self._VALUE_RANGE_VALIDATION_ERROR + f"Got {value_range}")
        self._value_range = sorted(value_range)

    def _check_factor(self, f: Any) -> None:
        if f > 1.0 or f < -1.0:
            raise ValueError(self._FACTOR_VALIDATION_ERROR + f"Got {f}")

    def _augment(self, x: Any) -> Any:
        lo, hi = self._value_range
        delta = self._uniform(_batch_shape(x), float(self._factor[0]), float(self._factor[1]))
        delta = corten.cast(delta * float(hi - lo), x.dtype)
        return corten.clip_by_value(corten.add(x, delta), float(lo), float(hi))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"factor": list(self._factor), "value_range": list(self._value_range)})
        return config
