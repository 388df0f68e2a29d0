"""Reading the pickles some dataset archives ship (MNIST's mnist.pkl.gz, CIFAR-10's batches)
without letting them run code."""

from __future__ import annotations

import pickle

import numpy as np

__all__ = ["NumpyOnlyUnpickler"]

_ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct")}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that only rebuilds numpy arrays (no other callable can run)."""

    def find_class(self, module: str, name: str):  # noqa: D102
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module == "numpy.core.multiarray" and hasattr(np, "_core"):
            module = "numpy._core.multiarray"
        return super().find_class(module, name)
