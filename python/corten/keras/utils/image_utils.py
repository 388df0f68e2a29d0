"""Image files in and out, with Pillow: ``load_img``, ``img_to_array``, ``array_to_img``,
``save_img`` and ``smart_resize`` (tf.keras 2's ``keras.utils`` / ``keras.preprocessing.image``
functions), and the decoder of ``image_dataset_from_directory``.

Pillow is an optional dependency (``pip install corten[image]``); it is imported when an
image is first read or written, so ``import corten`` works without it.
"""

from __future__ import annotations

import io
import os
import pathlib
import warnings
from typing import Any

import numpy as np

import corten
from corten.keras import backend

__all__ = ["load_img", "img_to_array", "array_to_img", "save_img", "smart_resize",
           "read_image"]

_COLOR_MODES = {"grayscale": ("L", 1), "rgb": ("RGB", 3), "rgba": ("RGBA", 4)}
_PIL_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def pil_image(op: str) -> Any:
    """Pillow's ``PIL.Image`` module.

    Raises:
        ImportError: naming the ``image`` extra when Pillow is not installed.
    """
    try:
        from PIL import Image
    except ImportError as exc:
        raise ImportError(f"{op} requires Pillow to read and write images. Install it with "
                          "`pip install corten[image]` (or `pip install Pillow`).") from exc
    return Image


def _open(op: str, path: Any) -> Any:
    """The first frame of the image file at ``path``, decoded.

    Raises:
        ValueError: naming the file when it cannot be read or is not a valid image.
    """
    image = pil_image(op)
    try:
        if isinstance(path, io.BytesIO):
            img = image.open(path)
        else:
            with open(path, "rb") as f:
                img = image.open(io.BytesIO(f.read()))
        # Decode now (Pillow is lazy), so a truncated or corrupted file fails here and names
        # itself; an animated GIF stays at its first frame, as tf.keras decodes it.
        img.load()
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, EOFError...
        name = path if isinstance(path, io.BytesIO) else os.fsdecode(path)
        raise ValueError(f"{op}: cannot decode the image file {name!r} "
                         f"(supported: PNG, JPEG, BMP, GIF): {exc}") from exc
    return img


