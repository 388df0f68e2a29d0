"""Indexing a directory of class subdirectories into file paths and labels, for
``image_dataset_from_directory`` and ``text_dataset_from_directory`` (tf.keras 2 semantics).

Note [Directory datasets]
    The file order is tf.keras 2.21's: class directories in alphanumeric order (or the order
    of ``class_names``); inside each one, directories in the sorted order of their paths and
    files sorted by name; then, with ``shuffle``, one global permutation drawn from
    ``numpy.random.RandomState(seed)``, the generator tf.keras uses, so the same seed gives
    the same file order and the same training/validation partition in both frameworks.
    With ``follow_links=False`` symlinked subdirectories below a class directory are not
    visited, as the argument is documented (tf.keras 2.21 visits them either way); a class
    directory that is itself a symlink is always used.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

import corten

__all__ = ["index_directory", "check_validation_split_arg", "get_training_or_validation_split",
           "labels_to_dataset", "check_labels_arguments", "check_batch_size"]

_LABEL_MODES = ("int", "categorical", "binary", None)


def check_labels_arguments(op: str, labels: Any, label_mode: Any, class_names: Any,
                           kind: str) -> tuple[Any, Any]:
    """Checks ``labels``, ``label_mode`` and ``class_names`` as tf.keras does.

    Args:
        op: the calling function's name, for the messages.
        labels: "inferred", None or a list/tuple of labels.
        label_mode: "int", "categorical", "binary" or None.
        class_names: the explicit class order, only with inferred labels.
        kind: "image" or "text", for the messages.

    Returns:
        ``(labels, label_mode)``, both None when either is None (a dataset without labels).

    Raises:
        ValueError: for labels that are not a list or tuple, class_names with explicit labels,
            or an unknown label_mode.
    """
    if not (isinstance(labels, str) and labels == "inferred") and labels is not None:
        if not isinstance(labels, (list, tuple)):
            raise ValueError(
                f"{op}: `labels` argument should be a list/tuple of integer labels, of the same "
                f"size as the number of {kind} files in the target directory. If you wish to "
                "infer the labels from the subdirectory names in the target directory, pass "
                '`labels="inferred"`. If you wish to get a dataset that only contains '
                f"{kind}s (no labels), pass `labels=None`. Received: labels={labels}")
        if class_names:
            raise ValueError(f'{op}: You can only pass `class_names` if `labels="inferred"`. '
                             f"Received: labels={labels}, and class_names={class_names}")
    if label_mode is not None and (not isinstance(label_mode, str) or
                                   label_mode not in _LABEL_MODES):
        raise ValueError(f'{op}: `label_mode` argument must be one of "int", "categorical", '
                         f'"binary", or None. Received: label_mode={label_mode}')
    if labels is None or label_mode is None:
        return None, None
    return labels, label_mode


def check_batch_size(op: str, batch_size: Any) -> None:
    """Raises ValueError unless ``batch_size`` is None or a positive integer."""
    if batch_size is None:
        return
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or \
            batch_size < 1:
        raise ValueError(f"{op}: `batch_size` must be a positive integer or None. Received: "
                         f"batch_size={batch_size!r}")


def check_validation_split_arg(op: str, validation_split: Any, subset: Any, shuffle: bool,
                               seed: Any) -> None:
    """Checks the validation split arguments as tf.keras's ``check_validation_split_arg``.

    Raises:
        ValueError: for a split outside (0, 1), a split without a subset or the reverse, an
            unknown subset, or a split of shuffled data without a seed (the two subsets would
            come from different permutations and overlap).
    """
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"{op}: `validation_split` must be between 0 and 1, received: "
                         f"{validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError(f"{op}: If `subset` is set, `validation_split` must be set, and "
                         f"inversely. Received: validation_split={validation_split}, "
                         f"subset={subset!r}")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'{op}: `subset` must be either "training", "validation" or "both", '
                         f"received: {subset}")
    if validation_split and shuffle and seed is None:
        raise ValueError(f"{op}: If using `validation_split` and shuffling the data, you must "
                         "provide a `seed` argument, to make sure that there is no overlap "
                         "between the training and validation subset.")


def _class_directories(directory: str) -> list[str]:
    names = []
    for name in sorted(os.listdir(directory)):
        if os.path.isdir(os.path.join(directory, name)) and not name.startswith("."):
            names.append(name)
    return names


def _valid_files(directory: str, follow_links: bool, formats: tuple[str, ...]) -> list[str]:
    """The paths of the files under ``directory`` whose names end with one of ``formats``
    (case-insensitive), in tf.keras's order (see Note [Directory datasets])."""
    walk = sorted(os.walk(directory, followlinks=follow_links), key=lambda entry: entry[0])
    out = []
    for root, _, files in walk:
        for name in sorted(files):
            if name.lower().endswith(formats):
                out.append(os.path.join(root, name))
    return out


