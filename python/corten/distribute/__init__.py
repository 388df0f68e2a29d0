"""``corten.distribute``: tf.distribute's data-parallel strategies, one replica per MPI process.

Launched with ``mpirun -np N python train.py`` (the ``distributed`` extra installs MPICH), every
process runs the same script; ``MultiWorkerMirroredStrategy`` finds its rank and world from MPI.
Inside ``strategy.scope()`` each variable starts with rank 0's value; ``fit`` splits every
global batch across the ranks; ``optimizer.apply_gradients`` sums the gradients over the
ranks before updating (one all-reduce per step, Note [MPI at run time] in
csrc/distributed/mpi.cpp), so every rank keeps the same weights; metrics are averaged over the
ranks, and only rank 0 prints and writes ``save`` / ``save_weights`` files (ModelCheckpoint
included). ``MirroredStrategy`` is the one-process case.

As in tf.distribute, ``apply_gradients`` sums the replicas' gradients, and ``fit``'s loss is
each replica's share of the global mean (divided by ``num_replicas_in_sync``); a custom loop
scales its loss the same way (``compute_average_loss`` divides by the global batch size).
"""

from __future__ import annotations

import contextlib
import ctypes.util
import glob
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from corten import _C
from corten.distribute import experimental
from corten.distribute.experimental import CommunicationOptions

__all__ = ["Strategy", "MirroredStrategy", "MultiWorkerMirroredStrategy", "ReduceOp",
           "compute_average_loss", "experimental", "get_strategy", "has_strategy", "is_chief",
           "mpi_library"]

_stack: list[Strategy] = []


class ReduceOp:
    """How ``Strategy.reduce`` combines the replicas' values."""

    SUM = "SUM"
    MEAN = "MEAN"


class Strategy:
    """One replica per process over ``num_replicas_in_sync`` processes (tf.distribute.Strategy's
    interface: scope, run, reduce, experimental_distribute_dataset)."""

    def __init__(self) -> None:
        self._rank, self._size = 0, 1
        self._options = CommunicationOptions()

    @property
    def num_replicas_in_sync(self) -> int:
        """The number of replicas (processes) that train together."""
        return self._size

    @property
    def rank(self) -> int:
        """This process's replica index (0 is the chief, which prints and checkpoints)."""
        return self._rank

    @contextlib.contextmanager
    def scope(self) -> Iterator[Strategy]:
        """Variables created inside start with rank 0's values on every rank; models created
        inside train data-parallel in fit/evaluate/predict."""
        _stack.append(self)
        try:
            yield self
        finally:
            _stack.pop()

    def run(self, fn: Callable[..., Any], args: tuple = (), kwargs: dict | None = None) -> Any:
        """Runs ``fn(*args, **kwargs)`` as this process's replica (its per-replica result), in
        the strategy's scope and with the replica's own random streams."""
        from corten.distribute import _input

        return _input.run(self, fn, args, kwargs)

    def reduce(self, reduce_op: str, value: Any, axis: int | None = None) -> Any:
        """Combines the replicas' ``value`` (SUM or MEAN); with ``axis``, also along that axis
        of each replica's value, as tf.distribute does (MEAN then counts every element)."""
        import corten

        op = str(getattr(reduce_op, "value", reduce_op)).upper().split(".")[-1]
        if op not in (ReduceOp.SUM, ReduceOp.MEAN):
            raise ValueError(f"Strategy.reduce: reduce_op must be SUM or MEAN; got {reduce_op!r}")
        value = corten.convert_to_tensor(value)
        count = 1
        if axis is not None:
            count = int(value.shape[axis])
            value = corten.reduce_sum(value, axis=axis)
        total = self.all_reduce_sum(value)
        if op == ReduceOp.MEAN:
            counts = self.all_reduce_sum(corten.constant(float(count), "float64"))
            total = total / corten.cast(counts, total.dtype)
        return total

    def all_reduce_sum(self, value: Any) -> Any:
        """The sum of ``value`` over the replicas (a copy of it with one replica)."""
        import corten

        value = corten.convert_to_tensor(value)
        if self._size == 1:
            return corten.identity(value)
        return _C.dist_all_reduce(value, _C.DistReduceOp.SUM)

    def experimental_distribute_dataset(self, dataset: Any, options: Any = None) -> Any:
        """This replica's batches of ``dataset``, cut as its ``auto_shard_policy`` says: with
        DATA (the default), rows ``[r * ceil(n / N), (r + 1) * ceil(n / N))`` of each global
        batch of n rows, as tf.distribute rebatches (Note [Auto-sharding] in _input.py)."""
        from corten.distribute import _input

        return _input.distribute_dataset(self, dataset, options)

    def _broadcast_variable(self, variable: Any) -> None:
        if self._size > 1:
            _C.dist_broadcast_(variable, 0)


class MirroredStrategy(Strategy):
    """Synchronous training on this process's CPU: one replica (tf.distribute's
    MirroredStrategy on one device)."""

    def __init__(self, devices: Any = None, cross_device_ops: Any = None) -> None:
        super().__init__()


def mpi_library() -> str | None:
    """The MPI library with the standard ABI that MultiWorkerMirroredStrategy loads: the
    ``CORTEN_MPI_LIBRARY`` path if set, else the ``mpich`` wheel's libmpi_abi in this
    environment, else one on the system's library path; None when there is none."""
    env = os.environ.get("CORTEN_MPI_LIBRARY")
    if env:
        return env
    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix)):
        found = sorted(glob.glob(os.path.join(prefix, "lib", "libmpi_abi.so*")))
        real = [f for f in found if not os.path.islink(f) and ".so." in f]
        if real:
            return real[0]
    name = ctypes.util.find_library("mpi_abi")
    return name


