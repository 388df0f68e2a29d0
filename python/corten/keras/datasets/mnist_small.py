"""A class-balanced subset of MNIST shipped inside corten, for tests and offline examples.

20,000 training and 2,000 test images (2,000 and 200 per digit) drawn from the real MNIST
training and test sets; see ``data/README.md`` for how they were drawn. MNIST is by Yann
LeCun and Corinna Cortes, licensed CC BY-SA 3.0.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["load_data", "DATA_PATH"]

DATA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "mnist_small.npz")


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Loads the bundled MNIST subset in ``mnist.load_data``'s layout (no network).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 arrays of shapes (20000, 28, 28),
        (20000,), (2000, 28, 28), (2000,).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = keras.datasets.mnist_small.load_data()
    """
    with np.load(DATA_PATH, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
