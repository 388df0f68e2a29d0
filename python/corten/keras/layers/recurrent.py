"""Recurrent layers: RNN(cell), SimpleRNN, LSTM and GRU (tf.keras 2 semantics).

Built-in cells (SimpleRNNCell, LSTMCell, GRUCell and stacks of them) run a whole sequence in
the fused C++ op ``rnn_sequence`` (Note [Fused recurrent sequence], csrc/cpu/rnn.cpp): per step
the input projection, the recurrent product and one gate kernel, forward and backward, with no
Python loop over time; the op reads the layer's inputs and writes its outputs in the layer's
layout (Note [Input projection in the sequence]). Any other cell (a user's Layer
with ``call(inputs, states)`` and ``state_size``, or a built-in cell with an activation the
kernel lacks) runs its Python step once per time step, as tf.keras does.

Masks follow tf_keras ``backend.rnn``: at a masked step the states carry forward unchanged and
the output repeats the previous step's output (zeros at the first step), or is zeros with
``zero_output_for_mask=True``. Padding may be anywhere in the sequence.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import corten
from corten import _C
from corten.keras import activations, regularizers
from corten.keras.layers.base_layer import Layer
from corten.keras.layers.recurrent_cells import (
    GRUCell,
    LSTMCell,
    SimpleRNNCell,
    StackedRNNCells,
    _build_cell,
    _call_cell,
    _fused_name,
    _is_meta,
)

__all__ = ["RNN", "SimpleRNN", "LSTM", "GRU"]

_BUILTIN_CELLS = (SimpleRNNCell, LSTMCell, GRUCell)


def _sizes(size: Any) -> list:
    return list(size) if isinstance(size, (list, tuple)) else [size]


def _flat_state_sizes(cell: Any) -> list[int]:
    if isinstance(cell, StackedRNNCells):
        return [n for c in cell.cells for n in _sizes(c.state_size)]
    return [int(n) for n in _sizes(cell.state_size)]


def _nest_states(cell: Any, flat: list) -> list:
    """The flat state list in the structure ``cell.call`` takes."""
    if not isinstance(cell, StackedRNNCells):
        return list(flat)
    out, i = [], 0
    for c in cell.cells:
        k = len(_sizes(c.state_size))
        out.append(list(flat[i:i + k]) if isinstance(c.state_size, (list, tuple)) else flat[i])
        i += k
    return out


def _flatten_states(cell: Any, nested: list) -> list:
    if not isinstance(cell, StackedRNNCells):
        return list(nested)
    flat = []
    for s in nested:
        flat.extend(s if isinstance(s, (list, tuple)) else [s])
    return flat


def _first_shape(input_shape: Any) -> tuple:
    if isinstance(input_shape, (list, tuple)) and input_shape and \
            not isinstance(input_shape[0], (int, type(None))):
        input_shape = input_shape[0]
    return tuple(input_shape)


def _reverse_time(x: Any, axis: int) -> Any:
    n = int(x.shape[axis])
    return corten.gather(x, corten.constant(np.arange(n - 1, -1, -1, dtype=np.int32)), axis=axis)


class RNN(Layer):
    """Runs a cell over the time steps of its inputs (tf.keras.layers.RNN).

    Args:
        cell: an RNN cell (a layer with ``call(inputs, states)`` returning ``(output,
            new_states)`` and a ``state_size`` attribute), or a list of cells (stacked).
        return_sequences: return the output of every step (batch, timesteps, units) instead of
            the last one.
        return_state: also return the final states (``[output, *states]``).
        go_backwards: process the sequence backwards (the outputs come in processing order).
        stateful: the final states of a batch are the initial states of the next one (fixed
            batch size; ``reset_states()`` zeroes them).
        unroll: accepted for compatibility (the fused kernel needs no unrolling).
        time_major: inputs and outputs are (timesteps, batch, ...).
        zero_output_for_mask: masked steps output zeros instead of the previous output.

    Call arguments: ``inputs`` (batch, timesteps, features) or ``[inputs, *initial_state]``,
    ``mask`` (batch, timesteps) bool, ``training``, ``initial_state`` (a list of tensors).

    Returns:
        The output (batch, units) or sequence, plus the final states with return_state.
    """

    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 time_major: bool = False, **kwargs: Any) -> None:
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if "call" not in dir(cell):
            raise ValueError(f"Argument `cell` should have a `call` method. Received: cell={cell}")
        if not hasattr(cell, "state_size"):
            raise ValueError("The RNN cell should have a `state_size` attribute (tuple of "
                             f"integers, one integer per RNN state). Received: cell={cell}")
        zero_output_for_mask = bool(kwargs.pop("zero_output_for_mask", False))
        if "input_shape" not in kwargs and ("input_dim" in kwargs or "input_length" in kwargs):
            kwargs["input_shape"] = (kwargs.pop("input_length", None),
                                     kwargs.pop("input_dim", None))
        kwargs.pop("input_length", None)
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.time_major = bool(time_major)
        self.zero_output_for_mask = zero_output_for_mask
        self.supports_masking = True
        self.__dict__["states"] = None
        self.__dict__["_state_batch"] = None

    # ------------------------------------------------------------------ build
    def build(self, input_shape: Any) -> None:
        shape = _first_shape(input_shape)
        if len(shape) != 3:
            raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the layer: "
                             f"expected ndim=3, found ndim={len(shape)}. Full shape received: "
                             f"{shape}")
        batch = shape[1] if self.time_major else shape[0]
        _build_cell(self.cell, (batch, shape[2]))
        if self.stateful:
            self.__dict__["_state_batch"] = batch
            self.reset_states()
        self.built = True

    # ------------------------------------------------------------------ states
    def reset_states(self, states: Any = None) -> None:
        """Sets the states of a stateful layer to zeros, or to the given values."""
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        batch = self._state_batch
        if batch is None:
            raise ValueError("If a RNN is stateful, it needs to know its batch size. Specify the "
                             "batch size of your input tensors: pass `batch_input_shape` (or "
                             "`batch_size` with an Input layer) to the first layer.")
        sizes = _flat_state_sizes(self.cell)
        if states is None:
            self.__dict__["states"] = [corten.zeros((batch, n), dtype=self._dtype)
                                       for n in sizes]
            return
        values = states if isinstance(states, (list, tuple)) else [states]
        if len(values) != len(sizes):
            raise ValueError(f"Layer {self.name} expects {len(sizes)} states, but it received "
                             f"{len(values)} state values. States received: {states}")
        new = []
        for i, (v, n) in enumerate(zip(values, sizes, strict=True)):
            arr = np.asarray(v.numpy() if hasattr(v, "numpy") else v)
            if arr.shape != (batch, n):
                raise ValueError(f"State {i} is incompatible with layer {self.name}: expected "
                                 f"shape={(batch, n)} but found shape={arr.shape}")
            new.append(corten.constant(arr.astype(self._dtype)))
        self.__dict__["states"] = new

    def get_initial_state(self, inputs: Any) -> list:
        """Zero initial states for ``inputs`` (batch-major or time-major as the layer)."""
        batch = inputs.shape[1] if self.time_major else inputs.shape[0]
        meta = _is_meta(inputs)
        dt = self._dtype
        if meta or batch is None:
            return [_C.empty_meta((batch, n), dt) for n in _flat_state_sizes(self.cell)]
        if _C.trace_holds(inputs):
            # Traced, the zeros take the batch from the inputs when the plan runs, so that the
            # plan serves every batch size (Note [Relaxed plans]).
            column = inputs[0, :, :1] if self.time_major else inputs[:, 0, :1]
            zero = _C.full_like(column, 0.0, dt)
            return [corten.tile(zero, [1, n]) for n in _flat_state_sizes(self.cell)]
        return [corten.zeros((int(batch), n), dtype=dt) for n in _flat_state_sizes(self.cell)]

    # ------------------------------------------------------------------ call
    def call(self, inputs: Any, mask: Any = None, training: Any = None,
             initial_state: Any = None) -> Any:
        if isinstance(inputs, (list, tuple)):
            if initial_state is None and len(inputs) > 1:
                initial_state = list(inputs[1:])
            inputs = inputs[0]
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        shape = tuple(inputs.shape)
        if len(shape) != 3:
            raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the layer: "
                             f"expected ndim=3, found ndim={len(shape)}. Full shape received: "
                             f"{shape}")
        if not inputs.dtype.is_floating:
            inputs = corten.cast(inputs, self._dtype)
        states = self._initial_states(initial_state, inputs)
        if mask is not None and mask.dtype.name != "bool":
            mask = corten.cast(mask, "bool")
        if self._fusable():
            # The fused op reads and writes the layer's own layout (no transposes), and returns
            # only the last output unless return_sequences.
            output, final = self._run_fused(inputs, states, mask, training)
        else:
            x_tm = inputs if self.time_major else corten.transpose(inputs, [1, 0, 2])
            y_tm, final = self._run_steps(x_tm, states, mask, training)
            if self.return_sequences:
                output = y_tm if self.time_major else corten.transpose(y_tm, [1, 0, 2])
            else:
                output = y_tm[-1]
        if self.stateful and not _is_meta(inputs):
            self.__dict__["states"] = [corten.stop_gradient(s) for s in final]
        if self.return_state:
            return [output, *final]
        return output

    def _initial_states(self, initial_state: Any, inputs: Any) -> list:
        sizes = _flat_state_sizes(self.cell)
        if initial_state is None:
            if self.stateful and self.states is not None and not _is_meta(inputs):
                return list(self.states)
            return self.get_initial_state(inputs)
        flat = [initial_state] if not isinstance(initial_state, (list, tuple)) \
            else _flatten_states(self.cell, list(initial_state))
        if len(flat) != len(sizes):
            raise ValueError(f"Layer {self.name} expects {len(sizes)} state(s), but it received "
                             f"{len(flat)} initial state(s). Input received: {initial_state}")
        batch = inputs.shape[1] if self.time_major else inputs.shape[0]
        out = []
        for i, (s, n) in enumerate(zip(flat, sizes, strict=True)):
            s = corten.convert_to_tensor(s, dtype=self._dtype) if not hasattr(s, "shape") else s
            want = (batch, n)
            got = tuple(s.shape)
            if len(got) != 2 or got[1] != n or (None not in (got[0], batch) and got[0] != batch):
                raise ValueError(f"An `initial_state` was passed that is not compatible with "
                                 f"`cell.state_size` in layer {self.name}: state {i} must have "
                                 f"shape {want}; received shape={got}")
            out.append(s)
        return out

    def _cells(self) -> list:
        return list(self.cell.cells) if isinstance(self.cell, StackedRNNCells) else [self.cell]

    def _fusable(self) -> bool:
        for c in self._cells():
            base = next((b for b in _BUILTIN_CELLS if isinstance(c, b)), None)
            if base is None or type(c).call is not base.call or c._fused_kind() is None:
                return False
        return True

    def _run_fused(self, x: Any, states: list, mask: Any, training: Any) -> tuple[Any, list]:
        """Every cell's whole sequence in one rnn_sequence op each, on x in the layer's layout
        (time-major or batch-major); returns the last cell's outputs in that layout (its last
        output only, (B, H), unless return_sequences) and the final states. The op projects
        its input itself (Note [Input projection in the sequence]) unless the cell draws one
        input dropout mask per gate."""
        cells = self._cells()
        go_backwards = self.go_backwards
        t_axis = 0 if self.time_major else 1
        batch_major = not self.time_major
        if go_backwards and len(cells) > 1 and not _is_meta(x):
            # Stacked: the first cell's outputs come in processing order, so every later cell
            # reads them forwards; reversing the inputs once gives the same result.
            x = _reverse_time(x, t_axis)
            mask = _reverse_time(mask, 1) if mask is not None else None
            go_backwards = False
        y, final, i = x, [], 0
        meta = _is_meta(x)
        for n, c in enumerate(cells):
            whole = self.return_sequences or n + 1 < len(cells)
            kind = c._fused_kind()
            lstm = kind == "lstm"
            h0, c0 = states[i], (states[i + 1] if lstm else None)
            i += 2 if lstm else 1
            batch = int(y.shape[1 - t_axis]) if not meta else None
            dp, rdp = (None, None) if meta else c._make_masks(batch, int(y.shape[2]), training)
            rec = _fused_name(getattr(c, "recurrent_activation", None) or activations.sigmoid)
            args = (h0, c0, c.recurrent_kernel, c._recurrent_bias(), mask, rdp,
                    _fused_name(c.activation), rec or "sigmoid", go_backwards,
                    self.zero_output_for_mask)
            if dp is None or int(dp.shape[0]) == 1:
                xin = y if dp is None else y * (dp[0] if self.time_major else dp[0][:, None])
                outs = _C.rnn_sequence(kind, xin, *args, kernel=c.kernel,
                                       bias=c._input_bias(), batch_major=batch_major,
                                       return_sequences=whole)
                y = outs[0]
            else:
                # One input mask per gate (with recurrent dropout): the projections here,
                # time-major.
                y_tm = y if self.time_major else corten.transpose(y, [1, 0, 2])
                outs = _C.rnn_sequence(kind, c._projection(y_tm, dp), *args,
                                       return_sequences=whole)
                y = outs[0] if self.time_major or not whole else \
                    corten.transpose(outs[0], [1, 0, 2])
            final.extend(outs[1:])
        return y, final

    def _run_steps(self, x_tm: Any, states: list, mask: Any, training: Any) -> tuple[Any, list]:
        cell = self.cell
        if hasattr(cell, "reset_dropout_mask"):
            cell.reset_dropout_mask()
        steps = x_tm.shape[0]
        if _is_meta(x_tm) or steps is None:
            out, new = _call_cell(cell, x_tm[0] if steps else _C.empty_meta(
                tuple(x_tm.shape[1:]), x_tm.dtype.name), _nest_states(cell, states), training)
            new = _flatten_states(cell, new)
            y = _C.empty_meta((steps, *tuple(out.shape)), out.dtype.name)
            return y, [_C.empty_meta(tuple(s.shape), s.dtype.name) for s in new]
        outputs, prev = [], None
        for s in range(int(steps)):
            t = int(steps) - 1 - s if self.go_backwards else s
            out, new = _call_cell(cell, x_tm[t], _nest_states(cell, states), training)
            new = _flatten_states(cell, new)
            if mask is not None:
                m = mask[:, t:t + 1]
                if prev is None or self.zero_output_for_mask:
                    prev = corten.zeros_like(out)
                out = corten.where(m, out, prev)
                new = [corten.where(m, n, o) for n, o in zip(new, states, strict=True)]
            outputs.append(out)
            prev, states = out, new
        if hasattr(cell, "reset_dropout_mask"):
            cell.reset_dropout_mask()
        return corten.stack(outputs, axis=0), states

    # ------------------------------------------------------------------ shapes, masks
    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        if self.return_state:
            return [out] + [None] * len(_flat_state_sizes(self.cell))
        return out

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = _first_shape(input_shape)
        batch = shape[1] if self.time_major else shape[0]
        out_size = getattr(self.cell, "output_size", None)
        if out_size is None:
            out_size = _flat_state_sizes(self.cell)[0]
        if self.return_sequences:
            out = (shape[0], shape[1], out_size)
        else:
            out = (batch, out_size)
        out = corten.TensorShape(out)
        if self.return_state:
            return [out] + [corten.TensorShape((batch, n)) for n in _flat_state_sizes(self.cell)]
        return out

    def get_config(self) -> dict:
        from corten.keras.saving import serialization_lib

        config = super().get_config()
        config.update({
            "return_sequences": self.return_sequences, "return_state": self.return_state,
            "go_backwards": self.go_backwards, "stateful": self.stateful,
            "unroll": self.unroll, "time_major": self.time_major,
        })
        if self.zero_output_for_mask:
            config["zero_output_for_mask"] = True
        config["cell"] = serialization_lib.serialize_keras_object(self.cell)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> RNN:
        from corten.keras.saving import serialization_lib

        config = dict(config)
        cell = serialization_lib.deserialize_keras_object(config.pop("cell"),
                                                          custom_objects=custom_objects)
        return cls(cell, **config)


# ---------------------------------------------------------------------------- built-in layers

_CELL_KEYS = ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
              "recurrent_initializer", "bias_initializer", "unit_forget_bias",
              "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
              "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
              "recurrent_dropout", "implementation", "reset_after")


class _CellLayer(RNN):
    """An RNN over its own built-in cell, with the cell's arguments as attributes."""

    _cell_cls: type = SimpleRNNCell
    _cell_name = "simple_rnn_cell"

    def __init__(self, cell_kwargs: dict, rnn_kwargs: dict) -> None:
        kwargs = rnn_kwargs.pop("kwargs")
        if "enable_caching_device" in kwargs:
            kwargs.pop("enable_caching_device")
        cell = self._cell_cls(**cell_kwargs, dtype=kwargs.get("dtype"),
                              trainable=kwargs.get("trainable", True), name=self._cell_name)
        super().__init__(cell, **rnn_kwargs, **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        config.pop("cell", None)
        config.update(cell_config)
        config["activity_regularizer"] = None if self.activity_regularizer is None \
            else regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> RNN:
        config = dict(config)
        config.pop("cell", None)
        return cls(**config)


def _cell_property(key: str) -> property:
    return property(lambda self: getattr(self.cell, key), doc=f"The cell's ``{key}``.")


for _key in _CELL_KEYS:
    setattr(_CellLayer, _key, _cell_property(_key))


def _rnn_kwargs(return_sequences, return_state, go_backwards, stateful, time_major, unroll,
                activity_regularizer, kwargs) -> dict:
    return {"return_sequences": return_sequences, "return_state": return_state,
            "go_backwards": go_backwards, "stateful": stateful, "time_major": time_major,
            "unroll": unroll, "kwargs": dict(kwargs, activity_regularizer=activity_regularizer)}


class SimpleRNN(_CellLayer):
    """Fully connected RNN whose output is fed back as its state (tf.keras.layers.SimpleRNN).

    Args:
        units: the size of the output and state. activation (tanh), use_bias, the initializers
        (kernel glorot_uniform, recurrent orthogonal, bias zeros), regularizers, constraints,
        dropout, recurrent_dropout: as SimpleRNNCell. return_sequences, return_state,
        go_backwards, stateful, unroll, time_major: as RNN.

    Returns:
        (batch, units), or (batch, timesteps, units) with return_sequences, plus the final state
        with return_state.
    """

    _cell_cls = SimpleRNNCell
    _cell_name = "simple_rnn_cell"

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, **kwargs: Any) -> None:
        time_major = kwargs.pop("time_major", False)
        super().__init__(
            dict(units=units, activation=activation, use_bias=use_bias,
                 kernel_initializer=kernel_initializer,
                 recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                 kernel_regularizer=kernel_regularizer,
                 recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                 kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                 bias_constraint=bias_constraint, dropout=dropout,
                 recurrent_dropout=recurrent_dropout),
            _rnn_kwargs(return_sequences, return_state, go_backwards, stateful, time_major,
                        unroll, activity_regularizer, kwargs))


