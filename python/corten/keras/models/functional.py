"""Functional: a model defined by a graph of layers, ``keras.Model(inputs, outputs)``."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

import corten
from corten import _C, nest
from corten.keras.engine import op_layers
from corten.keras.engine.graph import map_graph, run_graph
from corten.keras.engine.input_layer import InputLayer
from corten.keras.engine.keras_tensor import KerasTensor
from corten.keras.layers.base_layer import Layer, _call_context, tracking_changed, unique_layer_name
from corten.keras.models.model import Model
from corten.ops.function import Function, functions_run_eagerly

Tensor = _C.Tensor

__all__ = ["Functional"]

# model(x) replays a compiled forward for batches of at most this many rows (Note [Compiled
# model calls]), keeping at most this many plans per model (one per batch shape).
_COMPILED_CALL_ROWS = 32
_COMPILED_CALL_PLANS = 8


def _sequential_call() -> Any:
    from corten.keras.models.sequential import Sequential

    return Sequential.call


class Functional(Model):
    """A model whose forward pass is a directed acyclic graph of layer calls.

    Build it from the symbolic tensors of ``keras.Input`` and the layers called on them::

        inputs = keras.Input(shape=(784,))
        x = layers.Dense(64, activation="relu")(inputs)
        outputs = layers.Dense(10)(x)
        model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")

    Args:
        inputs: a KerasTensor, or a list or dict of them (the model is then called with a list
            or a dict keyed like it, or by input names).
        outputs: a KerasTensor, or a (nested) list or dict of them.
        name: the model's name.
        trainable: whether the weights are trained.

    Raises:
        ValueError: for inputs or outputs that are not symbolic tensors, a graph in which an
            output does not depend only on the inputs ("Graph disconnected"), or layer names
            used twice.
    """

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None,
                 trainable: bool = True, **kwargs: Any) -> None:
        unknown = set(kwargs) - {"dtype", "dynamic", "autocast"}
        if unknown:
            raise TypeError(f"Functional: unrecognized keyword arguments: {sorted(unknown)}")
        if name is None and type(self) is Functional:
            name = unique_layer_name("model")
        Model.__init__(self, name=name, trainable=trainable)
        self._init_graph_network(inputs, outputs)

    # ------------------------------------------------------------------ graph
    def _init_graph_network(self, inputs: Any, outputs: Any) -> None:
        if isinstance(inputs, list) and len(nest.flatten(inputs)) == 1:
            inputs = inputs[0]
        if isinstance(outputs, list) and len(nest.flatten(outputs)) == 1:
            outputs = outputs[0]
        if isinstance(inputs, tuple) and not hasattr(inputs, "_fields"):
            inputs = list(inputs)
        for what, struct in (("inputs", inputs), ("outputs", outputs)):
            for t in nest.flatten(struct):
                if not isinstance(t, KerasTensor) or t._keras_history is None:
                    kind = "Input" if what == "inputs" else "Output"
                    raise ValueError(
                        f"{kind} tensors of a Functional model must come from `tf.keras.Input` "
                        f"or from layers called on them. Received: {t!r} (missing previous "
                        "layer metadata).")
        d = self.__dict__
        # A graph network does not cast its inputs to its own compute dtype: its layers cast
        # them (a float64 Input keeps its precision into float64 layers), as tf.keras 2's.
        d["_autocast"] = False
        d["_nested_inputs"] = inputs
        d["_nested_outputs"] = outputs
        d["inputs"] = nest.flatten(inputs)
        d["outputs"] = nest.flatten(outputs)
        d["_extra_outputs"] = []    # outputs of AddLoss / AddMetric nodes
        d["_is_graph_network"] = True
        d["_enable_dict_to_input_mapping"] = not isinstance(inputs, Mapping) and all(
            isinstance(t, KerasTensor) for t in (inputs if isinstance(inputs, list) else [inputs]))
        d["input_names"] = [self._input_name(t) for t in self.inputs]
        d["output_names"] = [t._keras_history.layer.name for t in self.outputs]
        d["_input_layers"] = [t._keras_history.layer for t in self.inputs]
        d["_output_layers"] = [t._keras_history.layer for t in self.outputs]
        self._map_graph()
        self.__dict__["built"] = True

    @staticmethod
    def _input_name(t: KerasTensor) -> str:
        layer = t._keras_history.layer
        return layer.name if isinstance(layer, InputLayer) else (t.name or layer.name)

    def _map_graph(self) -> None:
        """Orders the graph between the inputs and the outputs (engine/graph.py) and tracks
        its layers as sublayers, so weights, losses, metrics and `trainable` propagate."""
        graph = map_graph(self.inputs, self.outputs + self._extra_outputs)
        d = self.__dict__
        d["_nodes_by_depth"] = graph.nodes_by_depth
        d["_network_nodes"] = graph.network_nodes
        d["_execution_order"] = graph.execution_order
        d["_functional_layers"] = graph.layers
        self._tracked_layers[:] = list(graph.layers)
        # A compiled model(x) of the old graph must not be replayed (Note [Compiled model
        # calls]).
        d["_call_function"] = None
        d["_compiled_call_eligible"] = None
        tracking_changed()

    # ------------------------------------------------------------------ compiled calls
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        fast = self._compiled_call(args, kwargs)
        if fast is not NotImplemented:
            return fast
        return super().__call__(*args, **kwargs)

    def _compiled_call(self, args: tuple, kwargs: dict) -> Any:
        """Note [Compiled model calls]: ``model(x)`` on a small batch replays a traced plan of
        the forward pass (as ``predict`` does), when nothing about the call needs the eager
        path: one tensor (or float32 array) of at most _COMPILED_CALL_ROWS rows, no ``mask``,
        ``training`` None or False, no tape recording, not inside another layer's call, and a
        graph of built-in layers only, with no Lambda (user code would then run once, at
        tracing, instead of on every call), no activity regularizer (it adds a loss on each
        call) and no masking (outputs carry masks). Anything else: NotImplemented."""
        if len(args) != 1 or (kwargs and (kwargs.keys() - {"training"}
                                          or kwargs["training"] not in (None, False))):
            return NotImplemented
        x = args[0]
        if type(x) is np.ndarray and x.dtype == np.float32 and x.ndim:
            x = corten.convert_to_tensor(x)
        if type(x) is not Tensor or _call_context.stack or _C.trace_active() or _C.is_recording():
            return NotImplemented
        rows = x._shape_tuple[0] if x._shape_tuple else None
        if (rows is None or rows > _COMPILED_CALL_ROWS or x.device.endswith("meta")
                or getattr(x, "_keras_mask", None) is not None
                or functions_run_eagerly() or not self._compiled_call_ok()):
            return NotImplemented
        fn = self.__dict__.get("_call_function")
        if fn is None:
            fn = Function(self._traced_call, name=f"{self.name}.__call__")
            fn._warned = True  # model(x) is eager in tf.keras: no retracing warning for it
            self.__dict__["_call_function"] = fn
        if fn.experimental_get_tracing_count() >= _COMPILED_CALL_PLANS:
            return NotImplemented  # bounds the plans kept for one model
        return fn(x)

    def _traced_call(self, x: Any) -> Any:
        # training None and False mean inference alike for built-in layers.
        return Layer.__call__(self, x, training=False)

    def _compiled_call_ok(self) -> bool:
        ok = self.__dict__.get("_compiled_call_eligible")
        if ok is None:
            from corten.keras.layers.core import Lambda
            from corten.keras.layers.embedding import Embedding

            layers = [layer for model in [self, *self._flatten_layers()]
                      for layer in ([model] if not hasattr(model, "_functional_layers")
                                    else model._functional_layers)]
            ok = (type(self).call in (Functional.call, _sequential_call())
                  and all(type(layer).__module__.startswith("corten.keras.")
                          and not isinstance(layer, Lambda)
                          and layer._activity_regularizer is None
                          and not (isinstance(layer, Embedding) and layer.mask_zero)
                          and type(layer).__name__ != "Masking"
                          for layer in layers))
            self.__dict__["_compiled_call_eligible"] = ok
        return ok

    # ------------------------------------------------------------------ properties
    @property
    def layers(self) -> list[Layer]:
        """The layers of the graph in topological order, InputLayers included."""
        return list(self._functional_layers)

    @property
    def input(self) -> Any:
        """The model's input tensor(s), as given to the constructor."""
        return self._nested_inputs

    @property
    def xs(self) -> Any:
        """The model's input tensor(s): the functional guide's spelling of ``input``
        (``keras.Model(inputs=vgg19.xs, outputs=features_list)``)."""
        return self.input

    @property
    def output(self) -> Any:
        """The model's output tensor(s), as given to the constructor."""
        return self._nested_outputs

    @property
    def input_shape(self) -> Any:
        return nest.map_structure(lambda t: tuple(t._shape_tuple), self._nested_inputs)

    @property
    def output_shape(self) -> Any:
        return nest.map_structure(lambda t: tuple(t._shape_tuple), self._nested_outputs)

    @property
    def _layer_call_argspecs(self) -> dict:
        return {}

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        """The graph in Keras 2's format: ``name``, ``trainable``, ``layers`` (each with its
        ``inbound_nodes``), ``input_layers`` and ``output_layers`` (structures preserved)."""
        return _functional_get_config(self)

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Functional:
        """Rebuilds the model by calling the deserialized layers in order.

        Raises:
            ValueError: for a malformed config or an unknown class (see
                ``keras.saving.deserialize_keras_object``).
        """
        return _functional_from_config(cls, config, custom_objects)

    # ------------------------------------------------------------------ symbolic losses
    def add_loss(self, losses: Any, inputs: Any = None, **kwargs: Any) -> None:
        """Adds losses; a symbolic tensor computed from the model's inputs (e.g. a KL term of
        intermediate outputs) becomes part of the graph and is evaluated on every call."""
        items = nest.flatten(losses) if isinstance(losses, (list, tuple)) else [losses]
        eager = []
        for loss in items:
            if isinstance(loss, KerasTensor):
                out = op_layers.AddLoss(dtype=loss.dtype.name)(loss)
                self._insert_output(out)
            else:
                eager.append(loss)
        if eager:
            Model.add_loss(self, eager, inputs=inputs)

    def add_metric(self, value: Any, name: str | None = None, aggregation: str | None = None,
                   **kwargs: Any) -> None:
        """Tracks the mean of ``value``; a symbolic tensor becomes part of the graph and is
        evaluated on every call."""
        if isinstance(value, KerasTensor):
            if name is None:
                raise ValueError("add_metric: please provide a name for the metric. "
                                 f"Received: value={value!r}")
            out = op_layers.AddMetric(aggregation=aggregation, metric_name=name)(value)
            self._insert_output(out)
            return
        Model.add_metric(self, value, name=name, aggregation=aggregation, **kwargs)

    def _insert_output(self, tensor: KerasTensor) -> None:
        self._extra_outputs.append(tensor)
        try:
            self._map_graph()
        except ValueError:
            self._extra_outputs.pop()
            self._map_graph()
            raise

    # ------------------------------------------------------------------ execution
    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        """Runs the graph on concrete tensors (numpy arrays are converted).

        Args:
            inputs: a tensor, or a list or dict matching the model's inputs (dicts are matched
                by input name).
            training: passed to the layers that accept it.
            mask: optional masks of the inputs.
        """
        flat = self._flatten_inputs(inputs)
        if mask is not None:
            for t, m in zip(flat, nest.flatten(mask)):
                if m is not None and isinstance(t, Tensor):
                    try:
                        t._keras_mask = m
                    except AttributeError:
                        pass
        return run_graph(self.inputs, flat, self._execution_order, self._nested_outputs,
                         self.outputs)

    def _flatten_inputs(self, inputs: Any) -> list[Any]:
        n = len(self.inputs)
        if isinstance(inputs, Mapping):
            if isinstance(self._nested_inputs, Mapping):
                missing = [k for k in self._nested_inputs if k not in inputs]
                if missing:
                    raise ValueError(f"Missing data for input {missing[0]!r}: the model expects "
                                     f"keys {sorted(self._nested_inputs)}. Received keys: "
                                     f"{sorted(inputs)}")
                flat = nest.flatten({k: inputs[k] for k in self._nested_inputs})
            else:
                missing = [k for k in self.input_names if k not in inputs]
                if missing:
                    raise ValueError(f'Missing data for input "{missing[0]}". You passed a data '
                                     f"dictionary with keys {sorted(inputs)}. Expected the "
                                     f"following keys: {self.input_names}")
                extra = [k for k in inputs if k not in self.input_names]
                if extra:
                    warnings.warn(f"Input dict contained keys {extra} which did not match any "
                                  "model input. They will be ignored by the model.", stacklevel=4)
                flat = [inputs[k] for k in self.input_names]
        else:
            flat = nest.flatten(inputs)
        if len(flat) != n:
            raise ValueError(f'Layer "{self.name}" expects {n} input(s), but it received '
                             f"{len(flat)} input tensors. Inputs received: {_describe(flat)}")
        return [self._conform(x, ref, i) for i, (x, ref) in enumerate(zip(flat, self.inputs))]

    def _conform(self, x: Any, ref: KerasTensor, index: int) -> Any:
        if not isinstance(x, Tensor):
            x = corten.convert_to_tensor(np.asarray(x) if not isinstance(x, (int, float))
                                         else x)
        ref_shape = ref._shape_tuple
        shape = x._shape_tuple
        if x.device == "meta" and isinstance(x, KerasTensor):
            return x
        if len(shape) == len(ref_shape) - 1 and ref_shape[-1] == 1:
            x = corten.expand_dims(x, -1)
            shape = x._shape_tuple
        elif len(shape) == len(ref_shape) + 1 and shape[-1] == 1 and len(ref_shape) >= 1:
            x = corten.squeeze(x, -1)
            shape = x._shape_tuple
        if x.dtype != ref.dtype:
            x = corten.cast(x, ref.dtype)
        ok = len(shape) == len(ref_shape) and all(
            a is None or b is None or a == b for a, b in zip(shape, ref_shape))
        if not ok:
            raise ValueError(
                f'Input {index} of layer "{self.name}" is incompatible with the layer: expected '
                f"shape={tuple(ref_shape)}, found shape={tuple(shape)}")
        return x


