"""The Keras Layer: state (weights) plus a computation (``call``), with tf.keras 2 semantics."""

from __future__ import annotations

import inspect
import json
import re
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

import corten
from corten import _C, nest
from corten.keras import backend, constraints, initializers, nested_lists, regularizers
from corten.keras.layers import tracking
from corten.keras.mixed_precision import policy as policy_lib
from corten.ops.initializers import weight_stream
from corten.ops.variables import Variable, trainable_changes
from corten.tensor_shape import TensorShape

__all__ = ["Layer"]

Tensor = _C.Tensor


def _to_snake_case(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()
    return "private" + s if s.startswith("_") else s


def unique_layer_name(base: str) -> str:
    """``base``, then ``base_1``, ``base_2``, ... until clear_session()."""
    uid = backend.get_uid(base)
    return base if uid == 1 else f"{base}_{uid - 1}"


# Note [Call context]
# A thread-local stack of the layers being called. The outermost call resets the losses of
# every layer it reaches, decides `training` for the calls nested in it, and names the layer
# path in error messages ("autoencoder/encoder/dense_1").
class _CallContext(threading.local):
    def __init__(self) -> None:
        self.stack: list[tuple[Layer, Any]] = []


_call_context = _CallContext()
_HALF_DTYPES = ("float16", "bfloat16")


def in_call() -> bool:
    return bool(_call_context.stack)


def _is_symbolic(x: Any) -> bool:
    return isinstance(x, Tensor) and x.device == "meta"


def _convert_inputs(inputs: Any, layer_name: str = "") -> Any:
    t = type(inputs)
    if t is Tensor or ((t is tuple or t is list) and all(type(x) is Tensor for x in inputs)):
        return inputs

    def conv(x):
        if isinstance(x, (np.ndarray, np.generic, float, int, str, bytes)) and not isinstance(x, bool):
            return corten.convert_to_tensor(x)
        return x

    if isinstance(inputs, (list, tuple)) and nested_lists.is_list_of_scalars(inputs):
        return corten.convert_to_tensor(
            nested_lists.list_to_array(inputs, f"the input of layer {layer_name!r}"))
    if isinstance(inputs, (list, tuple, dict)):
        return nest.map_structure(conv, inputs)
    return conv(inputs)


def _shape_of(inputs: Any) -> Any:
    if isinstance(inputs, (list, tuple, dict)):
        return nest.map_structure(lambda t: TensorShape(t.shape) if isinstance(t, Tensor) else t,
                                  inputs)
    return TensorShape(inputs.shape) if isinstance(inputs, Tensor) else inputs


class Layer:
    """Base class of all layers (tf.keras.layers.Layer).

    Subclasses create weights in ``__init__`` or ``build(input_shape)`` and compute in
    ``call(inputs, ...)``. Variables, layers and (nested) lists/dicts/tuples of them assigned as
    attributes are tracked: they appear in ``weights``, ``trainable_weights``,
    ``non_trainable_weights`` and ``layers``-style traversals.

    Args:
        trainable: whether the layer's weights are trained (``trainable_weights``).
        name: the layer's name; by default the snake_case class name made unique
            (``linear``, ``linear_1``, ...).
        dtype: the layer's dtype policy (``keras.mixed_precision.Policy``, or its name:
            ``"mixed_bfloat16"``, or a dtype such as ``"float32"``); the global policy by
            default (float32 unless ``keras.mixed_precision.set_global_policy`` was called).
    """

    def __new__(cls, *args: Any, **kwargs: Any):
        obj = super().__new__(cls)
        # Constructor arguments, for the default get_config of subclasses.
        obj.__dict__["_init_args"] = (args, dict(kwargs))
        return obj

    def __init__(self, trainable: bool = True, name: str | None = None, dtype: Any = None,
                 dynamic: bool = False, **kwargs: Any) -> None:
        allowed = {"input_shape", "batch_input_shape", "batch_size", "input_dim", "weights",
                   "activity_regularizer", "autocast", "input_length"}
        unknown = set(kwargs) - allowed
        if unknown:
            raise TypeError(f"Keyword argument not understood: {sorted(unknown)[0]!r} "
                            f"(layer {type(self).__name__})")
        d = self.__dict__
        d["_trainable"] = bool(trainable)
        base = _to_snake_case(type(self).__name__)
        d["_name"] = name if name else unique_layer_name(base)
        if not isinstance(self._name, str):
            raise TypeError(f"Layer name must be a string. Received: name={name!r}")
        # Note [Weight streams]
        # Unseeded initial weights are drawn from a stream keyed by (stream name, occurrence,
        # weight): the stream name is the layer's given name, or its class's for a generated
        # one ("dense", not "dense_3"), and the occurrence counts the layers of that stream
        # name since the global seed was last set. So a layer's initial weights do not depend
        # on layers of other names, a second layer of one name (a clone) gets new values, and
        # set_random_seed(42) before the same model code gives the same weights every time.
        d["_stream_name"] = name if name else base
        d["_stream_id"] = backend.weight_stream_id(d["_stream_name"])
        policy = policy_lib.get(dtype)
        d["_dtype_policy"] = policy
        d["_dtype"] = policy.variable_dtype or backend.floatx()
        d["_compute_dtype"] = policy.compute_dtype or backend.floatx()
        d["built"] = False
        d["_own_variables"] = []          # in tracking order
        d["_tracked_layers"] = []          # direct sublayers, in tracking order
        d["_eager_losses"] = []
        d["_callable_losses"] = []
        d["_metrics"] = []
        d["_metrics_by_name"] = {}
        d["supports_masking"] = False
        d["_autocast"] = kwargs.get("autocast", True)
        d["_activity_regularizer"] = regularizers.get(kwargs.get("activity_regularizer"))
        d["_inbound_nodes"] = []
        d["_outbound_nodes"] = []
        batch_input_shape = kwargs.get("batch_input_shape")
        if batch_input_shape is None and "input_shape" in kwargs:
            batch_input_shape = (kwargs.get("batch_size"),) + tuple(kwargs["input_shape"])
        elif batch_input_shape is None and "input_dim" in kwargs:
            batch_input_shape = (kwargs.get("batch_size"), kwargs["input_dim"])
        d["_batch_input_shape"] = tuple(batch_input_shape) if batch_input_shape is not None else None
        d["_initial_weights"] = kwargs.get("weights")
        sig = inspect.signature(self.call)
        d["_call_accepts_training"] = "training" in sig.parameters
        d["_call_accepts_mask"] = "mask" in sig.parameters
        d["_call_accepts_kwargs"] = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
        default = sig.parameters["training"].default if self._call_accepts_training else None
        d["_call_training_default"] = None if default is inspect.Parameter.empty else default

    # ------------------------------------------------------------------ tracking
    def __setattr__(self, name: str, value: Any) -> None:
        if "_own_variables" not in self.__dict__ and not name.startswith("_"):
            if isinstance(value, (Layer, Variable)) or (
                    isinstance(value, (list, tuple, dict)) and any(
                        isinstance(v, (Layer, Variable)) for v in nest.flatten(value))):
                raise RuntimeError(
                    f"It looks like you are subclassing `{type(self).__name__}` and forgot to call "
                    "`super().__init__()`. Always start with this line.")
        if name.startswith("__") or "_own_variables" not in self.__dict__:
            super().__setattr__(name, value)
            return
        if not name.startswith("_") or name == "_layers":
            value = tracking.wrap(value, self)  # Note [Tracked containers]
        old = self.__dict__.get(name)
        super().__setattr__(name, value)
        # As tf.keras 2: a reassigned attribute's old layers and variables are untracked
        # unless still held elsewhere.
        if isinstance(value, _TRACKABLE):
            self._track(value)
        if old is not None and old is not value and isinstance(old, _TRACKABLE):
            self._untrack(old)

    def __delattr__(self, name: str) -> None:
        value = self.__dict__.get(name)
        super().__delattr__(name)
        self._untrack(value)

    def _untrack(self, value: Any) -> None:
        """Stops tracking the layers and variables of `value` that this layer no longer holds."""
        leaves = nest.flatten(value) if isinstance(value, (list, tuple, dict)) else [value]
        for v in leaves:
            if isinstance(v, Layer) and v in self._tracked_layers and not self._still_referenced(v):
                self._tracked_layers.remove(v)
                tracking_changed()
            elif isinstance(v, Variable) and any(v is w for w in self._own_variables) \
                    and not self._still_referenced(v):
                self._own_variables[:] = [w for w in self._own_variables if w is not v]
                tracking_changed()

    def _still_referenced(self, obj: Any) -> bool:
        for name, value in self.__dict__.items():
            if name in _BOOKKEEPING:
                continue
            leaves = nest.flatten(value) if isinstance(value, (list, tuple, dict)) else [value]
            if any(leaf is obj for leaf in leaves):
                return True
        return False

    def _track(self, value: Any) -> None:
        leaves = nest.flatten(value) if isinstance(value, (list, tuple, dict)) else [value]
        for v in leaves:
            if isinstance(v, Layer) and v is not self:
                if not any(v is l for l in self._tracked_layers):
                    self._tracked_layers.append(v)
                    tracking_changed()
            elif isinstance(v, Variable):
                if not any(v is w for w in self._own_variables):
                    self._own_variables.append(v)
                    tracking_changed()

    def _flatten_layers(self, include_self: bool = True, recursive: bool = True) -> list[Layer]:
        if include_self and recursive:
            # The whole tree is asked for on every step (losses, metrics).
            return cached(self, "_flat_layers_cache", _tracking_key,
                          lambda: self._collect_layers(True, True))
        return self._collect_layers(include_self, recursive)

    def _collect_layers(self, include_self: bool, recursive: bool) -> list[Layer]:
        out: list[Layer] = []
        seen: set[int] = set()
        if include_self:
            seen.add(id(self))
            out.append(self)
        stack = list(self._sublayers())
        while stack:
            layer = stack.pop(0)
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            out.append(layer)
            if recursive:
                stack = list(layer._sublayers()) + stack
        return out

    def _sublayers(self) -> list[Layer]:
        return list(self._tracked_layers)

    # ------------------------------------------------------------------ properties
    @property
    def name(self) -> str:
        return self._name

    @property
    def dtype(self) -> str:
        """The dtype of the layer's variables (its policy's variable dtype)."""
        return self._dtype

    @property
    def dtype_policy(self) -> policy_lib.Policy:
        """The layer's ``keras.mixed_precision.Policy``."""
        return self._dtype_policy

    @property
    def compute_dtype(self) -> str:
        """The dtype of the layer's computations and outputs."""
        return self._compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype of the layer's variables."""
        return self._dtype

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        for layer in self._flatten_layers():
            layer.__dict__["_trainable"] = bool(value)
        tracking_changed()

    @property
    def activity_regularizer(self):
        return self._activity_regularizer

    @activity_regularizer.setter
    def activity_regularizer(self, value) -> None:
        self.__dict__["_activity_regularizer"] = regularizers.get(value)

    def _own_vars(self) -> list[Variable]:
        return list(self._own_variables)

    @property
    def trainable_weights(self) -> list[Variable]:
        # Read on every training step; also keyed by the Variables' trainable flags.
        return list(cached(self, "_trainable_weights_cache",
                           lambda: (_tracking_version[0], trainable_changes[0]),
                           self._collect_trainable_weights))

    def _collect_trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        out = [v for v in self._own_vars() if v.trainable]
        for layer in self._sublayers():
            out.extend(layer.trainable_weights)
        return _dedupe(out)

    @property
    def non_trainable_weights(self) -> list[Variable]:
        if self.trainable:
            out = [v for v in self._own_vars() if not v.trainable]
            for layer in self._sublayers():
                out.extend(layer.non_trainable_weights)
        else:
            own = self._own_vars()
            out = [v for v in own if v.trainable] + [v for v in own if not v.trainable]
            for layer in self._sublayers():
                out.extend(layer.weights)
        return _dedupe(out)

    @property
    def weights(self) -> list[Variable]:
        return _dedupe(self.trainable_weights + self.non_trainable_weights)

    @property
    def trainable_variables(self) -> list[Variable]:
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list[Variable]:
        return self.non_trainable_weights

    @property
    def variables(self) -> list[Variable]:
        return self.weights

    @property
    def submodules(self) -> list[Layer]:
        return list(self._flatten_layers(include_self=False))

    # ------------------------------------------------------------------ weights
    def add_weight(self, name: str | None = None, shape: Any = None, dtype: Any = None,
                   initializer: Any = None, regularizer: Any = None, trainable: bool | None = None,
                   constraint: Any = None, use_resource: Any = None, synchronization: Any = None,
                   aggregation: Any = None, **kwargs: Any) -> Variable:
        """Creates a weight Variable, tracked by this layer.

        Args:
            name: the weight's name (``kernel``, ``bias``...).
            shape: its shape (a tuple; () by default).
            dtype: defaults to the layer's dtype.
            initializer: a name ("glorot_uniform"), an Initializer or a callable
                ``(shape, dtype) -> tensor``; glorot_uniform for floats, zeros otherwise.
            regularizer: a penalty added to ``losses`` on every access.
            trainable: defaults to True.
            constraint: a projection applied after optimizer updates.
            experimental_autocast: False keeps the weight in its own dtype when a mixed policy
                casts the others to the compute dtype inside ``call``.
        """
        shape = () if shape is None else tuple(
            int(d) if d is not None else _raise_unknown(self, name, shape) for d in shape)
        dtype = corten.as_dtype(dtype or self._dtype)
        if initializer is None:
            initializer = "glorot_uniform" if dtype.is_floating else "zeros"
        init = initializers.get(initializer)
        trainable = True if trainable is None else bool(trainable)
        weight_name = name or f"weight_{len(self._own_variables)}"
        # Initialisers run outside any trace: the weight's value is a constant, not a node.
        stream = f"{self._stream_name}:{self._stream_id}/{weight_name}"
        with corten.init_scope(), weight_stream(stream):
            value = init(shape, dtype)
            if value.dtype != dtype:
                value = corten.cast(value, dtype)
        if tuple(value.shape) != shape:
            raise ValueError(f"{self.name}.add_weight: the initializer returned shape "
                             f"{tuple(value.shape)} for requested shape {shape}")
        var = Variable(value, trainable=trainable, name=f"{self.name}/{weight_name}", dtype=dtype,
                       constraint=constraints.get(constraint))
        if not kwargs.get("experimental_autocast", True):
            var._keras_autocast = False  # Note [Autocast variables]
        self._own_variables.append(var)
        tracking_changed()
        reg = regularizers.get(regularizer)
        if reg is not None:
            self._callable_losses.append(lambda r=reg, v=var: r(v))
        return var

    def get_weights(self) -> list[np.ndarray]:
        """The weights' values as numpy arrays, in ``weights`` order."""
        return [np.array(w, copy=True) for w in self.weights]

    def set_weights(self, weights: list[Any]) -> None:
        """Sets the weights from numpy arrays (same count and shapes as ``weights``).

        Raises:
            ValueError: naming the layer and both shapes on a mismatch; nothing is changed.
        """
        params = self.weights
        if len(params) != len(weights):
            raise ValueError(
                f"Layer {self.name!r} (type {type(self).__name__}) expected {len(params)} "
                f"weights, but received {len(weights)} input weights.")
        for p, w in zip(params, weights):
            if tuple(p.shape) != tuple(np.shape(w)):
                raise ValueError(
                    f"Layer {self.name!r} weight shape {tuple(p.shape)} is not compatible with "
                    f"provided weight shape {tuple(np.shape(w))} (weight {p.name}).")
        for p, w in zip(params, weights):
            p.assign(np.asarray(w))

    def count_params(self) -> int:
        """Total number of scalars in the weights.

        Raises:
            ValueError: if the layer is not built yet.
        """
        if not self.built and not self.weights:
            raise ValueError(
                f"You tried to call `count_params` on layer {self.name!r}, but the layer isn't "
                "built. You can build it manually via: `layer.build(batch_input_shape)`.")
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    # ------------------------------------------------------------------ losses and metrics
    def add_loss(self, losses: Any, inputs: Any = None, **kwargs: Any) -> None:
        """Adds loss tensors (or zero-argument callables, e.g. weight penalties) to ``losses``."""
        for loss in nest.flatten(losses) if isinstance(losses, (list, tuple)) else [losses]:
            if loss is None:
                continue
            if callable(loss) and not isinstance(loss, Tensor):
                self._callable_losses.append(loss)
            elif isinstance(loss, Tensor) and loss.device == "meta":
                continue  # shape inference of a graph node: no value to add
            else:
                if not isinstance(loss, Tensor):
                    loss = corten.convert_to_tensor(loss, dtype=backend.floatx())
                self._eager_losses.append(loss)

    @property
    def losses(self) -> list[Tensor]:
        """Losses added during the last call (by this layer and nested ones), then weight
        regularisation penalties (computed now)."""
        out: list[Tensor] = []
        for layer in self._flatten_layers():
            out.extend(layer._eager_losses)
            for fn in layer._callable_losses:
                value = fn()
                if value is not None:
                    out.append(value if isinstance(value, Tensor) else corten.convert_to_tensor(value))
        return out

    def _clear_losses(self) -> None:
        for layer in self._flatten_layers():
            layer._eager_losses.clear()

    def add_metric(self, value: Any, name: str | None = None, aggregation: str | None = None,
                   **kwargs: Any) -> None:
        """Tracks the running mean of ``value`` as a metric named ``name``."""
        metric_obj = getattr(value, "_metric_obj", None)
        if metric_obj is not None:
            if not any(m is metric_obj for m in self._metrics):
                self._metrics.append(metric_obj)
                tracking_changed()
            return
        if name is None:
            raise ValueError("add_metric: please provide a name for the metric. "
                             f"Received: value={value!r}")
        from corten.keras import metrics as metrics_mod

        metric = self._metrics_by_name.get(name)
        if metric is None:
            metric = metrics_mod.Mean(name=name)
            self._metrics_by_name[name] = metric
            self._metrics.append(metric)
            tracking_changed()
        if isinstance(value, Tensor) and value.device == "meta":
            return  # shape inference of a graph node: no value to track
        metric.update_state(value)

    @property
    def metrics(self) -> list[Any]:
        out: list[Any] = []
        for layer in self._flatten_layers():
            out.extend(layer._metrics)
        return out

    # ------------------------------------------------------------------ build / call
    def build(self, input_shape: Any) -> None:
        """Creates the weights, given the input shape; runs once, before the first call."""
        self.__dict__["built"] = True

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """The layer's computation; the identity by default."""
        return inputs

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The mask of the outputs: the input mask when ``supports_masking``, else None."""
        if not self.supports_masking:
            return None
        return mask

    def compute_output_shape(self, input_shape: Any) -> Any:
        """Infers the output shape by running ``call`` on shape-only (meta) tensors."""
        def meta(s):
            return _C.empty_meta(tuple(s), self._compute_dtype)

        inputs = nest.map_structure(meta, input_shape) if isinstance(input_shape, (list, dict)) \
            else meta(input_shape)
        outputs = self(inputs)
        return nest.map_structure(lambda t: TensorShape(t.shape), outputs)

    def _maybe_build(self, inputs: Any) -> None:
        if self.built:
            return
        input_shape = _shape_of(inputs)
        self.__dict__["_build_input_spec"] = _input_spec(inputs)
        self.build(input_shape)
        self.__dict__["built"] = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self.__dict__["_initial_weights"] = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args and "inputs" not in kwargs:
            raise TypeError(f"Layer {self.name!r}: __call__ needs the inputs as first argument")
        hook = _functional_hook
        if hook is not None:
            # KerasTensor arguments: a node of the functional graph (keras/engine/call_hook.py)
            symbolic = hook(self, args, kwargs)
            if symbolic is not NotImplemented:
                return symbolic
        args = list(args)
        if args:
            inputs = args.pop(0)
        else:
            inputs = kwargs.pop("inputs")
        inputs = _convert_inputs(inputs, self.name)
        # Note [Autocast variables]: normalization layers compute in float32 under a 16-bit
        # policy, as tf.keras 2's; their outputs are cast back to the compute dtype below.
        in_float32 = self._statistics_in_float32 and self._compute_dtype in _HALF_DTYPES
        if self._autocast:
            inputs = self._autocast_inputs(inputs, "float32" if in_float32 else None)

        # `training`: explicit argument, else the enclosing call's, else call's default.
        training = kwargs.pop("training", None)
        outer = _call_context.stack[-1][1] if _call_context.stack else None
        if training is None:
            training = outer
        if training is None:
            training = self._call_training_default
        if self._call_accepts_training:
            kwargs["training"] = training
        # The inputs' masks reach call() when it takes `mask`, and compute_mask() always, as
        # in tf.keras 2 (a merge layer ANDs them, Dense passes them on).
        mask = kwargs.pop("mask", None)
        if mask is None and (self._call_accepts_mask or self.supports_masking
                             or type(self).compute_mask is not Layer.compute_mask):
            mask = nest.map_structure(lambda t: getattr(t, "_keras_mask", None), inputs) \
                if isinstance(inputs, (list, tuple, dict)) else getattr(inputs, "_keras_mask", None)
        if self._call_accepts_mask:
            kwargs["mask"] = mask

        top_level = not _call_context.stack
        if top_level:
            self._clear_losses()
        _call_context.stack.append((self, training))
        read_as = None
        try:
            self._maybe_build(inputs)
            if self._compute_dtype != self._dtype and not in_float32:
                read_as = self._autocast_variables()
            outputs = self.call(inputs, *args, **kwargs)
            if in_float32:
                outputs = nest.map_structure(self._to_compute_dtype, outputs)
        except (ValueError, TypeError, IndexError) as e:
            raise _annotate(e, self) from None
        finally:
            _call_context.stack.pop()
            if read_as:
                self.__dict__.update(read_as)

        if self._activity_regularizer is not None:
            for out in nest.flatten(outputs):
                penalty = self._activity_regularizer(out)
                if out.ndim:  # averaged over the batch, as Keras
                    penalty = penalty / corten.cast(corten.shape(out)[0], out.dtype)
                self.add_loss(penalty)
        if self.supports_masking or type(self).compute_mask is not Layer.compute_mask:
            out_mask = self.compute_mask(inputs, mask)
            if out_mask is not None:
                _attach_masks(outputs, out_mask)
        return outputs

    # Layers whose statistics need float32 (the normalizations) set this: under a 16-bit
    # policy they take float32 inputs and read their weights as they are.
    _statistics_in_float32 = False

    def _autocast_variables(self) -> dict[str, Variable]:
        # Note [Autocast variables]
        # Under a mixed policy (float32 variables, 16-bit compute) a layer's call reads its
        # floating variables in the compute dtype, as tf.keras 2's AutoCastVariable: for the
        # call, the attributes that hold them (self.kernel...) hold their casts, which the
        # gradient tape and traced plans see as ops on the variables. Weights made with
        # add_weight(experimental_autocast=False) are read as they are, and so are all the
        # weights of the layers that compute their statistics in float32 (the normalizations:
        # _statistics_in_float32), which take float32 inputs and give outputs in the compute
        # dtype. Returns the attributes to put back.
        target = self._compute_dtype
        if not corten.as_dtype(target).is_floating:
            return {}
        saved = {key: value for key, value in self.__dict__.items()
                 if isinstance(value, Variable) and value.dtype.is_floating
                 and value.dtype.name != target and getattr(value, "_keras_autocast", True)}
        for key, value in saved.items():
            self.__dict__[key] = corten.cast(value, target)
        return saved

    def _to_compute_dtype(self, t: Any) -> Any:
        if isinstance(t, Tensor) and t.dtype.is_floating and t.dtype.name != self._compute_dtype:
            return corten.cast(t, self._compute_dtype)
        return t

    def _autocast_inputs(self, inputs: Any, target: str | None = None) -> Any:
        target = target or self._compute_dtype
        t = type(inputs)
        if t is Tensor:
            if inputs.dtype.name == target:
                return inputs
        elif (t is tuple or t is list) and all(
                type(x) is Tensor and x.dtype.name == target for x in inputs):
            return inputs

        def cast(t):
            if isinstance(t, Tensor) and t.dtype.is_floating and t.dtype.name != target \
                    and corten.as_dtype(target).is_floating:
                return corten.cast(t, target)
            return t

        if isinstance(inputs, (list, tuple, dict)):
            return nest.map_structure(cast, inputs)
        return cast(inputs)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        """The layer's configuration: name, trainable, dtype, plus the constructor arguments of
        a subclass that does not override get_config (when they are JSON-serialisable)."""
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable,
                                  "dtype": policy_lib.serialize(self._dtype_policy)}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = self._batch_input_shape
        cls = type(self)
        if cls.get_config is Layer.get_config and cls.__init__ is not Layer.__init__:
            base_keys = set(config)
            config.update(self._recorded_init_args())
            # As Keras: base keys the constructor cannot take (no **kwargs) are left out, so
            # that from_config's cls(**config) works.
            params = inspect.signature(cls.__init__).parameters
            if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
                for key in base_keys - set(params):
                    config.pop(key, None)
        return config

    def get_build_config(self) -> dict | None:
        """The input shapes (and dtypes) of the first call, for ``build_from_config``; None if
        the layer was not built by a call."""
        spec = self.__dict__.get("_build_input_spec")
        if spec is None:
            return None
        return {"input_shape": spec[0], "input_dtype": spec[1]}

    def build_from_config(self, config: dict) -> None:
        """Creates the weights by calling the layer on zeros of the recorded input shapes (an
        unknown dimension, the batch one included, taken as 1).

        Raises:
            ValueError: for a malformed config or an input over 2**26 elements.
        """
        from corten.keras.saving.serialization_lib import build_inputs

        inputs = build_inputs(config)
        if inputs is not None:
            self(inputs, training=False)

    def _recorded_init_args(self) -> dict:
        args, kwargs = self.__dict__.get("_init_args", ((), {}))
        try:
            bound = inspect.signature(type(self).__init__).bind(self, *args, **kwargs)
        except TypeError:
            return dict(kwargs)
        out: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            if name == "self":
                continue
            param = inspect.signature(type(self).__init__).parameters[name]
            if param.kind is param.VAR_KEYWORD:
                out.update(value)
            elif param.kind is param.VAR_POSITIONAL:
                continue
            else:
                out[name] = value
        for name, value in out.items():
            try:
                json.dumps(value)
            except TypeError:
                raise NotImplementedError(
                    f"Layer {type(self).__name__} has argument {name!r} = {value!r} in "
                    "__init__ that is not JSON-serialisable, so its default get_config cannot "
                    "record it: override get_config() (and from_config()) in "
                    f"{type(self).__name__}.") from None
        return out

    @classmethod
    def from_config(cls, config: dict) -> Layer:
        """Creates a layer from its config: ``cls(**config)`` by default."""
        return cls(**config)

    # ------------------------------------------------------------------ functional graph
    @property
    def inbound_nodes(self) -> list:
        """The calls of this layer on symbolic tensors (functional API nodes)."""
        return self._inbound_nodes

    @property
    def outbound_nodes(self) -> list:
        return self._outbound_nodes

    def _get_node_attribute_at_index(self, node_index: int, attr: str, attr_name: str) -> Any:
        if not self._inbound_nodes:
            raise RuntimeError(f"The layer {self.name} has never been called and thus has no "
                               f"defined {attr_name}.")
        if not len(self._inbound_nodes) > node_index:
            raise ValueError(f"Asked to get {attr_name} at node {node_index}, but the layer has "
                             f"only {len(self._inbound_nodes)} inbound nodes.")
        values = getattr(self._inbound_nodes[node_index], attr)
        if isinstance(values, list) and len(values) == 1:
            return values[0]
        return values

    def get_input_at(self, node_index: int) -> Any:
        """The input tensor(s) of the layer's call number ``node_index``."""
        return self._get_node_attribute_at_index(node_index, "input_tensors", "input")

    def get_output_at(self, node_index: int) -> Any:
        """The output tensor(s) of the layer's call number ``node_index``."""
        return self._get_node_attribute_at_index(node_index, "output_tensors", "output")

    def get_input_shape_at(self, node_index: int) -> Any:
        return self._get_node_attribute_at_index(node_index, "input_shapes", "input shape")

    def get_output_shape_at(self, node_index: int) -> Any:
        return self._get_node_attribute_at_index(node_index, "output_shapes", "output shape")

    @property
    def input(self) -> Any:
        """The input tensor(s) of the layer's first call on symbolic tensors.

        Raises:
            AttributeError: if the layer was never called on symbolic tensors.
        """
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name} is not connected, no input to return.")
        return self._get_node_attribute_at_index(0, "input_tensors", "input")

    @property
    def output(self) -> Any:
        """The output tensor(s) of the layer's first call on symbolic tensors.

        Raises:
            AttributeError: if the layer was never called on symbolic tensors.
        """
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name} has no inbound nodes.")
        return self._get_node_attribute_at_index(0, "output_tensors", "output")

    @property
    def input_shape(self) -> Any:
        """The input shape(s), when every call of the layer had the same.

        Raises:
            AttributeError: if the layer was never called, or called on different shapes.
        """
        if not self._inbound_nodes:
            raise AttributeError(f'The layer "{self.name}" has never been called and thus has no '
                                 "defined input shape. Note that the `input_shape` property is "
                                 "only available for Functional and Sequential models.")
        all_shapes = {str(node.input_shapes) for node in self._inbound_nodes}
        if len(all_shapes) == 1:
            return self._inbound_nodes[0].input_shapes
        raise AttributeError(f'The layer "{self.name}" has multiple inbound nodes, with different '
                             'input shapes. Hence the notion of "input shape" is ill-defined for '
                             "the layer. Use `get_input_shape_at(node_index)` instead.")

    @property
    def output_shape(self) -> Any:
        """The output shape(s), when every call of the layer had the same.

        Raises:
            AttributeError: if the layer was never called, or called with different results.
        """
        if not self._inbound_nodes:
            raise AttributeError("The layer has never been called and thus has no defined output "
                                 "shape.")
        all_shapes = {str(node.output_shapes) for node in self._inbound_nodes}
        if len(all_shapes) == 1:
            return self._inbound_nodes[0].output_shapes
        raise AttributeError(f'The layer "{self.name}" has multiple inbound nodes, with different '
                             'output shapes. Hence the notion of "output shape" is ill-defined '
                             "for the layer. Use `get_output_shape_at(node_index)` instead.")

    # ------------------------------------------------------------------ misc
    @property
    def input_spec(self):
        return None

    @property
    def _layer_path(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__name__} object name={self.name!r}>"


