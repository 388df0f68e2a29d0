"""TensorFlow's tf.config.experimental memory helpers, for the CPU device."""

from __future__ import annotations

from corten import _C

__all__ = ["get_memory_info", "reset_memory_stats", "enable_buffer_poisoning",
           "buffer_poisoning_enabled"]


def _check_device(device: str) -> None:
    if device.upper().replace("/DEVICE:", "").replace("/", "") not in ("CPU:0", "CPU"):
        raise ValueError(f"corten has one device, 'CPU:0'. Received: device={device!r}")


def get_memory_info(device: str = "CPU:0") -> dict[str, int]:
    """``{"current": bytes held by tensors, "peak": the most held since the last reset}``."""
    _check_device(device)
    s = _C.memory_stats()
    return {"current": s["live_bytes"], "peak": s["peak_bytes"]}


def reset_memory_stats(device: str = "CPU:0") -> None:
    """Resets the peak to the current usage."""
    _check_device(device)
    _C.reset_peak_memory()


def enable_buffer_poisoning(enabled: bool = True) -> None:
    """Debug mode: every tensor buffer corten frees is filled with all-one bytes (NaN for
    floats, -1 for integers) before it is reused, so that a compiled plan or an op that read a
    buffer after giving it back would produce NaN instead of plausible numbers. Costs one
    memory fill per free; the test suite runs under it."""
    _C.set_poison_freed(bool(enabled))


def buffer_poisoning_enabled() -> bool:
    """Whether ``enable_buffer_poisoning(True)`` is in effect."""
    return bool(_C.poison_freed())
