"""Keras 3 in a process of its own (see protocol.py), on ``--backend torch`` or ``jax``.

The backend is chosen the way Keras documents, by KERAS_BACKEND, set here in this process
only, before keras is imported: it selects the library under test, it tunes nothing. With JAX,
fit() compiles its step with jit, Keras 3's default. Thread count: torch.set_num_threads on the
torch backend; JAX has no thread setting, so its process is pinned to that many CPUs with
sched_setaffinity, which XLA's thread pool sizes itself from.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

import cases
import keras_models
import protocol


class Keras3Peer(protocol.Peer):
    def __init__(self, threads: int, options: argparse.Namespace) -> None:
        super().__init__(threads, options)
        backend = options.backend
        self.library = f"keras3-{backend}"
        if backend == "jax":
            cpus = sorted(os.sched_getaffinity(0))
            os.sched_setaffinity(0, cpus[:threads])
        os.environ["KERAS_BACKEND"] = backend
        import keras

        if not keras.__version__.startswith("3") or keras.backend.backend() != backend:
            raise ImportError(f"keras {keras.__version__} on {keras.backend.backend()}")
        self.keras = keras
        if backend == "torch":
            import torch

            torch.set_num_threads(threads)
            self._backend_version = f"torch {torch.__version__}"
        else:
            import jax

            self._backend_version = f"jax {jax.__version__}"
        self.version = keras.__version__
        keras.utils.set_random_seed(0)

    def cases(self) -> list[str]:
        return cases.cases_for(self.library)

    def extra(self) -> dict[str, Any]:
        return {"backend": self._backend_version}

    def setup(self, case: str, inputs: list[Any], data: str | None) -> Callable[[], Any]:
        return keras_models.keras_case(self.keras, keras_models.keras3_math(self.keras), case,
                                       protocol.load_training_data(data), cases.BATCH,
                                       cases.predict_rows(case))


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=("torch", "jax"), required=True)


if __name__ == "__main__":
    protocol.serve(Keras3Peer, _arguments)
