"""The types of the bench's case table (``cases.py``): a case and its inputs. Standard library
only, as every peer interpreter imports it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Input:
    shape: tuple[int, ...]
    dtype: str = "float32"
    #: Stored transposed (the case reads it through a transpose view or flag).
    transposed: bool = False
    #: Standard normal values times `scale` (weights are drawn at a trainable scale).
    scale: float = 1.0
    #: |N(0, 1)| + 0.5 instead (variances).
    positive: bool = False
    #: Integer inputs: uniform in [0, high).
    high: int = 10


@dataclass(frozen=True)
class Case:
    """One benchmark case.

    ``unit`` is what one timed call is divided into (``call``, or ``step`` for training
    epochs of ``steps`` steps); ``samples`` is the number of training samples per call (for
    samples/s); ``flops`` the floating-point operations per call (for GFLOP/s);
    ``bytes_moved`` the bytes read and written per call (for GB/s).
    """

    group: str
    name: str
    shape: str
    libraries: tuple[str, ...]
    inputs: tuple[Input, ...] = ()
    calls: dict[str, Callable[..., Any]] = field(default_factory=dict)
    tol: tuple[float, float] | None = (2e-4, 1e-4)
    flops: float | None = None
    #: Bytes read and written per call (for GB/s), for memory-bound cases.
    bytes_moved: float | None = None
    steps: int = 1
    samples: int = 0
    note: str = ""
    #: Per library, run once before the case is built (for state the case needs to exist).
    prepare: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    #: Layer cases (layer_cases.py): per library ("keras" for every Keras-API library), the
    #: function that builds the case once and returns the timed zero-argument callable.
    builds: dict[str, Callable[..., Any]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.group}/{self.name} {self.shape}"

    @property
    def unit(self) -> str:
        return "step" if self.steps > 1 else "call"
