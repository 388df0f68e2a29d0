"""``keras.callbacks.BackupAndRestore``: resumes an interrupted ``fit`` where it left off.

Note [Backup and restore]
The backup is one file, ``<backup_dir>/chief/training_state.safetensors``, in the weights file
layout (keras/saving/weights_file.py) with the entries of a ``.keras`` archive's weights: the
model's weights by name, the optimizer's variables (``iterations`` and slots) as
``__optimizer__/<i>``, plus the learning rate when it is a Variable (ReduceLROnPlateau changes
it; tf.keras checkpoints it with the optimizer). The metadata holds the epoch and batch of the
backup and the model's build config. Each backup replaces the previous one atomically (temp
file + ``os.replace``), so a process killed while writing leaves the last complete backup.

``on_train_begin`` restores the backup, all or nothing (every shape is checked first), and
leaves ``model._training_state``; ``fit`` then asks its
``maybe_load_initial_counters_from_ckpt`` where to start (tf.keras 2's
``Model._maybe_load_initial_counters_from_ckpt``): the epoch after the backed-up one, or with an
integer ``save_freq`` the batch after the backed-up one. Under a data-parallel strategy only
rank 0 reads and writes the file; the others receive its values by broadcast, so they need no
shared file system.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from typing import Any

import numpy as np

from corten.keras.callbacks.callback import Callback

__all__ = ["BackupAndRestore", "BackupAndRestoreExperimental"]

_log = logging.getLogger("corten")

_FORMAT = "corten.keras.backup"
_STATE_FILE = "training_state.safetensors"
_LEARNING_RATE = "__backup__/learning_rate"
# tf.keras's WorkerTrainingState.CKPT_SAVED_{EPOCH,BATCH}_UNUSED_VALUE.
_UNUSED = -1


class BackupAndRestore(Callback):
    """Backs up the training state and restores it when ``fit`` restarts after an interruption.

    At the end of each epoch (or every ``save_freq`` batches) the model's weights, the
    optimizer's state and the epoch (and batch) counters are written to ``backup_dir``,
    replacing the previous backup. When ``fit`` starts with this callback and a backup exists,
    the state is restored and training continues at the next epoch (or batch): the History of
    the resumed ``fit`` holds the epochs run after the restart only. At the end of a completed
    ``fit`` the backup is deleted (unless ``delete_checkpoint=False``); a ``fit`` that ends with
    an exception leaves it in place. The model and the ``compile``/``fit`` arguments must be the
    same as when the backup was written.

    Under ``MultiWorkerMirroredStrategy`` only rank 0 writes and reads the backup; the other
    ranks receive the restored weights, optimizer state and counters from it.

    Args:
        backup_dir: the directory of the backup; not to be shared with other callbacks or runs.
        save_freq: ``"epoch"``, a positive integer number of batches, or ``False`` (no periodic
            backups, only with ``save_before_preemption``).
        delete_checkpoint: delete the backup once ``fit`` completes.
        save_before_preemption: tf.keras backs up when the cluster announces a preemption (on
            Google Cloud and Borg only); corten has no such notice, so this only allows
            ``save_freq=False``, as tf.keras elsewhere.

    Raises:
        ValueError: for an empty ``backup_dir``, an invalid ``save_freq``, or neither
            ``save_freq`` nor ``save_before_preemption``. ``fit`` raises ValueError when the
            backup cannot be read (naming the file) or does not fit the model.

    Example:

    >>> class InterruptingCallback(keras.callbacks.Callback):
    ...     def on_epoch_begin(self, epoch, logs=None):
    ...         if epoch == 4:
    ...             raise RuntimeError("Interrupting!")
    >>> callback = keras.callbacks.BackupAndRestore(backup_dir="/tmp/backup")
    >>> model = keras.Sequential([keras.layers.Dense(10)])
    >>> model.compile(keras.optimizers.SGD(), loss="mse")
    >>> try:
    ...     model.fit(np.arange(100).reshape(5, 20), np.zeros(5), epochs=10, batch_size=1,
    ...               callbacks=[callback, InterruptingCallback()], verbose=0)
    ... except RuntimeError:
    ...     pass
    >>> history = model.fit(np.arange(100).reshape(5, 20), np.zeros(5), epochs=10,
    ...                     batch_size=1, callbacks=[callback], verbose=0)
    >>> len(history.history["loss"])  # epochs 4 to 9
    6
    """

    def __init__(self, backup_dir: Any, save_freq: Any = "epoch", delete_checkpoint: bool = True,
                 save_before_preemption: bool = False) -> None:
        super().__init__()
        if backup_dir is None or not os.fspath(backup_dir):
            raise ValueError(f"Empty `backup_dir` argument passed. Received: "
                             f"backup_dir={backup_dir!r}")
        if not (save_freq == "epoch" or save_freq is False or (
                isinstance(save_freq, (int, np.integer)) and not isinstance(save_freq, bool)
                and save_freq > 0)):
            raise ValueError("Invalid value for argument `save_freq`: expected 'epoch', a "
                             f"positive integer or False. Received: save_freq={save_freq!r}")
        if not save_freq and not save_before_preemption:
            raise ValueError("Either `save_freq` or `save_before_preemption` must be set. "
                             f"Received: save_freq={save_freq!r}, "
                             f"save_before_preemption={save_before_preemption!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq if save_freq in ("epoch", False) else int(save_freq)
        self.delete_checkpoint = delete_checkpoint
        self.save_before_preemption = save_before_preemption
        self._supports_tf_logs = True
        # Every rank restores (rank 0's values arrive by broadcast); only rank 0 writes.
        self._chief_worker_only = False
        self._batches_count = 0
        self._current_epoch = 0
        self._training_state: _TrainingState | None = None
        self._batch_level = self.save_freq not in ("epoch", False)
        if self._batch_level:
            # Only a batch-level save_freq needs a batch hook; without one, fit keeps replaying
            # whole epochs in C++ (Note [Epoch replay]), as tf.keras skips the batch hooks of a
            # callback whose _implements_train_batch_hooks() is False.
            self.on_train_batch_end = self._on_train_batch_end

    @property
    def _backup_file(self) -> str:
        return os.path.join(self.backup_dir, "chief", _STATE_FILE)

    def _implements_train_batch_hooks(self) -> bool:
        return self._batch_level

    def on_train_begin(self, logs: dict | None = None) -> None:
        model = self.model
        if model.weights:
            optimizer = getattr(model, "optimizer", None)
            if optimizer is not None and callable(getattr(optimizer, "build", None)):
                optimizer.build(model.trainable_variables)
        else:
            _log.warning("To use the BackupAndRestore callback, your model must be built "
                         "before you call `fit()`. Model %s is unbuilt. You can build it "
                         "beforehand by calling it on a batch of data.", model.name)
        state = _TrainingState(self._batch_level)
        _restore(model, self._backup_file, state)
        self._training_state = state
        model.__dict__["_training_state"] = state  # read by fit (Note [Backup and restore])

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        state = self._training_state
        if state is not None and state.restored and not state.consulted:
            # The weights are the backup's: training them again from an earlier epoch would
            # silently give a different model.
            raise RuntimeError(
                "BackupAndRestore restored a backup, but fit() did not ask where to resume "
                "(model._training_state.maybe_load_initial_counters_from_ckpt); this trainer "
                f"does not support BackupAndRestore. Received: epoch={epoch}")
        self._current_epoch = epoch

    def _on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._batches_count += 1
        if self._batches_count >= self.save_freq:
            self._batches_count = 0
            self._backup(self._current_epoch, batch)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.save_freq == "epoch":
            self._backup(epoch, _UNUSED)

    def on_train_end(self, logs: dict | None = None) -> None:
        from corten import distribute

        if self.delete_checkpoint and distribute.is_chief(self.model):
            # Training completed: the backup must not resume the next fit.
            shutil.rmtree(os.path.dirname(self._backup_file), ignore_errors=True)
        self._training_state = None
        self.model.__dict__.pop("_training_state", None)

    def _backup(self, epoch: int, batch: int) -> None:
        from corten import distribute

        if distribute.is_chief(self.model):
            _write(self.model, self._backup_file, epoch, batch)


class BackupAndRestoreExperimental(BackupAndRestore):
    """Deprecated: ``keras.callbacks.experimental.BackupAndRestore``; use
    ``keras.callbacks.BackupAndRestore`` (same arguments)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _log.warning("`tf.keras.callbacks.experimental.BackupAndRestore` endpoint is deprecated "
                     "and will be removed in a future release. Please use "
                     "`tf.keras.callbacks.BackupAndRestore`.")
        super().__init__(*args, **kwargs)


