"""keras.utils.image_dataset_from_directory (tf.keras 2 semantics).

Note [Decoding images with Pillow]
    tf.keras decodes with TensorFlow's own PNG/JPEG/BMP/GIF decoders; corten decodes with
    Pillow and converts to the requested channels as TensorFlow does (alpha dropped, not
    blended; grayscale repeated into RGB; 16-bit PNG reduced to its high byte), then resizes
    with corten's resize op (tf.image.resize's half-pixel rules). The pixels equal
    tf.keras's for PNG, BMP and GIF, except two documented differences: colour to grayscale
    rounds differently (libpng and Pillow differ by at most 1), and JPEG files differ by a few
    levels (TensorFlow uses libjpeg's fast integer DCT, Pillow the accurate one). Images are
    always float32: tf.keras yields uint8 for ``interpolation="nearest"`` (tf.image.resize
    keeps the input dtype for that method), which corten's tensors have no dtype for.
    TensorFlow refuses some conversions (grayscale BMP or GIF, RGBA JPEG or GIF) that Pillow
    performs, so those files load here where tf.keras fails.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

import corten
from corten.keras.utils import dataset_utils
from corten.keras.utils.image_utils import check_interpolation, pil_image, read_image

__all__ = ["image_dataset_from_directory", "ALLOWLIST_FORMATS"]

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_OP = "image_dataset_from_directory"
_CHANNELS = {"rgb": 3, "rgba": 4, "grayscale": 1}


def image_dataset_from_directory(directory: Any, labels: Any = "inferred",
                                 label_mode: str | None = "int",
                                 class_names: list[str] | None = None, color_mode: str = "rgb",
                                 batch_size: int | None = 32,
                                 image_size: tuple[int, int] = (256, 256), shuffle: bool = True,
                                 seed: int | None = None, validation_split: float | None = None,
                                 subset: str | None = None, interpolation: str = "bilinear",
                                 follow_links: bool = False, crop_to_aspect_ratio: bool = False,
                                 **kwargs: Any) -> Any:
    """Generates a Dataset of images (and labels) from image files in a directory.

    With ``labels="inferred"``, each subdirectory of ``directory`` is a class (in
    alphanumeric order, or the order of ``class_names``) and the images anywhere below it
    belong to it. Files are PNG, JPEG, BMP or GIF (first frame), decoded with Pillow; the
    images are float32 with values in [0, 255], resized to ``image_size``.

    Args:
        directory: the directory holding the data.
        labels: "inferred", None (no labels), or a list/tuple of labels, one per image file
            in the alphanumeric order of the file paths.
        label_mode: "int" (int32 class ids), "categorical" (float32 one-hot rows), "binary"
            (float32 0 or 1, shape (1,), exactly two classes) or None (no labels).
        class_names: the class subdirectories in the order of their labels (inferred labels
            only).
        color_mode: "grayscale", "rgb" or "rgba" (1, 3 or 4 channels).
        batch_size: images per batch (32); None gives single images.
        image_size: ``(height, width)`` to resize every image to.
        shuffle: shuffle the files (otherwise alphanumeric order).
        seed: the seed for shuffling (required with ``validation_split`` and ``shuffle``).
        validation_split: the fraction of the files reserved for validation.
        subset: "training", "validation" or "both" (a tuple of the two datasets); used with
            ``validation_split``.
        interpolation: the resize method, "bilinear" or "nearest".
        follow_links: visit subdirectories reached through symlinks.
        crop_to_aspect_ratio: resize the largest centred crop of the target aspect ratio
            instead of distorting the image.
        **kwargs: ``smart_resize``, the legacy name of ``crop_to_aspect_ratio``.

    Returns:
        A ``corten.data.Dataset`` yielding ``images`` of shape ``(batch, height, width,
        channels)`` or ``(images, labels)`` (a list of two datasets for ``subset="both"``).
        It has ``class_names`` and ``file_paths`` (the files in the dataset's order before
        the per-iteration shuffle).

    Raises:
        ValueError: for an invalid argument, a directory with no image, or, while iterating,
            a file that cannot be decoded (naming the file).
        TypeError: for an unknown keyword argument.
        ImportError: when Pillow is not installed (``pip install corten[image]``).
        NotImplementedError: for an interpolation corten does not implement.
    """
    if "smart_resize" in kwargs:
        crop_to_aspect_ratio = kwargs.pop("smart_resize")
    if kwargs:
        raise TypeError(f"{_OP}: Unknown keywords argument(s): {tuple(kwargs.keys())}")
    labels, label_mode = dataset_utils.check_labels_arguments(_OP, labels, label_mode,
                                                              class_names, "image")
    if color_mode not in _CHANNELS:
        raise ValueError(f'{_OP}: `color_mode` must be one of {{"rgb", "rgba", "grayscale"}}. '
                         f"Received: color_mode={color_mode}")
    size = _check_image_size(image_size)
    dataset_utils.check_batch_size(_OP, batch_size)
    method = check_interpolation(_OP, interpolation)
    dataset_utils.check_validation_split_arg(_OP, validation_split, subset, shuffle, seed)
    pil_image(_OP)  # fail now, not at the first image, when Pillow is missing

    if seed is None:
        seed = np.random.randint(1e6)  # noqa: NPY002
    image_paths, labels, class_names = dataset_utils.index_directory(
        _OP, directory, labels, formats=ALLOWLIST_FORMATS, class_names=class_names,
        shuffle=shuffle, seed=seed, follow_links=follow_links)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f'{_OP}: When passing `label_mode="binary"`, there must be exactly 2 '
                         f"class_names. Received: class_names={class_names}")

    def make(paths: list[str], subset_labels: Any) -> Any:
        return _paths_and_labels_to_dataset(paths, size, color_mode, subset_labels, label_mode,
                                            len(class_names), method, crop_to_aspect_ratio)

    shown = os.fspath(directory)
    if subset == "both":
        train_paths, train_labels = dataset_utils.get_training_or_validation_split(
            image_paths, labels, validation_split, "training")
        val_paths, val_labels = dataset_utils.get_training_or_validation_split(
            image_paths, labels, validation_split, "validation")
        if not train_paths:
            raise ValueError(f"{_OP}: No training images found in directory {shown}. Allowed "
                             f"formats: {ALLOWLIST_FORMATS}")
        if not val_paths:
            raise ValueError(f"{_OP}: No validation images found in directory {shown}. "
                             f"Allowed formats: {ALLOWLIST_FORMATS}")
        train = _batch(make(train_paths, train_labels), batch_size, shuffle, seed)
        val = _batch(make(val_paths, val_labels), batch_size, False, seed)
        for ds, paths in ((train, train_paths), (val, val_paths)):
            ds.class_names = class_names
            ds.file_paths = paths
        return [train, val]
    image_paths, labels = dataset_utils.get_training_or_validation_split(
        image_paths, labels, validation_split, subset)
    if not image_paths:
        raise ValueError(f"{_OP}: No images found in directory {shown}. Allowed formats: "
                         f"{ALLOWLIST_FORMATS}")
    dataset = _batch(make(image_paths, labels), batch_size, shuffle, seed)
    dataset.class_names = class_names
    dataset.file_paths = image_paths
    return dataset


def _check_image_size(image_size: Any) -> tuple[int, int]:
    try:
        h, w = image_size
        ok = all(int(v) == v and v > 0 and not isinstance(v, bool) for v in (h, w))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{_OP}: `image_size` must be a tuple of two positive integers "
                         f"(height, width). Received: image_size={image_size!r}")
    return int(h), int(w)


def _batch(dataset: Any, batch_size: int | None, shuffle: bool, seed: int) -> Any:
    """tf.keras's tail of the pipeline: a local shuffle at each pass, batching, prefetch."""
    if batch_size is not None:
        if shuffle:
            dataset = dataset.shuffle(buffer_size=batch_size * 8, seed=seed)
        dataset = dataset.batch(batch_size)
    elif shuffle:
        dataset = dataset.shuffle(buffer_size=1024, seed=seed)
    return dataset.prefetch(corten.data.AUTOTUNE)


def _paths_and_labels_to_dataset(paths: list[str], size: tuple[int, int], color_mode: str,
                                 labels: Any, label_mode: str | None, num_classes: int,
                                 method: str, crop_to_aspect_ratio: bool) -> Any:
    """The Dataset of decoded, resized images (zipped with their labels)."""
    from corten.keras.layers.image_preprocessing import _resize_images, _smart_resize

    height, width = size

    def load(index: Any) -> Any:
        path = paths[int(index)]
        image = corten.convert_to_tensor(read_image(_OP, path, color_mode))
        if tuple(image.shape[:2]) == size:
            return image  # tf.image.resize at the same size is the identity
        if crop_to_aspect_ratio:
            return _smart_resize(image, height, width, method)
        return _resize_images(image, height, width, method)

    # The images are read lazily, one per element, through the index of their path.
    images = corten.data.Dataset.from_tensor_slices(
        corten.range(len(paths), dtype="int64")).map(load)
    if label_mode:
        label_ds = dataset_utils.labels_to_dataset(labels, label_mode, num_classes)
        images = corten.data.Dataset.zip((images, label_ds))
    return images
