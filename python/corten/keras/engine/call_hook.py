"""Layer calls on KerasTensors: the functional hook of ``Layer.__call__``.

The layer runs as usual (build from the input shapes, ``call``) on plain meta tensors, i.e. as
shape inference without data; its outputs become KerasTensors and the call is recorded as a
Node of the graph. Errors (wrong shapes...) are raised here, at graph construction.
"""

from __future__ import annotations

from typing import Any

from corten import _C, nest
from corten.keras.engine.keras_tensor import KerasTensor, to_meta
from corten.keras.engine.node import Node
from corten.ops import _symbolic

Tensor = _C.Tensor

__all__ = ["functional_hook", "has_keras_tensor"]


def has_keras_tensor(x: Any) -> bool:
    t = type(x)
    if t is Tensor or t is bool or x is None:  # the eager case, on every layer call
        return False
    if isinstance(x, KerasTensor):
        return True
    if isinstance(x, (list, tuple)):
        for v in x:
            if has_keras_tensor(v):
                return True
        return False
    if isinstance(x, dict):
        for v in x.values():
            if has_keras_tensor(v):
                return True
    return False


def functional_hook(layer: Any, args: tuple, kwargs: dict) -> Any:
    """The KerasTensor outputs of ``layer(*args, **kwargs)`` when an argument is a KerasTensor,
    else NotImplemented (the call proceeds eagerly)."""
    if not (has_keras_tensor(args) or (kwargs and has_keras_tensor(kwargs))):
        return NotImplemented
    meta_args = nest.map_structure(to_meta, tuple(args))
    meta_kwargs = nest.map_structure(to_meta, dict(kwargs))
    _symbolic.tracing += 1
    try:
        outputs = layer(*meta_args, **meta_kwargs)
    finally:
        _symbolic.tracing -= 1
        _drop_meta_losses(layer)

    def wrap(t):
        if not isinstance(t, Tensor):
            return t
        kt = KerasTensor(t, name=layer.name)
        mask = getattr(t, "_keras_mask", None)
        if mask is not None:
            kt._keras_mask = mask
        return kt

    if isinstance(outputs, (list, tuple, dict)):
        outputs = nest.map_structure(wrap, outputs)
    else:
        outputs = wrap(outputs)
    flat = nest.flatten(outputs)
    if len(flat) > 1:
        for i, kt in enumerate(flat):
            if isinstance(kt, KerasTensor):
                kt._name = f"{layer.name}/{i}"
    Node(layer, call_args=tuple(args), call_kwargs=dict(kwargs), outputs=outputs)
    return outputs


def _drop_meta_losses(layer: Any) -> None:
    for sub in layer._flatten_layers():
        losses = sub._eager_losses
        if losses and any(getattr(l, "device", None) == "meta" for l in losses):
            losses[:] = [l for l in losses if getattr(l, "device", None) != "meta"]
