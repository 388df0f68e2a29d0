"""``keras.callbacks.Callback``: the base class of training callbacks."""

from __future__ import annotations

from typing import Any

__all__ = ["Callback"]


def _default(method: Any) -> Any:
    """Marks a batch hook of the base class: a CallbackList skips a mode's batch hooks when no
    callback replaces any of them (tf.keras's ``generic_utils.default``)."""
    method._is_default = True
    return method


class Callback:
    """Base class of the objects ``fit``, ``evaluate`` and ``predict`` notify.

    Attributes:
        params: the training parameters (``verbose``, ``epochs``, ``steps``, ...).
        model: the model being trained, set by ``set_model``.

    ``logs`` dicts map metric names to Python numbers. The ``on_batch_*`` hooks are the older
    names of ``on_train_batch_*`` and are called from them.
    """

    def __init__(self) -> None:
        self.validation_data = None
        self.model: Any = None
        self.params: dict[str, Any] = {}
        self._chief_worker_only = None
        self._supports_tf_logs = False

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def set_model(self, model: Any) -> None:
        self.model = model

    @_default
    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """A backwards compatibility alias for ``on_train_batch_begin``."""

    @_default
    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """A backwards compatibility alias for ``on_train_batch_end``."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Called at the start of an epoch (training only)."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Called at the end of an epoch with the epoch's metrics (``val_`` ones included)."""

    @_default
    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_begin(batch, logs=logs)

    @_default
    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_end(batch, logs=logs)

    @_default
    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before a batch in ``evaluate`` (and validation in ``fit``)."""

    @_default
    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after a batch in ``evaluate`` (and validation in ``fit``)."""

    @_default
    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before a batch in ``predict``."""

    @_default
    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after a batch in ``predict``."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Called at the start of training."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """Called at the end of training."""

    def on_test_begin(self, logs: dict | None = None) -> None:
        """Called at the start of evaluation or validation."""

    def on_test_end(self, logs: dict | None = None) -> None:
        """Called at the end of evaluation or validation."""

    def on_predict_begin(self, logs: dict | None = None) -> None:
        """Called at the start of prediction."""

    def on_predict_end(self, logs: dict | None = None) -> None:
        """Called at the end of prediction."""

    def _implements_train_batch_hooks(self) -> bool:
        cls = type(self)
        return (cls.on_batch_begin is not Callback.on_batch_begin
                or cls.on_batch_end is not Callback.on_batch_end
                or cls.on_train_batch_begin is not Callback.on_train_batch_begin
                or cls.on_train_batch_end is not Callback.on_train_batch_end
                or "on_batch_begin" in self.__dict__ or "on_batch_end" in self.__dict__)
