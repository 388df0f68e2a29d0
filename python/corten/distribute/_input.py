"""The input side of data-parallel training: which rows of the data each replica reads, as
tf.distribute decides it from a dataset's ``auto_shard_policy``, and predict's gathering.

Note [Auto-sharding]: with N replicas (one per MPI rank), tf.distribute cuts a dataset as
follows (tensorflow/python/distribute/input_lib.py, ``_create_cloned_datasets_from_dataset``;
the grappler pass tensorflow/core/grappler/optimizers/data/auto_shard.cc):

* DATA (also AUTO and FILE here: corten has no file-reading dataset for FILE to shard, and
  AUTO falls back to DATA when it finds none): every global batch of n rows is cut into N
  pieces of ``ceil(n / N)`` rows, the last ones shorter or empty (the legacy RebatchDataset,
  rebatch_dataset_op.cc), and replica r takes piece r (``shard(N, r)`` on the pieces). So 5
  rows over 2 replicas are [0, 1, 2] and [3, 4]; 8 rows over 3 replicas are 3, 3 and 2 rows;
  4 rows over 3 replicas are [0, 1], [2, 3] and [] (the tf.distribute input guide's examples).
  Keras's array adapter always asks for DATA, and ``predict`` forces DATA on datasets, so that
  its gathered result is in order.
* OFF: nothing is sharded. Every rank reads the whole dataset, each global batch rebatched into
  N per-replica batches (RebatchDatasetV2 with ``batch_sizes_for_worker``: ceil(n/N) rows for
  the first ``n % N`` pieces and floor(n/N) for the others, rotated by the rank), and every rank
  steps through all N of them: a pass over the data takes N times as many steps, each replica
  training on the same rows. ``fit`` still counts the dataset's global batches as its steps per
  epoch (Keras infers them before distributing), so an epoch covers the first 1/N of the data.
* HINT: ``shard(SHARD_HINT, i)`` in the pipeline becomes ``shard(N, rank)``; the result is then
  rebatched and stepped through as for OFF.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from corten import nest
from corten.data import structure as st
from corten.data.dataset import (
    UNKNOWN_CARDINALITY,
    Dataset,
    _BatchDataset,
    _CacheDataset,
    _FlatMapDataset,
    _ShardDataset,
    _UnaryDataset,
    _UnbatchDataset,
)
from corten.data.options import SHARD_HINT, AutoShardPolicy
from corten.data.structure import TensorSpec
from corten.ops import _seed

__all__ = ["auto_shard_policy", "distribute_dataset", "gathering_step", "replica_context",
           "replica_rows", "replica_step", "run", "split_batch", "worker_batch_sizes",
           "worker_dataset"]


def auto_shard_policy(data: Any) -> AutoShardPolicy:
    """The policy that applies to ``data``: OFF or HINT as set on a dataset, else DATA
    (Note [Auto-sharding])."""
    if isinstance(data, Dataset):
        policy = data.options().experimental_distribute.auto_shard_policy
        if policy in (AutoShardPolicy.OFF, AutoShardPolicy.HINT):
            return policy
    return AutoShardPolicy.DATA


# ---------------------------------------------------------------------- DATA: rows per replica
def replica_rows(n: int, rank: int, size: int) -> tuple[int, int]:
    """Replica ``rank``'s rows ``[lo, hi)`` of a global batch of ``n`` rows under DATA
    sharding: pieces of ``ceil(n / size)`` rows in rank order, the last ones shorter or
    empty."""
    piece = -(-n // size)
    lo = min(rank * piece, n)
    return lo, min(lo + piece, n)


def _rows(x: Any, rank: int, size: int) -> Any:
    lo, hi = replica_rows(int(x.shape[0]), rank, size)
    return x[lo:hi]


def split_batch(batch: tuple, rank: int, size: int) -> Any:
    """Replica ``rank``'s rows of every component of a global batch (each component is cut
    by its own number of rows, as the legacy RebatchDataset does); a one-element tuple gives
    its element."""
    parts = nest.map_structure(lambda t: _rows(t, rank, size), batch)
    return parts[0] if len(parts) == 1 else parts


# ---------------------------------------------------------------------- OFF / HINT: rebatching
def worker_batch_sizes(global_batch: int, size: int, rank: int) -> list[int]:
    """The per-replica batch sizes rank ``rank`` rebatches each global batch into under OFF
    and HINT (tf.data's ``batch_sizes_for_worker`` with one replica per worker): sizes that
    differ by at most one and add up to ``global_batch``, rotated by the rank so that a step's
    pieces over the ranks also add up to it."""
    floor, num_ceil = divmod(global_batch, size)
    worker_0 = [floor + 1] * num_ceil + [floor] * (size - num_ceil)
    return worker_0[rank:] + worker_0[:rank]


def _declared_batch_size(dataset: Dataset) -> int | None:
    """The ``batch_size`` of the last ``batch`` of the pipeline (tf.data's
    ``compute_batch_size``), None when a transformation that changes the rows of an element
    comes after it or there is none."""
    node = dataset
    while isinstance(node, _UnaryDataset):
        if isinstance(node, _BatchDataset):
            return node._batch_size
        if isinstance(node, (_UnbatchDataset, _FlatMapDataset)):
            return None
        node = node._input
    return None


class _RebatchDataset(_UnaryDataset):
    """The input's rows re-cut into batches of ``sizes[0], sizes[1], ...`` cyclically, taking
    rows across input batches where needed (RebatchDatasetV2, drop_remainder=False); with
    ``sizes`` None each input batch is cut into ``pieces`` ceil-sized pieces instead (the
    legacy RebatchDataset, for a pipeline whose batch size is unknown)."""

    def __init__(self, input_dataset: Dataset, sizes: list[int] | None, pieces: int) -> None:
        super().__init__(input_dataset)
        self._sizes, self._pieces = sizes, pieces

    def _cardinality(self) -> int:
        return UNKNOWN_CARDINALITY

    def _spec(self) -> Any:
        return st.map_structure(
            lambda s: s if s.shape is None else TensorSpec((None, *s.shape[1:]), s.dtype),
            self._input._spec())

    def _elements(self) -> Iterator[Any]:
        if self._sizes is None:
            for element in self._input._elements():
                for r in range(self._pieces):
                    yield st.map_structure(lambda t, r=r: _rows(t, r, self._pieces), element)
            return
        sizes, k = self._sizes, 0
        pending: list[tuple[Any, int, int]] = []  # (element, lo, hi) slices of the next batch
        have = 0
        for element in self._input._elements():
            n, pos = int(st.flatten(element)[0].shape[0]), 0
            while pos < n:
                take = min(sizes[k] - have, n - pos)
                pending.append((element, pos, pos + take))
                pos, have = pos + take, have + take
                if have == sizes[k]:  # a size of 0 gives an empty batch in its turn
                    yield _assemble(pending)
                    pending, have, k = [], 0, (k + 1) % len(sizes)
        if pending:
            yield _assemble(pending)


def _assemble(slices: list[tuple[Any, int, int]]) -> Any:
    if len(slices) == 1:
        element, lo, hi = slices[0]
        return st.map_structure(lambda t: t[lo:hi], element)
    import corten

    columns = zip(*(st.flatten(e) for e, _, _ in slices), strict=True)
    leaves = []
    for column in columns:
        cut = [t[lo:hi] for t, (_, lo, hi) in zip(column, slices, strict=True)]
        leaves.append(corten.concat(cut, axis=0) if isinstance(cut[0], corten.Tensor)
                      else np.concatenate(cut, axis=0))
    return st.pack(slices[0][0], leaves)


def _replace_shard_hints(dataset: Dataset, num_shards: int, index: int) -> Dataset:
    """``dataset`` with every ``shard(SHARD_HINT, i)`` made ``shard(num_shards, index)``; the
    datasets on the way are copied, the others shared."""
    inputs = dataset._inputs()
    new = [_replace_shard_hints(d, num_shards, index) for d in inputs]
    if isinstance(dataset, _ShardDataset) and dataset._num_shards == SHARD_HINT:
        return _ShardDataset(new[0], num_shards, index)
    if all(a is b for a, b in zip(new, inputs, strict=True)):
        return dataset
    out = copy.copy(dataset)
    if isinstance(out, _UnaryDataset):
        out._input = new[0]
    elif hasattr(out, "_datasets"):  # zip
        out._datasets, out._structure = new, st.pack(dataset._structure, new)
    else:  # concatenate
        out._first, out._second = new
    if isinstance(out, _CacheDataset):
        out._cache = None  # filled from the unsharded input
    return out


def worker_dataset(dataset: Dataset, rank: int, size: int) -> Dataset:
    """What rank ``rank`` of ``size`` iterates of ``dataset`` under OFF or HINT: its (hint-
    sharded) dataset rebatched into per-replica batches (Note [Auto-sharding])."""
    if auto_shard_policy(dataset) == AutoShardPolicy.HINT:
        dataset = _replace_shard_hints(dataset, size, rank)
    batch = _declared_batch_size(dataset)
    sizes = None if batch is None else worker_batch_sizes(batch, size, rank)
    return _RebatchDataset(dataset, sizes, size)


# ---------------------------------------------------------------------- strategy entry points
def distribute_dataset(strategy: Any, dataset: Any, options: Any = None) -> Any:
    """``Strategy.experimental_distribute_dataset``: this replica's batches of ``dataset``,
    cut as its ``auto_shard_policy`` says (Note [Auto-sharding]); ``dataset`` itself with one
    replica."""
    size, rank = strategy.num_replicas_in_sync, strategy.rank
    if size == 1:
        return dataset
    if auto_shard_policy(dataset) != AutoShardPolicy.DATA:
        return worker_dataset(dataset, rank, size)
    return dataset.map(lambda *batch: split_batch(batch, rank, size))


@contextlib.contextmanager
def replica_context(strategy: Any) -> Iterator[None]:
    """Runs the body as this process's replica: with several replicas, the stateful random ops
    draw from the replica's own streams (Note [Replica streams] in corten/ops/_seed.py)."""
    several = strategy is not None and strategy.num_replicas_in_sync > 1
    with _seed.replica_stream(strategy.rank if several else None):
        yield


def run(strategy: Any, fn: Callable[..., Any], args: tuple = (),
        kwargs: dict | None = None) -> Any:
    """``Strategy.run``: ``fn(*args, **kwargs)`` as this process's replica, in the strategy's
    scope and with the replica's random streams."""
    with strategy.scope(), replica_context(strategy):
        return fn(*args, **(kwargs or {}))


def replica_step(step: Callable[[Any], Any], strategy: Any,
                 split: bool = True) -> Callable[[Any], Any]:
    """``step`` run as this replica: on its rows of each global batch (``split``, DATA
    sharding) or on the batch as given (the data is already this rank's, OFF and HINT), with
    the replica's random streams."""

    rank, size = strategy.rank, strategy.num_replicas_in_sync

    def own_rows(batch: Any) -> Any:
        if not split:
            return batch
        return split_batch(tuple(batch) if isinstance(batch, tuple) else (batch,), rank, size)

    def run_replica_step(batch: Any) -> Any:
        with replica_context(strategy):
            return step(own_rows(batch))

    def batch_replayer(first_batch: Any) -> Callable[..., Any] | None:
        # Epoch replay (Note [Epoch replay]) of the replica's rows: its piece of each global
        # batch of the epoch's order, so that the epoch's steps, all-reduces included, run in
        # C++ as on one process. Only array data replays, and it is always DATA-sharded.
        inner = getattr(step, "batch_replayer", None)
        lo, hi = replica_rows(int(nest.flatten(first_batch)[0].shape[0]), rank, size)
        if inner is None or not split or hi == lo:
            return None
        replay = inner(own_rows(first_batch))
        if replay is None:
            return None

        def replay_rows(sources: Any, input_source: Any, order: Any, batch_rows: int,
                        first_row: int, num_steps: int, stack: bool) -> Any:
            import corten

            first = first_row // batch_rows
            count = (first + num_steps) * batch_rows
            # No order: the epoch reads the rows in their order (shuffle=False).
            order = corten.range(count, dtype="int64") if order is None else order[:count]
            rows = corten.reshape(order, [-1, batch_rows])
            own = corten.reshape(rows[:, lo:hi], [-1])
            with replica_context(strategy):
                return replay(sources, input_source, own, hi - lo, first * (hi - lo),
                              num_steps, stack)

        return replay_rows

    run_replica_step.batch_replayer = batch_replayer  # type: ignore[attr-defined]
    return run_replica_step



def gathering_step(step: Callable[[Any], Any], strategy: Any) -> Callable[[Any], Any]:
    """predict's ``step`` under a several-replica strategy: each replica runs its rows of the
    global batch (DATA sharding) and every replica returns the outputs of all the rows, in
    order (tf.keras gathers the replicas' outputs with ``strategy.gather``). The gather is a
    sum over the replicas of each replica's outputs written at its rows of a zero buffer."""
    rank, size = strategy.rank, strategy.num_replicas_in_sync

    def gather(t: Any, n: int) -> Any:
        import corten

        lo, hi = replica_rows(n, rank, size)
        if t.ndim == 0 or int(t.shape[0]) != hi - lo:
            raise ValueError("predict under a distribution strategy: every output must have one "
                             f"row per input row; got an output of shape {tuple(t.shape)} for "
                             f"{hi - lo} input rows on replica {rank}")
        is_bool = t.dtype.name == "bool"
        if is_bool:
            t = corten.cast(t, "int32")
        padded = corten.pad(t, [[lo, n - hi]] + [[0, 0]] * (t.ndim - 1))
        total = strategy.all_reduce_sum(padded)
        return corten.cast(total, "bool") if is_bool else total

    def run_gathering_step(batch: Any) -> Any:
        parts = tuple(batch) if isinstance(batch, tuple) else (batch,)
        n = int(nest.flatten(parts[0])[0].shape[0])
        with replica_context(strategy):
            outputs = step(split_batch(parts, rank, size))
        return nest.map_structure(lambda t: gather(t, n), outputs)

    return run_gathering_step
