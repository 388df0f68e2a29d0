"""keras.preprocessing (the Keras 2 module): ``keras.preprocessing.sequence.pad_sequences``."""

from corten.keras.preprocessing import sequence
from corten.keras.utils.timeseries import timeseries_dataset_from_array

__all__ = ["sequence", "timeseries_dataset_from_array"]
