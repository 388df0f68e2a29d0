"""``corten.function``: trace a Python function once per input signature, replay it from C++.

The rules are tf.function's:

* **Tracing.** The first call with a new *signature* runs the Python function with a trace
  active: every op it calls (forward, the backward of a GradientTape inside it, variable
  updates) is written into a plan held in C++. Later calls with the same signature replay the
  plan in one C++ call; the Python code does not run again. The signature is the shapes and
  dtypes of the tensor arguments (numpy arrays count as tensors), the identity of Variable
  arguments, and the values of every other Python argument: a new Python value retraces.
* **Side effects.** Python side effects (``print``, appending to a list, counters) happen only
  while tracing, exactly as in tf.function. Use corten ops for anything that must happen on
  every call.
* **Captures.** Variables used inside are captured by reference: a replay reads their current
  values, and ``assign`` inside the function updates them on every call. Tensors made outside
  the function, and Python or numpy values inside it, are captured as constants.
* **Values.** Inside a trace a tensor's value is not known in Python: ``if t > 0:``, ``float(t)``
  and ``t.numpy()`` raise a ``TypeError`` naming the line. For choices and loops that depend
  on a value use ``corten.cond`` and ``corten.while_loop`` (or ``corten.where``): on traced
  values they become nodes of the plan that pick the branch, or loop, on every call. As in
  tf.function, both branches of a ``cond`` (and a loop's condition and body) are traced once,
  so their Python side effects happen while tracing; their ops (assignments, random draws)
  run on a call only when its branch is taken. Gradients of a tape inside the function flow
  through them.
* **Failures.** When the function raises while it is traced, the variables it had assigned
  are put back: the call leaves them as they were.
* **Variables** may be created on the first call only (as Keras layers do when they build);
  their initialisers run under ``init_scope`` and are not part of the plan.
* **Gradients through a call.** When a GradientTape records on the calling thread, the function
  runs eagerly, so that the tape sees its ops.
* **Debugging.** ``corten.config.run_functions_eagerly(True)`` runs every function as plain
  Python; ``f.plan_summary()`` lists the nodes of the last plan, with its peak memory;
  ``f.profile(*args)`` times each node.

Random draws (``corten.random.normal`` and the other stateful ops, dropout) are nodes that
advance their streams on every replay, so a traced function draws the same numbers as the eager
one at the same seed. Optimizer updates, learning-rate schedules and Nadam's running product are
tensor ops on the optimizer's Variables, replayed with each step. What a plan cannot replay
(a value read back into Python, such as ``float(loss)`` or ``corten._C.sum_of_squares``) raises
``TypeError`` or ``NotImplementedError`` while tracing; run such functions eagerly.

A plan holds the nodes that lead to its outputs or write Variables (dead code is dropped), with
constant subgraphs folded and chains of elementwise ops fused into single passes
(``jit_compile=False`` keeps them apart); ``plan_summary()`` shows the result and the peak bytes
of its intermediates.
"""

from __future__ import annotations

import collections
import functools
import os
import traceback
import warnings
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from corten import _C, nest
from corten.dtypes import as_dtype

__all__ = ["function", "Function", "init_scope", "run_functions_eagerly",
           "functions_run_eagerly"]

_run_eagerly = False

# TensorFlow warns when 5 of the last 5 calls of a function retraced.
_RETRACE_WINDOW = 5


def run_functions_eagerly(run_eagerly: bool) -> None:
    """Makes every ``corten.function`` run its Python code eagerly (True) or traced (False)."""
    global _run_eagerly
    _run_eagerly = bool(run_eagerly)


def functions_run_eagerly() -> bool:
    """Whether ``run_functions_eagerly(True)`` is in effect."""
    return _run_eagerly


def init_scope() -> Any:
    """A context in which ops are not traced: variables' initial values computed inside it are
    constants of the plan, not nodes (TensorFlow's ``tf.init_scope``)."""
    return _C.TracePause()