# Set by the functional API: called for symbolic (meta) inputs to build graph nodes.
_functional_hook = None


def set_functional_hook(hook) -> None:
    global _functional_hook
    _functional_hook = hook


def _input_spec(inputs: Any) -> Any:
    """``(shapes, dtypes)`` of the inputs as JSON-ready structures (batch dimension None), or
    None for inputs that are not all tensors."""
    def walk(x):
        if isinstance(x, Tensor):
            dims = [None if d is None or int(d) < 0 else int(d) for d in x.shape]
            return ([None] + dims[1:] if dims else []), x.dtype.name
        if isinstance(x, (list, tuple)):
            pairs = [walk(v) for v in x]
            return [p[0] for p in pairs], [p[1] for p in pairs]
        if isinstance(x, dict) and all(isinstance(k, str) for k in x):
            pairs = {k: walk(v) for k, v in x.items()}
            return {k: p[0] for k, p in pairs.items()}, {k: p[1] for k, p in pairs.items()}
        raise TypeError

    try:
        return walk(inputs)
    except TypeError:
        return None


# What an attribute value must be to hold layers or variables.
_TRACKABLE = (Layer, Variable, list, tuple, dict)

# Layer attributes that hold tracking state rather than user references.
_BOOKKEEPING = frozenset({"_tracked_layers", "_own_variables", "_flat_layers_cache",
                          "_metrics_cache", "_trainable_weights_cache"})

