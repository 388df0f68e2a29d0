"""Compiled train, test and predict steps: what ``Model.compile(run_eagerly=False)``, the
default, runs, as tf.keras 2 wraps them in ``tf.function``.

Each step is a ``corten.function``: its first call on a batch signature traces it, later calls
replay the plan from C++. A step that uses something a plan cannot replay (see
``corten.function``'s documentation: a value read back into Python, ...) runs
eagerly instead, logged once at INFO level on the ``corten`` logger; the failed trace has put
back any variable it had updated, so the batch is applied once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from corten.ops.function import Function

_log = logging.getLogger("corten")


def _untraceable(error: BaseException) -> bool:
    # Keras layers re-raise errors from call() with the layer named first: match anywhere.
    return "corten.function" in str(error)


class CompiledStep:
    """Calls ``step`` through a ``corten.function``, falling back to eager execution when the
    step cannot be traced (see the module docstring)."""

    def __init__(self, step: Callable[[Any], Any], owner: str) -> None:
        self._step = step
        self._owner = owner
        self._function = Function(step, name=f"{owner}.{getattr(step, '__name__', 'step')}")
        self._eager = False

    @property
    def function(self) -> Function:
        """The ``corten.function`` behind the step."""
        return self._function

    @property
    def runs_eagerly(self) -> bool:
        """Whether the step fell back to eager execution."""
        return self._eager

    def batch_replayer(self, data: Any) -> Callable[..., Any] | None:
        """``Function.batch_replayer`` of the step on ``data``; None once it runs eagerly."""
        return None if self._eager else self._function.batch_replayer(data)

    def __call__(self, data: Any) -> Any:
        if self._eager:
            return self._step(data)
        try:
            return self._function(data)
        except (NotImplementedError, TypeError) as e:
            if not _untraceable(e):
                raise
            _log.info("%s.%s runs eagerly: %s", self._owner, self._function.__name__, e)
            self._eager = True
            return self._step(data)
