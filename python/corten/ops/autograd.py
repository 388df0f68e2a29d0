"""Automatic differentiation: GradientTape, stop_gradient, custom_gradient.

The tape, the recording and every backward rule live in C++ (``_C.Tape``); this module adapts
TensorFlow's Python interface to it: nested structures, context managers, argument checks.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

from corten import _C, nest
from corten.ops import _symbolic as _sym
from corten.ops import variables as _variables

Tensor = _C.Tensor

__all__ = ["GradientTape", "UnconnectedGradients", "stop_gradient", "custom_gradient"]

# Set by a several-replica MultiWorkerMirroredStrategy: given gradient()'s sources, returns an
# observer that starts summing their gradients over the ranks while the backward pass runs.
_gradient_observer: Callable[[list], Any] | None = None


class UnconnectedGradients(enum.Enum):
    """What gradient() returns for a source the target does not depend on."""

    NONE = "none"
    ZERO = "zero"


def _check_tensor(x: Any, what: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    raise TypeError(f"GradientTape.{what}: expected a corten Tensor or Variable. Received: {x!r}")


class GradientTape:
    """Records operations for automatic differentiation (TensorFlow's tf.GradientTape).

    Args:
        persistent: allow several ``gradient()`` calls (the tape keeps its records until it
            is deleted).
        watch_accessed_variables: watch trainable Variables used while recording.

    Example:
        >>> x = corten.constant(3.0)
        >>> with corten.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = x * x
        >>> tape.gradient(y, x)  # 6.0
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True) -> None:
        self._tape = _C.Tape(bool(persistent), bool(watch_accessed_variables))
        self._persistent = bool(persistent)

    def __enter__(self) -> GradientTape:
        self._tape.push()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._tape.pop()

    def watch(self, tensor: Any) -> None:
        """Puts a tensor (or a nested structure of tensors) on the tape."""
        for t in nest.flatten(tensor):
            self._tape.watch(_check_tensor(t, "watch"))

    @contextlib.contextmanager
    def stop_recording(self) -> Iterator[None]:
        """A context in which this tape does not record."""
        if not self._tape.recording:
            raise RuntimeError("GradientTape.stop_recording: the tape is not recording")
        self._tape.pause()
        try:
            yield
        finally:
            self._tape.resume()

    def reset(self) -> None:
        """Forgets everything recorded so far."""
        self._tape.reset()

    def watched_variables(self) -> tuple:
        """The variables watched so far, in first-watch order."""
        return tuple(_variables._lookup(v) for v in self._tape.watched_variables())

    def gradient(self, target: Any, sources: Any, output_gradients: Any = None,
                 unconnected_gradients: UnconnectedGradients | str = UnconnectedGradients.NONE):
        """Gradient of ``target`` (summed if it has several elements, or a structure of
        targets) with respect to ``sources`` (a tensor, Variable, or nested structure of them).

        Returns:
            The gradients, in the structure of ``sources``; None for sources the target does not
            depend on (zeros with ``unconnected_gradients="zero"``) and for integer sources.

        Raises:
            RuntimeError: on a second call on a non-persistent tape.
            ValueError: if output_gradients do not have the structure of ``target`` or an entry's
                shape differs from its target's.
        """
        if unconnected_gradients is UnconnectedGradients.NONE:
            mode = unconnected_gradients
        else:
            mode = UnconnectedGradients(
                unconnected_gradients.value
                if isinstance(unconnected_gradients, UnconnectedGradients)
                else unconnected_gradients)
        targets = [_check_tensor(t, "gradient") for t in nest.flatten(target)]
        flat_sources = nest.flatten(sources)
        for s in flat_sources:
            _check_tensor(s, "gradient")
        out_grads = None
        if output_gradients is not None:
            # One entry per target leaf, in target's structure; an entry may itself be a nested
            # Python list of numbers (a value for a non-scalar target).
            out_grads = nest.flatten_up_to(target, output_gradients,
                                           "GradientTape.gradient: output_gradients")
            out_grads = [None if g is None else _C.convert_to_tensor(g, t.dtype)
                         for g, t in zip(out_grads, targets)]
        observer = None if _gradient_observer is None else _gradient_observer(flat_sources)
        grads = self._tape.gradient(targets, flat_sources, out_grads,
                                    mode is UnconnectedGradients.ZERO, observer)
        return nest.pack_sequence_as(sources, grads)