# Bumped whenever a layer gains or loses a sublayer or variable, or a trainable flag changes:
# the cached layer trees and weight lists compare it.
_tracking_version = [0]


def tracking_changed() -> None:
    """Invalidates the cached layer trees and weight lists (after any tracking change)."""
    _tracking_version[0] += 1


def _tracking_key() -> int:
    return _tracking_version[0]


def cached(layer: Layer, slot: str, key: Callable[[], Any], compute: Callable[[], Any]) -> Any:
    """``compute()``, kept in ``layer.__dict__[slot]`` until ``key()`` changes.

    ``key`` includes the tracking version, which every tracking change bumps: attribute
    assignments and deletions, and the tracked containers' mutations (Note [Tracked
    containers]), so nothing is rescanned on a cache hit. (`tree` is accepted for callers
    that name the layers a value covers; it is no longer needed.)
    """
    entry = layer.__dict__.get(slot)
    k = key()
    if entry is not None and entry[0] == k:
        return entry[1]
    value = compute()
    layer.__dict__[slot] = (k, value)
    return value


def _dedupe(items: list[Any]) -> list[Any]:
    out, seen = [], set()
    for it in items:
        if id(it) not in seen:
            seen.add(id(it))
            out.append(it)
    return out


def _raise_unknown(layer: Layer, name: str | None, shape: Any) -> int:
    raise ValueError(f"{layer.name}.add_weight({name!r}): the shape {tuple(shape)} has an unknown "
                     "dimension; weights need fully defined shapes")


def _attach_masks(outputs: Any, masks: Any) -> None:
    outs = nest.flatten(outputs)
    ms = nest.flatten(masks) if isinstance(masks, (list, tuple)) else [masks] * len(outs)
    for o, m in zip(outs, ms):
        if isinstance(o, Tensor):
            try:
                o._keras_mask = m
            except AttributeError:
                pass


def _annotate(e: Exception, layer: Layer) -> Exception:
    """Re-raises errors from inside a layer with the path of layers being called."""
    if getattr(e, "_corten_layer_path", None):
        return e
    path = "/".join(l.name for l, _ in _call_context.stack) or layer.name
    msg = (f"Exception encountered when calling layer '{path}' (type {type(layer).__name__}).\n\n"
           f"{e}")
    new = type(e)(msg)
    new._corten_layer_path = path
    return new
