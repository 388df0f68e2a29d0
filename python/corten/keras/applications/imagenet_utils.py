"""Utilities shared by the ImageNet applications: input-shape rules, ``preprocess_input`` and
``decode_predictions`` (tf.keras 2's ``keras.applications.imagenet_utils``)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

import corten
from corten.keras import activations, backend
from corten.keras.datasets import _download

__all__ = ["preprocess_input", "decode_predictions", "obtain_input_shape", "correct_pad",
           "validate_activation", "weights_file"]

CLASS_INDEX_FILE = "imagenet_class_index.json"
CLASS_INDEX_ORIGIN = ("https://storage.googleapis.com/download.tensorflow.org/data/"
                      "imagenet_class_index.json")
WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/"

# Per mode: (reverse RGB to BGR, scale applied first, per-channel mean, per-channel std).
_MODES: dict[str, tuple[bool, float, tuple[float, ...] | None, tuple[float, ...] | None]] = {
    "caffe": (True, 1.0, (103.939, 116.779, 123.68), None),
    "tf": (False, 1 / 127.5, (1.0, 1.0, 1.0), None),
    "torch": (False, 1 / 255.0, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}


def preprocess_input(x: Any, data_format: str | None = None, mode: str = "caffe") -> Any:
    """Preprocesses a batch of RGB images in [0, 255] the way an ImageNet model was trained.

    Args:
        x: images, a numpy array or a tensor, with 3 color channels.
        data_format: "channels_last" or "channels_first" (default: the Keras image format).
        mode: "caffe" (RGB to BGR, then subtract the ImageNet channel means), "tf" (scale to
            [-1, 1]) or "torch" (scale to [0, 1], then normalise by the ImageNet mean and std).

    Returns:
        The preprocessed images, float32: a numpy array for numpy input, else a tensor.

    Raises:
        ValueError: for an unknown `mode` or `data_format`.
    """
    if mode not in _MODES:
        raise ValueError("preprocess_input: `mode` must be one of 'caffe', 'tf' or 'torch'. "
                         f"Received: mode={mode!r}")
    data_format = data_format or backend.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("preprocess_input: `data_format` must be 'channels_last' or "
                         f"'channels_first'. Received: data_format={data_format!r}")
    is_numpy = not isinstance(x, corten.Tensor)
    t = corten.cast(corten.constant(np.asarray(x)) if is_numpy else x, "float32")
    rank = len(t.shape)
    axis = (0 if rank == 3 else 1) if data_format == "channels_first" else rank - 1
    if t.shape[axis] != 3:
        raise ValueError(f"preprocess_input: expected 3 color channels on axis {axis} "
                         f"({data_format}). Received: x.shape={tuple(t.shape)}")
    reverse, scale, mean, std = _MODES[mode]
    if reverse:
        t = corten.gather(t, [2, 1, 0], axis=axis)
    shape = [1] * rank
    shape[axis] = 3
    if scale != 1.0:
        t = t * scale
    t = t - corten.reshape(corten.constant(mean, dtype="float32"), shape)
    if std is not None:
        t = t / corten.reshape(corten.constant(std, dtype="float32"), shape)
    return t.numpy() if is_numpy else t


def _class_index() -> dict[str, list[str]]:
    path = _download.get_file(
        CLASS_INDEX_FILE, origin=CLASS_INDEX_ORIGIN, cache_subdir="models",
        offline_help=(f"Place Keras's {CLASS_INDEX_FILE} in "
                      f"{_download.cache_dir('models')}."))
    with open(path, encoding="utf-8") as f:
        index = json.load(f)
    if not isinstance(index, dict) or len(index) != 1000:
        raise ValueError(f"{path} is not Keras's ImageNet class index (1000 entries)")
    return index


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """Decodes ImageNet predictions into (class_id, class_name, score) tuples, best first.

    The class index (``imagenet_class_index.json``) is read from the Keras cache
    (``~/.keras/models``), downloaded there when absent.

    Args:
        preds: predictions of shape (samples, 1000).
        top: how many of the best classes to return per sample.

    Raises:
        ValueError: when `preds` is not of shape (samples, 1000).
    """
    p = np.asarray(preds.numpy() if hasattr(preds, "numpy") else preds)
    if p.ndim != 2 or p.shape[1] != 1000:
        raise ValueError("`decode_predictions` expects a batch of predictions (i.e. a 2D array "
                         f"of shape (samples, 1000)). Found array with shape: {p.shape}")
    index = _class_index()
    results = []
    for row in p:
        best = np.argsort(row)[-top:][::-1]
        results.append([(*index[str(i)], float(row[i])) for i in best])
    return results


def obtain_input_shape(input_shape: Sequence[int | None] | None, default_size: int,
                       min_size: int, data_format: str, require_flatten: bool,
                       weights: str | None = None) -> tuple[int | None, ...]:
    """The model's input shape from the user's `input_shape` (Keras's rules: the default size
    with the classifier on top, at least `min_size` pixels, 3 channels with ImageNet weights).

    Raises:
        ValueError: for a shape the model cannot take, naming it.
    """
    first = data_format == "channels_first"
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        channels = input_shape[0] if first else input_shape[-1]
        if channels not in (1, 3):
            warnings.warn(f"This model usually expects 1 or 3 input channels. However, it was "
                          f"passed an input_shape with {channels} input channels.",
                          stacklevel=3)
        default_shape = ((channels, default_size, default_size) if first
                         else (default_size, default_size, channels))
    else:
        default_shape = (3, default_size, default_size) if first else (
            default_size, default_size, 3)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default_shape:
            raise ValueError("When setting `include_top=True` and loading `imagenet` weights, "
                             f"`input_shape` should be {default_shape}.  Received: "
                             f"input_shape={tuple(input_shape)}")
        return default_shape
    if input_shape:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError("`input_shape` must be a tuple of three integers. "
                             f"Received: input_shape={input_shape}")
        channels = input_shape[0] if first else input_shape[-1]
        if channels != 3 and weights == "imagenet":
            raise ValueError(f"The input must have 3 channels; Received `input_shape="
                             f"{input_shape}`")
        spatial = input_shape[1:] if first else input_shape[:2]
        if any(d is not None and d < min_size for d in spatial):
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; Received: "
                             f"input_shape={input_shape}")
    else:
        input_shape = default_shape if require_flatten else (
            (3, None, None) if first else (None, None, 3))
    if require_flatten and None in input_shape:
        raise ValueError("If `include_top` is True, you should specify a static `input_shape`. "
                         f"Received: input_shape={input_shape}")
    return input_shape


def correct_pad(inputs: Any, kernel_size: int | tuple[int, int]) -> tuple[tuple[int, int], ...]:
    """The zero padding before a strided 2-D convolution that keeps Keras's pixel alignment."""
    first = backend.image_data_format() == "channels_first"
    size = tuple(inputs.shape)[2:4] if first else tuple(inputs.shape)[1:3]
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    correct = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