def _describe(flat: list) -> str:
    return str([getattr(x, "shape", type(x).__name__) for x in flat])


# ---------------------------------------------------------------------- config (Keras 2 format)
_CONSTANT_VALUE = "_CONSTANT_VALUE"
_OP_LAYER_CLASSES = ("TFOpLambda", "AddLoss", "AddMetric")


def _encode_value(value: Any, ref: Any) -> Any:
    """A JSON-compatible form of a call argument. KerasTensors become ``[layer_name,
    node_index, tensor_index]`` references, as tf.keras 2 writes them (it reads no other form);
    _decode_value reads Keras 3's ``__keras_tensor__`` too."""
    from corten.keras.saving import serialization_lib

    if isinstance(value, KerasTensor):
        return ref(value)
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if value is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(value, slice):
        return {"class_name": "__slice__", "config": {
            "start": _encode_value(value.start, ref), "stop": _encode_value(value.stop, ref),
            "step": _encode_value(value.step, ref)}}
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return {"class_name": "__tuple__",
                "config": {"value": [_encode_value(v, ref) for v in value]}}
    if isinstance(value, list):
        return [_encode_value(v, ref) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode_value(v, ref) for k, v in value.items()}
    return serialization_lib.serialize_keras_object(value)


def _decode_value(value: Any, tensor: Any, custom_objects: dict | None,
                  layer_names: Any = ()) -> Any:
    """A call argument of a saved node. In keyword arguments (as tf.keras 2 writes them), a
    ``[layer_name, node_index, tensor_index]`` list naming one of ``layer_names`` is that
    tensor, as in tf.keras 2's ``_deserialize_keras_tensors``."""
    from corten.keras.saving import serialization_lib

    if _is_ref(value) and value[0] in layer_names:
        return tensor(value)
    if isinstance(value, list):
        return [_decode_value(v, tensor, custom_objects, layer_names) for v in value]
    if not isinstance(value, dict):
        return value
    cls = value.get("class_name")
    inner = value.get("config")
    if cls == "__keras_tensor__" and isinstance(inner, dict):
        return tensor(inner.get("keras_history"))
    if cls == "__ellipsis__":
        return Ellipsis
    if cls == "__slice__" and isinstance(inner, dict):
        return slice(*(_decode_value(inner.get(k), tensor, custom_objects)
                       for k in ("start", "stop", "step")))
    if cls == "__tuple__" and isinstance(inner, dict):
        return tuple(_decode_value(v, tensor, custom_objects) for v in inner.get("value", []))
    if "class_name" in value and "config" in value:
        return serialization_lib.deserialize_keras_object(value, custom_objects=custom_objects)
    return {k: _decode_value(v, tensor, custom_objects, layer_names) for k, v in value.items()}


