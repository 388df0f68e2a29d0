"""corten.config: threading, kernel selection, memory statistics and eager debugging."""

from __future__ import annotations

from typing import Literal

from corten import _C
from corten.config import experimental, threading
from corten.config.devices import (
    LogicalDevice,
    PhysicalDevice,
    get_soft_device_placement,
    get_visible_devices,
    list_logical_devices,
    list_physical_devices,
    set_soft_device_placement,
)
from corten.ops.function import functions_run_eagerly, run_functions_eagerly

__all__ = ["threading", "experimental", "get_cpu_isa", "set_cpu_isa", "cpu_has_avx2",
           "cpu_has_avx512", "cpu_has_amx", "amx_enabled", "set_amx", "memory_stats", "reset_peak_memory", "empty_cache",
           "run_functions_eagerly", "functions_run_eagerly", "PhysicalDevice", "LogicalDevice",
           "list_physical_devices", "list_logical_devices", "get_visible_devices",
           "set_soft_device_placement", "get_soft_device_placement"]


CpuIsa = Literal["baseline", "avx2", "avx512"]


def get_cpu_isa() -> CpuIsa:
    """The CPU kernel set in use: ``"avx512"``, ``"avx2"`` or ``"baseline"`` (portable).

    By default the highest level this CPU supports.
    """
    return _C.cpu_isa()


def set_cpu_isa(name: CpuIsa) -> None:
    """Selects the CPU kernel set.

    The levels form a ladder: ``"baseline"`` (portable C++), ``"avx2"`` (needs AVX2+FMA) and
    ``"avx512"`` (needs AVX-512 F/BW/DQ/VL and FMA); ops without kernels of their own at a level
    use the level below. The environment variable ``CORTEN_CPU_ISA=baseline|avx2|avx512`` caps
    the level from process start (a level this CPU lacks gives the highest one it has).

    Args:
        name: ``"baseline"``, ``"avx2"`` or ``"avx512"``.

    Raises:
        ValueError: for another name, or a level this CPU does not support.

    Example:
        >>> corten.config.set_cpu_isa("avx2")  # compare the AVX2 and AVX-512 kernels
    """
    _C.set_cpu_isa(name)


def cpu_has_avx2() -> bool:
    """Whether this CPU supports the ``"avx2"`` kernels (AVX2 and FMA)."""
    return _C.cpu_has_avx2()


def cpu_has_avx512() -> bool:
    """Whether this CPU supports the ``"avx512"`` kernels (AVX-512 F/BW/DQ/VL and FMA)."""
    return _C.cpu_has_avx512()


def cpu_has_amx() -> bool:
    """Whether this CPU and OS support AMX-BF16 tiles (Xeon Sapphire Rapids and later)."""
    return _C.cpu_has_amx_bf16()


def amx_enabled() -> bool:
    """Whether bfloat16 matrix products and convolutions run on AMX tiles.

    By default they do wherever the CPU has them (at the ``"avx512"`` level), unless the
    environment variable ``CORTEN_CPU_AMX=0`` was set at process start.
    """
    return _C.cpu_amx_enabled()


def set_amx(enabled: bool) -> None:
    """Runs bfloat16 products on AMX tiles (``True``) or on AVX-512 BF16 (``False``).

    Both sum exact products in float32 and agree within one unit of bfloat16 (the tiles add in
    an order of their own); float32 ops are not affected.

    Raises:
        ValueError: turning AMX on where the CPU or OS lacks it.

    Example:
        >>> corten.config.set_amx(False)  # compare the AMX and AVX-512 BF16 kernels
    """
    _C.set_cpu_amx(bool(enabled))


def memory_stats() -> dict[str, int]:
    """Counters of the CPU caching allocator.

    Returns:
        A dict with ``live_bytes`` (held by live tensors), ``peak_bytes`` (the maximum of
        live_bytes since start or the last reset), ``cached_bytes`` (free blocks kept for
        reuse), ``num_allocs`` and ``num_system_allocs``. Memory borrowed from numpy or DLPack
        producers is not counted.
    """
    return _C.memory_stats()


def reset_peak_memory() -> None:
    """Sets ``peak_bytes`` to the current ``live_bytes``."""
    _C.reset_peak_memory()


def empty_cache() -> None:
    """Returns every cached free block to the system."""
    _C.empty_cache()
