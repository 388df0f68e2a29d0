"""keras.preprocessing (the Keras 2 module): ``keras.preprocessing.sequence.pad_sequences``,
``keras.preprocessing.image`` and the dataset-from-files functions."""

from corten.keras.preprocessing import image, sequence
from corten.keras.utils.image_dataset import image_dataset_from_directory
from corten.keras.utils.text_dataset import text_dataset_from_directory
from corten.keras.utils.timeseries import timeseries_dataset_from_array

__all__ = ["sequence", "timeseries_dataset_from_array"]
__all__ += ["image", "image_dataset_from_directory", "text_dataset_from_directory"]