def _positional_names(layer: Layer) -> tuple[list[str], bool]:
    """The names of the positional parameters of the layer's call (of its op function for a
    TFOpLambda), and whether it takes ``*args``."""
    import inspect

    fn = layer.function if isinstance(layer, op_layers.TFOpLambda) else layer.call
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return [], True
    names = [p.name for p in params
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self"]
    return names, any(p.kind is p.VAR_POSITIONAL for p in params)


def _serialize_node(node: Any, ref: Any) -> Any:
    """``[[layer_name, node_index, tensor_index, kwargs], ...]`` for one call (Keras 2): the
    first argument's tensors, the other arguments as keyword arguments."""
    args = list(node.call_args)
    kwargs = dict(node.call_kwargs)
    names, var_args = _positional_names(node.layer)
    if args:
        first = args.pop(0)
    elif names and names[0] in kwargs:
        first = kwargs.pop(names[0])
    else:
        first = kwargs.pop("inputs", None)
    arguments: dict[str, Any] = {}
    if args:
        rest_names = names[1:]
        if len(args) <= len(rest_names) and not any(n in kwargs for n in rest_names[:len(args)]):
            arguments.update(zip(rest_names, args))
        else:
            arguments["__args__"] = list(args)
    arguments.update(kwargs)
    encoded_kwargs = {k: _encode_value(v, ref) for k, v in arguments.items()}

    def leaf(x: Any) -> Any:
        if isinstance(x, KerasTensor):
            return ref(x) + [encoded_kwargs]
        return [_CONSTANT_VALUE, -1, _encode_value(x, ref), encoded_kwargs]

    def walk(x: Any) -> Any:
        if isinstance(x, (list, tuple)) and not hasattr(x, "_fields") and any(
                isinstance(t, KerasTensor) for t in nest.flatten(x)):
            return [walk(v) for v in x]
        if isinstance(x, Mapping) and any(isinstance(t, KerasTensor) for t in nest.flatten(x)):
            return {str(k): walk(v) for k, v in x.items()}
        return leaf(x)

    data = walk(first)
    if _is_leaf(data):
        data = [data]
    return data


def _is_leaf(x: Any) -> bool:
    return (isinstance(x, list) and len(x) in (3, 4) and isinstance(x[0], str)
            and isinstance(x[1], int) and not isinstance(x[1], bool))


def _is_ref(x: Any) -> bool:
    return (isinstance(x, list) and len(x) == 3 and isinstance(x[0], str)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in x[1:]))