def _to_mode(img: Any, mode: str) -> Any:
    """``img`` converted to Pillow mode "L", "RGB" or "RGBA" as TensorFlow's decoders do:
    16-bit grayscale keeps its high byte (libpng's strip_16), alpha is dropped, not blended."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        high = np.right_shift(np.clip(np.asarray(img, dtype=np.int64), 0, 65535), 8)
        img = pil_image("image decoding").fromarray(high.astype(np.uint8), "L")
    return img if img.mode == mode else img.convert(mode)


def read_image(op: str, path: str, color_mode: str) -> np.ndarray:
    """Decodes an image file into a float32 ``(height, width, channels)`` array of values
    in [0, 255], with 1, 3 or 4 channels for ``color_mode`` "grayscale", "rgb", "rgba".

    Raises:
        ImportError: without Pillow.
        ValueError: naming the file when it cannot be decoded.
    """
    mode, channels = _COLOR_MODES[color_mode]
    img = _to_mode(_open(op, path), mode)
    return np.asarray(img, dtype=np.float32).reshape(img.size[1], img.size[0], channels)


def load_img(path: Any, grayscale: bool = False, color_mode: str = "rgb",
             target_size: tuple[int, int] | None = None, interpolation: str = "nearest",
             keep_aspect_ratio: bool = False) -> Any:
    """Loads an image file into a PIL Image.

    Args:
        path: the path (str, bytes or pathlib.Path) or an ``io.BytesIO``.
        grayscale: deprecated, same as ``color_mode="grayscale"``.
        color_mode: "grayscale", "rgb" or "rgba".
        target_size: None (the file's size) or ``(height, width)``.
        interpolation: Pillow's resampling when resizing: "nearest", "bilinear", "bicubic",
            "hamming", "box" or "lanczos".
        keep_aspect_ratio: resize the largest centred crop of the target aspect ratio.

    Returns:
        A PIL Image.

    Raises:
        ImportError: without Pillow.
        TypeError: for a path that is neither path-like nor BytesIO.
        ValueError: for an unknown color_mode or interpolation, or a file that is not an
            image (naming the file).
    """
    if grayscale:
        warnings.warn('grayscale is deprecated. Please use color_mode = "grayscale"',
                      stacklevel=2)
        color_mode = "grayscale"
    if color_mode not in _COLOR_MODES:
        raise ValueError('load_img: color_mode must be "grayscale", "rgb", or "rgba". '
                         f"Received: color_mode={color_mode!r}")
    if isinstance(path, pathlib.Path):
        path = str(path.resolve())
    if not isinstance(path, (io.BytesIO, bytes, str)):
        raise TypeError(f"load_img: path should be path-like or io.BytesIO, not {type(path)}")
    image = pil_image("load_img")
    img = _to_mode(_open("load_img", path), _COLOR_MODES[color_mode][0])
    if target_size is None:
        return img
    width_height = (int(target_size[1]), int(target_size[0]))
    if img.size == width_height:
        return img
    if interpolation not in _PIL_INTERPOLATIONS:
        raise ValueError(f"load_img: Invalid interpolation method {interpolation} specified. "
                         f"Supported methods are {', '.join(_PIL_INTERPOLATIONS)}")
    resample = getattr(image.Resampling, interpolation.upper())
    if not keep_aspect_ratio:
        return img.resize(width_height, resample)
    width, height = img.size
    crop_h = min(height, (width * width_height[1]) // width_height[0])
    crop_w = min(width, (height * width_height[0]) // width_height[1])
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return img.resize(width_height, resample, box=(left, top, left + crop_w, top + crop_h))


def _data_format(op: str, data_format: str | None) -> str:
    data_format = data_format or backend.image_data_format()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"{op}: Invalid data_format: {data_format}. Expected "
                         "'channels_first' or 'channels_last'.")
    return data_format


def img_to_array(img: Any, data_format: str | None = None, dtype: Any = None) -> np.ndarray:
    """Converts a PIL Image to a numpy array of shape (height, width, channels).

    Args:
        img: a PIL Image.
        data_format: "channels_last" or "channels_first" (default: the backend's).
        dtype: the array's dtype (default: ``backend.floatx()``).

    Returns:
        A 3D numpy array (channels first when asked).

    Raises:
        ValueError: for an unknown data_format or an image that is not 2D or 3D.
    """
    data_format = _data_format("img_to_array", data_format)
    x = np.asarray(img, dtype=dtype or backend.floatx())
    if x.ndim == 2:
        x = x.reshape((1, *x.shape) if data_format == "channels_first" else (*x.shape, 1))
    elif x.ndim == 3:
        if data_format == "channels_first":
            x = x.transpose(2, 0, 1)
    else:
        raise ValueError(f"img_to_array: Unsupported image shape: {x.shape}")
    return x


def array_to_img(x: Any, data_format: str | None = None, scale: bool = True,
                 dtype: Any = None) -> Any:
    """Converts a 3D array (an image) to a PIL Image.

    Args:
        x: an array-like of shape (height, width, channels) (or channels first), with 1, 3
            or 4 channels.
        data_format: "channels_last" or "channels_first" (default: the backend's).
        scale: rescale the values so that they span [0, 255].
        dtype: the dtype the values are read as (default: ``backend.floatx()``).

    Returns:
        A PIL Image of mode "L" (or "I" for values above 255), "RGB" or "RGBA".

    Raises:
        ImportError: without Pillow.
        ValueError: for an array that is not 3D, an unknown data_format or a channel count
            other than 1, 3 or 4.
    """
    data_format = _data_format("array_to_img", data_format)
    image = pil_image("array_to_img")
    x = np.array(np.asarray(x), dtype=dtype or backend.floatx())
    if x.ndim != 3:
        raise ValueError("array_to_img: Expected image array to have rank 3 (single image). "
                         f"Got array with shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        # The image's own value range mapped onto [0, 255] (host-side formatting of an
        # array that is leaving the framework, as Keras does it).
        x = x - np.min(x)
        x_max = np.max(x)
        if x_max != 0:
            x /= x_max
        x *= 255
    channels = x.shape[2]
    if channels == 4:
        return image.fromarray(x.astype("uint8"), "RGBA")
    if channels == 3:
        return image.fromarray(x.astype("uint8"), "RGB")
    if channels == 1:
        if np.max(x) > 255:
            return image.fromarray(x[:, :, 0].astype("int32"), "I")
        return image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img: Unsupported channel number: {channels}. Expected 1, 3 or "
                     f"4; got an array of shape {x.shape}")


def save_img(path: Any, x: Any, data_format: str | None = None, file_format: str | None = None,
             scale: bool = True, **kwargs: Any) -> None:
    """Saves an image array to a path or a file object.

    Args:
        path: a path or a writable file object.
        x: an array-like image (see ``array_to_img``).
        data_format: "channels_last" or "channels_first".
        file_format: the format ("png", "jpeg", ...); by default from the file extension.
        scale: rescale the values so that they span [0, 255].
        **kwargs: passed to ``PIL.Image.Image.save``.

    Raises:
        ImportError: without Pillow.
        ValueError: as ``array_to_img``.
    """
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format in ("jpg", "jpeg"):
        warnings.warn("The JPG format does not support RGBA images, converting to RGB.",
                      stacklevel=2)
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


def smart_resize(x: Any, size: Any, interpolation: str = "bilinear") -> Any:
    """Resizes an image or a batch of images to ``size`` without aspect ratio distortion:
    the largest centred crop of the target aspect ratio, resized.

    Args:
        x: an image (height, width, channels) or a batch (n, height, width, channels), as a
            tensor or numpy array.
        size: ``(height, width)``.
        interpolation: "bilinear" or "nearest".

    Returns:
        The resized images, a numpy array for a numpy input, else a tensor.

    Raises:
        ValueError: for a size that is not two integers or an input that is not rank 3 or 4.
        NotImplementedError: for an interpolation corten does not resize with.
    """
    from corten.keras.layers.image_preprocessing import _smart_resize

    if len(size) != 2:
        raise ValueError(f"smart_resize: Expected `size` to be a tuple of 2 integers, but got: "
                         f"{size}.")
    method = check_interpolation("smart_resize", interpolation)
    img = x if isinstance(x, corten.Tensor) else corten.convert_to_tensor(np.asarray(x))
    if img.ndim not in (3, 4):
        raise ValueError("smart_resize: Expected an image array with shape `(height, width, "
                         "channels)`, or `(batch_size, height, width, channels)`, but got input "
                         f"with incorrect rank, of shape {tuple(img.shape)}.")
    if not img.dtype.is_floating:
        img = corten.cast(img, backend.floatx())
    out = _smart_resize(img, int(size[0]), int(size[1]), method)
    return out.numpy() if isinstance(x, np.ndarray) else out


# tf.image.resize's methods, by their Keras names; corten resizes with the first two.
_TF_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5",
                      "gaussian", "mitchellcubic")
_SUPPORTED_INTERPOLATIONS = ("bilinear", "nearest")


def check_interpolation(op: str, interpolation: Any) -> str:
    """The lower-cased interpolation name, checked as tf.keras's ``get_interpolation``.

    Raises:
        NotImplementedError: for a name tf.image.resize does not know, or one of its methods
            that corten does not implement (only "bilinear" and "nearest" are).
    """
    name = str(interpolation).lower()
    if name not in _TF_INTERPOLATIONS:
        raise NotImplementedError(f"{op}: Value not recognized for `interpolation`: "
                                  f"{interpolation}. Supported values are: "
                                  f"{_SUPPORTED_INTERPOLATIONS}")
    if name not in _SUPPORTED_INTERPOLATIONS:
        raise NotImplementedError(f"{op}: interpolation {interpolation!r} is not implemented "
                                  f"in corten. Supported values are: "
                                  f"{_SUPPORTED_INTERPOLATIONS}")
    return name