class LSTM(_CellLayer):
    """Long short-term memory layer (tf.keras.layers.LSTM), on the fused C++ kernel.

    Args:
        units: the size of the output and states. activation (tanh), recurrent_activation
        (sigmoid), use_bias, initializers, unit_forget_bias (True), regularizers, constraints,
        dropout, recurrent_dropout: as LSTMCell. return_sequences, return_state, go_backwards,
        stateful, time_major, unroll: as RNN.

    Returns:
        (batch, units), or (batch, timesteps, units) with return_sequences; with return_state
        ``[output, h, c]``.
    """

    _cell_cls = LSTMCell
    _cell_name = "lstm_cell"

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, time_major: bool = False,
                 unroll: bool = False, **kwargs: Any) -> None:
        implementation = kwargs.pop("implementation", 2)
        super().__init__(
            dict(units=units, activation=activation, recurrent_activation=recurrent_activation,
                 use_bias=use_bias, kernel_initializer=kernel_initializer,
                 recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                 unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
                 recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                 kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                 bias_constraint=bias_constraint, dropout=dropout,
                 recurrent_dropout=recurrent_dropout, implementation=implementation),
            _rnn_kwargs(return_sequences, return_state, go_backwards, stateful, time_major,
                        unroll, activity_regularizer, kwargs))


