"""keras.layers.experimental (tf.keras 2's older paths of the preprocessing layers and of
EinsumDense)."""

from corten.keras.layers.einsum_dense import EinsumDense
from corten.keras.layers.experimental import preprocessing

__all__ = ["EinsumDense", "preprocessing"]
