"""TensorFlow's tf.config.experimental: memory statistics and settings per device."""

from __future__ import annotations

from corten import _C
from corten.config import devices as _devices

__all__ = ["get_memory_info", "reset_memory_stats", "enable_buffer_poisoning",
           "buffer_poisoning_enabled", "set_memory_growth", "get_memory_growth",
           "gpu_unavailable_reason", "list_physical_devices", "list_logical_devices",
           "enable_tensor_float_32_execution", "tensor_float_32_execution_enabled",
           "get_device_details"]

list_physical_devices = _devices.list_physical_devices
list_logical_devices = _devices.list_logical_devices

# The memory-growth setting of each GPU, by PhysicalDevice.
_memory_growth: dict = {}


def _device_name(device: object, fn: str) -> str:
    if isinstance(device, _devices.PhysicalDevice | _devices.LogicalDevice):
        return device.name.replace("/physical_device:", "/device:")
    if not isinstance(device, str):
        raise TypeError(f"{fn}: device must be a device name such as 'GPU:0'. "
                        f"Received: device={device!r}")
    return device


def get_memory_info(device: str = "CPU:0") -> dict[str, int]:
    """Memory use of a device's caching allocator, as ``tf.config.experimental.get_memory_info``.

    Args:
        device: a device name, ``"CPU:0"`` or ``"GPU:N"`` (any form tf.device accepts).

    Returns:
        ``{"current": bytes held by tensors, "peak": the most held since the last reset}``.

    Raises:
        ValueError: for a device that does not exist, e.g. ``"GPU:0"`` without a GPU
            ("No matching devices found ..."), or a malformed name.
    """
    return _C.device_memory_info(_device_name(device, "get_memory_info"))


def reset_memory_stats(device: str = "CPU:0") -> None:
    """Resets the device's peak memory to its current usage.

    Args:
        device: a device name, as for :func:`get_memory_info`.

    Raises:
        ValueError: for a device that does not exist.
    """
    _C.reset_device_memory_peak(_device_name(device, "reset_memory_stats"))


def set_memory_growth(device: _devices.PhysicalDevice, enable: bool) -> None:
    """Accepted for TensorFlow compatibility: corten's device allocator never reserves a
    GPU's memory up front, it always grows on demand, so the setting is only recorded.

    Args:
        device: a GPU from ``tf.config.list_physical_devices("GPU")``.
        enable: the setting to record.

    Raises:
        ValueError: for a device not in ``list_physical_devices()`` ("Unrecognized device")
            or a non-GPU device, as TensorFlow.
    """
    _check_physical_gpu(device)
    _memory_growth[device] = bool(enable)


def get_memory_growth(device: _devices.PhysicalDevice) -> bool:
    """The setting recorded by :func:`set_memory_growth` (False until set).

    Args:
        device: a GPU from ``tf.config.list_physical_devices("GPU")``.

    Returns:
        The recorded setting.

    Raises:
        ValueError: for a device not in ``list_physical_devices()``.
    """
    if device not in _devices.list_physical_devices():
        raise ValueError(f"Unrecognized device: {device!r}")
    return _memory_growth.get(device, False)


def get_device_details(device: _devices.PhysicalDevice) -> dict:
    """What is known about a physical device, as TensorFlow reports it.

    Args:
        device: a device from ``tf.config.list_physical_devices()``.

    Returns:
        For a GPU, ``{"device_name": ..., "compute_capability": (major, minor)}``; for the CPU,
        an empty dict.

    Raises:
        ValueError: for a device not in ``list_physical_devices()``.
    """
    if device not in _devices.list_physical_devices():
        raise ValueError(f"Unrecognized device: {device!r}")
    if device.device_type != "GPU":
        return {}
    return dict(_C.cuda_device_details(int(device.name.rsplit(":", 1)[1])))


def _check_physical_gpu(device: object) -> None:
    if device not in _devices.list_physical_devices():
        raise ValueError(f"Unrecognized device: {device!r}")
    if device.device_type != "GPU":
        raise ValueError("Cannot set memory growth on non-GPU and non-Pluggable devices. "
                         f"Received: device={device!r}")


def gpu_unavailable_reason() -> str | None:
    """Why ``tf.config.list_physical_devices("GPU")`` is empty.

    Returns:
        None when there are GPUs, else one of ``"this build of corten has no CUDA support"``,
        ``"no CUDA driver"`` or ``"no CUDA device"`` (a CUDA build may add the driver's
        detail).
    """
    return _C.cuda_unavailable_reason() or None


def enable_tensor_float_32_execution(enabled: bool) -> None:
    """Lets float32 matrix products and convolutions on a GPU use TensorFloat-32.

    TensorFloat-32 rounds the inputs of a float32 product to a 10-bit mantissa for the tensor
    cores: several times faster on Ampere and later GPUs, at about 1e-3 relative precision.
    corten keeps it off until this is called with True; the CPU never uses it.

    Args:
        enabled: whether TensorFloat-32 may be used.
    """
    _C.set_tensor_float_32_execution(bool(enabled))


def tensor_float_32_execution_enabled() -> bool:
    """Whether float32 products on a GPU may use TensorFloat-32 (False unless enabled)."""
    return bool(_C.tensor_float_32_execution_enabled())


def enable_buffer_poisoning(enabled: bool = True) -> None:
    """Debug mode: every tensor buffer corten frees is filled with all-one bytes (NaN for
    floats, -1 for integers) before it is reused, so that a compiled plan or an op that read a
    buffer after giving it back would produce NaN instead of plausible numbers. Costs one
    memory fill per free; the test suite runs under it."""
    _C.set_poison_freed(bool(enabled))


def buffer_poisoning_enabled() -> bool:
    """Whether ``enable_buffer_poisoning(True)`` is in effect."""
    return bool(_C.poison_freed())
