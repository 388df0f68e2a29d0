"""The Trainer mixin of keras.Model: compile, fit, evaluate, predict (Keras 2 semantics).

Everything runs eagerly: ``train_step`` records the forward pass on a ``GradientTape``, takes
the gradients of the loss with respect to ``trainable_variables`` and hands them to
``optimizer.apply_gradients``. Override ``train_step``/``test_step``/``predict_step`` to
customise a step while keeping the loops, callbacks and progress bar of ``fit``.
"""

from __future__ import annotations

import copy
import math
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

import corten
from corten import _C, nest
from corten.data.options import AutoShardPolicy
from corten.keras.layers import base_layer
from corten.keras.mixed_precision import LossScaleOptimizer
from corten.keras.trainers import data_adapter
from corten.keras.trainers.compile_utils import LossesContainer, MetricsContainer
from corten.keras.trainers.compiled_step import CompiledStep

__all__ = ["Trainer"]

Tensor = _C.Tensor
_FLOAT32 = np.dtype(np.float32)

_NOT_COMPILED = ("You must compile your model before training/testing. "
                 "Use `model.compile(optimizer, loss)`.")


def _to_python(value: Any) -> Any:
    if isinstance(value, Tensor):
        value = np.asarray(value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _sync_logs(logs: Any) -> Any:
    if logs is None:
        return None
    if isinstance(logs, Mapping):
        return {k: _sync_logs(v) for k, v in logs.items()}
    if isinstance(logs, (list, tuple)):
        return type(logs)(_sync_logs(v) for v in logs)
    return _to_python(logs)


def _replica_step(step: Any, strategy: Any, handler: Any) -> Any:
    """``step`` run as this replica on its part of ``handler``'s data, as tf.distribute cuts
    it by the dataset's ``auto_shard_policy`` (Note [Auto-sharding] in
    corten/distribute/_input.py): DATA (array data, and datasets by default) gives each replica
    its rows of every global batch; OFF and HINT swap in the rank's own rebatched dataset once
    per handler, keeping the steps per epoch inferred from the global batches (as Keras)."""
    from corten.distribute import _input

    split = handler.__dict__.get("_replica_split")
    if split is None:
        adapter = handler.adapter
        data = adapter.data if getattr(adapter, "kind", None) == "dataset" else None
        split = _input.auto_shard_policy(data) == AutoShardPolicy.DATA
        if not split:
            adapter.data = _input.worker_dataset(data, strategy.rank,
                                                 strategy.num_replicas_in_sync)
        handler.__dict__["_replica_split"] = split
    return _input.replica_step(step, strategy, split)


def _global_logs(model: Any, logs: Mapping, strategy: Any) -> dict:
    """The logs over every replica's data: each metric's state summed over the replicas (as
    tf.distribute aggregates metric variables) and its result recomputed; a log that is no
    metric's result (a custom train_step's) averaged over the replicas."""
    by_name = {}
    for metric in model.metrics:
        for v in metric.variables:
            v.assign(strategy.all_reduce_sum(v))
        by_name[metric.name] = metric
    out = {}
    for key, value in logs.items():
        metric = by_name.get(key)
        out[key] = metric.result() if metric is not None else strategy.reduce("MEAN", value)
    return out


def _get_verbosity(verbose: Any) -> int:
    if verbose == "auto":
        return 1
    if verbose in (0, 1, 2) or isinstance(verbose, (int, np.integer)):
        return int(verbose)
    raise ValueError(f"`verbose` must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")


def _non_finite(loss: Any, grads: list[Any]) -> bool:
    """Whether the loss or any gradient holds a NaN or an infinity (Note [Non-finite steps])."""
    if not math.isfinite(float(loss)):
        return True
    return any(g is not None and not math.isfinite(_C.sum_of_squares(g)) for g in grads)


def _flatten_metrics_in_order(logs: dict, metrics_names: list[str]) -> Any:
    results = [logs[name] for name in metrics_names if name in logs]
    results += [logs[k] for k in sorted(logs) if k not in metrics_names]
    if len(results) == 1:
        return results[0]
    return results


def _callbacks_module():
    from corten.keras import callbacks

    return callbacks


def _concat(batches: list[Any]) -> np.ndarray:
    arrays = [np.asarray(b) for b in batches]
    if arrays and arrays[0].ndim == 0:
        return np.stack(arrays)
    return np.concatenate(arrays, axis=0)


class Trainer:
    """compile / fit / evaluate / predict for ``keras.Model`` (mixed in before ``Layer``)."""

    def __init__(self) -> None:
        self._is_compiled = False
        self.optimizer = None
        self.compiled_loss = None
        self.compiled_metrics = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self._run_eagerly = None
        self._jit_compile = None
        self._steps_per_execution = 1
        self._reset_step_functions()

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Any = None,
                loss_weights: Any = None, weighted_metrics: Any = None,
                run_eagerly: bool | None = None, steps_per_execution: int | None = None,
                jit_compile: bool | None = None, **kwargs: Any) -> None:
        """Configures the model for training.

        Args:
            optimizer: an optimizer name ("rmsprop", "adam", ...) or instance.
            loss: a loss name, function or ``Loss``; a list (per output) or dict (by output
                name); None when the model adds its losses with ``add_loss``.
            metrics: metric names, functions or ``Metric``s; "accuracy"/"acc" picks binary,
                categorical or sparse categorical accuracy from the shapes of the data. A list
                applies to every output; a list of lists or a dict gives them per output.
            loss_weights: scalars weighting the loss of each output (list or dict).
            weighted_metrics: metrics that use ``sample_weight``/``class_weight``.
            run_eagerly: False (the default) runs fit, evaluate and predict with compiled
                steps: ``train_step``, ``test_step`` and ``predict_step`` (overridden or not)
                are traced once per batch signature by ``corten.function`` and replayed from
                C++ (Python side effects in them happen only while tracing, as in tf.keras).
                A step that uses an op a plan cannot replay yet runs eagerly, with a warning.
                True runs every step as plain Python.
            jit_compile: accepted for compatibility.
            steps_per_execution: the number of batches run between two callback calls.

        Raises:
            ValueError: for an unknown optimizer, loss or metric identifier.
            TypeError: for unknown keyword arguments.
        """
        allowed = {"experimental_steps_per_execution", "sample_weight_mode", "target_tensors",
                   "distribute", "pss_evaluation_shards"}
        unknown = set(kwargs) - allowed
        if unknown:
            raise TypeError(f"Invalid keyword argument(s) in `compile()`: {sorted(unknown)}. "
                            f"Valid keyword arguments include \"cloning\", \"experimental_run_tf"
                            f"_function\", \"distribute\", \"target_tensors\", or "
                            f"\"sample_weight_mode\". Received: {sorted(unknown)}")
        if steps_per_execution is None:
            steps_per_execution = kwargs.get("experimental_steps_per_execution", 1)
        steps_per_execution = int(steps_per_execution or 1)
        if steps_per_execution < 1:
            raise ValueError("`steps_per_execution` must be a positive integer. "
                             f"Received: steps_per_execution={steps_per_execution}")
        from corten.keras import optimizers

        self.optimizer = optimizers.get(optimizer)
        # As tf.keras 2: a float16 model's optimizer scales its loss (dynamic loss scaling).
        if getattr(self, "compute_dtype", None) == "float16" and \
                not isinstance(self.optimizer, LossScaleOptimizer):
            self.optimizer = LossScaleOptimizer(self.optimizer)
        # A model compiled in a strategy's scope trains data-parallel (tf.distribute).
        from corten import distribute

        self.__dict__["_distribute_strategy"] = (distribute.get_strategy()
                                                 if distribute.has_strategy() else None)
        self.compiled_loss = LossesContainer(loss, loss_weights, model=self)
        self.compiled_metrics = MetricsContainer(metrics, weighted_metrics, model=self,
                                                 loss=loss)
        self.loss = loss or {}
        self._run_eagerly = run_eagerly
        self._jit_compile = jit_compile
        self._reset_step_functions()
        self._steps_per_execution = steps_per_execution
        self.stop_training = False
        self._is_compiled = True

    @property
    def run_eagerly(self) -> bool:
        """Whether the steps run as plain Python (``compile(run_eagerly=True)`` or
        ``corten.config.run_functions_eagerly(True)``) instead of compiled."""
        return bool(getattr(self, "_run_eagerly", None)) or corten.config.functions_run_eagerly()

    @run_eagerly.setter
    def run_eagerly(self, value: bool) -> None:
        self._run_eagerly = value
        self._reset_step_functions()

    def _reset_step_functions(self) -> None:
        for name in ("train_function", "test_function", "predict_function"):
            self.__dict__[name] = None

    def _step_function(self, name: str, step: Any) -> Any:
        fn = self.__dict__.get(name)
        if fn is None:
            fn = step if self.run_eagerly else CompiledStep(step, self.name)
            self.__dict__[name] = fn
        return fn

    def make_train_function(self, force: bool = False) -> Any:
        """The callable fit() runs per batch: ``train_step``, compiled unless run_eagerly."""
        if force:
            self.__dict__["train_function"] = None
        return self._step_function("train_function", self.train_step)

    def make_test_function(self, force: bool = False) -> Any:
        """The callable evaluate() runs per batch: ``test_step``, compiled unless run_eagerly."""
        if force:
            self.__dict__["test_function"] = None
        return self._step_function("test_function", self.test_step)

    def make_predict_function(self, force: bool = False) -> Any:
        """The callable predict() runs per batch: ``predict_step``, compiled unless
        run_eagerly."""
        if force:
            self.__dict__["predict_function"] = None
        return self._step_function("predict_function", self.predict_step)

    @property
    def jit_compile(self) -> bool:
        return bool(getattr(self, "_jit_compile", None))

    @property
    def steps_per_execution(self) -> int:
        return getattr(self, "_steps_per_execution", 1)

    @property
    def distribute_strategy(self) -> None:
        return None

    def _assert_compile_was_called(self) -> None:
        if not getattr(self, "_is_compiled", False):
            raise RuntimeError(_NOT_COMPILED)

    # ------------------------------------------------------------------ metrics
    @property
    def metrics(self) -> list[Any]:
        """The compiled loss tracker ("loss"), the compiled metrics (once built by a first
        batch), then the metrics added with ``add_metric`` by the model and its layers."""
        # Read on every step (the logs): cached until the tracking or the compiled state changes.
        return list(base_layer.cached(self, "_metrics_cache", self._metrics_key,
                                      self._collect_metrics))

    def _metrics_key(self) -> tuple:
        compiled = getattr(self, "_is_compiled", False)
        closs, cmetrics = (self.compiled_loss, self.compiled_metrics) if compiled else (None, None)
        return (base_layer._tracking_version[0], compiled, id(closs), id(cmetrics),
                getattr(closs, "_built", None), getattr(cmetrics, "_built", None))

    def _collect_metrics(self) -> list[Any]:
        out: list[Any] = []
        if getattr(self, "_is_compiled", False):
            if self.compiled_loss is not None:
                out.extend(self.compiled_loss.metrics)
            if self.compiled_metrics is not None:
                out.extend(self.compiled_metrics.metrics)
        for layer in self._flatten_layers():
            out.extend(layer._metrics)
        seen, deduped = set(), []
        for m in out:
            if id(m) not in seen:
                seen.add(id(m))
                deduped.append(m)
        return deduped

    @property
    def metrics_names(self) -> list[str]:
        """The names of ``metrics``, in the order ``evaluate`` returns their values."""
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        """Resets the state of every metric in ``metrics``."""
        for m in self.metrics:
            m.reset_state()

    def get_metrics_result(self) -> dict[str, Any]:
        """The current value of every metric, by name."""
        out: dict[str, Any] = {}
        for metric in self.metrics:
            result = metric.result()
            if isinstance(result, Mapping):
                out.update(result)
            else:
                out[metric.name] = result
        return out

    # ------------------------------------------------------------------ steps
    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None,
                     sample_weight: Any = None) -> Tensor:
        """The compiled loss plus the model's ``losses`` (``add_loss``, regularizers)."""
        del x
        return self.compiled_loss(y, y_pred, sample_weight, regularization_losses=self.losses)

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any) -> dict:
        """Updates the compiled metrics and returns every metric's current value."""
        del x
        self.compiled_metrics.update_state(y, y_pred, sample_weight,
                                           losses=self.compiled_loss._losses)
        return self.get_metrics_result()

    def _validate_target(self, y: Any) -> None:
        if self.compiled_loss is not None and self.compiled_loss.has_losses and y is None:
            raise ValueError(
                "Target data is missing. Your model was compiled with "
                f"loss={self.loss!r}, and therefore expects target data to be provided in "
                "`fit()`.")

    def _validate_target_and_loss(self, y: Any, loss: Any) -> None:
        self._validate_target(y)
        if loss is None or (not (self.compiled_loss and self.compiled_loss.has_losses)
                            and not self.losses):
            raise ValueError(
                "No loss found. You may have forgotten to provide a `loss` argument in the "
                "`compile()` method.")

    def train_step(self, data: Any) -> dict[str, Any]:
        """One training step on a batch: forward pass, loss, gradients, optimizer update.

        Returns:
            The metrics' current values (``{"loss": ..., "accuracy": ...}``).
        """
        x, y, sample_weight = data_adapter.unpack_x_y_sample_weight(data)
        self._validate_target(y)
        scaler = self.optimizer if isinstance(self.optimizer, LossScaleOptimizer) else None
        with corten.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
            scaled = loss if scaler is None else scaler.get_scaled_loss(loss)
        self._validate_target_and_loss(y, loss)
        variables = self.trainable_variables
        grads = tape.gradient(scaled, variables)
        if scaler is not None:
            grads = scaler.get_unscaled_gradients(grads)
        if not (self.__dict__.get("_skip_non_finite_steps") and _non_finite(loss, grads)):
            self.optimizer.apply_gradients(zip(grads, variables))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data: Any) -> dict[str, Any]:
        """One evaluation step: forward pass (training=False), loss and metrics updates."""
        x, y, sample_weight = data_adapter.unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        self.compute_loss(x, y, y_pred, sample_weight)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data: Any) -> Any:
        """One prediction step: the model's outputs for the batch's inputs."""
        x, _, _ = data_adapter.unpack_x_y_sample_weight(data)
        return self(x, training=False)

    # ------------------------------------------------------------------ callbacks
    def _make_callbacks(self, callbacks: Any, verbose: int, epochs: int, steps: Any,
                        add_history: bool) -> Any:
        cbm = _callbacks_module()
        if isinstance(callbacks, cbm.CallbackList):
            return callbacks
        return cbm.CallbackList(callbacks, add_history=add_history, add_progbar=verbose != 0,
                                model=self, verbose=verbose, epochs=epochs, steps=steps)

    # ------------------------------------------------------------------ fit
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: Any = "auto", callbacks: Any = None, validation_split: float = 0.0,
            validation_data: Any = None, shuffle: Any = True, class_weight: dict | None = None,
            sample_weight: Any = None, initial_epoch: int = 0,
            steps_per_epoch: int | None = None, validation_steps: int | None = None,
            validation_batch_size: int | None = None, validation_freq: Any = 1,
            max_queue_size: int = 10, workers: int = 1,
            use_multiprocessing: bool = False) -> Any:
        """Trains the model for a number of epochs.

        Args:
            x: inputs: arrays (or a list/dict of them), a ``corten.data.Dataset`` or a
                generator yielding ``(x, y)`` / ``(x, y, sample_weight)`` batches.
            y: targets, when ``x`` is arrays.
            batch_size: samples per step for array data (32 by default).
            epochs: the index of the last epoch (training runs from ``initial_epoch``).
            verbose: "auto" (= 1), 0 silent, 1 a progress bar, 2 one line per epoch.
            callbacks: ``keras.callbacks.Callback`` instances.
            validation_split: the fraction of the array data (taken from its end, before
                shuffling) held out for validation.
            validation_data: ``(x_val, y_val)``, ``(x_val, y_val, sample_weight)`` or a
                dataset, evaluated at the end of each epoch (logs prefixed ``val_``).
            shuffle: shuffle array data every epoch (True, False or "batch").
            class_weight: ``{class: weight}`` multiplying the loss of each sample by the
                weight of its class.
            sample_weight: per-sample loss weights for array data.
            initial_epoch, steps_per_epoch, validation_steps, validation_batch_size,
            validation_freq: as in Keras.

        Returns:
            A ``History`` whose ``history`` maps each log key to its per-epoch values.

        Raises:
            RuntimeError: if the model is not compiled.
            ValueError: for inconsistent data (sizes, inputs, validation split).
        """
        self._assert_compile_was_called()
        verbose = _get_verbosity(verbose)
        strategy = self.__dict__.get("_distribute_strategy")
        if strategy is not None and strategy.num_replicas_in_sync > 1:
            with strategy.scope():
                return self._fit(x, y, batch_size, epochs, 0 if strategy.rank else verbose,
                                 callbacks, validation_split, validation_data, shuffle,
                                 class_weight, sample_weight, initial_epoch, steps_per_epoch,
                                 validation_steps, validation_batch_size, validation_freq,
                                 strategy)
        return self._fit(x, y, batch_size, epochs, verbose, callbacks, validation_split,
                         validation_data, shuffle, class_weight, sample_weight, initial_epoch,
                         steps_per_epoch, validation_steps, validation_batch_size,
                         validation_freq, None)

    def _fit(self, x: Any, y: Any, batch_size: Any, epochs: int, verbose: int, callbacks: Any,
             validation_split: float, validation_data: Any, shuffle: Any, class_weight: Any,
             sample_weight: Any, initial_epoch: int, steps_per_epoch: Any,
             validation_steps: Any, validation_batch_size: Any, validation_freq: Any,
             strategy: Any) -> Any:
        if validation_split and validation_data is None:
            (x, y, sample_weight), (val_x, val_y, val_sw) = \
                data_adapter.train_validation_split((x, y, sample_weight), validation_split)
            validation_data = (val_x, val_y, val_sw)
        val_handler = None
        if validation_data is not None:
            if data_adapter.is_array_data(validation_data) or (
                    isinstance(validation_data, (list, tuple))
                    and len(validation_data) in (2, 3)):
                val_x, val_y, val_sw = data_adapter.unpack_x_y_sample_weight(
                    tuple(validation_data))
            else:
                val_x, val_y, val_sw = validation_data, None, None
            val_handler = data_adapter.DataHandler(
                val_x, val_y, val_sw,
                batch_size=(validation_batch_size or batch_size)
                if data_adapter.is_array_data(val_x) else None,
                steps_per_epoch=validation_steps, epochs=1, shuffle=False, model=self,
                steps_per_execution=self.steps_per_execution)
        handler = data_adapter.DataHandler(
            x, y, sample_weight, batch_size=batch_size, steps_per_epoch=steps_per_epoch,
            initial_epoch=initial_epoch, epochs=epochs, shuffle=shuffle,
            class_weight=class_weight, model=self,
            steps_per_execution=self.steps_per_execution)

        callbacks = self._make_callbacks(callbacks, verbose, epochs, handler.inferred_steps,
                                         add_history=True)
        self.stop_training = False
        # Note [Non-finite steps]: with TerminateOnNaN, a step whose loss or gradients are not
        # finite is not applied, so training stops with the last finite weights (Keras applies
        # it, and leaves NaN weights behind). Checked in the built-in train_step only, which
        # then runs eagerly (the check reads the values in Python).
        skip_non_finite = any(
            isinstance(cb, _callbacks_module().TerminateOnNaN) for cb in callbacks.callbacks)
        self.__dict__["_skip_non_finite_steps"] = skip_non_finite
        # A dynamic loss scale decides on the host too (Note [Loss scale decisions]).
        eager = skip_non_finite or (isinstance(self.optimizer, LossScaleOptimizer)
                                    and self.optimizer.dynamic)
        train_function = self.train_step if eager else self.make_train_function()
        if strategy is not None:
            # Each replica trains on its part of every global batch (tf.distribute's
            # rebatching and auto-sharding); apply_gradients sums the replicas' gradients.
            train_function = _replica_step(train_function, strategy, handler)
        callbacks.on_train_begin()
        # BackupAndRestore's on_train_begin restored a backup: resume after it (tf.keras's
        # _maybe_load_initial_counters_from_ckpt; Note [Backup and restore] in
        # keras/callbacks/backup_and_restore.py).
        training_state = self.__dict__.get("_training_state")
        if training_state is not None:
            handler.initial_epoch, handler.initial_step = \
                training_state.maybe_load_initial_counters_from_ckpt(handler.inferred_steps,
                                                                     initial_epoch)
        training_logs = None
        logs = None
        for epoch, iterator in handler.enumerate_epochs():
            self.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            step_logs = self._run_epoch(handler, iterator, train_function, callbacks, "train")
            if step_logs is not None:
                logs = step_logs
            if logs is None:
                raise ValueError("Unexpected result of `train_function` (Empty logs). This "
                                 "could be due to issues with input data: check that the "
                                 "dataset or generator yields at least one batch.")
            if strategy is not None:
                logs = _global_logs(self, logs, strategy)
            epoch_logs = copy.copy(_sync_logs(logs))
            if val_handler is not None and self._should_eval(epoch, validation_freq):
                val_logs = self.evaluate(callbacks=callbacks, return_dict=True,
                                         _data_handler=val_handler)
                epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
            callbacks.on_epoch_end(epoch, logs=epoch_logs)
            training_logs = epoch_logs
            if self.stop_training:
                break
        callbacks.on_train_end(logs=training_logs)
        self.__dict__["_skip_non_finite_steps"] = False
        return self.history

    def _run_epoch(self, handler: Any, iterator: Any, step_function: Any, callbacks: Any,
                   mode: str) -> Any:
        """Runs one epoch's steps (``mode`` "train" or "test") and returns the last step's
        logs, or None when no batch ran. Without a callback that reads single batches, the
        full batches are replayed in C++ (Note [Epoch replay]); otherwise each step runs
        between the batch hooks, and training stops early when a hook sets
        ``stop_training``."""
        if not callbacks.wants_batch_hooks(mode) and not handler.initial_step:
            logs = handler.replay_epoch(step_function)
            if logs is not None:
                return logs
        on_begin = getattr(callbacks, f"on_{mode}_batch_begin")
        on_end = getattr(callbacks, f"on_{mode}_batch_end")
        logs = None
        for begin, end, batches in handler.executions(iterator):
            on_begin(begin)
            for batch in batches:
                logs = step_function(batch)
            on_end(end, logs=logs)
            if mode == "train" and self.stop_training:
                break
        return logs

    @staticmethod
    def _should_eval(epoch: int, validation_freq: Any) -> bool:
        epoch = epoch + 1
        if isinstance(validation_freq, int):
            return epoch % validation_freq == 0
        if isinstance(validation_freq, (list, tuple, set)):
            return epoch in validation_freq
        raise ValueError("Expected `validation_freq` to be a list or int. "
                         f"Received: validation_freq={validation_freq} of the type "
                         f"{type(validation_freq)}.")

    # ------------------------------------------------------------------ evaluate
    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None,
                 verbose: Any = "auto", sample_weight: Any = None, steps: int | None = None,
                 callbacks: Any = None, max_queue_size: int = 10, workers: int = 1,
                 use_multiprocessing: bool = False, return_dict: bool = False,
                 **kwargs: Any) -> Any:
        """Returns the loss and metrics of the model on the data.

        Returns:
            A scalar (only a loss), a list in ``metrics_names`` order, or a dict
            (``return_dict=True``).

        Raises:
            RuntimeError: if the model is not compiled.
        """
        self._assert_compile_was_called()
        handler = kwargs.pop("_data_handler", None)
        if kwargs:
            raise TypeError(f"Invalid keyword arguments: {sorted(kwargs)}")
        verbose = _get_verbosity(verbose)
        if handler is None:
            handler = data_adapter.DataHandler(
                x, y, sample_weight, batch_size=batch_size, steps_per_epoch=steps, epochs=1,
                shuffle=False, model=self, steps_per_execution=self.steps_per_execution)
        strategy = self.__dict__.get("_distribute_strategy")
        if strategy is None or strategy.num_replicas_in_sync == 1:
            strategy = None
        elif strategy.rank:
            verbose = 0  # only the chief prints
        callbacks = self._make_callbacks(callbacks, verbose, 1, handler.inferred_steps,
                                         add_history=False)
        test_function = self.make_test_function()
        if strategy is not None:
            test_function = _replica_step(test_function, strategy, handler)
        logs: Any = {}
        callbacks.on_test_begin()
        for _, iterator in handler.enumerate_epochs():
            self.reset_metrics()
            step_logs = self._run_epoch(handler, iterator, test_function, callbacks, "test")
            if step_logs is not None:
                logs = step_logs
        if strategy is not None:
            logs = _global_logs(self, logs, strategy)
        logs = _sync_logs(logs)
        callbacks.on_test_end(logs=logs)
        if return_dict:
            return logs
        return _flatten_metrics_in_order(logs, self.metrics_names)

    # ------------------------------------------------------------------ predict
    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto",
                steps: int | None = None, callbacks: Any = None, max_queue_size: int = 10,
                workers: int = 1, use_multiprocessing: bool = False) -> Any:
        """The model's outputs on the inputs, computed batch by batch and concatenated.

        Under a strategy with several replicas (the model compiled, or predict called, in its
        scope) each replica computes its rows of every batch and every replica returns the
        outputs of all the rows in order, as tf.keras does (a dataset's ``auto_shard_policy``
        is taken as DATA, as tf.keras sets it for predict); only the chief prints.

        Returns:
            numpy arrays, in the structure of the model's outputs (a dict of outputs stays a
            dict, a list stays a list).
        """
        verbose = _get_verbosity(verbose)
        strategy = self._predict_strategy()
        if strategy is not None and strategy.rank:
            verbose = 0  # only the chief prints
        if strategy is None and verbose == 0 and callbacks is None and steps is None:
            small = self._predict_one_batch(x, batch_size)
            if small is not None:
                return small
        handler = data_adapter.DataHandler(
            x, batch_size=batch_size, steps_per_epoch=steps, epochs=1, shuffle=False,
            model=self, steps_per_execution=self.steps_per_execution)
        callbacks = self._make_callbacks(callbacks, verbose, 1, handler.inferred_steps,
                                         add_history=True)
        predict_function = self.make_predict_function()
        if strategy is not None:
            from corten.distribute import _input

            predict_function = _input.gathering_step(predict_function, strategy)
        outputs: list[Any] = []
        structure = None
        callbacks.on_predict_begin()

        def collect(batch_outputs: Any) -> None:
            nonlocal structure
            structure = batch_outputs
            outputs.append([np.asarray(t) for t in nest.flatten(batch_outputs)])

        for _, iterator in handler.enumerate_epochs():
            if not callbacks.wants_batch_hooks("predict") and \
                    handler.replay_epoch(predict_function, collect) is not None:
                continue
            for begin, end, batches in handler.executions(iterator):
                callbacks.on_predict_batch_begin(begin)
                for batch in batches:
                    batch_outputs = predict_function(batch)
                    collect(batch_outputs)
                callbacks.on_predict_batch_end(end, logs={"outputs": batch_outputs})
        if structure is None:
            raise ValueError("Unexpected result of `predict_function` (Empty batch_outputs). "
                             "The input data produced no batch: check that it is not empty.")
        callbacks.on_predict_end()
        columns = list(zip(*outputs))
        return nest.pack_sequence_as(structure, [_concat(list(c)) for c in columns])

    def _predict_strategy(self) -> Any:
        """The several-replica strategy predict distributes over (the one the model was
        compiled under, else the active one), or None."""
        strategy = self.__dict__.get("_distribute_strategy")
        if strategy is None:
            # Without corten.distribute imported there is no strategy to look up (an import
            # statement per call costs predict() on one row about a tenth of its time).
            distribute = sys.modules.get("corten.distribute")
            if distribute is not None and distribute.has_strategy():
                strategy = distribute.get_strategy()
        return strategy if strategy is not None and strategy.num_replicas_in_sync > 1 else None

    def _predict_one_batch(self, x: Any, batch_size: int | None) -> Any:
        """predict() of one float32 array that fits in one batch, silent and without callbacks:
        the loop's result without building the data handler and the callback list (their work
        would be invisible here), so that predicting on a small batch costs about a model call.
        None when the data is anything else."""
        if type(x) is np.ndarray:
            if x.dtype is not _FLOAT32 and x.dtype != _FLOAT32 or x.ndim == 0:
                return None
        elif type(x) is not Tensor or x.dtype.name != "float32" or x.ndim == 0:
            return None
        n = len(x)
        if n == 0 or n > (32 if batch_size is None else int(batch_size)):
            return None
        step = self.__dict__.get("predict_function") or self.make_predict_function()
        # the batch as the loop packs it: a single array stays unpacked (pack_x_y_sample_weight)
        outputs = step(_C.convert_to_tensor(x))
        if type(outputs) is Tensor:
            return np.array(outputs)  # a copy, as the loop's concatenation gives
        flat = [_concat([np.asarray(t)]) for t in nest.flatten(outputs)]
        return nest.pack_sequence_as(outputs, flat)

    # ------------------------------------------------------------------ on_batch
    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                       class_weight: dict | None = None, reset_metrics: bool = True,
                       return_dict: bool = False) -> Any:
        """Runs one training step on one batch of data.

        Returns:
            The loss (and metrics) as ``evaluate`` returns them.
        """
        self._assert_compile_was_called()
        batch = data_adapter.single_batch(x, y, sample_weight, class_weight)
        logs = self.make_train_function()(batch)
        logs = _sync_logs(logs)
        if reset_metrics:
            self.reset_metrics()
        if return_dict:
            return logs
        return _flatten_metrics_in_order(logs, self.metrics_names)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                      reset_metrics: bool = True, return_dict: bool = False) -> Any:
        """Evaluates the model on one batch of data."""
        self._assert_compile_was_called()
        batch = data_adapter.single_batch(x, y, sample_weight)
        logs = _sync_logs(self.make_test_function()(batch))
        if reset_metrics:
            self.reset_metrics()
        if return_dict:
            return logs
        return _flatten_metrics_in_order(logs, self.metrics_names)

    def predict_on_batch(self, x: Any) -> Any:
        """The model's outputs for one batch, as numpy arrays."""
        batch = data_adapter.single_batch(x)
        out = self.make_predict_function()(batch)
        return nest.map_structure(np.asarray, out)
