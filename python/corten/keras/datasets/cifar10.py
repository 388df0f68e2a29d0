"""CIFAR-10 small images (``keras.datasets.cifar10``).

CIFAR-10 is by Alex Krizhevsky, Vinod Nair and Geoffrey Hinton
(https://www.cs.toronto.edu/~kriz/cifar.html).
"""

from __future__ import annotations

import os

import numpy as np

from corten.keras.datasets import _download
from corten.keras.datasets._safe_pickle import NumpyOnlyUnpickler

__all__ = ["load_data", "load_batch"]

#: Where the archive is downloaded from (``$CORTEN_DATASETS_ORIGIN`` overrides the folder).
ORIGIN_FOLDER = "https://www.cs.toronto.edu/~kriz/"
ARCHIVE = "cifar-10-python.tar.gz"
DIRNAME = "cifar-10-batches-py"
#: The sha256 of ``cifar-10-python.tar.gz`` (Keras's value).
FILE_HASH = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"


def load_batch(fpath: str, label_key: str = "labels") -> tuple[np.ndarray, np.ndarray]:
    """Reads one CIFAR batch file: ``(data uint8 (n, 3, 32, 32), labels uint8 (n,))``.

    The batch is a pickle; it is read with an unpickler that only rebuilds numpy arrays and
    plain containers, so a tampered file cannot run code."""
    with open(fpath, "rb") as f:
        d = NumpyOnlyUnpickler(f, encoding="bytes").load()
    d = {(k.decode("utf8") if isinstance(k, bytes) else k): v for k, v in d.items()}
    data = np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    labels = np.asarray(d[label_key], dtype=np.uint8)
    return data, labels


def _image_data_format() -> str:
    try:
        from corten.keras import backend  # type: ignore[attr-defined]

        return backend.image_data_format()
    except (ImportError, AttributeError):
        return "channels_last"


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Loads CIFAR-10 (50,000 training and 10,000 test 32x32 color images, 10 classes).

    Downloads ``cifar-10-python.tar.gz`` into the Keras cache (sha256-checked, written
    atomically) and extracts ``cifar-10-batches-py`` there, as Keras does. There is no
    offline source: without network access place the extracted ``cifar-10-batches-py``
    folder (or the archive) in the cache directory.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 arrays of shapes (50000, 32, 32, 3),
        (50000, 1), (10000, 32, 32, 3), (10000, 1) (channels first when the Keras image
        data format is ``channels_first``).

    Raises:
        OSError: when the data is not cached and cannot be downloaded.
        ValueError: when the downloaded archive is corrupted (hash mismatch).
    """
    origin = _download.datasets_origin(ORIGIN_FOLDER) + ARCHIVE
    where = os.path.join(_download.cache_dir(), DIRNAME)
    path = _download.get_file(
        DIRNAME, origin=origin, file_hash=FILE_HASH, untar=True,
        offline_help=(f"CIFAR-10 has no offline source in corten: download {ARCHIVE} from "
                      f"https://www.cs.toronto.edu/~kriz/cifar.html on a connected machine and "
                      f"place it (or its extracted {DIRNAME}/ folder) at {where}[.tar.gz]."))
    parts = [load_batch(os.path.join(path, f"data_batch_{i}")) for i in range(1, 6)]
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    x_test, y_test = load_batch(os.path.join(path, "test_batch"))
    y_train = y_train.reshape(-1, 1)
    y_test = y_test.reshape(-1, 1)
    if _image_data_format() == "channels_last":
        x_train = x_train.transpose(0, 2, 3, 1)
        x_test = x_test.transpose(0, 2, 3, 1)
    return (x_train, y_train), (x_test, y_test)
