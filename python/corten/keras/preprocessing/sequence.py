"""keras.preprocessing.sequence: pad_sequences (also keras.utils.pad_sequences)."""

from corten.keras.utils.data_utils import pad_sequences

__all__ = ["pad_sequences"]
