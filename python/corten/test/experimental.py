"""``tf.test.experimental``: waiting for the devices, for code that times GPU work."""

from __future__ import annotations

from corten import _C

__all__ = ["sync_devices"]


def sync_devices() -> None:
    """Blocks until every GPU has finished the work queued on it.

    corten queues GPU kernels and returns; a value read on the host waits for it. Timing code
    calls this before reading the clock. It returns at once on a machine without GPUs.
    """
    _C.synchronize_devices()
