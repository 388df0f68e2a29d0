"""corten.nn: activations and other neural-network ops (TensorFlow's tf.nn)."""

from corten.ops.math import sigmoid, tanh
from corten.ops.nn import *  # noqa: F403
from corten.ops.random import dropout
from corten.distribute import compute_average_loss  # noqa: F401  (tf.nn's name)
from corten.ops.conv import *  # noqa: F403
from corten.ops.pooling import *  # noqa: F403
