"""corten.keras.callbacks: objects notified during ``fit``, ``evaluate`` and ``predict``."""

from corten.keras.callbacks import experimental as experimental  # tf.keras 2's endpoint
from corten.keras.callbacks.backup_and_restore import BackupAndRestore
from corten.keras.callbacks.callback import Callback
from corten.keras.callbacks.callback_list import CallbackList
from corten.keras.callbacks.early_stopping import EarlyStopping
from corten.keras.callbacks.history import History
from corten.keras.callbacks.misc import CSVLogger, LambdaCallback, TerminateOnNaN
from corten.keras.callbacks.model_checkpoint import ModelCheckpoint
from corten.keras.callbacks.progbar_logger import ProgbarLogger
from corten.keras.callbacks.schedules import LearningRateScheduler, ReduceLROnPlateau

__all__ = ["BackupAndRestore", "Callback", "CallbackList", "CSVLogger", "EarlyStopping",
           "History", "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint", "ProgbarLogger",
           "ReduceLROnPlateau", "TerminateOnNaN"]
