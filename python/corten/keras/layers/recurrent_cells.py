"""Recurrent cells: SimpleRNNCell, LSTMCell, GRUCell (one time step) and StackedRNNCells.

A cell computes one step, ``output, new_states = cell(inputs, states)``, with Keras's gate
order and weight layout (LSTM i, f, c, o; GRU z, r, h), so weights loaded from tf.keras give
the same outputs. The RNN layers (keras.layers.recurrent) run the built-in cells over a whole
sequence with the fused C++ op ``rnn_sequence`` instead of calling the step per time step.
"""

from __future__ import annotations

from typing import Any

import corten
from corten import _C, nest
from corten.keras import activations, constraints, initializers, regularizers
from corten.keras.layers.base_layer import Layer

__all__ = ["SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells"]

# The activations the fused kernel evaluates itself (others run the step in Python).
_FUSED_ACTIVATIONS = ("tanh", "sigmoid", "relu", "hard_sigmoid", "linear")


def _is_meta(x: Any) -> bool:
    return getattr(x, "device", None) == "meta"


def _fused_name(fn: Any) -> str | None:
    name = activations.serialize(fn)
    if name in _FUSED_ACTIVATIONS and activations.get(name) is fn:
        return name
    return None


def _serialize_opt(module: Any, obj: Any) -> Any:
    return None if obj is None else module.serialize(obj)


def _dropout_masks(rate: float, count: int, shape: tuple, dtype: str) -> Any:
    """``count`` Keras dropout masks of ``shape`` (0 or 1 / (1 - rate)), stacked."""
    return corten.nn.dropout(corten.ones((count, *shape), dtype=dtype), rate=rate)


def _build_from_shape(layer: Layer, config: dict) -> None:
    if not isinstance(config, dict):
        raise ValueError(f"{type(layer).__name__}: invalid build_config: expected a JSON "
                         f"object. Received: {config!r}")
    shape = config.get("input_shape")
    if shape is not None and not layer.built:
        layer.build(tuple(shape))