def index_directory(op: str, directory: Any, labels: Any, formats: tuple[str, ...],
                    class_names: Sequence[str] | None = None, shuffle: bool = True,
                    seed: int | None = None,
                    follow_links: bool = False) -> tuple[list[str], Any, list[Any]]:
    """Lists the files of ``directory`` with their labels (tf.keras's ``index_directory``).

    Args:
        op: the calling function's name, for the messages.
        directory: the root directory (a str or path-like).
        labels: "inferred" (one class per subdirectory), None, or a list/tuple with one label
            per file in the alphanumeric order of the file paths.
        formats: the allowed file extensions, lowercase with the dot (".png").
        class_names: the explicit order of the class subdirectories (inferred labels only).
        shuffle: whether to permute the files (with ``seed``); otherwise alphanumeric order.
        seed: the permutation's seed (random when None).
        follow_links: whether to visit symlinked subdirectories.

    Returns:
        ``(file_paths, labels, class_names)``: the paths, a numpy array of int32 class
        indices (or the explicit labels, as a list) in the same order, and the class names.

    Raises:
        ValueError: if ``directory`` is not a directory, ``class_names`` does not match the
            subdirectories, or explicit labels do not match the number of files.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"{op}: `directory` must be an existing directory. Received: "
                         f"directory={directory!r}")
    inferred = isinstance(labels, str) and labels == "inferred"
    if not inferred:
        # Explicit labels or none: index every file below the root.
        subdirs = [""]
        class_names = subdirs
    else:
        subdirs = _class_directories(directory)
        if not class_names:
            class_names = subdirs
        elif set(class_names) != set(subdirs):
            raise ValueError(f"{op}: The `class_names` passed did not match the names of the "
                             "subdirectories of the target directory. Expected: "
                             f"{subdirs}, but received: {list(class_names)}")
    class_indices = {name: i for i, name in enumerate(class_names)}
    file_paths: list[str] = []
    class_ids: list[int] = []
    for subdir in subdirs:
        found = _valid_files(os.path.join(directory, subdir), follow_links, formats)
        file_paths += found
        class_ids += [class_indices[subdir]] * len(found)
    if not inferred and labels is not None:
        if len(labels) != len(file_paths):
            raise ValueError(f"{op}: Expected the lengths of `labels` to match the number of "
                             f"files in the target directory. len(labels) is {len(labels)} "
                             f"while we found {len(file_paths)} files in directory "
                             f"{directory}.")
        class_names = sorted(set(labels))
        out_labels: Any = list(labels)
    else:
        out_labels = np.asarray(class_ids, dtype=np.int32)
    print(f"Found {len(file_paths)} files belonging to {len(class_names)} classes.")
    if shuffle:
        # tf.keras's global shuffle: two generators of the same seed permute the paths and
        # the labels alike (numpy's legacy generator, so the permutation is tf.keras's).
        if seed is None:
            seed = np.random.randint(1e6)  # noqa: NPY002
        np.random.RandomState(seed).shuffle(file_paths)
        np.random.RandomState(seed).shuffle(out_labels)
    return file_paths, out_labels, list(class_names)


def get_training_or_validation_split(samples: list[Any], labels: Any, validation_split: Any,
                                     subset: Any) -> tuple[list[Any], Any]:
    """The training (first) or validation (last ``int(validation_split * n)``) part of
    ``samples`` and ``labels``; everything when ``validation_split`` is not set.

    As tf.keras: a split that rounds to no validation sample leaves the training subset empty
    (``samples[:-0]``), which the callers report as "no files found".
    """
    if not validation_split:
        return samples, labels
    num_val = int(validation_split * len(samples))
    if subset == "training":
        print(f"Using {len(samples) - num_val} files for training.")
        return samples[:-num_val], labels[:-num_val]
    print(f"Using {num_val} files for validation.")
    return samples[-num_val:], labels[-num_val:]


def labels_to_dataset(labels: Any, label_mode: str, num_classes: int) -> corten.data.Dataset:
    """A Dataset of the labels: int32 class ids ("int"), float32 one-hot rows
    ("categorical") or float32 ``(1,)`` vectors of 0 or 1 ("binary").

    Args:
        labels: the labels, one per file.
        label_mode: "int", "categorical" or "binary".
        num_classes: the depth of the one-hot rows.

    Returns:
        A ``corten.data.Dataset`` of one label per element.
    """
    if isinstance(labels, np.ndarray):
        values = corten.convert_to_tensor(labels)
    else:
        values = corten.constant(list(labels))
    if label_mode == "binary":
        values = corten.expand_dims(corten.cast(values, "float32"), -1)
    elif label_mode == "categorical":
        values = corten.one_hot(corten.cast(values, "int32"), num_classes)
    return corten.data.Dataset.from_tensor_slices(values)
