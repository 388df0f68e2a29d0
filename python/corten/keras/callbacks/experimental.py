"""``keras.callbacks.experimental``: tf.keras 2's deprecated endpoint of BackupAndRestore."""

from corten.keras.callbacks.backup_and_restore import (
    BackupAndRestoreExperimental as BackupAndRestore,
)

__all__ = ["BackupAndRestore"]