class _RNNCellBase(Layer):
    """Shared arguments and weights of the built-in cells (G gates of `units` each)."""

    _gates = 1

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, **kwargs: Any) -> None:
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Received an invalid value for argument `units`, expected a "
                             f"positive integer, got {units}.")
        super().__init__(**kwargs)
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.__dict__["_step_masks"] = None

    # ------------------------------------------------------------------ weights
    def _bias_shape(self) -> tuple:
        return (self._gates * self.units,)

    def _bias_init(self) -> Any:
        return self.bias_initializer

    def build_from_config(self, config: dict) -> None:
        """Builds from a ``build_config`` with ``build(input_shape)``, as tf.keras: a cell
        cannot be called on zeros without its states (tf.keras's saved RNN configs carry a
        build_config for every cell)."""
        _build_from_shape(self, config)

    def build(self, input_shape: Any) -> None:
        input_dim = tuple(input_shape)[-1]
        if input_dim is None:
            raise ValueError(f"{type(self).__name__}: the last dimension of the inputs must be "
                             f"defined. Received: input_shape={tuple(input_shape)}")
        gh = self._gates * self.units
        self.kernel = self.add_weight(name="kernel", shape=(int(input_dim), gh),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel", shape=(self.units, gh),
            initializer=self.recurrent_initializer, regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint)
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=self._bias_shape(),
                                        initializer=self._bias_init(),
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        else:
            self.bias = None
        self.built = True

    # ------------------------------------------------------------------ states
    @property
    def state_size(self) -> Any:
        return self.units

    @property
    def output_size(self) -> int:
        return self.units

    def get_initial_state(self, inputs: Any = None, batch_size: Any = None,
                          dtype: Any = None) -> Any:
        """Zero states for a batch: a tensor, or a list for LSTM (Keras's cell API)."""
        dtype = dtype or self._dtype
        if inputs is not None:
            batch_size = inputs.shape[0]
            meta = _is_meta(inputs)
        else:
            meta = batch_size is None
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) \
            else [self.state_size]
        make = (lambda n: _C.empty_meta((batch_size, n), dtype)) if meta \
            else (lambda n: corten.zeros((int(batch_size), n), dtype=dtype))
        states = [make(n) for n in sizes]
        return states if isinstance(self.state_size, (list, tuple)) else states[0]

    # ------------------------------------------------------------------ dropout
    def _dropout_counts(self) -> tuple[int, int]:
        # tf.keras uses one mask per gate when recurrent_dropout is set (implementation 1),
        # else one input mask shared by the gates (implementation 2).
        per_gate = self.recurrent_dropout > 0 and self._gates > 1
        return (self._gates if per_gate else 1), self._gates

    def _make_masks(self, batch: int, input_dim: int, training: Any) -> tuple[Any, Any]:
        """(input masks (n, B, F) or None, recurrent masks (G, B, H) or None) for one sequence."""
        if not training:
            return None, None
        n_in, n_rec = self._dropout_counts()
        dp = _dropout_masks(self.dropout, n_in, (batch, input_dim), self._dtype) \
            if 0 < self.dropout < 1 else None
        rdp = _dropout_masks(self.recurrent_dropout, n_rec, (batch, self.units), self._dtype) \
            if 0 < self.recurrent_dropout < 1 else None
        return dp, rdp

    def reset_dropout_mask(self) -> None:
        """Forgets the cached dropout masks (a new sequence draws new ones)."""
        self.__dict__["_step_masks"] = None

    reset_recurrent_dropout_mask = reset_dropout_mask

    def _step_dropout(self, inputs: Any, training: Any) -> tuple[Any, Any]:
        if not training or _is_meta(inputs) or (self.dropout == 0 and self.recurrent_dropout == 0):
            return None, None
        if self._step_masks is None:
            self.__dict__["_step_masks"] = self._make_masks(int(inputs.shape[0]),
                                                            int(inputs.shape[-1]), training)
        return self._step_masks

    # ------------------------------------------------------------------ fused sequence
    def _fused_kind(self) -> str | None:
        """The rnn_sequence cell name, or None when the step must run in Python."""
        return None

    def _projection(self, x: Any, dp: Any) -> Any:
        """The input projections of a whole (time-major) sequence, bias included."""
        from corten.ops import linalg

        bias = self._input_bias()
        if dp is None or int(dp.shape[0]) == 1:
            if dp is not None:
                x = x * dp[0]
            return linalg.linear(x, self.kernel, bias)
        h = self.units
        parts = [linalg.linear(x * dp[g], self.kernel[:, g * h:(g + 1) * h],
                               None if bias is None else bias[g * h:(g + 1) * h])
                 for g in range(self._gates)]
        return corten.concat(parts, axis=-1)

    def _input_bias(self) -> Any:
        return self.bias

    def _recurrent_bias(self) -> Any:
        return None

    def _config_base(self) -> dict:
        return {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": _serialize_opt(regularizers, self.kernel_regularizer),
            "recurrent_regularizer": _serialize_opt(regularizers, self.recurrent_regularizer),
            "bias_regularizer": _serialize_opt(regularizers, self.bias_regularizer),
            "kernel_constraint": _serialize_opt(constraints, self.kernel_constraint),
            "recurrent_constraint": _serialize_opt(constraints, self.recurrent_constraint),
            "bias_constraint": _serialize_opt(constraints, self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
        }


class SimpleRNNCell(_RNNCellBase):
    """One step of a fully connected RNN: ``h = activation(x @ kernel + h_prev @
    recurrent_kernel + bias)`` (tf.keras.layers.SimpleRNNCell).

    Args:
        units: the size of the output and state.
        activation: default tanh.
        use_bias, kernel_initializer ("glorot_uniform"), recurrent_initializer ("orthogonal"),
        bias_initializer ("zeros"), kernel/recurrent/bias regularizer and constraint: as Keras.
        dropout, recurrent_dropout: fractions of the inputs / states dropped in training (one
            mask per sequence, reused at every step).

    Returns (from ``call(inputs, states)``): ``(output, [new_state])``, both (batch, units).
    """

    def call(self, inputs: Any, states: Any, training: Any = None) -> Any:
        prev = states[0] if isinstance(states, (list, tuple)) else states
        dp, rdp = self._step_dropout(inputs, training)
        if dp is not None:
            inputs = inputs * dp[0]
        h = corten.matmul(inputs, self.kernel)
        if self.bias is not None:
            h = h + self.bias
        if rdp is not None:
            prev = prev * rdp[0]
        out = self.activation(h + corten.matmul(prev, self.recurrent_kernel))
        return out, ([out] if isinstance(states, (list, tuple)) else out)

    def _fused_kind(self) -> str | None:
        return "simple_rnn" if _fused_name(self.activation) else None

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(self._config_base())
        return config


class LSTMCell(_RNNCellBase):
    """One step of a long short-term memory cell (tf.keras.layers.LSTMCell).

    Gates i, f, c, o in that order in kernel (input_dim, 4 units), recurrent_kernel
    (units, 4 units) and bias (4 units,): ``c = f * c_prev + i * activation(z_c)``,
    ``h = o * activation(c)``.

    Args:
        units: the size of the output and of each state.
        activation: default tanh; recurrent_activation: the gates' activation, default sigmoid.
        unit_forget_bias: add 1 to the forget gate's bias at initialisation (default True).
        Others: as SimpleRNNCell.

    Returns (from ``call(inputs, [h, c])``): ``(h, [h, c])``.
    """

    _gates = 4

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, **kwargs: Any) -> None:
        implementation = kwargs.pop("implementation", 2)
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint,
                         bias_constraint, dropout, recurrent_dropout, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.implementation = 1 if self.recurrent_dropout != 0 else int(implementation)

    @property
    def state_size(self) -> Any:
        return [self.units, self.units]

    def _bias_init(self) -> Any:
        if not self.unit_forget_bias:
            return self.bias_initializer
        init, units = self.bias_initializer, self.units

        def bias_initializer(shape: Any, dtype: Any = None, **kwargs: Any) -> Any:
            return corten.concat([init((units,), dtype=dtype), corten.ones((units,), dtype=dtype),
                                  init((2 * units,), dtype=dtype)], axis=0)

        return bias_initializer

    def call(self, inputs: Any, states: Any, training: Any = None) -> Any:
        h_prev, c_prev = states[0], states[1]
        dp, rdp = self._step_dropout(inputs, training)
        n = self.units
        z = self._projection(inputs, dp)
        parts = []
        for g in range(4):
            hg = h_prev * rdp[g] if rdp is not None else h_prev
            parts.append(corten.matmul(hg, self.recurrent_kernel[:, g * n:(g + 1) * n]))
        zi, zf, zc, zo = (z[:, g * n:(g + 1) * n] + parts[g] for g in range(4))
        i = self.recurrent_activation(zi)
        f = self.recurrent_activation(zf)
        c = f * c_prev + i * self.activation(zc)
        o = self.recurrent_activation(zo)
        h = o * self.activation(c)
        return h, [h, c]

    def _fused_kind(self) -> str | None:
        ok = _fused_name(self.activation) and _fused_name(self.recurrent_activation)
        return "lstm" if ok else None

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(self._config_base())
        config.update({
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
            "implementation": self.implementation,
        })
        return config