class MultiWorkerMirroredStrategy(Strategy):
    """Synchronous data-parallel training over the processes of an MPI job
    (``mpirun -np N python train.py``; a hostfile spreads them over machines). Started outside
    mpirun it is a one-replica strategy.

    Raises:
        ValueError: if MPI cannot be loaded (the message says how to install it).
    """

    def __init__(self, cluster_resolver: Any = None,
                 communication_options: CommunicationOptions | None = None) -> None:
        super().__init__()
        if communication_options is not None:
            if not isinstance(communication_options, CommunicationOptions):
                raise ValueError("MultiWorkerMirroredStrategy: communication_options must be a "
                                 "tf.distribute.experimental.CommunicationOptions; got "
                                 f"{type(communication_options).__name__}")
            self._options = communication_options
        if not _launched_by_mpi() and not _C.dist_initialized():
            return
        library = mpi_library()
        if library is None:
            raise ValueError("MultiWorkerMirroredStrategy: no MPI library with the standard ABI "
                             "was found; pip install 'corten[distributed]' (MPICH), or set "
                             "CORTEN_MPI_LIBRARY to a libmpi_abi.so")
        _C.dist_init(library)
        import atexit

        atexit.register(_C.dist_finalize)
        _C.dist_set_timeout(self._options.effective_timeout)
        self._rank, self._size = _C.dist_rank(), _C.dist_size()
        if self._size > 1:
            from corten.ops import autograd

            autograd._gradient_observer = _gradient_observer


def _launched_by_mpi() -> bool:
    return any(k in os.environ for k in ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE",
                                         "PMIX_RANK", "MPI_LOCALNRANKS"))


def get_strategy() -> Strategy:
    """The strategy whose scope is active, else the default one-replica strategy."""
    return _stack[-1] if _stack else _DEFAULT


def has_strategy() -> bool:
    """Whether a strategy's scope is active."""
    return bool(_stack)


_DEFAULT = Strategy()


def is_chief(model: Any = None) -> bool:
    """Whether this process writes saved models and checkpoints: rank 0 of the strategy the
    model was compiled under (or of the active one), and any process that trains alone. The
    other ranks hold the same weights, so they skip the write."""
    strategy = getattr(model, "__dict__", {}).get("_distribute_strategy") or get_strategy()
    return strategy.rank == 0


def compute_average_loss(per_example_loss: Any, global_batch_size: int | None = None) -> Any:
    """The replica's share of the mean loss over the global batch (tf.nn.compute_average_loss):
    the sum of its per-example losses divided by the global batch size (by default the
    replica's batch times num_replicas_in_sync)."""
    import corten

    per_example_loss = corten.convert_to_tensor(per_example_loss)
    if global_batch_size is None:
        global_batch_size = int(per_example_loss.shape[0]) * get_strategy().num_replicas_in_sync
    return corten.reduce_sum(per_example_loss) / float(global_batch_size)


# The GradientReducer of the last GradientTape.gradient under a several-replica strategy: its
# buckets are being summed while the caller goes on to apply_gradients.
_in_flight: list[Any] = []
# How many apply_gradients used gradients summed during the backward pass (for tests).
overlapped_steps = 0


def _gradient_observer(sources: list[Any]) -> Any:
    """A GradientReducer for GradientTape.gradient when its sources are trainable variables
    under a several-replica strategy (they are the gradients an optimizer applies), else None."""
    from corten.ops.variables import Variable

    strategy = get_strategy()
    if strategy.num_replicas_in_sync == 1 or not strategy._options.overlap or not sources:
        return None
    if not all(isinstance(s, Variable) and s.trainable for s in sources):
        return None
    _drop_in_flight()
    reducer = _C.GradientReducer(sources, strategy._options.bytes_per_pack)
    _in_flight.append(reducer)
    return reducer


def _drop_in_flight() -> None:
    # Its collectives complete on every rank, as every rank started them; the sums go unused.
    while _in_flight:
        _in_flight.pop().finish()


def sum_gradients(grads: list[Any], strategy: Strategy) -> list[Any]:
    """The gradients summed over the replicas. Those of the GradientTape.gradient just run are
    being summed already, bucket by bucket, since its backward pass (Note [Dead ranks] and
    GradientReducer in corten/distributed.h); others are flattened into one buffer per dtype,
    summed with one all-reduce and split back."""
    global overlapped_steps
    if _in_flight:
        reducer = _in_flight.pop()
        local = reducer.local
        totals = reducer.finish()
        by_id = {g._id: t for g, t in zip(local, totals, strict=True) if g is not None}
        if all(getattr(g, "_id", None) in by_id for g in grads):
            overlapped_steps += 1
            return [by_id[g._id] for g in grads]
    import corten

    out = list(grads)
    by_dtype: dict[str, list[int]] = {}
    for i, g in enumerate(grads):
        by_dtype.setdefault(g.dtype.name, []).append(i)
    for indices in by_dtype.values():
        flat = corten.concat([corten.reshape(grads[i], [-1]) for i in indices], axis=0)
        total = _C.dist_all_reduce(flat, _C.DistReduceOp.SUM)
        sizes = [int(np.prod(grads[i].shape)) for i in indices]
        for i, part in zip(indices, corten.split(total, sizes, axis=0), strict=True):
            out[i] = corten.reshape(part, grads[i].shape)
    return out

