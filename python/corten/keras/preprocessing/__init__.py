"""keras.preprocessing (the Keras 2 module): ``keras.preprocessing.sequence.pad_sequences``."""

from corten.keras.preprocessing import sequence

__all__ = ["sequence"]