class GRUCell(_RNNCellBase):
    """One step of a gated recurrent unit (tf.keras.layers.GRUCell).

    Gates z, r, h in that order. With ``reset_after=True`` (the default, cuDNN-compatible) the
    reset gate multiplies ``h_prev @ recurrent_kernel_h + recurrent_bias_h`` and the bias has
    shape (2, 3 units) (input bias, recurrent bias); with False it multiplies h_prev before
    the product and the bias has shape (3 units,). ``h = z * h_prev + (1 - z) * hh``.

    Args:
        units, activation (tanh), recurrent_activation (sigmoid), reset_after (True); others as
        SimpleRNNCell.

    Returns (from ``call(inputs, states)``): ``(h, [h])``.
    """

    _gates = 3

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, reset_after: bool = True,
                 **kwargs: Any) -> None:
        implementation = kwargs.pop("implementation", 2)
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint,
                         bias_constraint, dropout, recurrent_dropout, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)
        self.implementation = 1 if self.recurrent_dropout != 0 else int(implementation)

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self) -> Any:
        if self.bias is None:
            return None
        return self.bias[0] if self.reset_after else self.bias

    def _recurrent_bias(self) -> Any:
        return self.bias[1] if (self.bias is not None and self.reset_after) else None

    def call(self, inputs: Any, states: Any, training: Any = None) -> Any:
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        dp, rdp = self._step_dropout(inputs, training)
        n = self.units
        x = self._projection(inputs, dp)
        rk = self.recurrent_kernel
        hz = h_prev * rdp[0] if rdp is not None else h_prev
        hr = h_prev * rdp[1] if rdp is not None else h_prev
        hh_in = h_prev * rdp[2] if rdp is not None else h_prev
        rz = corten.matmul(hz, rk[:, :n])
        rr = corten.matmul(hr, rk[:, n:2 * n])
        rb = self._recurrent_bias()
        if rb is not None:
            rz = rz + rb[:n]
            rr = rr + rb[n:2 * n]
        z = self.recurrent_activation(x[:, :n] + rz)
        r = self.recurrent_activation(x[:, n:2 * n] + rr)
        if self.reset_after:
            rh = corten.matmul(hh_in, rk[:, 2 * n:])
            if rb is not None:
                rh = rh + rb[2 * n:]
            rh = r * rh
        else:
            rh = corten.matmul(r * hh_in, rk[:, 2 * n:])
        hh = self.activation(x[:, 2 * n:] + rh)
        h = z * h_prev + (1 - z) * hh
        return h, ([h] if isinstance(states, (list, tuple)) else h)

    def _fused_kind(self) -> str | None:
        if not (_fused_name(self.activation) and _fused_name(self.recurrent_activation)):
            return None
        return "gru" if self.reset_after else "gru_reset_before"

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(self._config_base())
        config.update({
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "implementation": self.implementation,
            "reset_after": self.reset_after,
        })
        return config


