"""The inference graph that ``model.save`` stores for native use (Note [Saved models] in
csrc/trace/saved_model.cpp): the model called with ``training=False``, traced at two batch sizes
so the batch dimension stays free, as a saved-plan document (docs/model_format.md)."""

from __future__ import annotations

from typing import Any

import numpy as np

ENTRY = "inference.plan.json"
CONSTANT_PREFIX = "__plan__/"


def _input_specs(model: Any) -> list[tuple[tuple, Any]] | None:
    inputs = getattr(model, "inputs", None)
    if not inputs:
        return None
    return [(tuple(t.shape), t.dtype) for t in inputs]


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
        return None, {}, "the model has no known inputs (a functional or built Sequential " \
                         "model has them)"

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
        return plan.to_json(names), extra

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