def validate_activation(classifier_activation: Any, weights: str | None) -> None:
    """With pretrained weights the classifier activation may only be None or softmax."""
    if weights is None:
        return
    fn = activations.get(classifier_activation)
    if fn not in (activations.get("softmax"), activations.get(None)):
        raise ValueError("Only `None` and `softmax` activations are allowed for the "
                         "`classifier_activation` argument when using pretrained weights, with "
                         f"`include_top=True`; Received: "
                         f"classifier_activation={classifier_activation!r}")


def check_weights_argument(weights: Any, include_top: bool, classes: int) -> None:
    """Keras's checks of `weights` and `classes`, before anything is built."""
    import os

    if not (weights in ("imagenet", None) or (isinstance(weights, str | os.PathLike)
                                               and os.path.exists(weights))):
        raise ValueError("The `weights` argument should be either `None` (random "
                         "initialization), `imagenet` (pre-training on ImageNet), or the path "
                         f"to the weights file to be loaded.  Received: `weights={weights}.`")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError('If using `weights` as `"imagenet"` with `include_top` as true, '
                         f"`classes` should be 1000.  Received: `classes={classes}.`")


def weights_file(file_name: str, folder: str) -> str:
    """The path of an ImageNet weights file in the Keras cache (``~/.keras/models``),
    downloaded from Keras's storage when absent.

    Raises:
        OSError: when the file is not cached and cannot be downloaded; the message says where
            to place it.
    """
    return _download.get_file(
        file_name, origin=f"{WEIGHTS_ORIGIN}{folder}/{file_name}", cache_subdir="models",
        offline_help=(f"Place {file_name} in {_download.cache_dir('models')}, or pass "
                      "`weights=<path to a weights file>`."))


def input_tensor_or_new(input_tensor: Any, input_shape: tuple[int | None, ...]) -> Any:
    """The model's input: the given Keras tensor, or a new ``Input`` of `input_shape`."""
    from corten.keras.engine.input_layer import Input

    if input_tensor is None:
        return Input(shape=input_shape)
    if not backend.is_keras_tensor(input_tensor):
        raise ValueError("`input_tensor` must be a Keras tensor (the output of keras.Input or "
                         f"of a layer). Received: input_tensor={input_tensor!r}")
    return input_tensor


def model_inputs(input_tensor: Any, img_input: Any) -> Any:
    """What the model is built from: the sources of a user's `input_tensor`, else the Input."""
    from corten.keras.utils.layer_utils import get_source_inputs

    return img_input if input_tensor is None else get_source_inputs(input_tensor)


def load_weights(model: Any, weights: Any, file_name: str, folder: str) -> None:
    """Loads `weights` into `model`: ImageNet weights from the Keras cache, or a user's file."""
    if weights == "imagenet":
        model.load_weights(weights_file(file_name, folder))
    elif weights is not None:
        model.load_weights(weights)
