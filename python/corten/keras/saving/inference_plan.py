"""The inference graph that ``model.save`` stores for native use (Note [Saved models] in
csrc/trace/saved_model.cpp): the model called with ``training=False``, traced at two batch sizes
so the batch dimension stays free, as a saved-plan document (docs/model_format.md)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

ENTRY = "inference.plan.json"
CONSTANT_PREFIX = "__plan__/"
DEFAULT_SIGNATURE = "serving_default"


def _input_specs(model: Any) -> list[tuple[tuple, Any]] | None:
    """The graph's inputs as (shape, dtype): a functional model's inputs, else the tensors a
    subclassed model was first called with (batch dimension free); None when neither is known
    (a model never called, or called with a dict)."""
    import corten

    inputs = getattr(model, "inputs", None)
    if inputs:
        return [(tuple(t.shape), t.dtype) for t in inputs]
    spec = model.__dict__.get("_build_input_spec")
    if spec is None:
        return None
    shapes, dtypes = spec
    if isinstance(dtypes, str):
        shapes, dtypes = [shapes], [dtypes]
    if not isinstance(dtypes, list) or not all(isinstance(d, str) for d in dtypes):
        return None
    return [(tuple(shape), corten.as_dtype(dtype))
            for shape, dtype in zip(shapes, dtypes, strict=True)]


def _names(found: Any, count: int, kind: str) -> list[str]:
    """`found` as names when it names `count` distinct things, else ``kind_0, kind_1, ...``."""
    found = [str(n) for n in (found or [])]
    if len(found) != count or len(set(found)) != count:
        found = [f"{kind}_{k}" for k in range(count)]
    return found


def _error(e: Exception) -> str:
    return f"{type(e).__name__}: {str(e).splitlines()[-1] if str(e) else ''}"


def _trace(call: Any, specs: list[tuple[tuple, Any]], weight_names: dict[int, str],
           input_names: Any, output_names: Any, prefix: str) -> tuple[str, dict]:
    """The plan document of ``call(*inputs)`` at `specs` (None dimensions traced at two sizes
    so that they stay free), its constants named ``prefix + k``; raises when the graph cannot
    be saved. `output_names` is a list, or a function of the traced output structure."""
    import corten

    def inputs(n: int) -> list:
        return [corten.zeros(tuple(n if d is None else d for d in shape), dtype)
                if dtype != corten.string else
                corten.fill(tuple(n if d is None else d for d in shape), corten.constant(""))
                for shape, dtype in specs]

    def document(entry: Any) -> tuple[str, dict]:
        plan = entry.plan
        extra: dict[str, np.ndarray] = {}
        names = []
        for k, tensor in enumerate(plan.captures):
            name = weight_names.get(tensor._id)
            if name is None:
                name = f"{prefix}{k}"
                extra[name] = np.asarray(tensor)
            names.append(name)
        doc = json.loads(plan.to_json(names))
        outputs = output_names(entry.structure) if callable(output_names) else output_names
        doc["signature"] = {"inputs": _names(input_names, len(doc["inputs"]), "input"),
                            "outputs": _names(outputs, len(doc["outputs"]), "output")}
        return json.dumps(doc, separators=(",", ":")), extra

    # Unfused: a saved graph holds the ops themselves (fusion is a pass of the process that
    # runs them).
    fn = corten.function(call, reduce_retracing=True, jit_compile=False)
    fn(*inputs(1))
    first = document(fn._last_plan)  # raises for an op that cannot be saved
    if not any(d is None for shape, _ in specs for d in shape):
        return first
    fn(*inputs(2))  # a second size relaxes the free dimensions (Note [Relaxed plans])
    return document(fn._relaxed[0][1]) if fn._relaxed else first


def inference_plan(model: Any, weight_names: dict[int, str]) -> tuple[str | None, dict, str]:
    """The model's inference plan document, the tensors it captures besides the weights (named
    ``__plan__/k``), and why there is no document when there is none.

    Args:
        model: a built model.
        weight_names: the weights file's name of each weight, by the weight's ``_id``.
    """
    # Tracing runs the model once per batch size: a layer that keeps state across calls would
    # change it, so such models keep their graph out of the file.
    stateful = [layer.name for layer in getattr(model, "_flatten_layers", lambda: [])()
                if getattr(layer, "stateful", False)]
    if stateful:
        return None, {}, f"layer {stateful[0]!r} is stateful"
    specs = _input_specs(model)
    if specs is None:
        return None, {}, "the model has no known inputs (a functional model has them; a " \
                         "subclassed model once called on a tensor or a list of tensors)"

    def call(*xs: Any) -> Any:
        return model(xs[0] if len(xs) == 1 else list(xs), training=False)

    try:
        return (*_trace(call, specs, weight_names, getattr(model, "input_names", None),
                        getattr(model, "output_names", None), CONSTANT_PREFIX), "")
    except Exception as e:  # noqa: BLE001  (the graph is optional: any failure only omits it)
        return None, {}, _error(e)




def signature_plans(signatures: dict[str, Any], weight_names: dict[int, str]
                    ) -> tuple[dict[str, str], dict]:
    """The plan documents of `signatures` (name -> ``corten.function`` with an
    ``input_signature``) by entry name, and their constants. Raises ValueError naming the
    signature that cannot be traced or saved."""
    import inspect

    from corten import _C

    entries: dict[str, str] = {}
    constants: dict = {}
    for name, fn in signatures.items():
        try:
            entry = _C.saved_model_signature_entry(str(name))
        except ValueError as e:
            raise ValueError(f"saved_model.save: {e}") from None
        specs = getattr(fn, "_input_signature", None)
        python = getattr(fn, "_python_function", None)
        if specs is None or python is None:
            raise ValueError(f"saved_model.save: signature {name!r} must be a corten.function "
                             f"with an input_signature; got {type(fn).__name__}")
        if any(s.shape is None for s in specs):
            raise ValueError(f"saved_model.save: signature {name!r} has an input of unknown "
                             "rank; give every TensorSpec a shape (None for a free dimension)")
        params = [p.name for p in inspect.signature(python).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        input_names = [s.name or (params[i] if i < len(params) else None)
                       for i, s in enumerate(specs)]

        def output_names(structure: Any) -> list[str] | None:
            return sorted(structure) if isinstance(structure, dict) else None

        try:
            text, extra = _trace(python, [(tuple(s.shape.as_list()), s.dtype) for s in specs],
                                 weight_names, input_names, output_names,
                                 f"{CONSTANT_PREFIX}{name}/")
        except Exception as e:
            raise ValueError(f"saved_model.save: signature {name!r} cannot be saved: "
                             f"{_error(e)}") from e
        entries[entry] = text
        constants.update(extra)
    return entries, constants
