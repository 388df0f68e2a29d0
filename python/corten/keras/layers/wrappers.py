"""Layer wrappers: Bidirectional (an RNN both ways) and TimeDistributed (a layer per step)."""

from __future__ import annotations

from typing import Any

import numpy as np

import corten
from corten import _C
from corten.keras.layers.base_layer import Layer
from corten.keras.layers.recurrent_cells import _is_meta

__all__ = ["Bidirectional", "TimeDistributed"]

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _serialize(layer: Layer) -> dict:
    from corten.keras.saving import serialization_lib

    return serialization_lib.serialize_keras_object(layer)


def _deserialize(config: dict, custom_objects: dict | None = None) -> Layer:
    from corten.keras.saving import serialization_lib

    return serialization_lib.deserialize_keras_object(config, custom_objects=custom_objects)


def _recreate(layer: Layer, **overrides: Any) -> Layer:
    config = layer.get_config()
    config.update(overrides)
    return type(layer).from_config(config)


class Bidirectional(Layer):
    """Runs an RNN forwards and a copy of it backwards and merges their outputs
    (tf.keras.layers.Bidirectional).

    Args:
        layer: the RNN layer (LSTM, GRU, SimpleRNN, RNN); a fresh copy of it runs forwards.
        merge_mode: "concat" (default), "sum", "mul", "ave", or None for a list of both outputs.
        weights: initial weights (forward then backward), as Keras.
        backward_layer: the layer to run backwards (go_backwards opposite to `layer`, same
            return_sequences and return_state); by default a copy of `layer` with go_backwards
            flipped.

    Both copies output zeros at masked steps when return_sequences is set (tf.keras's
    ``zero_output_for_mask``), and the backward outputs are reversed back into input order.

    Returns:
        The merged output, plus ``[*forward_states, *backward_states]`` with return_state.
    """

    def __init__(self, layer: Layer, merge_mode: str | None = "concat", weights: Any = None,
                 backward_layer: Layer | None = None, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `Bidirectional` layer with a "
                             f"`tf.keras.layers.Layer` instance. Received: {layer}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError("`backward_layer` need to be a `tf.keras.layers.Layer` instance. "
                             f"Received: {backward_layer}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Merge mode should be one of {{'sum', 'mul', "
                             f"'ave', 'concat', None}}. Received: merge_mode={merge_mode}")
        super().__init__(**kwargs)
        self.__dict__["layer"] = layer  # the template: not tracked, as in tf.keras
        self.forward_layer = _recreate(layer, name="forward_" + layer.name)
        if backward_layer is None:
            self.backward_layer = _recreate(layer, name="backward_" + layer.name,
                                            go_backwards=not layer.go_backwards)
        else:
            for attr in ("return_sequences", "return_state"):
                if getattr(backward_layer, attr) != getattr(layer, attr):
                    raise ValueError(f"Forward layer and backward layer should have the same "
                                     f"`{attr}`. forward layer: {getattr(layer, attr)}, "
                                     f"backward layer: {getattr(backward_layer, attr)}")
            if backward_layer.go_backwards == layer.go_backwards:
                raise ValueError("Forward layer and backward layer should have different "
                                 "`go_backwards` value. forward_layer.go_backwards = "
                                 f"{layer.go_backwards}, backward_layer.go_backwards = "
                                 f"{backward_layer.go_backwards}")
            self.backward_layer = backward_layer
        self.__dict__["_backward_given"] = backward_layer is not None
        self.merge_mode = merge_mode
        self.return_sequences = bool(layer.return_sequences)
        self.return_state = bool(layer.return_state)
        for sub in (self.forward_layer, self.backward_layer):
            sub.zero_output_for_mask = self.return_sequences
        self.supports_masking = True
        self.__dict__["_initial_weights"] = weights

    def build(self, input_shape: Any) -> None:
        self.built = True

    def call(self, inputs: Any, training: Any = None, mask: Any = None,
             initial_state: Any = None) -> Any:
        if isinstance(inputs, (list, tuple)):
            if initial_state is None and len(inputs) > 1:
                initial_state = list(inputs[1:])
            inputs = inputs[0]
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        fwd_state = bwd_state = None
        if initial_state is not None:
            states = list(initial_state)
            if len(states) % 2:
                raise ValueError(f"Bidirectional: initial_state must hold the forward and the "
                                 f"backward states (an even count); got {len(states)} states")
            half = len(states) // 2
            fwd_state, bwd_state = states[:half], states[half:]
        y = self.forward_layer(inputs, mask=mask, training=training, initial_state=fwd_state)
        y_rev = self.backward_layer(inputs, mask=mask, training=training,
                                    initial_state=bwd_state)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences and not _is_meta(y_rev):
            axis = 0 if getattr(self.forward_layer, "time_major", False) else 1
            n = int(y_rev.shape[axis])
            y_rev = corten.gather(y_rev, corten.constant(np.arange(n - 1, -1, -1,
                                                                   dtype=np.int32)), axis=axis)
        if self.merge_mode == "concat":
            output = corten.concat([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = [y, y_rev]
        if self.return_state:
            return (output if isinstance(output, list) else [output]) + states
        return output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        out_mask = [out, out] if self.merge_mode is None else out
        if self.return_state:
            n = len(getattr(self.forward_layer.cell, "state_size", [0])) \
                if isinstance(getattr(self.forward_layer.cell, "state_size", 0), (list, tuple)) \
                else 1
            masks = out_mask if isinstance(out_mask, list) else [out_mask]
            return masks + [None] * (2 * n)
        return out_mask

    def reset_states(self, states: Any = None) -> None:
        """Resets both directions' states (stateful layers)."""
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        half = len(states) // 2
        self.forward_layer.reset_states(states[:half])
        self.backward_layer.reset_states(states[half:])

    def get_config(self) -> dict:
        config = super().get_config()
        config["merge_mode"] = self.merge_mode
        config["layer"] = _serialize(self.layer)
        if self._backward_given:
            backward = _serialize(self.backward_layer)
            # Bidirectional sets zero_output_for_mask itself; tf.keras writes the backward
            # layer's config as the user gave it, without the key.
            if isinstance(backward, dict) and isinstance(backward.get("config"), dict):
                backward["config"].pop("zero_output_for_mask", None)
            config["backward_layer"] = backward
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Bidirectional:
        config = dict(config)
        layer = _deserialize(config.pop("layer"), custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            backward = _deserialize(backward, custom_objects)
        return cls(layer, backward_layer=backward, **config)


class TimeDistributed(Layer):
    """Applies a layer to every time step of its input: the time axis is folded into the batch
    axis, so the layer runs once on (batch * timesteps, ...) (tf.keras.layers.TimeDistributed).

    Args:
        layer: the layer applied to each step (its weights are shared over the steps).

    Returns:
        (batch, timesteps, *layer_output_shape).
    """

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `TimeDistributed` layer with a "
                             f"`tf.keras.layers.Layer` instance. Received: {layer}")
        super().__init__(**kwargs)
        self.layer = layer
        self.supports_masking = True

    def _check(self, shape: tuple) -> None:
        if len(shape) < 3:
            raise ValueError("`TimeDistributed` Layer should be passed an `input_shape` with at "
                             f"least 3 dimensions, received: {shape}")

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        self._check(shape)
        self.built = True

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        shape = tuple(inputs.shape)
        self._check(shape)
        batch, steps = shape[0], shape[1]
        meta = _is_meta(inputs)
        inner_batch = None if (batch is None or steps is None) else batch * steps
        if meta:
            inner = _C.empty_meta((inner_batch, *shape[2:]), inputs.dtype.name)
        else:
            inner = corten.reshape(inputs, (-1, *shape[2:]))
        kwargs = {}
        if self.layer._call_accepts_training:
            kwargs["training"] = training
        if mask is not None and self.layer._call_accepts_mask and not meta:
            kwargs["mask"] = corten.reshape(mask, (-1, *tuple(mask.shape)[2:]))
        y = self.layer(inner, **kwargs)
        out_shape = tuple(y.shape)[1:]
        if meta:
            return _C.empty_meta((batch, steps, *out_shape), y.dtype.name)
        return corten.reshape(y, (int(batch), int(steps), *out_shape))

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return mask

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = tuple(input_shape)
        self._check(shape)
        inner = self.layer.compute_output_shape((None, *shape[2:]))
        return corten.TensorShape((shape[0], shape[1], *tuple(inner)[1:]))

    def get_config(self) -> dict:
        config = super().get_config()
        config["layer"] = _serialize(self.layer)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> TimeDistributed:
        config = dict(config)
        layer = _deserialize(config.pop("layer"), custom_objects)
        return cls(layer, **config)
