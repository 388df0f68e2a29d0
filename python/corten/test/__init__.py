"""``tf.test``'s questions about the build and its GPUs, which scripts ask before they place
work: ``is_built_with_cuda``, ``is_gpu_available``, ``gpu_device_name``."""

from __future__ import annotations

from corten import _C, config
from corten.test import experimental

__all__ = ["experimental", "gpu_device_name", "is_built_with_cuda", "is_gpu_available"]


def is_built_with_cuda() -> bool:
    """Whether this corten was built with its CUDA kernels (the CMake option CORTEN_CUDA)."""
    return bool(_C.built_with_cuda())


def is_gpu_available(cuda_only: bool = False,
                     min_cuda_compute_capability: tuple[int, int] | None = None) -> bool:
    """Whether a GPU is usable (TensorFlow's deprecated check; prefer
    ``tf.config.list_physical_devices("GPU")``).

    Args:
        cuda_only: accepted for compatibility (corten's GPUs are CUDA devices).
        min_cuda_compute_capability: ``(major, minor)``; a GPU counts only when it has at least
            this compute capability.

    Returns:
        True when at least one usable GPU qualifies.

    Raises:
        NotImplementedError: for ``min_cuda_compute_capability`` while GPUs are present, since
            their compute capability cannot be read yet.
    """
    del cuda_only
    gpus = config.list_physical_devices("GPU")
    if gpus and min_cuda_compute_capability is not None:
        raise NotImplementedError("is_gpu_available: reading a GPU's compute capability is not "
                                  "supported yet; call it without min_cuda_compute_capability")
    return bool(gpus)


def gpu_device_name() -> str:
    """The name of the first GPU (``"/device:GPU:0"``), or ``""`` without one, as TensorFlow."""
    gpus = config.list_logical_devices("GPU")
    return gpus[0].name if gpus else ""
