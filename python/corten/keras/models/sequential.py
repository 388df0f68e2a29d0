"""Sequential: a plain stack of layers, each with one input and one output."""

from __future__ import annotations

from typing import Any

from corten import _C, nest
from corten.keras.engine.input_layer import Input, InputLayer
from corten.keras.engine.keras_tensor import KerasTensor
from corten.keras.layers.base_layer import Layer, tracking_changed
from corten.keras.models.functional import Functional
from corten.keras.models.model import Model

Tensor = _C.Tensor

__all__ = ["Sequential"]


class Sequential(Functional):
    """A linear stack of layers (tf.keras.Sequential).

    When the input shape is known (a first ``keras.Input``/``InputLayer``, or ``input_shape=``
    on the first layer) the model is a functional graph from the start: ``summary()`` works and
    shape errors appear at ``add``. Otherwise the graph is built on the first call or
    ``build(input_shape)``.

    Args:
        layers: layers to add, in order.
        name: the model's name.

    Example:
        >>> model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2)])
    """

    def __init__(self, layers: Any = None, name: str | None = None, **kwargs: Any) -> None:
        Model.__init__(self, name=name, **{k: v for k, v in kwargs.items()
                                           if k in ("trainable", "dtype")})
        d = self.__dict__
        d["_autocast"] = False       # its layers cast their inputs, as tf.keras 2's Sequential
        d["_seq_layers"] = []
        d["_seq_outputs"] = []       # the output KerasTensor of each layer, once built
        d["_input_tensor"] = None
        d["_graph_ready"] = False
        d["_is_graph_network"] = False
        d["inputs"] = None
        d["outputs"] = None
        d["_extra_outputs"] = []
        d["_functional_layers"] = []
        d["_nodes_by_depth"] = {}
        d["_network_nodes"] = set()
        d["_build_input_shape"] = None
        if layers:
            if not isinstance(layers, (list, tuple)):
                layers = [layers]
            for layer in layers:
                self.add(layer)

    # ------------------------------------------------------------------ structure
    @property
    def layers(self) -> list[Layer]:
        """The added layers (without the InputLayer, as Keras)."""
        return list(self._seq_layers)

    def add(self, layer: Any) -> None:
        """Adds a layer on top of the stack.

        Raises:
            TypeError: if ``layer`` is not a Layer (or a keras.Input tensor).
            ValueError: for a name already used in the model, a layer with several outputs,
                or a layer that cannot take the current output (shape error).
        """
        if isinstance(layer, KerasTensor) and layer._keras_history is not None \
                and isinstance(layer._keras_history.layer, InputLayer):
            layer = layer._keras_history.layer
        if not isinstance(layer, Layer):
            raise TypeError("The added layer must be an instance of class Layer. "
                            f"Received: layer={layer} of type {type(layer)}.")
        if isinstance(layer, InputLayer):
            if self._seq_layers or self._input_tensor is not None:
                raise ValueError("An InputLayer can only be the first layer of a Sequential "
                                 f"model. Received: layer={layer.name!r}")
            self.__dict__["_input_tensor"] = layer._inbound_nodes[0].outputs
            self._rebuild()
            return
        names = [l.name for l in self._seq_layers]
        if layer.name in names:
            raise ValueError(f'All layers added to a Sequential model should have unique names. '
                             f'Name "{layer.name}" is already the name of a layer in this model. '
                             "Update the `name` argument to pass a unique name.")
        if not self._seq_layers and self._input_tensor is None \
                and getattr(layer, "_batch_input_shape", None) is not None:
            self.__dict__["_input_tensor"] = Input(batch_shape=layer._batch_input_shape,
                                                   dtype=layer.dtype)
        self._seq_layers.append(layer)
        if self._input_tensor is not None:
            try:
                self._extend_graph(layer)
            except Exception:
                self._seq_layers.pop()
                raise
        else:
            self._tracked_layers[:] = list(self._seq_layers)
            tracking_changed()
            self.__dict__["built"] = False

    def pop(self) -> None:
        """Removes the last layer.

        Raises:
            TypeError: if there are no layers.
        """
        if not self._seq_layers:
            raise TypeError("There are no layers in the model.")
        self._seq_layers.pop()
        if self._graph_ready:
            self._seq_outputs.pop()
            self._rebuild(extend=False)
        else:
            self._tracked_layers[:] = list(self._seq_layers)
            tracking_changed()

    def _extend_graph(self, layer: Layer) -> None:
        x = self._seq_outputs[-1] if self._seq_outputs else self._input_tensor
        y = layer(x)
        if len(nest.flatten(y)) != 1 or not isinstance(nest.flatten(y)[0], KerasTensor):
            raise ValueError("All layers in a Sequential model should have a single output "
                             "tensor. For multi-output layers, use the functional API.")
        self._seq_outputs.append(nest.flatten(y)[0])
        self._rebuild(extend=False)

    def _rebuild(self, extend: bool = True) -> None:
        if extend:
            self.__dict__["_seq_outputs"] = []
            for layer in self._seq_layers:
                x = self._seq_outputs[-1] if self._seq_outputs else self._input_tensor
                self._seq_outputs.append(nest.flatten(layer(x))[0])
        if not self._seq_layers:
            self.__dict__["_graph_ready"] = False
            self.__dict__["built"] = False
            self._tracked_layers[:] = []
            tracking_changed()
            return
        self._init_graph_network(self._input_tensor, self._seq_outputs[-1])
        self.__dict__["_graph_ready"] = True

    def build(self, input_shape: Any = None) -> None:
        """Builds the graph for inputs of shape ``input_shape`` (batch dimension included)."""
        if self._graph_ready:
            self.__dict__["built"] = True
            return
        if input_shape is None:
            raise ValueError("You must provide an `input_shape` argument.")
        self._build_graph(tuple(input_shape), self.dtype)

    def _build_graph(self, input_shape: tuple, dtype: Any) -> None:
        self.__dict__["_build_input_shape"] = input_shape
        self.__dict__["_input_tensor"] = Input(batch_shape=input_shape, dtype=dtype)
        self._rebuild()
        self.__dict__["built"] = True

    def _maybe_build(self, inputs: Any) -> None:
        if self._graph_ready or not self._seq_layers:
            self.__dict__["built"] = True
            return
        flat = nest.flatten(inputs)
        if len(flat) == 1 and isinstance(flat[0], Tensor):
            shape = flat[0]._shape_tuple
            try:
                # The inferred Input takes the first call's dtype, as tf.keras 2's does (float64
                # rows keep their precision into float64 layers; integer ids stay integers).
                self._build_graph((None,) + tuple(shape[1:]), flat[0].dtype.name)
                return
            except (ValueError, TypeError, NotImplementedError):
                self.__dict__["_input_tensor"] = None
                self.__dict__["_graph_ready"] = False
        self.__dict__["built"] = True

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        if self._graph_ready:
            return Functional.call(self, inputs, training=training, mask=mask)
        outputs = inputs
        for layer in self._seq_layers:
            outputs = layer(outputs)
        return outputs

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        """``{"name", "layers": [layer configs]}`` (the InputLayer first when the model has
        one), plus ``build_input_shape`` for a model built by ``build``/a call."""
        from corten.keras.saving import serialization_lib

        layers = []
        if self._input_tensor is not None and self._build_input_shape is None:
            layers.append(self._input_tensor._keras_history.layer)
        layers.extend(self._seq_layers)
        configs = []
        for layer in layers:
            entry = serialization_lib.serialize_keras_object(layer)
            entry.pop("build_config", None)
            entry.pop("compile_config", None)
            configs.append(entry)
        config: dict[str, Any] = {"name": self.name, "layers": configs}
        if self._build_input_shape is not None:
            config["build_input_shape"] = list(self._build_input_shape)
        return config

    @classmethod
    def from_config(cls, config: Any, custom_objects: dict | None = None) -> Sequential:
        """Rebuilds the model by adding the deserialized layers in order.

        Raises:
            ValueError: for a malformed config or an unknown layer class.
        """
        from corten.keras.saving import serialization_lib
        from corten.keras.saving.object_registration import CustomObjectScope

        if isinstance(config, list):
            config = {"layers": config}
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError("Invalid Sequential config: expected {'name': ..., 'layers': "
                             f"[...]}}. Received: {config!r}")
        with CustomObjectScope(custom_objects):
            model = cls(name=config.get("name"),
                        **({"trainable": config["trainable"]} if "trainable" in config else {}))
            for layer_config in config["layers"]:
                model.add(serialization_lib.deserialize_layer(layer_config,
                                                              custom_objects=custom_objects))
            shape = config.get("build_input_shape")
            if shape is not None and not model._graph_ready:
                model.build(tuple(shape))
        return model

    @property
    def input_shape(self) -> Any:
        if not self._graph_ready:
            raise AttributeError("The Sequential model has no input shape yet: it is built on "
                                 "its first call, or with `build(input_shape)`.")
        return Functional.input_shape.fget(self)

    @property
    def output_shape(self) -> Any:
        if not self._graph_ready:
            raise AttributeError("The Sequential model has no output shape yet: it is built on "
                                 "its first call, or with `build(input_shape)`.")
        return Functional.output_shape.fget(self)
