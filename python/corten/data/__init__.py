"""corten.data: input pipelines (``tf.data``)."""

from corten.data import experimental
from corten.data.dataset import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset
from corten.data.options import Options
from corten.data.structure import TensorSpec

__all__ = ["AUTOTUNE", "Dataset", "INFINITE_CARDINALITY", "Options", "TensorSpec",
           "UNKNOWN_CARDINALITY", "experimental"]
