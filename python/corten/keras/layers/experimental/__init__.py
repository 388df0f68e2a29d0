"""keras.layers.experimental (tf.keras 2's older paths of the preprocessing layers)."""

from corten.keras.layers.experimental import preprocessing

__all__ = ["preprocessing"]
