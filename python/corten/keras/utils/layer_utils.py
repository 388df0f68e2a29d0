"""Graph utilities (tf.keras's ``keras.utils.layer_utils``)."""

from __future__ import annotations

from typing import Any

__all__ = ["get_source_inputs"]


def get_source_inputs(tensor: Any) -> list[Any]:
    """The ``keras.Input`` tensors that `tensor` was computed from, in discovery order.

    Args:
        tensor: a Keras tensor (the output of a layer or an Input).

    Returns:
        The list of input tensors at the roots of `tensor`'s graph.
    """
    if getattr(tensor, "_keras_history", None) is None:
        return [tensor]
    node = tensor.node
    if node.is_input:
        return [tensor]
    sources: list[Any] = []
    for parent in node._keras_inputs:
        for source in get_source_inputs(parent):
            if not any(source is s for s in sources):
                sources.append(source)
    return sources
