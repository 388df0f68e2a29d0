"""``keras.callbacks.CallbackList``: calls every callback's hook in order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from corten.keras.callbacks.callback import Callback
from corten.keras.callbacks.history import History
from corten.keras.callbacks.progbar_logger import ProgbarLogger

__all__ = ["CallbackList"]


def _to_python(value: Any) -> Any:
    if hasattr(value, "numpy"):
        value = value.numpy()
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    return value


# Each mode's batch hooks (the train ones with their legacy names).
_MODE_HOOKS = {
    "train": ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"),
    "test": ("on_test_batch_begin", "on_test_batch_end"),
    "predict": ("on_predict_batch_begin", "on_predict_batch_end"),
}


def _implements(cb: Callback, mode: str) -> bool:
    """Whether ``cb`` replaces any of the mode's batch hooks of the base class."""
    return any(not getattr(getattr(cb, h), "_is_default", False) for h in _MODE_HOOKS[mode])


class CallbackList(Callback):
    """A container of callbacks that forwards each hook to all of them.

    Args:
        callbacks: a list of Callback instances.
        add_history: append a ``History`` unless one is in the list.
        add_progbar: insert a ``ProgbarLogger`` first unless one is in the list.
        model: the model the callbacks are attached to.
        **params: passed to ``set_params`` (``verbose``, ``epochs``, ``steps``).
    """

    def __init__(self, callbacks: list[Callback] | None = None, add_history: bool = False,
                 add_progbar: bool = False, model: Any = None, **params: Any) -> None:
        super().__init__()
        self.callbacks: list[Callback] = list(callbacks) if callbacks else []
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError("callbacks must be Callback instances. "
                                f"Received: {cb!r} of type {type(cb).__name__}")
        self._history: History | None = None
        self._progbar: ProgbarLogger | None = None
        self._add_default_callbacks(add_history, add_progbar)
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def _add_default_callbacks(self, add_history: bool, add_progbar: bool) -> None:
        for cb in self.callbacks:
            if isinstance(cb, ProgbarLogger):
                self._progbar = cb
            elif isinstance(cb, History):
                self._history = cb
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger(count_mode="steps")
            self.callbacks.insert(0, self._progbar)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)
        self.__dict__.pop("_batch_modes", None)

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def set_model(self, model: Any) -> None:
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for cb in self.callbacks:
            cb.set_model(model)

    @staticmethod
    def _process_logs(logs: dict | None) -> dict:
        """One dict of Python numbers shared by all callbacks (tensors are read once)."""
        if logs is None:
            return {}
        return {k: _to_python(v) for k, v in logs.items()}

    def _call(self, hook: str, *args: Any, logs: dict | None = None) -> None:
        logs = self._process_logs(logs)
        for cb in self.callbacks:
            getattr(cb, hook)(*args, logs)

    def wants_batch_hooks(self, mode: str) -> bool:
        """Whether a callback replaces a batch hook of ``mode`` ("train", "test" or
        "predict"). As tf.keras: when none does, the mode's batch hooks are skipped with their
        logs unread, so that a silent fit() does not read the step's metrics back on every
        batch."""
        cache = self.__dict__.setdefault("_batch_modes", {})
        wanted = cache.get(mode)
        if wanted is None:
            wanted = cache[mode] = any(_implements(cb, mode) for cb in self.callbacks)
        return wanted

    def _call_batch(self, hook: str, batch: int, logs: dict | None) -> None:
        if self.wants_batch_hooks(hook.split("_")[1] if hook.count("_") > 2 else "train"):
            self._call(hook, batch, logs=logs)

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._call_batch("on_train_batch_begin", batch, logs)

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._call_batch("on_train_batch_end", batch, logs)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._call("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._call("on_epoch_end", epoch, logs=logs)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._call_batch("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._call_batch("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._call_batch("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._call_batch("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._call_batch("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._call_batch("on_predict_batch_end", batch, logs)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._call("on_train_begin", logs=logs)

    def on_train_end(self, logs: dict | None = None) -> None:
        self._call("on_train_end", logs=logs)

    def on_test_begin(self, logs: dict | None = None) -> None:
        self._call("on_test_begin", logs=logs)

    def on_test_end(self, logs: dict | None = None) -> None:
        self._call("on_test_end", logs=logs)

    def on_predict_begin(self, logs: dict | None = None) -> None:
        self._call("on_predict_begin", logs=logs)

    def on_predict_end(self, logs: dict | None = None) -> None:
        self._call("on_predict_end", logs=logs)

    def __iter__(self) -> Iterator[Callback]:
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)