class StackedRNNCells(Layer):
    """Several cells run as one: each step feeds the output of a cell to the next
    (tf.keras.layers.StackedRNNCells).

    Args:
        cells: a list of RNN cells.

    Returns (from ``call(inputs, states)``): ``(output of the last cell, [states of each
    cell])``.
    """

    def __init__(self, cells: list, **kwargs: Any) -> None:
        for cell in cells:
            if "call" not in dir(cell) or not hasattr(cell, "state_size"):
                raise ValueError("All cells must have a `call` method and a `state_size` "
                                 f"attribute. Received cells={cells}")
        super().__init__(**kwargs)
        self.cells = list(cells)

    @property
    def state_size(self) -> tuple:
        return tuple(c.state_size for c in self.cells)

    @property
    def output_size(self) -> Any:
        last = self.cells[-1]
        if getattr(last, "output_size", None) is not None:
            return last.output_size
        size = last.state_size
        return size[0] if isinstance(size, (list, tuple)) else size

    def get_initial_state(self, inputs: Any = None, batch_size: Any = None,
                          dtype: Any = None) -> list:
        """The zero states of every cell, one entry per cell."""
        return [c.get_initial_state(inputs, batch_size, dtype) for c in self.cells]

    def build_from_config(self, config: dict) -> None:
        """Builds from a ``build_config`` with ``build(input_shape)``, as tf.keras: a cell
        cannot be called on zeros without its states (tf.keras's saved RNN configs carry a
        build_config for every cell)."""
        _build_from_shape(self, config)

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        for cell in self.cells:
            _build_cell(cell, shape)
            out = getattr(cell, "output_size", None)
            if out is None:
                size = cell.state_size
                out = size[0] if isinstance(size, (list, tuple)) else size
            shape = shape[:-1] + (int(out),)
        self.built = True

    def call(self, inputs: Any, states: Any, training: Any = None) -> Any:
        new_states = []
        for cell, state in zip(self.cells, states, strict=True):
            is_list = isinstance(state, (list, tuple))
            inputs, ns = _call_cell(cell, inputs, list(state) if is_list else [state], training)
            new_states.append(ns if is_list else ns[0])
        return inputs, new_states

    def reset_dropout_mask(self) -> None:
        """Forgets every cell's cached dropout masks."""
        for cell in self.cells:
            if hasattr(cell, "reset_dropout_mask"):
                cell.reset_dropout_mask()

    def get_config(self) -> dict:
        from corten.keras.saving import serialization_lib

        config = super().get_config()
        config["cells"] = [serialization_lib.serialize_keras_object(c) for c in self.cells]
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> StackedRNNCells:
        from corten.keras.saving import serialization_lib

        config = dict(config)
        cells = [serialization_lib.deserialize_keras_object(c, custom_objects=custom_objects)
                 for c in config.pop("cells")]
        return cls(cells, **config)


def _build_cell(cell: Any, step_shape: tuple) -> None:
    """Builds a cell from the shape of one step's inputs (batch, features)."""
    if isinstance(cell, Layer):
        if not cell.built:
            cell.build(step_shape)
            cell.__dict__["built"] = True
    elif hasattr(cell, "build"):
        cell.build(step_shape)


def _call_cell(cell: Any, inputs: Any, states: list, training: Any) -> tuple[Any, list]:
    """One step of any cell: ``(output, new states as a list)``, as tf.keras's RNN calls it
    (``cell.call(inputs, states[, training])``)."""
    import inspect

    call = cell.call
    try:
        takes_training = "training" in inspect.signature(call).parameters
    except (TypeError, ValueError):
        takes_training = False
    if isinstance(cell, Layer):
        _build_cell(cell, tuple(inputs.shape))
    out, new_states = call(inputs, states, training=training) if takes_training \
        else call(inputs, states)
    if not isinstance(new_states, (list, tuple)):
        new_states = [new_states]
    return out, list(nest.flatten(new_states)) if _flat_states(cell) else list(new_states)


def _flat_states(cell: Any) -> bool:
    return not isinstance(cell, StackedRNNCells)
