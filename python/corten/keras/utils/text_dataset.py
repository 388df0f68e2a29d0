"""keras.utils.text_dataset_from_directory (tf.keras 2 semantics)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

import corten
from corten.keras.utils import dataset_utils

__all__ = ["text_dataset_from_directory"]

_OP = "text_dataset_from_directory"


def text_dataset_from_directory(directory: Any, labels: Any = "inferred",
                                label_mode: str | None = "int",
                                class_names: list[str] | None = None,
                                batch_size: int | None = 32, max_length: int | None = None,
                                shuffle: bool = True, seed: int | None = None,
                                validation_split: float | None = None,
                                subset: str | None = None, follow_links: bool = False) -> Any:
    """Generates a Dataset of texts (and labels) from the ``.txt`` files in a directory.

    With ``labels="inferred"``, each subdirectory of ``directory`` is a class (in
    alphanumeric order, or the order of ``class_names``) and the ``.txt`` files anywhere
    below it belong to it. Each element is the content of one file as a string tensor
    (``corten.string``, the file's bytes, as ``tf.io.read_file``).

    Args:
        directory: the directory holding the data.
        labels: "inferred", None (no labels), or a list/tuple of labels, one per text file
            in the alphanumeric order of the file paths.
        label_mode: "int" (int32 class ids), "categorical" (float32 one-hot rows), "binary"
            (float32 0 or 1, shape (1,), exactly two classes) or None (no labels).
        class_names: the class subdirectories in the order of their labels (inferred labels
            only).
        batch_size: texts per batch (32); None gives single texts.
        max_length: the most bytes kept of each text (None keeps whole files).
        shuffle: shuffle the files (otherwise alphanumeric order).
        seed: the seed for shuffling (required with ``validation_split`` and ``shuffle``).
        validation_split: the fraction of the files reserved for validation.
        subset: "training", "validation" or "both" (a list of the two datasets); used with
            ``validation_split``.
        follow_links: visit subdirectories reached through symlinks.

    Returns:
        A ``corten.data.Dataset`` yielding ``texts`` of shape ``(batch,)`` or ``(texts,
        labels)`` (a list of two datasets for ``subset="both"``), with ``class_names``.

    Raises:
        ValueError: for an invalid argument or a directory with no ``.txt`` file; while
            iterating, for a file that cannot be read (naming the file).
    """
    labels, label_mode = dataset_utils.check_labels_arguments(_OP, labels, label_mode,
                                                              class_names, "text")
    dataset_utils.check_batch_size(_OP, batch_size)
    if max_length is not None and (isinstance(max_length, bool) or
                                   not isinstance(max_length, (int, np.integer)) or
                                   max_length < 0):
        raise ValueError(f"{_OP}: `max_length` must be a non-negative integer or None. "
                         f"Received: max_length={max_length!r}")
    dataset_utils.check_validation_split_arg(_OP, validation_split, subset, shuffle, seed)
    if seed is None:
        seed = np.random.randint(1e6)  # noqa: NPY002
    file_paths, labels, class_names = dataset_utils.index_directory(
        _OP, directory, labels, formats=(".txt",), class_names=class_names, shuffle=shuffle,
        seed=seed, follow_links=follow_links)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f'{_OP}: When passing `label_mode="binary"`, there must be exactly 2 '
                         f"class_names. Received: class_names={class_names}")

    shown = os.fspath(directory)
    if subset == "both":
        train_paths, train_labels = dataset_utils.get_training_or_validation_split(
            file_paths, labels, validation_split, "training")
        val_paths, val_labels = dataset_utils.get_training_or_validation_split(
            file_paths, labels, validation_split, "validation")
        if not train_paths:
            raise ValueError(f"{_OP}: No training text files found in directory {shown}. "
                             "Allowed format: .txt")
        if not val_paths:
            raise ValueError(f"{_OP}: No validation text files found in directory {shown}. "
                             "Allowed format: .txt")
        train = _paths_and_labels_to_dataset(train_paths, train_labels, label_mode,
                                             len(class_names), max_length)
        val = _paths_and_labels_to_dataset(val_paths, val_labels, label_mode,
                                           len(class_names), max_length)
        train = _batch(train, batch_size, shuffle, seed)
        val = _batch(val, batch_size, False, seed)
        train.class_names = class_names
        val.class_names = class_names
        return [train, val]
    file_paths, labels = dataset_utils.get_training_or_validation_split(
        file_paths, labels, validation_split, subset)
    if not file_paths:
        raise ValueError(f"{_OP}: No text files found in directory {shown}. Allowed format: "
                         ".txt")
    dataset = _paths_and_labels_to_dataset(file_paths, labels, label_mode, len(class_names),
                                           max_length)
    dataset = _batch(dataset, batch_size, shuffle, seed)
    dataset.class_names = class_names
    return dataset


def _batch(dataset: Any, batch_size: int | None, shuffle: bool, seed: int) -> Any:
    """tf.keras's tail of the text pipeline: prefetch, a local shuffle at each pass,
    batching."""
    dataset = dataset.prefetch(corten.data.AUTOTUNE)
    if batch_size is not None:
        if shuffle:
            dataset = dataset.shuffle(buffer_size=batch_size * 8, seed=seed)
        return dataset.batch(batch_size)
    if shuffle:
        dataset = dataset.shuffle(buffer_size=1024, seed=seed)
    return dataset


def _read_text(path: str, max_length: int | None) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read() if max_length is None else f.read(max_length)
    except OSError as exc:
        raise ValueError(f"{_OP}: cannot read the text file {path!r}: {exc}") from exc
    return data


def _string_scalar(data: bytes) -> Any:
    """A scalar string tensor holding the bytes ``data`` (any bytes, UTF-8 or not)."""
    return corten.constant(data, dtype=corten.string)


def _paths_and_labels_to_dataset(paths: list[str], labels: Any, label_mode: str | None,
                                 num_classes: int, max_length: int | None) -> Any:
    """The Dataset of file contents (zipped with their labels)."""

    def load(index: Any) -> Any:
        return _string_scalar(_read_text(paths[int(index)], max_length))

    texts = corten.data.Dataset.from_tensor_slices(
        corten.range(len(paths), dtype="int64")).map(load)
    if label_mode:
        label_ds = dataset_utils.labels_to_dataset(labels, label_mode, num_classes)
        texts = corten.data.Dataset.zip((texts, label_ds))
    return texts
