"""corten.linalg: matrix ops (TensorFlow's tf.linalg): matmul, einsum, band_part, eye."""

from corten.ops.creation import eye
from corten.ops.einsum import einsum
from corten.ops.linalg import band_part, matmul

__all__ = ["band_part", "einsum", "eye", "matmul"]