def _map_refs(struct: Any, fn: Any) -> Any:
    if _is_ref(struct):
        return fn(struct)
    if isinstance(struct, list):
        return [_map_refs(v, fn) for v in struct]
    if isinstance(struct, dict):
        return {k: _map_refs(v, fn) for k, v in struct.items()}
    raise ValueError(f"Invalid model config: expected [layer_name, node_index, tensor_index] "
                     f"references. Received: {struct!r}")


def _functional_get_config(model: Functional) -> dict:
    from corten.keras.saving import serialization_lib

    network = model._network_nodes
    node_index: dict[int, int] = {}
    kept_nodes: dict[int, list] = {}
    for layer in model.layers:
        kept = [n for n in layer._inbound_nodes if id(n) in network]
        kept_nodes[id(layer)] = kept
        for i, n in enumerate(kept):
            node_index[id(n)] = i

    def ref(t: KerasTensor) -> list:
        layer, ni, ti = t._keras_history
        node = layer._inbound_nodes[ni]
        if id(node) not in node_index:
            raise ValueError(f"Cannot serialize the model {model.name!r}: tensor {t!r} comes from "
                             f"layer {layer.name!r}, which is not part of the model's graph.")
        return [layer.name, node_index[id(node)], ti]

    layer_configs = []
    for layer in model.layers:
        entry = serialization_lib.serialize_keras_object(layer)
        entry.pop("build_config", None)
        entry.pop("compile_config", None)
        layer_configs.append({
            "class_name": entry["class_name"],
            "config": entry["config"],
            "name": layer.name,
            "inbound_nodes": [_serialize_node(n, ref) for n in kept_nodes[id(layer)]
                              if not n.is_input],
            "module": entry.get("module"),
            "registered_name": entry.get("registered_name"),
        })

    def structure(struct: Any) -> Any:
        refs = nest.map_structure(ref, struct)
        if _is_ref(refs):
            refs = [refs]
        return refs

    return {"name": model.name, "trainable": model.trainable, "layers": layer_configs,
            "input_layers": structure(model._nested_inputs),
            "output_layers": structure(model._nested_outputs)}