class GRU(_CellLayer):
    """Gated recurrent unit layer (tf.keras.layers.GRU), on the fused C++ kernel.

    Args:
        units: the size of the output and state. activation (tanh), recurrent_activation
        (sigmoid), use_bias, initializers, regularizers, constraints, dropout,
        recurrent_dropout, reset_after (True: bias of shape (2, 3 units)): as GRUCell.
        return_sequences, return_state, go_backwards, stateful, unroll, time_major: as RNN.

    Returns:
        (batch, units), or (batch, timesteps, units) with return_sequences, plus the final state
        with return_state.
    """

    _cell_cls = GRUCell
    _cell_name = "gru_cell"

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, time_major: bool = False, reset_after: bool = True,
                 **kwargs: Any) -> None:
        implementation = kwargs.pop("implementation", 2)
        super().__init__(
            dict(units=units, activation=activation, recurrent_activation=recurrent_activation,
                 use_bias=use_bias, kernel_initializer=kernel_initializer,
                 recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                 kernel_regularizer=kernel_regularizer,
                 recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                 kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                 bias_constraint=bias_constraint, dropout=dropout,
                 recurrent_dropout=recurrent_dropout, implementation=implementation,
                 reset_after=reset_after),
            _rnn_kwargs(return_sequences, return_state, go_backwards, stateful, time_major,
                        unroll, activity_regularizer, kwargs))


