"""Control flow: ``cond`` and ``while_loop`` (TensorFlow's tf.cond and tf.while_loop).

Eagerly (a Python bool or a tensor whose value is known) ``cond`` calls one branch and
``while_loop`` is a Python loop, as in TensorFlow outside tf.function.

Inside ``corten.function``, on a predicate or loop variables that the trace holds (values that
change from call to call), they follow tf.function's rules: each branch, the loop condition and
the loop body are traced once as plans of their own, and the function's plan gets one node that
picks the branch, or loops, on every call. Both branches of a ``cond`` run while tracing (their
Python side effects happen then, once each); on later calls only the chosen branch's ops run,
including its variable assignments and random draws. A GradientTape inside the function gets
gradients through both, whichever branch or trip count a call takes (first derivatives). The
branches of a cond must return the same structure, dtypes and shapes; a loop body must keep
each variable's shape and dtype (plans are specialised to shapes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from corten import _C, nest

__all__ = ["cond", "while_loop"]


def _is_traced(x: Any) -> bool:
    return isinstance(x, _C.Tensor) and _C.trace_holds(x)


def _describe(t: Any) -> str:
    return f"{t.dtype.name}{tuple(t._shape_tuple)}"


def _as_tensors(result: Any, what: str, dtypes: list[Any] | None = None,
                allow_none: bool = False) -> list[Any]:
    """The leaves of ``result`` as tensors (Python numbers become constants; Variables are
    read; None stays None where allowed)."""
    flat = nest.flatten(result)
    out = []
    for i, leaf in enumerate(flat):
        if isinstance(leaf, _C.Tensor):
            out.append(_C.clone(leaf) if leaf._is_variable else leaf)
            continue
        if leaf is None:
            if allow_none:
                out.append(None)
                continue
            raise TypeError(f"{what} has None at output {i}; it needs tensors (or Python "
                            "numbers)")
        dtype = dtypes[i] if dtypes is not None and i < len(dtypes) else None
        try:
            out.append(_C.convert_to_tensor(leaf, dtype))
        except (TypeError, ValueError) as e:
            raise TypeError(f"{what} returned {leaf!r} at output {i}, which is not a tensor: "
                            f"{e}") from None
    return out


def _trace_grad(tape: Any, explicit: list[Any], flat: list[Any]) -> tuple:
    """Traces the gradient of the forward being traced (see Note [Traced control flow])."""
    implicit = _C.trace_sub_implicit()
    sources = list(explicit) + list(implicit) + list(_C.trace_sub_variables())
    floating = [i for i, s in enumerate(sources) if s.dtype.is_floating]
    for i in floating:
        tape.watch(sources[i])
    upstream = _C.trace_sub_begin(flat, True)
    try:
        grads = tape.gradient(flat, [sources[i] for i in floating], upstream, True)
        grad_plan, saved = _C.trace_sub_end(grads)
    except BaseException:
        _C.trace_sub_cancel()
        raise
    return grad_plan, saved, sources, len(implicit), floating


def _trace(fn: Callable[..., Any], args: list[Any], pack: Callable[[list[Any]], tuple],
           finish: Callable[[Any], list[Any]], need_grad: bool) -> tuple:
    """Traces ``fn(*pack(placeholders))`` as a sub-plan of the active trace.

    Returns:
        (the traced function for ``_C.cond`` / ``_C.while_loop``, fn's result as returned, its
        flattened tensors (``finish(result)`` without its None entries), the outer tensors to
        pass as the plan's implicit inputs).
    """
    explicit = _C.trace_sub_begin(list(args), False)
    try:
        if need_grad:
            # The caller's tapes do not see the tracing run; a private tape records every op
            # with a floating input, so that the gradient reaches whatever the branch read.
            with _C.PauseRecording():
                tape = _C.Tape(True, True)
                tape.set_watch_all(True)
                tape.push()
                try:
                    result = fn(*pack(explicit))
                    flat = [t for t in finish(result) if t is not None]
                finally:
                    tape.pop()
                # Without a floating result there is nothing to differentiate.
                need_grad = any(t.dtype.is_floating for t in flat)
                if need_grad:
                    grad = _trace_grad(tape, explicit, flat)
        else:
            result = fn(*pack(explicit))
            flat = [t for t in finish(result) if t is not None]
        saved = list(grad[1]) if need_grad else []
        plan, implicit = _C.trace_sub_end(flat + saved)
    except BaseException:
        _C.trace_sub_cancel()
        raise
    if need_grad:
        grad_plan, _, sources, n_implicit, floating = grad
        traced = _C.make_traced_fn(plan, len(flat), grad_plan, sources, n_implicit, floating)
    else:
        traced = _C.make_traced_fn(plan, len(flat), None, [], 0, [])
    return traced, result, flat, list(implicit)


def _shown(structure: Any) -> Any:
    return nest.map_structure(lambda t: None if t is None else "T", structure)


def _skeleton(structure: Any) -> Any:
    # Lists and tuples are the same sequence structure (TensorFlow compares them as lists).
    if isinstance(structure, (list, tuple)) and not hasattr(structure, "_fields"):
        return [_skeleton(s) for s in structure]
    if isinstance(structure, dict):
        return {k: _skeleton(v) for k, v in structure.items()}
    return nest.map_structure(lambda _: 0, structure)


def _traced_cond(pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
    if pred.dtype.name != "bool":
        raise TypeError(f"cond: pred must be a bool tensor. Received dtype {pred.dtype.name}")
    need_grad = _C.is_recording()
    branches, leaves = [], []
    for fn, what in ((true_fn, "true_fn"), (false_fn, "false_fn")):

        def finish(r: Any, what: str = what) -> list[Any]:
            leaves.append(_as_tensors(r, f"cond: {what}", allow_none=True))
            return leaves[-1]

        branches.append(_trace(fn, [], lambda xs: (), finish, need_grad))
    (t_fn, t_res, t_flat, t_in), (f_fn, f_res, f_flat, f_in) = branches
    t_none = [t is None for t in leaves[0]]
    if _skeleton(t_res) != _skeleton(f_res) or t_none != [t is None for t in leaves[1]]:
        raise ValueError("cond: true_fn and false_fn must return the same nested structure. "
                         f"Received: true_fn -> {_shown(t_res)}, false_fn -> "
                         f"{_shown(f_res)}")
    for i, (a, b) in enumerate(zip(t_flat, f_flat, strict=True)):
        if a.dtype != b.dtype or a._shape_tuple != b._shape_tuple:
            raise ValueError(
                f"cond: output {i} of true_fn and false_fn must have the same dtype and shape "
                "(traced branches are specialised to shapes). Received: true_fn -> "
                f"{_describe(a)}, false_fn -> {_describe(b)}")
    outs = iter(_C.cond(pred, t_fn, f_fn, t_in, f_in))
    return nest.pack_sequence_as(t_res, [None if none else next(outs) for none in t_none])


def cond(pred: Any, true_fn: Callable[[], Any] | None = None,
         false_fn: Callable[[], Any] | None = None, name: str | None = None) -> Any:
    """Returns ``true_fn()`` if ``pred`` is true, else ``false_fn()``.

    Eagerly, ``pred`` is read and one branch is called. Inside ``corten.function`` on a traced
    predicate, both branches are traced and the function's plan chooses one on every call
    (see the module docstring); their outputs must then agree in structure, dtype and shape.

    Args:
        pred: a Python bool or a scalar boolean tensor.
        true_fn, false_fn: callables of no arguments; both are required.
        name: unused (TensorFlow's op name).

    Returns:
        The chosen branch's result (tensors, in its nested structure).

    Raises:
        TypeError: if a branch is missing or not callable, or ``pred`` is None or not a scalar
            (or, traced, not a bool tensor).
        ValueError: traced, if the branches' outputs differ in structure, dtype or shape.

    Example:
        >>> tf.cond(tf.constant(True), lambda: tf.ones(2), lambda: tf.zeros(2))
    """
    del name
    if true_fn is None or not callable(true_fn):
        raise TypeError(f"true_fn must be callable. Received: {true_fn!r}")
    if false_fn is None or not callable(false_fn):
        raise TypeError(f"false_fn must be callable. Received: {false_fn!r}")
    if pred is None:
        raise TypeError("pred must not be None (a Python bool or a scalar boolean tensor)")
    if isinstance(pred, _C.Tensor):
        if pred.shape.rank != 0:
            raise TypeError(f"pred must be a scalar. Received shape {pred.shape}")
        if _C.trace_holds(pred):
            return _traced_cond(pred, true_fn, false_fn)
        pred = bool(pred.numpy())
    return true_fn() if pred else false_fn()


def _body_result(result: Any, single: bool) -> Any:
    # A body of one loop variable may return it bare, as in TensorFlow.
    if single and not isinstance(result, (list, tuple)):
        return (result,)
    return result


def _check_body(result: Any, loop_vars: Any, flat_vars: list[Any]) -> list[Any]:
    if _skeleton(result) != _skeleton(loop_vars):
        raise ValueError("while_loop: body must return the same nested structure as loop_vars. "
                         f"Received: loop_vars {_skeleton(loop_vars)}, body -> "
                         f"{_skeleton(result)}")
    flat = _as_tensors(result, "while_loop: body", [v.dtype for v in flat_vars])
    for i, (v, out) in enumerate(zip(flat_vars, flat, strict=True)):
        if v.dtype != out.dtype or v._shape_tuple != out._shape_tuple:
            raise ValueError(
                f"while_loop: loop variable {i} enters the loop as {_describe(v)} but body "
                f"returns {_describe(out)}; a traced loop keeps each variable's shape and "
                "dtype")
    return flat


def while_loop(cond: Callable[..., Any], body: Callable[..., Any], loop_vars: Any,
               shape_invariants: Any = None, parallel_iterations: int = 10,
               back_prop: bool = True, swap_memory: bool = False,
               maximum_iterations: Any = None, name: str | None = None) -> Any:
    """Repeats ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` is true.

    Eagerly this is a Python loop. Inside ``corten.function``, when a loop variable, the first
    value of ``cond`` or ``maximum_iterations`` is a traced tensor, ``cond`` and ``body`` are
    traced once and the function's plan runs the loop on every call, with the trip count of
    that call (see the module docstring); gradients flow through every iteration.

    Args:
        cond: callable taking the loop variables, returning a scalar boolean.
        body: callable taking the loop variables, returning new values in the same structure
            (with a single loop variable it may return the bare value).
        loop_vars: a tensor, or a (nested) tuple, list or dict of tensors and numbers.
        shape_invariants: accepted for compatibility; traced loops keep every shape.
        parallel_iterations: a positive integer (iterations run one after another).
        back_prop: False stops gradients through a traced loop.
        swap_memory: accepted for compatibility.
        maximum_iterations: optional non-negative integer (or integer scalar tensor): the loop
            stops after that many iterations even while ``cond`` is true.
        name: unused (TensorFlow's op name).

    Returns:
        The loop variables after the last iteration, in the structure of ``loop_vars``.

    Raises:
        TypeError: if ``cond`` or ``body`` is not callable, or ``cond`` does not return a
            scalar boolean.
        ValueError: if ``parallel_iterations`` is not positive, ``maximum_iterations`` is
            negative, or the body changes the structure, or (traced) a variable's shape or
            dtype.

    Example:
        >>> i, total = tf.while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s + i), (0, 0))
    """
    del shape_invariants, swap_memory, name
    if not callable(cond):
        raise TypeError(f"while_loop: cond must be callable. Received: {cond!r}")
    if not callable(body):
        raise TypeError(f"while_loop: body must be callable. Received: {body!r}")
    if not isinstance(parallel_iterations, int) or parallel_iterations <= 0:
        raise ValueError("while_loop: parallel_iterations must be a positive integer. "
                         f"Received: parallel_iterations={parallel_iterations!r}")
    single = not isinstance(loop_vars, (list, tuple))
    structure = (loop_vars,) if single else loop_vars
    flat_vars = _as_tensors(structure, "while_loop: loop_vars")
    structure = nest.pack_sequence_as(structure, flat_vars)
    max_iter = maximum_iterations
    if max_iter is not None:
        if not isinstance(max_iter, _C.Tensor):
            max_iter = _C.convert_to_tensor(int(max_iter), None)
        if not _is_traced(max_iter) and int(max_iter.numpy()) < 0:
            raise ValueError("while_loop: maximum_iterations must be non-negative. Received: "
                             f"maximum_iterations={maximum_iterations!r}")

    def pack(xs: list[Any]) -> Any:
        return nest.pack_sequence_as(structure, list(xs))

    def result(flat: list[Any]) -> Any:
        packed = pack(flat)
        return packed[0] if single else packed

    traced = _C.trace_active() and (any(_is_traced(v) for v in flat_vars)
                                    or _is_traced(max_iter))
    n = 0
    while not traced:
        if max_iter is not None and n >= int(max_iter.numpy()):
            return result(flat_vars)
        go = cond(*pack(flat_vars))
        if _is_traced(go):
            traced = True  # cond reads a traced value: the loop is a node of the plan
            break
        if isinstance(go, _C.Tensor):
            if go._shape_tuple != ():
                raise TypeError("while_loop: cond must return a scalar boolean. Received "
                                f"shape {go._shape_tuple}")
            go = bool(go.numpy())
        if not go:
            return result(flat_vars)
        out = _body_result(body(*pack(flat_vars)), single)
        if _skeleton(out) != _skeleton(structure):
            raise ValueError("while_loop: body must return the same nested structure as "
                             f"loop_vars. Received: loop_vars {_skeleton(structure)}, body -> "
                             f"{_skeleton(out)}")
        flat_vars = _as_tensors(out, "while_loop: body", [v.dtype for v in flat_vars])
        n += 1
    return result(_traced_while(cond, body, structure, flat_vars, max_iter, single,
                                back_prop and _C.is_recording()))


def _traced_while(cond: Callable[..., Any], body: Callable[..., Any], structure: Any,
                  flat_vars: list[Any], max_iter: Any, single: bool,
                  need_grad: bool) -> list[Any]:
    def pack(xs: list[Any]) -> Any:
        return nest.pack_sequence_as(structure, list(xs))

    def finish_cond(r: Any) -> list[Any]:
        flat = _as_tensors(r, "while_loop: cond")
        if len(flat) != 1 or flat[0].dtype.name != "bool" or flat[0]._shape_tuple != ():
            got = ", ".join(_describe(t) for t in flat)
            raise TypeError(f"while_loop: cond must return a scalar boolean. Received: {got}")
        return flat

    cond_fn, _, _, cond_in = _trace(cond, flat_vars, pack, finish_cond, False)
    body_fn, _, _, body_in = _trace(
        body, flat_vars, pack,
        lambda r: _check_body(_body_result(r, single), structure, flat_vars), need_grad)
    return list(_C.while_loop(cond_fn, body_fn, flat_vars, cond_in, body_in, max_iter))
