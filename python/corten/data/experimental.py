"""corten.data.experimental: the constants and option classes TensorFlow also exposes under
tf.data.experimental."""

from corten.data.dataset import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY
from corten.data.options import SHARD_HINT, AutoShardPolicy, DistributeOptions


def cardinality(dataset):
    """``dataset.cardinality()``."""
    return dataset.cardinality()


__all__ = ["AUTOTUNE", "AutoShardPolicy", "DistributeOptions", "INFINITE_CARDINALITY",
           "SHARD_HINT", "UNKNOWN_CARDINALITY", "cardinality"]
