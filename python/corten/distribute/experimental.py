"""``corten.distribute.experimental``: how the data-parallel strategies communicate."""

from __future__ import annotations

import enum

from corten import _C

__all__ = ["CommunicationImplementation", "CommunicationOptions", "communication_stats"]

# The default wait for the other ranks: tf.distribute waits forever by default, which turns a
# dead or hung rank into a silent hang (Note [Dead ranks] in csrc/distributed/mpi.cpp).
DEFAULT_TIMEOUT_SECONDS = 300.0


class CommunicationImplementation(enum.Enum):
    """Which collective library sums the gradients. AUTO and RING use MPI (its all-reduce
    picks a ring or another algorithm by size); NCCL needs the CUDA build."""

    AUTO = "AUTO"
    RING = "RING"
    NCCL = "NCCL"


class CommunicationOptions:
    """Options of the gradient all-reduce (tf.distribute.experimental.CommunicationOptions).

    Args:
        bytes_per_pack: the size of a gradient bucket in bytes; the buckets are summed while the
            backward pass is still running. 0 picks the default, 25 MiB.
        timeout_seconds: how long a collective waits for every rank before it fails with an
            error naming the missing ranks; None is 300 s (tf.distribute's None waits forever).
        implementation: a CommunicationImplementation.
        overlap: corten's own: False sums all gradients after the backward pass instead.
    """

    def __init__(self, bytes_per_pack: int = 0, timeout_seconds: float | None = None,
                 implementation: CommunicationImplementation | str =
                 CommunicationImplementation.AUTO, overlap: bool = True) -> None:
        if not isinstance(bytes_per_pack, int) or isinstance(bytes_per_pack, bool) or \
                bytes_per_pack < 0:
            raise ValueError("CommunicationOptions: bytes_per_pack must be a non-negative "
                             f"integer; got {bytes_per_pack!r}")
        if timeout_seconds is not None and not float(timeout_seconds) > 0:
            raise ValueError("CommunicationOptions: timeout_seconds must be positive or None; "
                             f"got {timeout_seconds!r}")
        implementation = CommunicationImplementation(
            getattr(implementation, "value", implementation))
        if implementation is CommunicationImplementation.NCCL:
            raise ValueError("CommunicationOptions: NCCL sums GPU tensors; this corten trains "
                             "on the CPU and communicates through MPI (use AUTO or RING)")
        self.bytes_per_pack = bytes_per_pack
        self.timeout_seconds = timeout_seconds
        self.implementation = implementation
        self.overlap = bool(overlap)

    @property
    def effective_timeout(self) -> float:
        """The timeout in seconds that collectives use."""
        return DEFAULT_TIMEOUT_SECONDS if self.timeout_seconds is None else \
            float(self.timeout_seconds)

    def __repr__(self) -> str:
        return (f"CommunicationOptions(bytes_per_pack={self.bytes_per_pack}, "
                f"timeout_seconds={self.timeout_seconds}, "
                f"implementation={self.implementation}, overlap={self.overlap})")


def communication_stats() -> dict[str, float]:
    """What this process has communicated since its strategy started (corten's own):
    ``collectives`` started, ``bytes`` reduced or broadcast, and ``wait_seconds`` spent waiting
    for collectives to complete, the communication that compute did not hide."""
    return dict(_C.dist_stats())