def stop_gradient(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """The same values, but gradients do not flow through it."""
    if _sym.active and (type(input) is _sym.KT):
        return _sym.op_node(stop_gradient, (input, name), {})
    return _C.stop_gradient(input)


def _accepts_variables(fn: Callable) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return True
    return any(p.name == "variables" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def custom_gradient(f: Callable) -> Callable:
    """Decorator for a function with a hand-written gradient (TensorFlow's tf.custom_gradient).

    ``f(*args)`` returns ``(y, grad_fn)``. ``grad_fn(*upstream)`` gets one upstream gradient per
    output (per leaf of ``y``) and returns the gradients of ``f``'s arguments: one per argument
    (None for none; entries for non-tensor arguments are ignored) or one per tensor argument.
    If ``f`` uses trainable Variables that are not arguments, ``grad_fn`` must accept a
    ``variables`` keyword argument and return ``(argument_gradients, variable_gradients)``.

    The tapes record ``f`` as one op whose backward is ``grad_fn``. As in TensorFlow, the
    operations inside ``f`` are recorded too (they do not reach ``y``'s gradient, which is
    ``grad_fn``'s alone), so that when ``grad_fn`` is written with corten ops and uses
    intermediate values of ``f``, an outer tape differentiates it correctly: higher-order
    gradients work.

    Raises:
        TypeError: if ``f`` does not return a pair ``(y, grad_fn)``, or, under a recording
            tape, uses Variables while ``grad_fn`` does not accept ``variables``.
        ValueError: (from ``gradient()``) if ``grad_fn`` returns the wrong number of gradients.

    Example:
        >>> @corten.custom_gradient
        ... def log1pexp(x):
        ...     e = corten.exp(x)
        ...     def grad(upstream):
        ...         return upstream * (1 - 1 / (1 + e))
        ...     return corten.math.log(1 + e), grad
    """
    name = getattr(f, "__name__", "custom_gradient")

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any):
        if _C.is_recording():
            # A watcher tape finds the trainable Variables f reads (TensorFlow's
            # VariableWatcher). Only under a recording tape: without one nothing is recorded.
            watcher = _C.Tape(False, True)
            watcher.push()
            try:
                result = f(*args, **kwargs)
            finally:
                watcher.pop()
            accessed = watcher.watched_variables()
            del watcher
        else:
            result, accessed = f(*args, **kwargs), []
        if not isinstance(result, (tuple, list)) or len(result) != 2 or not callable(result[1]):
            raise TypeError(
                f"custom_gradient: {name} must return a pair (outputs, grad_fn). "
                f"Received: {type(result).__name__}")
        y, grad_fn = result
        flat_args = nest.flatten(list(args))
        is_tensor = [isinstance(a, Tensor) for a in flat_args]
        inputs = [a for a in flat_args if isinstance(a, Tensor)]
        input_ids = {a._id for a in inputs}
        variables = [_variables._lookup(v) for v in accessed if v._id not in input_ids]
        if variables and not _accepts_variables(grad_fn):
            raise TypeError(
                f"custom_gradient: the grad_fn of {name} must accept a keyword argument "
                f"'variables', since {name} uses variables: {[v.name for v in variables]}")
        flat_y = nest.flatten(y)
        # Fresh handles so that the outputs are distinct tensors on the tape.
        outs = [_C.stop_gradient(t) for t in flat_y]
        if _C.is_recording():
            n_args = len(flat_args)

            def backward(*grads):
                if variables:
                    grad_args, grad_vars = grad_fn(*grads, variables=variables)
                    grad_vars = list(grad_vars)
                else:
                    grad_args, grad_vars = grad_fn(*grads), []
                grad_args = (list(grad_args) if isinstance(grad_args, (list, tuple))
                             else [grad_args])
                if len(grad_args) == n_args and n_args != len(inputs):
                    grad_args = [g for g, t in zip(grad_args, is_tensor) if t]
                if len(grad_vars) != len(variables):
                    raise ValueError(
                        f"custom_gradient: the grad_fn of {name} returned {len(grad_vars)} "
                        f"variable gradients for {len(variables)} variables")
                return grad_args + grad_vars

            _C.record_custom(name, inputs + variables, outs, backward)
        return nest.pack_sequence_as(y, outs)

    return wrapped