class _TrainingState:
    """The restored counters, and where ``fit`` resumes (tf.keras's WorkerTrainingState)."""

    def __init__(self, batch_level: bool) -> None:
        self.batch_level = batch_level
        self.epoch = _UNUSED
        self.batch = _UNUSED
        self.restored = False
        self.consulted = False

    def maybe_load_initial_counters_from_ckpt(self, steps_per_epoch: int | None,
                                              initial_epoch: int,
                                              mode: str = "train") -> tuple[int, int]:
        """The ``(epoch, step)`` at which ``fit`` starts: after the restored backup's epoch (or
        batch, with an integer ``save_freq``), else ``(initial_epoch, 0)``.

        Args:
            steps_per_epoch: the steps of an epoch (None when unknown).
            initial_epoch: the ``initial_epoch`` passed to ``fit``.
            mode: "train" (other modes never resume).
        """
        initial_step = 0
        if mode != "train" or not self.restored or self.consulted:
            # Once only: a fit that raised leaves model._training_state behind, and a later
            # fit must not resume from it again.
            return initial_epoch, initial_step
        self.consulted = True
        if self.batch_level:
            if self.batch >= 0:
                if steps_per_epoch is not None and self.batch >= steps_per_epoch - 1:
                    return self.epoch + 1, 0  # backed up after the epoch's last batch
                return self.epoch, self.batch + 1
        elif self.epoch >= 0:
            # Backed up at the end of that epoch: the next one is the first not done.
            return self.epoch + 1, 0
        return initial_epoch, initial_step


