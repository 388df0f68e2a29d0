"""``keras.callbacks.TerminateOnNaN``, ``CSVLogger`` and ``LambdaCallback``."""

from __future__ import annotations

import collections
import csv
import math
import os
from collections.abc import Iterable
from typing import Any

import numpy as np

from corten.keras.callbacks._utils import print_msg, to_number
from corten.keras.callbacks.callback import Callback

__all__ = ["TerminateOnNaN", "CSVLogger", "LambdaCallback"]


class TerminateOnNaN(Callback):
    """Stops training (``model.stop_training = True``) when a batch's loss is NaN or inf.

    Beyond Keras: while it is among fit()'s callbacks, the built-in ``train_step`` does not
    apply a step whose loss or gradients are NaN or infinite, so the model keeps its last
    finite weights (Keras applies that step and leaves NaN weights behind). A custom
    ``train_step`` decides for itself.
    """

    def __init__(self) -> None:
        super().__init__()
        self._supports_tf_logs = True

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = to_number(loss)
        if not math.isfinite(float(loss)):
            print_msg(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class CSVLogger(Callback):
    """Streams the epoch logs to a CSV file: one row per epoch, a header of "epoch" and the
    sorted log keys.

    Args:
        filename: the CSV file's path.
        separator: the field separator.
        append: append to an existing file (its header is kept) instead of overwriting.
    """

    def __init__(self, filename: Any, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer: Any = None
        self.keys: list[str] | None = None
        self.append_header = True
        self.csv_file: Any = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, encoding="utf-8") as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")  # noqa: SIM115

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}

        def handle_value(k: Any) -> Any:
            k = to_number(k)
            is_zero_dim_ndarray = isinstance(k, np.ndarray) and k.ndim == 0
            if isinstance(k, str):
                return k
            if isinstance(k, Iterable) and not is_zero_dim_ndarray:
                return f"\"[{', '.join(map(str, k))}]\""
            return k

        if self.keys is None:
            self.keys = sorted(logs.keys())
        if getattr(self.model, "stop_training", False):
            # "NA" for missing keys so that CSV parsers do not fail on the last epoch.
            logs = {k: logs.get(k, "NA") for k in self.keys}
        if self.writer is None:
            sep = self.sep

            class CustomDialect(csv.excel):
                delimiter = sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch", *self.keys],
                                         dialect=CustomDialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((key, handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.csv_file is not None:
            self.csv_file.close()
            self.csv_file = None
        self.writer = None


class LambdaCallback(Callback):
    """A callback built from functions: ``on_epoch_begin(epoch, logs)``,
    ``on_epoch_end(epoch, logs)``, ``on_batch_begin(batch, logs)``,
    ``on_batch_end(batch, logs)``, ``on_train_begin(logs)``, ``on_train_end(logs)``, and any
    other hook passed by name.

    Example:
        >>> print_cb = LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs))
    """

    def __init__(self, on_epoch_begin: Any = None, on_epoch_end: Any = None,
                 on_batch_begin: Any = None, on_batch_end: Any = None,
                 on_train_begin: Any = None, on_train_end: Any = None, **kwargs: Any) -> None:
        super().__init__()
        for name in kwargs:
            if not (name.startswith("on_") and hasattr(Callback, name)):
                raise ValueError(f"LambdaCallback: unknown hook {name!r}. "
                                 f"Received: {name}={kwargs[name]!r}")
        self.__dict__.update(kwargs)
        hooks = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
                 "on_batch_begin": on_batch_begin, "on_batch_end": on_batch_end,
                 "on_train_begin": on_train_begin, "on_train_end": on_train_end}
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)
