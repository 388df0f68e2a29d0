"""Fashion-MNIST article images (``keras.datasets.fashion_mnist``).

Fashion-MNIST is by Zalando SE (https://github.com/zalandoresearch/fashion-mnist), licensed MIT.
"""

from __future__ import annotations

import gzip
import os

import numpy as np

from corten.keras.datasets import _download

__all__ = ["load_data"]

#: Where the four IDX files are downloaded from (``$CORTEN_DATASETS_ORIGIN`` overrides it).
ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
CACHE_SUBDIR = os.path.join("datasets", "fashion-mnist")
FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")

# IDX headers: a big-endian magic (0x0801 unsigned bytes, rank 1 / 0x0803 rank 3), then one
# big-endian uint32 per dimension.
_LABELS_MAGIC, _IMAGES_MAGIC = 2049, 2051


def _read_idx(path: str, magic: int, rank: int) -> np.ndarray:
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise ValueError(f"{path} is not a readable gzip IDX file: {e}") from e
    header = 4 * (1 + rank)
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes)")
    fields = np.frombuffer(raw, ">u4", count=1 + rank)
    if int(fields[0]) != magic:
        raise ValueError(f"{path}: IDX magic number {int(fields[0])}, expected {magic}")
    shape = tuple(int(d) for d in fields[1:])
    if len(raw) - header != int(np.prod(shape)):
        raise ValueError(f"{path}: IDX header says shape {shape} ({int(np.prod(shape))} bytes) "
                         f"but the file holds {len(raw) - header} bytes of data")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Loads Fashion-MNIST (60,000 training and 10,000 test 28x28 grayscale images of 10
    article classes: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag,
    Ankle boot).

    Downloads the four IDX files into ``$KERAS_HOME/datasets/fashion-mnist`` (or
    ``~/.keras/datasets/fashion-mnist``) when absent, as Keras does. Without network access,
    place the four files (names in ``FILES``) in that folder.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 arrays of shapes (60000, 28, 28),
        (60000,), (10000, 28, 28), (10000,).

    Raises:
        OSError: when a file is not cached and cannot be downloaded.
        ValueError: when a file is corrupted (bad gzip, IDX header or size), or the image
            and label counts differ.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    """
    where = os.path.join(_download.cache_dir(CACHE_SUBDIR))
    origin = _download.datasets_origin(ORIGIN_FOLDER)
    paths = [_download.get_file(
        name, origin=origin + name, cache_subdir=CACHE_SUBDIR,
        offline_help=f"Place the Fashion-MNIST files {', '.join(FILES)} in {where}.")
        for name in FILES]
    y_train = _read_idx(paths[0], _LABELS_MAGIC, 1)
    x_train = _read_idx(paths[1], _IMAGES_MAGIC, 3)
    y_test = _read_idx(paths[2], _LABELS_MAGIC, 1)
    x_test = _read_idx(paths[3], _IMAGES_MAGIC, 3)
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "t10k")):
        if x.shape[0] != y.shape[0] or x.shape[1:] != (28, 28):
            raise ValueError(f"fashion_mnist {split}: images of shape {x.shape} do not match "
                             f"labels of shape {y.shape} (expected (n, 28, 28) and (n,))")
    return (x_train, y_train), (x_test, y_test)