# ---------------------------------------------------------------------- the backup file
def _write(model: Any, path: str, epoch: int, batch: int) -> None:
    """Writes the model's weights, optimizer state and counters to ``path`` atomically."""
    from corten.keras.saving import saving_lib, weights_file

    tensors, metadata = saving_lib._collect_weights(model, include_optimizer=True)
    learning_rate = _learning_rate_variable(model)
    if learning_rate is not None:
        tensors[_LEARNING_RATE] = np.asarray(learning_rate)
    metadata.update({"format": _FORMAT, "epoch": str(int(epoch)), "batch": str(int(batch))})
    metadata.update(_build_metadata(model))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    weights_file.write_tensors(path, tensors, metadata)


def _build_metadata(model: Any) -> dict[str, str]:
    """How to create the weights of a model that fit builds on its first step: Sequential's
    build input shape, or the Layer build config (the input shapes of the first call)."""
    shape = model.__dict__.get("_build_input_shape")
    get = getattr(model, "get_build_config", None)
    try:
        if shape is not None:
            return {"build_input_shape": json.dumps(list(shape))}
        config = get() if callable(get) else None
        return {} if config is None else {"build_config": json.dumps(config)}
    except (TypeError, ValueError, NotImplementedError):
        return {}


def _build(model: Any, metadata: dict[str, str]) -> None:
    """Creates the weights of an unbuilt model as ``_build_metadata`` recorded."""
    if "build_input_shape" in metadata:
        model.build(tuple(json.loads(metadata["build_input_shape"])))
    elif "build_config" in metadata:
        model.build_from_config(json.loads(metadata["build_config"]))
    else:
        return
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        optimizer.build(model.trainable_variables)


def _learning_rate_variable(model: Any) -> Any:
    from corten.ops.variables import Variable

    value = getattr(getattr(model, "optimizer", None), "_learning_rate", None)
    return value if isinstance(value, Variable) else None


def _invalid(path: str, why: str) -> ValueError:
    return ValueError(f"BackupAndRestore: cannot restore the training state from {path!r}: {why} "
                      f"Delete {os.path.dirname(path)!r} to train from the start.")


