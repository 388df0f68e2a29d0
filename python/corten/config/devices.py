"""The devices this process can use, as ``tf.config.list_physical_devices`` and friends.

The C++ core owns the answer (``corten._C.available_devices``): on a build without CUDA, or a
machine without a driver or a GPU, there is only the CPU, and
``tf.config.experimental.gpu_unavailable_reason()`` says why.
"""

from __future__ import annotations

import collections

from corten import _C

__all__ = ["PhysicalDevice", "LogicalDevice", "list_physical_devices", "list_logical_devices",
           "get_visible_devices", "set_soft_device_placement", "get_soft_device_placement"]


PhysicalDevice = collections.namedtuple("PhysicalDevice", ["name", "device_type"])
PhysicalDevice.__doc__ = """A physical device, as ``tf.config.PhysicalDevice``.

Fields:
    name: ``"/physical_device:CPU:0"``, ``"/physical_device:GPU:N"``.
    device_type: ``"CPU"`` or ``"GPU"``.
"""

LogicalDevice = collections.namedtuple("LogicalDevice", ["name", "device_type"])
LogicalDevice.__doc__ = """A device ops run on, as ``tf.config.LogicalDevice``.

Fields:
    name: ``"/device:CPU:0"``, ``"/device:GPU:N"`` (usable with ``tf.device``).
    device_type: ``"CPU"`` or ``"GPU"``.
"""


def _devices(device_type: str | None, prefix: str, kind: type) -> list:
    if device_type is not None and not isinstance(device_type, str):
        raise TypeError(f"device_type must be a str or None. Received: device_type={device_type!r}")
    # TensorFlow lists the CPU first; placement prefers the GPUs (see tf.device).
    found = sorted(_C.available_devices(), key=lambda d: (d[0] != "CPU", d[1]))
    return [kind(f"{prefix}{t}:{i}", t) for t, i in found
            if device_type is None or t == device_type]


def list_physical_devices(device_type: str | None = None) -> list[PhysicalDevice]:
    """The physical devices of this machine that corten can use.

    As in TensorFlow, ``device_type`` matches exactly (``"GPU"``, not ``"gpu"``).

    Args:
        device_type: ``"CPU"``, ``"GPU"``, or None for every device.

    Returns:
        A list of PhysicalDevice, e.g. ``[PhysicalDevice(name='/physical_device:CPU:0',
        device_type='CPU')]``; ``list_physical_devices("GPU")`` is ``[]`` without a usable GPU.
    """
    return _devices(device_type, "/physical_device:", PhysicalDevice)


def list_logical_devices(device_type: str | None = None) -> list[LogicalDevice]:
    """The devices ops can be placed on (one per physical device).

    Args:
        device_type: ``"CPU"``, ``"GPU"``, or None for every device.

    Returns:
        A list of LogicalDevice, e.g. ``[LogicalDevice(name='/device:CPU:0',
        device_type='CPU')]``.
    """
    return _devices(device_type, "/device:", LogicalDevice)


def get_visible_devices(device_type: str | None = None) -> list[PhysicalDevice]:
    """The physical devices visible to corten (all of them: there is no way to hide one).

    Args:
        device_type: ``"CPU"``, ``"GPU"``, or None for every device.

    Returns:
        The same list as :func:`list_physical_devices`.
    """
    return list_physical_devices(device_type)


def set_soft_device_placement(enabled: bool) -> None:
    """Whether a ``tf.device`` scope naming a missing device falls back to an available one.

    On by default, as in TensorFlow 2: ``with tf.device("/GPU:0")`` places on the CPU where
    there is no GPU, and ``"/GPU:5"`` on GPU:0 where there are fewer GPUs. Off, creating a
    tensor in such a scope raises ValueError ("Could not satisfy device specification ...").
    The switch is process-wide.

    Args:
        enabled: the new setting.
    """
    _C.set_soft_device_placement(bool(enabled))


def get_soft_device_placement() -> bool:
    """Whether soft device placement is on (see :func:`set_soft_device_placement`).

    Returns:
        The current setting.
    """
    return bool(_C.soft_device_placement())