class _Plan:
    __slots__ = ("plan", "structure", "tensor_positions", "single", "dict_keys")

    def __init__(self, plan: Any, structure: Any, tensor_positions: list[int]) -> None:
        self.plan = plan
        self.structure = structure  # the output structure, non-tensor leaves included
        self.tensor_positions = tensor_positions  # which flattened output leaves are tensors
        self.single = isinstance(structure, _C.Tensor)  # the function returns one tensor
        # A plain dict of tensors (a train step's logs): its keys in flatten's (sorted) order.
        self.dict_keys = (sorted(structure) if type(structure) is dict and all(
            type(v) is _C.Tensor for v in structure.values()) else None)


def _leaf_key(leaf: Any) -> Any:
    if isinstance(leaf, _C.Tensor):
        if leaf._is_variable:
            return ("variable", leaf._id)
        return ("tensor", leaf._shape_tuple, leaf.dtype.name)
    if isinstance(leaf, np.ndarray):
        return ("tensor", leaf.shape, as_dtype(leaf.dtype).name)
    try:
        hash(leaf)
    except TypeError:
        return ("object", id(leaf))
    return ("value", type(leaf), leaf)


def _structure(x: Any) -> Any:
    """The nesting of a call's arguments, leaves left out: part of the signature, so that
    ``f(x, y)`` and ``f((x, y))`` trace separately."""
    if isinstance(x, (tuple, list)):
        return (type(x).__name__, tuple(_structure(v) for v in x))
    if isinstance(x, Mapping):
        return ("dict", tuple((k, _structure(x[k])) for k in sorted(x)))
    return None


def _generic_key(key: tuple) -> tuple:
    """A signature with its tensors' sizes left out (ranks and dtypes kept)."""
    return (key[0], *[("tensor", len(k[1]), k[2]) if k[0] == "tensor" else k for k in key[1:]])


def _relaxed_key(key: tuple, input_shapes: list[tuple]) -> tuple:
    """``key`` with each tensor's shape replaced by the relaxed plan's input shape (None
    where any size goes)."""
    shapes = iter(input_shapes)
    return (key[0], *[("tensor", tuple(next(shapes)), k[2]) if k[0] == "tensor" else k
                      for k in key[1:]])


def _fits(pattern: tuple, key: tuple) -> bool:
    """Whether the signature ``key`` fits a relaxed signature."""
    if pattern[0] != key[0] or len(pattern) != len(key):
        return False
    for p, k in zip(pattern[1:], key[1:], strict=True):
        if p[0] == "tensor" and k[0] == "tensor":
            if p[2] != k[2] or len(p[1]) != len(k[1]) or any(
                    want is not None and want != got
                    for want, got in zip(p[1], k[1], strict=True)):
                return False
        elif p != k:
            return False
    return True


def _python_outputs(entry: _Plan) -> list[Any]:
    """The non-tensor leaves a plan's function returned (a size read in Python, say)."""
    flat = nest.flatten(entry.structure)
    tensors = set(entry.tensor_positions)
    return [leaf for i, leaf in enumerate(flat) if i not in tensors]


# Note [Replaying the last signature]
# Most calls repeat the signature of the call before them: a step per batch, predict() on one
# row after another. A call of tensors only whose nesting matches the last such call's hands
# its tensors to that call's plan (Plan.run_if_traced_for), which checks in C++ that they are
# tensors, not Variables, of exactly the traced shapes and dtypes, and runs only then: the key
# (nesting, then each tensor's shape and dtype) would be the same, so the plan is the one the
# lookup would find. Otherwise (None back: nothing ran) the call takes the lookup as before;
# exact shapes, so a relaxed plan's calls take it too. Tracing and relaxing forget the last
# call. The lookup's key cost about 2 us of Python per call: predict() of one row of the
# seeds' MLP from 9.8 to 6.5 us (timeit, 1 thread), `training-2026-12-07m.txt` 6.3 us.
@functools.lru_cache(maxsize=64)
def _flat_key(n: int, in_tuple: bool) -> Any:
    """_structure((args, {})) of n tensor arguments, or of one tuple of n tensors."""
    leaves = ("tuple", (None,) * n)
    return ("tuple", (("tuple", (leaves,)) if in_tuple else leaves, ("dict", ())))