def _read(model: Any, path: str,
          may_build: bool) -> tuple[int, int, list[tuple[Any, np.ndarray]]]:
    """Reads and checks the backup at ``path`` against ``model``: ``(epoch, batch, [(variable,
    value)])``, with every value's shape checked; nothing is assigned. An unbuilt model is
    built from the backup's build config when ``may_build``.

    Raises:
        ValueError: naming ``path``, for an unreadable file or one that does not fit the model.
    """
    from corten.keras.saving import weights_file

    try:
        arrays, metadata = weights_file.read_tensors(path)
    except (ValueError, OSError) as e:
        raise _invalid(path, str(e)) from e
    if metadata.get("format") != _FORMAT:
        raise _invalid(path, f"it is not a BackupAndRestore backup (format "
                             f"{metadata.get('format')!r}, expected {_FORMAT!r}).")
    try:
        epoch, batch = int(metadata["epoch"]), int(metadata["batch"])
        opt_names = json.loads(metadata.get("optimizer_variables", "[]"))
        if not model.weights and may_build:
            # A model first built by fit's first step (Sequential without an Input) gets its
            # weights now, so that they can be restored (tf.keras restores them on creation).
            _build(model, metadata)
    except (KeyError, ValueError, TypeError) as e:
        raise _invalid(path, f"its metadata is malformed ({e!r}).") from e
    if not isinstance(opt_names, list) or not all(n in arrays for n in opt_names):
        raise _invalid(path, "its optimizer_variables metadata does not list its entries.")
    if not model.weights:
        raise _invalid(path, f"model {model.name!r} has no weights yet; build it (call it on a "
                             "batch of data or call model.build) before fit().")
    model_arrays = {n: a for n, a in arrays.items()
                    if n not in opt_names and n != _LEARNING_RATE}
    try:
        weights_file.assign_weights(model, model_arrays, metadata, path, check_only=True)
    except ValueError as e:
        raise _invalid(path, str(e)) from e
    names = weights_file.weight_names(model.weights)
    pairs: list[tuple[Any, np.ndarray]] = []
    if set(names) == set(model_arrays):
        pairs += [(w, model_arrays[n]) for w, n in zip(model.weights, names, strict=True)]
    else:  # matched by position, as load_weights does
        order = json.loads(metadata.get("weight_names", "[]")) or list(model_arrays)
        pairs += [(w, model_arrays[n]) for w, n in zip(model.weights, order, strict=True)]
    optimizer = getattr(model, "optimizer", None)
    opt_vars = list(optimizer.variables) if optimizer is not None and opt_names else []
    if len(opt_vars) != len(opt_names):
        raise _invalid(path, f"it holds {len(opt_names)} optimizer variables but the model's "
                             f"optimizer has {len(opt_vars)} (was it compiled with another "
                             "optimizer?).")
    for var, name in zip(opt_vars, opt_names, strict=True):
        if tuple(arrays[name].shape) != tuple(var.shape):
            raise _invalid(path, f"optimizer variable {var.name!r} has shape "
                                 f"{tuple(var.shape)} but the backup has "
                                 f"{tuple(arrays[name].shape)}.")
        pairs.append((var, arrays[name]))
    learning_rate = _learning_rate_variable(model)
    if learning_rate is not None and _LEARNING_RATE in arrays:
        pairs.append((learning_rate, arrays[_LEARNING_RATE].reshape(())))
    return epoch, batch, pairs


def _restore(model: Any, path: str, state: _TrainingState) -> None:
    """Restores the backup at ``path`` (if any) into ``model`` and ``state``. Under a strategy
    with several ranks, rank 0 reads it and broadcasts the values and the counters."""
    import corten
    from corten import _C, distribute

    strategy = model.__dict__.get("_distribute_strategy")
    ranks = strategy.num_replicas_in_sync if strategy is not None else 1
    chief = distribute.is_chief(model)
    found, error, pairs = False, None, []
    epoch = batch = _UNUSED
    if chief and os.path.exists(path):
        try:
            # With several ranks every rank must build alike, and only this one reads the file.
            epoch, batch, pairs = _read(model, path, may_build=ranks == 1)
            found = True
        except ValueError as e:
            error = e
    if ranks > 1:
        # Rank 0 says first whether it restores, so that no rank waits for a broadcast that
        # does not come when the backup is missing or unreadable.
        header = corten.constant(np.array([-1 if error else int(found), epoch, batch], np.int64))
        _C.dist_broadcast_(header, 0)
        status, epoch, batch = (int(v) for v in header.numpy())
        if status < 0 and error is None:
            raise ValueError("BackupAndRestore: rank 0 could not restore the training state "
                             "from its backup (rank 0's error says why).")
        found = status == 1
    if error is not None:
        raise error
    if not found:
        return
    if chief:
        for var, value in pairs:
            var.assign(np.asarray(value, dtype=var.dtype.name))
    if ranks > 1:
        for var in _broadcast_order(model):
            _C.dist_broadcast_(var, 0)
    state.epoch, state.batch, state.restored = epoch, batch, True


def _broadcast_order(model: Any) -> list[Any]:
    """The variables a restore sets, in the same order on every rank."""
    out = list(model.weights)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        out += list(optimizer.variables)
    learning_rate = _learning_rate_variable(model)
    if learning_rate is not None:
        out.append(learning_rate)
    return out
