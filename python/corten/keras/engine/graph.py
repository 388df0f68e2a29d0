"""The functional graph: which layer calls a Functional model runs, in which order, and running
them (Keras's ``_map_graph_network`` and ``Functional._run_internal_graph``)."""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Any

from corten import nest
from corten.keras.engine.keras_tensor import KerasTensor

__all__ = ["GraphMap", "map_graph", "run_graph"]


@dataclass
class GraphMap:
    """The mapped graph: nodes by depth, the ids of its nodes, the nodes to run in order (the
    input layers' nodes excluded), and its layers in topological order."""

    nodes_by_depth: dict[int, list[Any]]
    network_nodes: set[int]
    execution_order: list[Any]
    layers: list[Any]


def map_graph(inputs: list[KerasTensor], terminals: list[KerasTensor]) -> GraphMap:
    """Orders the nodes and layers between `inputs` and `terminals` (the outputs, and the
    outputs of add_loss/add_metric nodes), as Keras's ``_map_graph_network``: depth 0 for the
    outputs, increasing towards the inputs.

    Raises:
        ValueError: a cycle, an output that does not depend only on the inputs ("Graph
            disconnected"), or a layer name used twice.
    """
    input_ids = {id(t) for t in inputs}
    finished: set[int] = set()
    in_progress: set[int] = set()
    nodes_in_decreasing_depth: list[Any] = []
    layer_indices: dict[int, int] = {}
    layers_by_id: dict[int, Any] = {}

    def visit(tensor: KerasTensor) -> None:
        layer, node_index, _ = tensor._keras_history
        node = layer._inbound_nodes[node_index]
        if id(node) in finished:
            return
        if id(node) in in_progress:
            raise ValueError(f'Tensor {tensor!r} from layer "{layer.name}" is part of a cycle.')
        if id(layer) not in layer_indices:
            layer_indices[id(layer)] = len(layer_indices)
            layers_by_id[id(layer)] = layer
        in_progress.add(id(node))
        if not node.is_input and id(tensor) not in input_ids:
            for t in node.keras_inputs:
                visit(t)
        finished.add(id(node))
        in_progress.discard(id(node))
        nodes_in_decreasing_depth.append(node)

    for t in terminals:
        visit(t)

    node_depths: dict[int, int] = {}
    node_by_id = {id(n): n for n in nodes_in_decreasing_depth}
    layer_depths: dict[int, int] = {}
    for node in reversed(nodes_in_decreasing_depth):
        depth = node_depths.setdefault(id(node), 0)
        depth = max(depth, layer_depths.get(id(node.layer), 0))
        layer_depths[id(node.layer)] = depth
        node_depths[id(node)] = depth
        if node.is_input:
            continue
        for parent in node.parent_nodes:
            node_by_id.setdefault(id(parent), parent)
            node_depths[id(parent)] = max(depth + 1, node_depths.get(id(parent), 0))
    for t in inputs:
        layer = t._keras_history.layer
        if id(layer) not in layer_depths:
            layer_depths[id(layer)] = 0
            layer_indices[id(layer)] = -1
            layers_by_id[id(layer)] = layer
            node = t.node
            node_by_id[id(node)] = node
            node_depths[id(node)] = 0

    nodes_by_depth: dict[int, list] = collections.defaultdict(list)
    for nid, depth in node_depths.items():
        nodes_by_depth[depth].append(node_by_id[nid])
    layers_by_depth: dict[int, list] = collections.defaultdict(list)
    for lid, depth in layer_depths.items():
        layers_by_depth[depth].append(layers_by_id[lid])
    layers: list[Any] = []
    for depth in sorted(layers_by_depth, reverse=True):
        group = sorted(layers_by_depth[depth], key=lambda layer: layer_indices[id(layer)])
        layers.extend(group)

    # Every node must be computable from the inputs.
    computable = set(input_ids)
    done_names: list[str] = []
    order: list[Any] = []
    for depth in sorted(nodes_by_depth, reverse=True):
        for node in nodes_by_depth[depth]:
            skip = node.is_input or all(id(t) in input_ids for t in node._flat_outputs
                                        if isinstance(t, KerasTensor))
            if not skip:
                for t in node.keras_inputs:
                    if id(t) not in computable:
                        raise ValueError(
                            f"Graph disconnected: cannot obtain value for tensor {t!r} at "
                            f'layer "{node.layer.name}". The following previous layers were '
                            f"accessed without issue: {done_names}")
                order.append(node)
            if not node.is_input:  # an InputLayer's tensor is computable iff a model input
                for t in node._flat_outputs:
                    computable.add(id(t))
            done_names.append(node.layer.name)
    names = [layer.name for layer in layers]
    for name in names:
        if names.count(name) != 1:
            raise ValueError(f'The name "{name}" is used {names.count(name)} times in the '
                             "model. All layer names should be unique.")
    return GraphMap(dict(nodes_by_depth), {id(n) for n in node_by_id.values()}, order,
                    layers)


def run_graph(input_refs: list[KerasTensor], values: list[Any], execution_order: list[Any],
              nested_outputs: Any, output_refs: list[KerasTensor]) -> Any:
    """Runs the nodes of `execution_order` on concrete `values` of `input_refs`; returns the
    values of `output_refs` in the structure of `nested_outputs`."""
    computed: dict[int, Any] = {}
    for ref, x in zip(input_refs, values, strict=True):
        computed[id(ref)] = x
    for node in execution_order:
        args, kwargs = node.map_arguments(computed)
        outs = node.layer(*args, **kwargs)
        refs = node._flat_outputs
        if len(refs) == 1 and not isinstance(node.outputs, (list, tuple, dict)):
            computed[id(refs[0])] = outs
        else:
            for ref, value in zip(refs, nest.flatten(outs), strict=True):
                computed[id(ref)] = value
    return nest.pack_sequence_as(nested_outputs, [computed[id(t)] for t in output_refs])
