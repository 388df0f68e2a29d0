"""The inference graph that ``model.save`` stores for native use (Note [Saved models] in
csrc/trace/saved_model.cpp): the model called with ``training=False``, traced at two batch sizes
so the batch dimension stays free, as a saved-plan document (docs/model_format.md)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

ENTRY = "inference.plan.json"
CONSTANT_PREFIX = "__plan__/"


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
    return [(tuple(shape), corten.as_dtype(dtype)) for shape, dtype in zip(shapes, dtypes, strict=True)]


def _signature(model: Any, num_inputs: int, num_outputs: int) -> dict[str, list[str]]:
    """The names a native caller gives the graph's inputs and reads its outputs by: the
    functional model's input and output names, else ``input_k`` / ``output_k``."""

    def names(found: Any, count: int, kind: str) -> list[str]:
        found = list(found or [])
        if len(found) != count or len(set(found)) != count:
            found = [f"{kind}_{k}" for k in range(count)]
        return [str(n) for n in found]

    return {"inputs": names(getattr(model, "input_names", None), num_inputs, "input"),
            "outputs": names(getattr(model, "output_names", None), num_outputs, "output")}


def inference_plan(model: Any, weight_names: dict[int, str]) -> tuple[str | None, dict, str]:
    """The model's inference plan document, the tensors it captures besides the weights (named
    ``__plan__/k``), and why there is no document when there is none.

    Args:
        model: a built model.
        weight_names: the weights file's name of each weight, by the weight's ``_id``.
    """
    import corten

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

    def batch(n: int) -> list:
        return [corten.zeros(tuple(n if d is None else d for d in shape), dtype)
                if dtype != corten.string else
                corten.fill(tuple(n if d is None else d for d in shape), corten.constant(""))
                for shape, dtype in specs]

    def document(plan: Any) -> tuple[str, dict]:
        extra: dict[str, np.ndarray] = {}
        names = []
        for k, tensor in enumerate(plan.captures):
            name = weight_names.get(tensor._id)
            if name is None:
                name = f"{CONSTANT_PREFIX}{k}"
                extra[name] = np.asarray(tensor)
            names.append(name)
        doc = json.loads(plan.to_json(names))
        doc["signature"] = _signature(model, len(doc["inputs"]), len(doc["outputs"]))
        return json.dumps(doc, separators=(",", ":")), extra

    # Unfused: a saved graph holds the ops themselves (fusion is a pass of the process that
    # runs them).
    fn = corten.function(call, reduce_retracing=True, jit_compile=False)
    try:
        fn(*batch(1))
        first = document(fn._last_plan.plan)  # raises for an op that cannot be saved
        fn(*batch(2))  # a second size relaxes the batch dimension (Note [Relaxed plans])
        if fn._relaxed:
            return (*document(fn._relaxed[0][1].plan), "")
        return (*first, "")
    except Exception as e:  # noqa: BLE001  (the graph is optional: any failure only omits it)
        return None, {}, f"{type(e).__name__}: {str(e).splitlines()[-1] if str(e) else ''}"
