"""The Keras optimizer base class (tf.keras 2.11+ "new optimizer" semantics).

An optimizer holds hyperparameters, an ``iterations`` counter and slot Variables (moments,
accumulators), and updates model Variables in place. The built-in optimizers update each
parameter with one fused C++ op (``corten._C.<name>_update_``) that also applies gradient
clipping and decoupled weight decay; Python only computes scalars (the learning rate, clipping
factors) and never loops over tensor data.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

import corten
from corten import _C, distribute
from corten.keras import backend
from corten.keras.optimizers import schedules
from corten.ops.variables import Variable

__all__ = ["Optimizer", "MissingGradientWarning"]

Tensor = _C.Tensor


class MissingGradientWarning(UserWarning):
    """Some variables passed to ``apply_gradients`` have a None gradient and were not updated."""


class CallableList(list):
    """A list that can also be called (``optimizer.variables`` and ``optimizer.variables()``
    both work, as in tf.keras 2)."""

    def __call__(self) -> list:
        return self


def _var_key(variable: Any) -> int:
    uid = getattr(variable, "_unique_id", None)
    return uid if uid is not None else id(variable)


def _shared_name(variable: Any) -> str:
    name = getattr(variable, "_name", None) or getattr(variable, "name", "Variable")
    return name[:-2] if name.endswith(":0") else name


def _scalar(value: Any, what: str) -> float:
    if isinstance(value, Tensor):
        if tuple(value.shape) != ():
            raise ValueError(f"{what} must be a scalar. Received: {what}={value!r}")
        return float(np.asarray(value))
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a number. Received: {what}={value!r}") from None


def _floatx_round(value: float) -> float:
    """``value`` as stored in a floatx Variable."""
    return float(np.asarray(value, dtype=backend.floatx()))


class Optimizer:
    """Base class of Keras optimizers.

    Subclasses implement ``build(var_list)`` (create slots with
    ``add_variable_from_reference``) and ``update_step(gradient, variable)``; the built-in
    optimizers override ``_fused_update`` instead, which gets the raw gradient together with the
    clipping and weight-decay parameters and hands them to one C++ op.

    Args:
        name: the optimizer's name.
        weight_decay: decoupled weight decay; each step first does
            ``var -= var * weight_decay * learning_rate`` (see ``exclude_from_weight_decay``).
        clipnorm: clip each gradient to this L2 norm (``tf.clip_by_norm``).
        clipvalue: clip each gradient element to ``[-clipvalue, clipvalue]``.
        global_clipnorm: clip all gradients together to this global norm
            (``tf.clip_by_global_norm``).
        use_ema, ema_momentum, ema_overwrite_frequency, jit_compile: accepted for
            compatibility and kept in the config (jit_compile as False, as tf.keras reports
            without XLA); ``use_ema=True`` is not supported.

    Raises:
        ValueError: if both ``clipnorm`` and ``global_clipnorm`` are set, or for the legacy
            ``decay`` argument.
        TypeError: for unknown keyword arguments.
    """

    def __init__(self, name: str, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 jit_compile: bool = True, **kwargs: Any) -> None:
        self.name = name
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = bool(use_ema)
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        # No XLA here: tf.keras also reports False when it cannot compile (e.g. on CPU).
        self.jit_compile = False
        self._legacy_lr = self._process_kwargs(kwargs)
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError("At most one of `clipnorm` and `global_clipnorm` can be set. "
                             f"Received: clipnorm={clipnorm}, global_clipnorm={global_clipnorm}.")
        for arg, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                           ("global_clipnorm", global_clipnorm)):
            if value is not None and not (_scalar(value, arg) >= 0):
                raise ValueError(f"`{arg}` must be a non-negative number. Received: {arg}={value}")
        if self.use_ema:
            raise NotImplementedError(
                f"{type(self).__name__}: use_ema=True (exponential moving average of the "
                "weights) is not supported by corten's optimizers yet. Received: use_ema=True")
        self._variables: list[Variable] = []
        self._iterations = Variable(0, name="iteration", dtype=corten.int64, trainable=False)
        self._variables.append(self._iterations)
        self._index_dict: dict[int, int] = {}
        self._trainable_variables: list[Variable] = []
        self._exclude_from_weight_decay: list[int] = []
        self._exclude_from_weight_decay_names: list[str] = []
        self._warned_missing: set[tuple[str, ...]] = set()
        self.built = False

    def _process_kwargs(self, kwargs: dict) -> Any:
        kwargs = dict(kwargs)
        kwargs.pop("is_legacy_optimizer", None)
        lr = kwargs.pop("lr", None)
        decay = kwargs.pop("decay", None)
        if decay:
            raise ValueError(
                "decay is deprecated in the new Keras optimizer, please check the docstring for "
                "valid arguments, or use a `keras.optimizers.schedules` learning rate schedule. "
                f"Received: decay={decay}")
        for k in kwargs:
            if k in ("gradient_aggregator", "gradient_transformers"):
                raise ValueError(f"{k} is deprecated in the new Keras optimizer, please check "
                                 "the docstring for valid arguments.")
            raise TypeError(f"{type(self).__name__}.__init__() got an unexpected keyword "
                            f"argument {k!r}")
        return lr

    def _resolve_learning_rate(self, learning_rate: Any) -> Any:
        """Subclasses call this with their ``learning_rate`` argument (honours legacy ``lr``)."""
        if self._legacy_lr is not None:
            warnings.warn("`lr` is deprecated in Keras optimizer, please use `learning_rate`.",
                          DeprecationWarning, stacklevel=3)
            learning_rate = self._legacy_lr
        self._learning_rate = self._build_learning_rate(learning_rate)
        return self._learning_rate

    def _build_learning_rate(self, learning_rate: Any) -> Any:
        if isinstance(learning_rate, schedules.LearningRateSchedule):
            current = learning_rate(self.iterations)
            self._current_learning_rate = Variable(
                current, name="current_learning_rate", trainable=False)
            return learning_rate
        if callable(learning_rate) and not isinstance(learning_rate, Tensor):
            return learning_rate
        value = _scalar(learning_rate, "learning_rate")
        return Variable(value, name="learning_rate", dtype=backend.floatx(), trainable=False)

    # ------------------------------------------------------------------ learning rate
    @property
    def learning_rate(self) -> Any:
        """The learning rate: a float Variable (assignable), the current value of a schedule
        (a Variable updated at each ``apply_gradients``), or a callable's value."""
        lr = getattr(self, "_learning_rate", None)
        if lr is None:
            raise ValueError("Missing learning rate, please set self.learning_rate at optimizer "
                             "creation time.")
        if isinstance(lr, schedules.LearningRateSchedule):
            return self._current_learning_rate
        if callable(lr) and not isinstance(lr, Tensor):
            return corten.constant(self._lr_value(), dtype=backend.floatx())
        return lr

    @learning_rate.setter
    def learning_rate(self, learning_rate: Any) -> None:
        if isinstance(learning_rate, schedules.LearningRateSchedule):
            self._learning_rate = self._build_learning_rate(learning_rate)
            return
        current = getattr(self, "_learning_rate", None)
        if isinstance(current, schedules.LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not settable. "
                "If you need the learning rate to be settable, you should instantiate the "
                "optimizer with a float `learning_rate` argument.")
        if isinstance(current, Variable) and not (callable(learning_rate) and
                                                  not isinstance(learning_rate, Tensor)):
            current.assign(_floatx_round(_scalar(learning_rate, "learning_rate")))
        else:
            self._learning_rate = self._build_learning_rate(learning_rate)

    lr = learning_rate

    def _lr_value(self) -> float:
        """The learning rate for the next update, as a Python float (floatx precision)."""
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            return float(np.asarray(self._current_learning_rate))
        if callable(lr) and not isinstance(lr, Tensor):
            return _floatx_round(_scalar(lr(), "learning_rate()"))
        return float(np.asarray(lr))

    def _lr_for_update(self) -> Any:
        """The learning rate passed to the updates: the Variable holding it (read by the update
        when it runs), or a Python float from a callable."""
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            return self._current_learning_rate
        if callable(lr) and not isinstance(lr, Tensor):
            return _floatx_round(_scalar(lr(), "learning_rate()"))
        return lr

    def _serialize_hyperparameter(self, value: Any) -> Any:
        if isinstance(value, schedules.LearningRateSchedule):
            return schedules.serialize(value)
        if isinstance(value, Tensor):
            arr = np.asarray(value)
            # The shortest decimal that rounds back to the stored value (0.001, not
            # 0.0010000000474974513 for float32).
            return float(str(arr.dtype.type(arr))) if arr.dtype == np.float32 else float(arr)
        if callable(value):
            return value()
        return value

    # ------------------------------------------------------------------ iterations
    @property
    def iterations(self) -> Variable:
        """Number of ``apply_gradients`` calls so far (an int64 Variable)."""
        return self._iterations

    @iterations.setter
    def iterations(self, value: Any) -> None:
        if isinstance(value, Variable):
            if self.built:
                raise RuntimeError(
                    "Cannot set `iterations` to a new Variable after the Optimizer weights have "
                    "been created. Please set `iterations` before calling `apply_gradients()`.")
            self._variables[0] = self._iterations = value
        else:
            self._iterations.assign(int(value))

    # ------------------------------------------------------------------ variables
    @property
    def variables(self) -> CallableList:
        """``iterations`` then the slot Variables, in creation order."""
        return CallableList(self._variables)

    def add_variable(self, shape: Any, dtype: Any = None, initializer: Any = "zeros",
                     name: str | None = None) -> Variable:
        """Creates a non-trainable optimizer Variable, tracked in ``variables``."""
        from corten.keras import initializers

        dtype = corten.as_dtype(dtype or backend.floatx())
        with corten.init_scope():
            value = initializers.get(initializer)(tuple(shape), dtype)
            var = Variable(value, name=name or "Variable", dtype=dtype, trainable=False)
        self._variables.append(var)
        return var

    def add_variable_from_reference(self, model_variable: Variable, variable_name: str,
                                    shape: Any = None, initial_value: Any = None) -> Variable:
        """A slot for ``model_variable``: zeros of its shape and dtype (or ``initial_value``),
        named ``"<optimizer name>/<variable_name>/<model variable name>"`` as in tf.keras."""
        with corten.init_scope():
            if initial_value is None:
                shape = tuple(model_variable.shape) if shape is None else tuple(shape)
                initial_value = corten.zeros(shape, dtype=model_variable.dtype)
            var = Variable(initial_value,
                           name=f"{self.name}/{variable_name}/{_shared_name(model_variable)}",
                           dtype=model_variable.dtype, trainable=False)
        self._variables.append(var)
        return var

    def _var_key(self, variable: Any) -> int:
        return _var_key(variable)

    def _var_index(self, variable: Any) -> int:
        return self._index_dict[_var_key(variable)]

    def build(self, var_list: Iterable[Variable]) -> None:
        """Registers the variables to optimize and creates their slots.

        Variables already known are skipped, so building again with a longer list (or applying
        gradients to new variables) adds slots for the new ones only.
        """
        index = self._index_dict
        if self.built and all(_var_key(v) in index for v in var_list):
            return
        new = []
        for var in var_list:
            key = _var_key(var)
            if key in self._index_dict or any(v is var for v in new):
                continue
            new.append(var)
        if not new:
            self.built = True
            return
        for var in new:
            self._index_dict[_var_key(var)] = len(self._trainable_variables)
            self._trainable_variables.append(var)
        self._build_slots(new)
        self.built = True

    def _build_slots(self, var_list: list[Variable]) -> None:
        """Creates the slots of newly registered variables (built-in optimizers)."""

    # ------------------------------------------------------------------ weight decay
    def exclude_from_weight_decay(self, var_list: Iterable[Variable] | None = None,
                                  var_names: Iterable[str] | None = None) -> None:
        """Excludes variables (or names matching the regular expressions in ``var_names``)
        from weight decay. Must be called before the optimizer is built.

        Raises:
            ValueError: if the optimizer is already built.
        """
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the "
                             "optimizer is built.")
        self._exclude_from_weight_decay = [_var_key(v) for v in var_list] if var_list else []
        self._exclude_from_weight_decay_names = list(var_names or [])

    def _use_weight_decay(self, variable: Variable) -> bool:
        if _var_key(variable) in self._exclude_from_weight_decay:
            return False
        name = getattr(variable, "name", "")
        return not any(re.search(p, name) is not None
                       for p in self._exclude_from_weight_decay_names)

    # ------------------------------------------------------------------ applying
    def compute_gradients(self, loss: Any, var_list: Any, tape: Any = None) -> list[tuple]:
        """Gradients of ``loss`` (a tensor recorded on ``tape``, or a zero-argument callable)
        with respect to ``var_list`` (a list, or a callable returning one).

        Raises:
            ValueError: for a tensor loss without a tape.
        """
        if not callable(loss) and tape is None:
            raise ValueError("`tape` is required when a `Tensor` loss is passed. "
                             f"Received: loss={loss!r}, tape={tape!r}.")
        if tape is None:
            tape = corten.GradientTape()
        if callable(loss):
            with tape:
                if not callable(var_list):
                    tape.watch(var_list)
                loss = loss()
                if callable(var_list):
                    var_list = var_list()
        var_list = list(var_list)
        grads = tape.gradient(loss, var_list)
        return list(zip(grads, var_list))

    def minimize(self, loss: Any, var_list: Any, tape: Any = None) -> Variable:
        """``apply_gradients(compute_gradients(loss, var_list, tape))``."""
        return self.apply_gradients(self.compute_gradients(loss, var_list, tape))

    def _warn_missing(self, variables: list[Variable]) -> None:
        names = tuple(getattr(v, "name", repr(v)) for v in variables)
        if names in self._warned_missing:
            return
        self._warned_missing.add(names)
        warnings.warn(
            f"Gradients do not exist for variables {list(names)} when minimizing the loss; "
            f"{type(self).__name__} leaves them unchanged. The usual reasons: the variable was "
            "not used in computing the loss while the GradientTape was recording, it was used "
            "only through a non-differentiable op (an integer cast, argmax, a comparison, "
            "numpy), or the loss was computed outside the tape. If you are using "
            "`model.compile()`, did you forget to provide a `loss` argument?",
            MissingGradientWarning, stacklevel=3)

    def _check_pairs(self, pairs: list[tuple[Any, Variable]]) -> list[tuple[Tensor, Variable]]:
        out = []
        for grad, var in pairs:
            if type(grad) is Tensor and grad._shape_tuple == var._shape_tuple \
                    and grad.dtype.value == var.dtype.value:
                out.append((grad, var))  # the per-step case, checked without building shapes
                continue
            if not isinstance(grad, Tensor):
                try:
                    grad = corten.convert_to_tensor(grad, dtype=var.dtype)
                except (TypeError, ValueError) as e:
                    raise TypeError(f"{type(self).__name__}: cannot convert the gradient of "
                                    f"variable {var.name!r} to {var.dtype.name}: {e}") from None
            if tuple(grad.shape) != tuple(var.shape):
                raise ValueError(
                    f"{type(self).__name__}: the gradient of variable {var.name!r} has shape "
                    f"{tuple(grad.shape)}, but the variable has shape {tuple(var.shape)}; no "
                    "variable was updated.")
            if grad.dtype != var.dtype:
                raise TypeError(
                    f"{type(self).__name__}: the gradient of variable {var.name!r} has dtype "
                    f"{grad.dtype.name}, but the variable has dtype {var.dtype.name}; no "
                    "variable was updated.")
            out.append((grad, var))
        return out

    def _clip_scales(self, grads: list[Tensor]) -> list[Any]:
        """Per-gradient factors implementing clipnorm / global_clipnorm (1.0 when unused), as
        0-d float64 tensors that the updates read when they run (a traced step recomputes
        them on every replay)."""
        if self.clipnorm is not None and float(self.clipnorm) > 0:
            c = corten.constant(float(self.clipnorm), dtype=corten.float64)
            # tf.clip_by_norm: g * c / max(norm, c); NaN norms propagate.
            return [c / corten.maximum(corten.sqrt(_C.squared_norm(g)), c) for g in grads]
        if self.global_clipnorm is not None and float(self.global_clipnorm) > 0:
            c = float(self.global_clipnorm)
            total = _C.squared_norm(grads[0])
            for g in grads[1:]:
                total = total + _C.squared_norm(g)
            norm = corten.sqrt(total)
            # tf.clip_by_global_norm: NaN everywhere when the norm is not finite, 1 at 0.
            one = corten.constant(1.0, dtype=corten.float64)
            inv_c = corten.constant(1.0 / c, dtype=corten.float64)
            scaled = corten.constant(c, dtype=corten.float64) * corten.minimum(one / norm, inv_c)
            nan = corten.constant(math.nan, dtype=corten.float64)
            finite = (norm - norm) == 0.0  # False for inf and NaN
            scale = corten.where(norm == 0.0, one, corten.where(finite, scaled, nan))
            return [scale] * len(grads)
        return [1.0] * len(grads)

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Variable]],
                        name: str | None = None, skip_gradients_aggregation: bool = False,
                        **kwargs: Any) -> Variable:
        """Applies one update to each variable from its gradient and increments ``iterations``.

        Variables whose gradient is None are skipped (a ``MissingGradientWarning`` is issued
        once per set of such variables). Gradients are clipped (``clipnorm``, ``clipvalue``,
        ``global_clipnorm``), weight decay is applied, each variable is updated with its slots,
        and finally variable constraints (``var.constraint``) are applied.

        Returns:
            The ``iterations`` Variable.

        Raises:
            ValueError: if every gradient is None, or if a gradient's shape differs from its
                variable's (nothing is updated then).
            TypeError: for a non-Variable target or a gradient dtype mismatch.
        """
        pairs = list(grads_and_vars)
        if not pairs:
            return self._iterations
        for pair in pairs:
            if type(pair) is tuple and len(pair) == 2 and type(pair[1]) is Variable:
                continue
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError("apply_gradients expects (gradient, variable) pairs. "
                                f"Received: {pair!r}")
            if not isinstance(pair[1], Variable):
                raise TypeError(f"{type(self).__name__}.apply_gradients: can only update "
                                f"corten Variables. Received: {type(pair[1]).__name__} "
                                f"{pair[1]!r}")
        present = [(g, v) for g, v in pairs if g is not None]
        missing = [v for g, v in pairs if g is None]
        if not present:
            raise ValueError(
                f"No gradients provided for any variable: {[v.name for _, v in pairs]}. "
                "Provided `grads_and_vars` has only None gradients.")
        present = self._check_pairs(present)
        self.build([v for _, v in pairs])
        if missing:
            self._warn_missing(missing)
        grads = [g for g, _ in present]
        variables = [v for _, v in present]
        if not skip_gradients_aggregation:
            strategy = distribute.get_strategy()
            if strategy.num_replicas_in_sync > 1:
                grads = distribute.sum_gradients(grads, strategy)
        self._update_learning_rate()
        lr = self._lr_for_update()
        scales = self._clip_scales(grads)
        clip = 0.0
        if self.clipvalue is not None and float(self.clipvalue) > 0 and not (
                self.clipnorm and float(self.clipnorm) > 0) and not (
                self.global_clipnorm and float(self.global_clipnorm) > 0):
            clip = float(self.clipvalue)
        # The step and the learning rate go to the updates as tensors, read when they run: a
        # traced train step then uses each call's values, not the first call's.
        step = self._iterations + 1
        self._prepare_step(step)
        for g, v, scale in zip(grads, variables, scales):
            wd = 0.0
            if self.weight_decay is not None and self._use_weight_decay(v):
                wd = float(self.weight_decay)
            self._fused_update(g, v, lr=lr, step=step, weight_decay=wd, grad_scale=scale,
                               clip_value=clip)
        self._iterations.assign_add(1)
        for v in variables:
            constraint = getattr(v, "constraint", None)
            if constraint is not None:
                v.assign(constraint(v))
        return self._iterations

    def _update_learning_rate(self) -> None:
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            value = self._learning_rate(self._iterations)
            current = self._current_learning_rate
            if isinstance(value, Tensor):
                # Tensor ops on `iterations`: a compiled step recomputes the rate on each replay.
                if tuple(value.shape) != ():
                    raise ValueError("learning_rate schedule value must be a scalar. Received: "
                                     f"a tensor of shape {tuple(value.shape)}")
                current.assign(value if value.dtype == current.dtype
                               else corten.cast(value, current.dtype))
            else:
                current.assign(_scalar(value, "learning_rate schedule value"))

    def _prepare_step(self, step: Tensor) -> None:
        """Hook run once per apply_gradients before the variables are updated (``step`` is
        ``iterations + 1`` as a 0-d int64 tensor)."""

    def _fused_update(self, gradient: Tensor, variable: Variable, *, lr: Any, step: Tensor,
                      weight_decay: float, grad_scale: float, clip_value: float) -> None:
        """Updates one variable. Built-in optimizers call one fused C++ op; the default applies
        clipping and weight decay with tensor ops and calls ``update_step``."""
        g = gradient
        if grad_scale != 1.0:
            g = g * corten.constant(grad_scale, dtype=g.dtype)
        if clip_value > 0:
            g = corten.clip_by_value(g, -clip_value, clip_value)
        if weight_decay:
            variable.assign_sub(variable * corten.constant(weight_decay * lr,
                                                           dtype=variable.dtype))
        self.update_step(g, variable)

    def update_step(self, gradient: Tensor, variable: Variable) -> None:
        """One update of ``variable`` (custom optimizers override this)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement `update_step(gradient, variable)`.")

    def finalize_variable_values(self, var_list: Iterable[Variable]) -> None:
        """Called at the end of training; a no-op without EMA."""

    # ------------------------------------------------------------------ state
    def get_weights(self) -> list[np.ndarray]:
        """The values of ``variables`` (iterations, then slots) as numpy arrays."""
        return [np.array(v, copy=True) for v in self._variables]

    def set_weights(self, weights: list[Any]) -> None:
        """Restores ``variables`` from ``get_weights()`` output (after ``build``).

        Raises:
            ValueError: if the count or a shape differs; nothing is changed then.
        """
        weights = list(weights)
        if len(weights) != len(self._variables):
            raise ValueError(
                f"You called `set_weights(weights)` on optimizer {self.name} with a weight list "
                f"of length {len(weights)}, but the optimizer was expecting "
                f"{len(self._variables)} weights (iterations and slots; call "
                "`optimizer.build(var_list)` first).")
        for var, w in zip(self._variables, weights):
            if tuple(np.shape(w)) != tuple(var.shape):
                raise ValueError(f"Optimizer weight shape {tuple(var.shape)} is not compatible "
                                 f"with provided weight shape {tuple(np.shape(w))} "
                                 f"(weight {var.name}).")
        for var, w in zip(self._variables, weights):
            var.assign(np.asarray(w, dtype=var.dtype.name))

    def save_own_variables(self, store: dict) -> None:
        """Writes ``variables`` into ``store`` under the keys "0", "1", ..."""
        for i, var in enumerate(self._variables):
            store[str(i)] = np.array(var, copy=True)

    def load_own_variables(self, store: Any) -> None:
        """Restores ``variables`` from ``save_own_variables`` output.

        Raises:
            ValueError: if the number of variables differs.
        """
        if len(store.keys()) != len(self._variables):
            raise ValueError(
                f"Skipping variable loading for optimizer '{self.name}', because it has "
                f"{len(self._variables)} variables whereas the saved optimizer has "
                f"{len(store.keys())} variables.")
        self.set_weights([store[str(i)] for i in range(len(self._variables))])

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        return {"name": self.name, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue, "use_ema": self.use_ema,
                "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "jit_compile": self.jit_compile, "is_legacy_optimizer": False}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"],
                                                            custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<corten.keras.optimizers.{type(self).__name__} name={self.name!r}>"