def _plan_inputs(leaves: list[Any]) -> list[Any]:
    """The tensors a plan takes, in order: the tensor and numpy leaves of a call, Variables
    excepted (a plan reads those by reference)."""
    return [_C.convert_to_tensor(leaf) if isinstance(leaf, np.ndarray) else leaf
            for leaf in leaves
            if isinstance(leaf, np.ndarray)
            or (isinstance(leaf, _C.Tensor) and not leaf._is_variable)]


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _user_frame(tb: Any) -> str:
    """The innermost traceback frame outside the corten package, as ``file:line``."""
    where = ""
    for frame, lineno in traceback.walk_tb(tb):
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(_PACKAGE_DIR + os.sep):
            where = f"{frame.f_code.co_filename}:{lineno}"
    return where


class Function:
    """A Python function traced into plans, one per input signature (see the module docstring).

    Args:
        python_function: the function to trace.
        input_signature: optional sequence of ``corten.TensorSpec``-like objects (with ``shape``
            and ``dtype``); calls whose tensor arguments do not match raise ``ValueError``.
        reduce_retracing: when a call with new tensor sizes traces a plan that computes the
            same as an earlier plan of this function, that plan serves every size in the
            dimensions where the two differ (tf.function's relaxed shapes; the function's
            Python code still sees the concrete sizes of the calls it traces).
        jit_compile: ``False`` keeps every traced op a node of its own; otherwise (the
            default, as ``True``) chains of elementwise ops are fused into single passes.
        name: the name shown in warnings and summaries.
    """

    def __init__(self, python_function: Callable[..., Any], input_signature: Any = None,
                 reduce_retracing: bool = False, jit_compile: bool | None = None,
                 name: str | None = None) -> None:
        self._python_function = python_function
        self._input_signature = None if input_signature is None else list(input_signature)
        self._reduce_retracing = bool(reduce_retracing)
        self._jit_compile = jit_compile
        self._name = name or getattr(python_function, "__name__", "function")
        self._plans: dict[Any, _Plan] = {}
        self._relaxed: list[tuple[Any, _Plan]] = []  # (relaxed signature, plan), newest first
        self._tracing_count = 0
        self._recent = collections.deque(maxlen=_RETRACE_WINDOW)
        self._warned = False
        self._last_plan: _Plan | None = None
        # (whether the arguments came as one tuple, plan) of the last call of tensors only
        self._last_tensor_call: tuple[bool, _Plan] | None = None
        self._bound: weakref.WeakKeyDictionary[Any, Function] = weakref.WeakKeyDictionary()
        functools.update_wrapper(self, python_function)

    @property
    def python_function(self) -> Callable[..., Any]:
        """The wrapped Python function."""
        return self._python_function

    def experimental_get_tracing_count(self) -> int:
        """How many times the function has been traced."""
        return self._tracing_count

    def plan_summary(self) -> str:
        """The nodes, captures and outputs of the most recently used plan."""
        if self._last_plan is None:
            return f"{self._name}: not traced yet"
        return self._last_plan.plan.summary()

    def profile(self, *args: Any, runs: int = 20, **kwargs: Any) -> list[tuple[str, float]]:
        """Runs the plan of this call's signature ``runs`` times (tracing it first if needed)
        and returns each node's op name and mean wall time in seconds, in plan order. Their sum
        is the step's time inside its ops; the rest of a call's time is the plan's and Python's
        own overhead."""
        leaves = nest.flatten((args, kwargs))
        key = (_structure((args, kwargs)), *[_leaf_key(leaf) for leaf in leaves])
        if key not in self._plans:
            self(*args, **kwargs)
        plan = self._plans[key].plan
        return list(zip(plan.ops, plan.profile(_plan_inputs(leaves), int(runs)), strict=True))

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        # A decorated method gets a Function per instance, as tf.function does.
        if instance is None:
            return self
        bound = self._bound.get(instance)
        if bound is None:
            bound = Function(self._python_function.__get__(instance, owner),
                             self._input_signature, self._reduce_retracing, self._jit_compile,
                             self._name)
            self._bound[instance] = bound
        return bound

    def _check_signature(self, args: tuple) -> None:
        specs = self._input_signature
        if specs is None:
            return
        if len(args) != len(specs):
            raise ValueError(f"{self._name}: input_signature has {len(specs)} entries; the call "
                             f"passed {len(args)} positional arguments")
        for i, (arg, spec) in enumerate(zip(args, specs, strict=True)):
            shape = tuple(getattr(arg, "shape", ()))
            want = tuple(None if d is None else int(d) for d in spec.shape)
            ok = len(shape) == len(want) and all(
                w is None or w == s for w, s in zip(want, shape, strict=True))
            dtype = getattr(arg, "dtype", None)
            if not ok or (getattr(spec, "dtype", None) is not None and (
                    dtype is None or as_dtype(dtype) != as_dtype(spec.dtype))):
                raise ValueError(f"{self._name}: argument {i} of shape {shape} and dtype "
                                 f"{getattr(arg, 'dtype', None)} does not match the "
                                 f"input_signature entry {spec}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _run_eagerly or _C.trace_active() or _C.is_recording():
            return self._python_function(*args, **kwargs)
        if self._input_signature is not None:
            self._check_signature(args)
        # The common calls, tensors or one tuple of tensors (a Keras step's batch), skip the
        # structure walks: their leaves are the tensors themselves.
        in_tuple = len(args) == 1 and type(args[0]) is tuple
        flat = args[0] if in_tuple else args
        last = self._last_tensor_call
        if last is not None and last[0] is in_tuple and not kwargs:
            # Note [Replaying the last signature]
            entry = last[1]
            outputs = entry.plan.run_if_traced_for(tuple(flat))
            if outputs is not None:
                self._recent.append(False)
                self._last_plan = entry
                return outputs[0] if entry.single else self._pack(entry, outputs)
        if not kwargs and all(type(a) is _C.Tensor and not a._is_variable for a in flat):
            key = (_flat_key(len(flat), in_tuple),
                   *[("tensor", a._shape_tuple, a.dtype.name) for a in flat])
            entry = self._plans.get(key)
            if entry is not None:
                self._recent.append(False)
                self._last_plan = entry
                self._last_tensor_call = (in_tuple, entry)
                outputs = entry.plan.run(list(flat))
                return outputs[0] if entry.single else self._pack(entry, outputs)
        leaves = nest.flatten((args, kwargs))
        key = (_structure((args, kwargs)), *[_leaf_key(leaf) for leaf in leaves])
        entry = self._plans.get(key)
        if entry is None and self._relaxed:
            entry = next((e for pattern, e in self._relaxed if _fits(pattern, key)), None)
            if entry is not None:
                self._plans[key] = entry  # later calls of this signature take the fast path
        self._recent.append(entry is None)
        if entry is None:
            return self._trace(key, args, kwargs, leaves)
        self._last_plan = entry
        return self._pack(entry, entry.plan.run(_plan_inputs(leaves)))

    def _relax(self, key: tuple, entry: _Plan) -> None:
        """Makes ``entry`` serve every size that its signature and an earlier one's differ
        in, when the two plans compute the same (Note [Relaxed plans])."""
        generic = _generic_key(key)
        for other_key, other in list(self._plans.items()):
            if other is entry or _generic_key(other_key) != generic \
                    or _python_outputs(entry) != _python_outputs(other) \
                    or not entry.plan.same_computation(other.plan):
                continue
            plan = entry.plan.relaxed(other.plan)
            relaxed = _Plan(plan, entry.structure, entry.tensor_positions)
            self._relaxed.insert(0, (_relaxed_key(key, plan.input_shapes), relaxed))
            self._plans[key] = self._plans[other_key] = relaxed
            self._last_tensor_call = None
            self._last_plan = relaxed
            return

    def batch_replayer(self, *args: Any) -> Callable[..., Any] | None:
        """The plan of a call with these arguments, as a function that replays it on batches
        of rows (``Plan.run_batches``'s arguments: sources, input_source, order, batch_rows,
        first_row, num_steps) and returns the last replay's result packed as a call's; None
        when the call has no plan (not traced yet, or run eagerly)."""
        if _run_eagerly:
            return None
        leaves = nest.flatten((args, {}))
        entry = self._plans.get((_structure((args, {})), *[_leaf_key(leaf) for leaf in leaves]))
        if entry is None:
            return None

        def replay(*run_args: Any) -> Any:
            self._last_plan = entry
            outputs = entry.plan.run_batches(*run_args)
            return outputs[0] if entry.single else self._pack(entry, outputs)

        return replay

    @staticmethod
    def _pack(entry: _Plan, outputs: list[Any]) -> Any:
        if entry.dict_keys is not None:
            by_key = dict(zip(entry.dict_keys, outputs, strict=True))
            return {k: by_key[k] for k in entry.structure}
        flat = nest.flatten(entry.structure)
        for pos, value in zip(entry.tensor_positions, outputs, strict=True):
            flat[pos] = value
        return nest.pack_sequence_as(entry.structure, flat)

    def _trace(self, key: Any, args: tuple, kwargs: dict, leaves: list[Any]) -> Any:
        # numpy arguments become tensors, so that the plan takes them as inputs.
        converted = [_C.convert_to_tensor(leaf) if isinstance(leaf, np.ndarray) else leaf
                     for leaf in leaves]
        inputs = [leaf for leaf in converted
                  if isinstance(leaf, _C.Tensor) and not leaf._is_variable]
        call_args, call_kwargs = nest.pack_sequence_as((args, kwargs), converted)
        _C.trace_begin(inputs)
        try:
            result = self._python_function(*call_args, **call_kwargs)
        except TypeError as e:
            _C.trace_cancel()
            if str(e).startswith("corten.function:"):
                where = _user_frame(e.__traceback__)
                raise TypeError(f"{e} (at {where})" if where else str(e)) from None
            raise
        except BaseException:
            _C.trace_cancel()
            raise
        flat = nest.flatten(result)
        positions = [i for i, leaf in enumerate(flat) if isinstance(leaf, _C.Tensor)]
        plan = _C.trace_end([flat[i] for i in positions], fuse=self._jit_compile is not False)
        entry = _Plan(plan, result, positions)
        self._plans[key] = entry
        self._last_tensor_call = None
        if self._reduce_retracing:
            self._relax(key, entry)
        self._last_plan = entry
        self._tracing_count += 1
        if (not self._warned and len(self._recent) == _RETRACE_WINDOW
                and all(self._recent)):
            self._warned = True
            warnings.warn(
                f"{_RETRACE_WINDOW} out of the last {_RETRACE_WINDOW} calls to {self._name} "
                "triggered corten.function retracing. Tracing is expensive; retracing comes "
                "from calls with tensors of different shapes or dtypes, or from new Python "
                "values as arguments (pass tensors instead).", stacklevel=3)
        return result


def function(func: Callable[..., Any] | None = None, input_signature: Any = None,
             autograph: bool = True, jit_compile: bool | None = None,
             reduce_retracing: bool = False, experimental_implements: Any = None,
             experimental_autograph_options: Any = None,
             experimental_attributes: Any = None, experimental_relax_shapes: Any = None,
             experimental_compile: Any = None, experimental_follow_type_hints: Any = None,
             name: str | None = None) -> Any:
    """Compiles ``func`` into traced plans (``tf.function``): as a decorator, with or without
    arguments, or called on a function.

    Example:
        >>> @corten.function
        ... def step(x):
        ...     return corten.reduce_sum(x * x)
    """
    del autograph, experimental_implements, experimental_autograph_options
    del experimental_attributes, experimental_compile, experimental_follow_type_hints
    if experimental_relax_shapes is not None:
        reduce_retracing = bool(experimental_relax_shapes)

    def decorate(f: Callable[..., Any]) -> Function:
        return Function(f, input_signature, reduce_retracing, jit_compile, name)

    return decorate if func is None else decorate(func)