def is_functional_config(config: Any) -> bool:
    return isinstance(config, Mapping) and "layers" in config and "input_layers" in config \
        and "output_layers" in config


def _functional_from_config(cls: type, config: dict, custom_objects: dict | None) -> Any:
    from corten.keras.saving import serialization_lib
    from corten.keras.saving.object_registration import CustomObjectScope

    if not is_functional_config(config):
        raise ValueError("Invalid functional model config: expected the keys 'layers', "
                         f"'input_layers' and 'output_layers'. Received keys: "
                         f"{sorted(config) if isinstance(config, Mapping) else config!r}")
    op_classes = {name: getattr(op_layers, name) for name in _OP_LAYER_CLASSES}
    created: dict[str, Layer] = {}
    pending: dict[str, list] = {}
    order: list[str] = []
    with CustomObjectScope(custom_objects):
        for entry in config["layers"]:
            if not isinstance(entry, Mapping) or "class_name" not in entry:
                raise ValueError(f"Invalid layer entry in a functional model config: {entry!r}")
            layer_config = {k: entry[k] for k in ("class_name", "config", "module",
                                                   "registered_name") if k in entry}
            layer_config.setdefault("config", {})
            layer = serialization_lib.deserialize_keras_object(
                layer_config, custom_objects=custom_objects, module_objects=op_classes,
                printable_module_name="layer", _only=("keras.layers", "keras"))
            if not isinstance(layer, Layer):
                raise ValueError(f"The config describes a {type(layer).__name__}, not a layer. "
                                 f"Received: class_name={entry.get('class_name')!r}")
            name = entry.get("name", layer.name)
            if name in created:
                raise ValueError(f"Invalid functional model config: the layer name {name!r} is "
                                 "used twice.")
            created[name] = layer
            order.append(name)
            pending[name] = list(entry.get("inbound_nodes") or [])

        produced: dict[tuple[str, int], list] = {}
        counts: dict[str, int] = {}
        for name, layer in created.items():
            if isinstance(layer, InputLayer) and layer._inbound_nodes:
                produced[(name, 0)] = nest.flatten(layer._inbound_nodes[0].outputs)
                counts[name] = 1
            else:
                counts[name] = 0

        class _NotReady(Exception):
            pass

        def tensor(history: Any) -> Any:
            if not _is_ref(list(history)[:3]):
                raise ValueError(f"Invalid tensor reference in a functional model config: "
                                 f"{history!r}")
            key = (history[0], history[1])
            if key not in produced:
                if history[0] not in created:
                    raise ValueError(f"Invalid functional model config: unknown layer "
                                     f"{history[0]!r} referenced.")
                raise _NotReady
            outs = produced[key]
            if not 0 <= history[2] < len(outs):
                raise ValueError(f"Invalid functional model config: layer {history[0]!r} has no "
                                 f"output {history[2]} at node {history[1]}.")
            return outs[history[2]]

        def process(layer: Layer, name: str, data: Any) -> None:
            kwargs_json: Any = None

            def walk(x: Any) -> Any:
                nonlocal kwargs_json
                if _is_leaf(x):
                    if len(x) == 4 and kwargs_json is None:
                        kwargs_json = x[3]
                    if x[0] == _CONSTANT_VALUE:
                        return _decode_value(x[2], tensor, custom_objects)
                    return tensor(x[:3])
                if isinstance(x, list):
                    return [walk(v) for v in x]
                if isinstance(x, dict):
                    return {k: walk(v) for k, v in x.items()}
                raise ValueError(f"Invalid node data in a functional model config: {x!r}")

            first = walk(data)
            if isinstance(first, list) and len(first) == 1 and isinstance(data, list) \
                    and _is_leaf(data[0]):
                first = first[0]
            kwargs = _decode_value(kwargs_json or {}, tensor, custom_objects, created)
            if not isinstance(kwargs, dict):
                raise ValueError(f"Invalid call arguments in a functional model config: "
                                 f"{kwargs_json!r}")
            args = [first] + list(kwargs.pop("__args__", []))
            outputs = layer(*args, **kwargs)
            produced[(name, counts[name])] = nest.flatten(outputs)
            counts[name] += 1

        while any(pending.values()):
            progress = False
            for name in order:
                queue = pending[name]
                while queue:
                    try:
                        process(created[name], name, queue[0])
                    except _NotReady:
                        break
                    queue.pop(0)
                    progress = True
            if not progress:
                stuck = [n for n in order if pending[n]]
                raise ValueError("Invalid functional model config: the calls of layers "
                                 f"{stuck} depend on tensors that no layer produces.")

        def lookup(r: list) -> Any:
            try:
                return tensor(r)
            except _NotReady:
                raise ValueError(f"Invalid functional model config: no tensor {r!r}.") from None

        inputs = _map_refs(config["input_layers"], lookup)
        outputs = _map_refs(config["output_layers"], lookup)
        model = cls(inputs=inputs, outputs=outputs, name=config.get("name"),
                    trainable=config.get("trainable", True))
        in_graph = {id(l) for l in model.layers}
        for name in order:
            layer = created[name]
            if id(layer) in in_graph:
                continue
            for i in range(counts[name]):
                for t in produced.get((name, i), []):
                    if isinstance(t, KerasTensor):
                        try:
                            model._insert_output(t)
                        except ValueError:
                            pass
    return model
