"""The input side of data-parallel training, with tf.data's and tf.distribute's semantics:
Dataset.shard, tf.data.Options and AutoShardPolicy; how a global batch is cut over the replicas
(DATA), or rebatched on every rank (OFF, HINT); and, under mpirun -np 2 and 4
(shard_worker.py), fit seeing every sample once per epoch, predict gathering the full result
on every rank, and dropout drawing per-rank masks reproducibly."""

import sys
from pathlib import Path

import corten as tf
import mpi_jobs
import numpy as np
import pytest
from corten import distribute
from corten.distribute import _input

Policy = tf.data.experimental.AutoShardPolicy
WORKER = str(Path(__file__).parent / "shard_worker.py")
N_SAMPLES, BATCH = 21, 8  # as in shard_worker.py


def _ids(dataset):
    return [np.asarray(e).tolist() for e in dataset.as_numpy_iterator()]


def _with_policy(dataset, policy):
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = policy
    return dataset.with_options(options)


def _strategy(rank, size):
    """A strategy object that reports ``rank`` of ``size`` (no MPI: only the input side)."""
    strategy = tf.distribute.MirroredStrategy()
    strategy._rank, strategy._size = rank, size
    return strategy


# ---------------------------------------------------------------------- Dataset.shard
def test_shard_sends_element_i_to_shard_i_mod_num_shards():
    shards = [_ids(tf.data.Dataset.range(10).shard(3, i)) for i in range(3)]
    assert shards == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert [int(tf.data.Dataset.range(10).shard(3, i).cardinality()) for i in range(3)] == \
        [4, 3, 3]
    # Arguments may be tensors; shard after batch shards the batches.
    batches = tf.data.Dataset.range(10).batch(3).shard(tf.constant(2), tf.constant(1))
    assert _ids(batches) == [[3, 4, 5], [9]]
    assert int(tf.data.Dataset.range(3).repeat().shard(2, 0).cardinality()) == \
        tf.data.INFINITE_CARDINALITY
    unknown = tf.data.Dataset.range(6).filter(lambda x: x > 2).shard(2, 0)
    assert int(unknown.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    assert _ids(unknown) == [3, 5]


def test_shard_rejects_arguments_as_tensorflow_does():
    ds = tf.data.Dataset.range(4)
    with pytest.raises(ValueError, match=r"greater than zero \(currently num_shards = 0\)"):
        ds.shard(0, 0)
    with pytest.raises(ValueError, match=r"greater than zero \(currently num_shards = -3\)"):
        ds.shard(-3, 0)
    with pytest.raises(ValueError, match=r"Index must be between 0 and 2 \(currently index = 3\)"):
        ds.shard(3, 3)
    with pytest.raises(ValueError, match=r"between 0 and 1 \(currently index = -1\)"):
        ds.shard(2, -1)
    with pytest.raises(TypeError, match="num_shards must be an integer"):
        ds.shard(2.0, 0)
    # SHARD_HINT marks a place for AutoShardPolicy.HINT; iterated as is, it raises.
    hinted = ds.shard(tf.data.experimental.SHARD_HINT, 0)
    with pytest.raises(RuntimeError, match="SHARD_HINT"):
        _ids(hinted)


# ---------------------------------------------------------------------- Options
def test_options_defaults_and_validation():
    assert [int(p) for p in (Policy.OFF, Policy.AUTO, Policy.FILE, Policy.DATA, Policy.HINT)] \
        == [-1, 0, 1, 2, 3]
    options = tf.data.Options()
    assert options.experimental_distribute.auto_shard_policy == Policy.AUTO
    assert options.deterministic is None
    assert tf.data.Dataset.range(3).options() == tf.data.Options()
    with pytest.raises(AttributeError, match="Cannot set the property shard_policy"):
        options.experimental_distribute.shard_policy = Policy.OFF
    with pytest.raises(TypeError, match='"auto_shard_policy" must be of type AutoShardPolicy'):
        options.experimental_distribute.auto_shard_policy = "OFF"
    with pytest.raises(TypeError, match="expected a tf.data.Options"):
        tf.data.Dataset.range(3).with_options({"deterministic": False})


def test_options_flow_through_transformations_and_the_last_set_wins():
    off = tf.data.Options()
    off.experimental_distribute.auto_shard_policy = Policy.OFF
    ds = tf.data.Dataset.range(8).with_options(off).map(lambda x: x * 2).batch(2)
    off.experimental_distribute.auto_shard_policy = Policy.HINT  # applied options are copied
    assert ds.options().experimental_distribute.auto_shard_policy == Policy.OFF
    other = tf.data.Options()
    other.deterministic = False
    ds = ds.with_options(other)  # sets another option: the policy stays
    assert ds.options().experimental_distribute.auto_shard_policy == Policy.OFF
    assert ds.options().deterministic is False
    ds = _with_policy(ds, Policy.DATA)
    assert ds.options().experimental_distribute.auto_shard_policy == Policy.DATA
    assert ds.options().deterministic is False
    zipped = tf.data.Dataset.zip((_with_policy(tf.data.Dataset.range(2), Policy.OFF),
                                  tf.data.Dataset.range(2)))
    assert zipped.options().experimental_distribute.auto_shard_policy == Policy.OFF


# ---------------------------------------------------------------------- splitting a global batch
def test_a_global_batch_splits_over_replicas_as_the_tf_distribute_guide_shows():
    def split(n, size):
        return [list(range(*_input.replica_rows(n, r, size))) for r in range(size)]

    # tf.data.Dataset.range(6).batch(4) over 2 replicas: [0, 1] [2, 3], then [4] [5].
    assert split(4, 2) == [[0, 1], [2, 3]]
    assert split(2, 2) == [[0], [1]]
    # range(4).batch(4) over 5 replicas: [0] [1] [2] [3] [].
    assert split(4, 5) == [[0], [1], [2], [3], []]
    # range(8).batch(4) over 3 replicas: [0, 1] [2, 3] [] for each batch.
    assert split(4, 3) == [[0, 1], [2, 3], []]
    # The legacy RebatchDataset's ceil(n / N) pieces: the first replicas take the extra rows.
    assert split(5, 2) == [[0, 1, 2], [3, 4]]
    assert [len(p) for p in split(5, 4)] == [2, 2, 1, 0]
    batch = (tf.constant(np.arange(10).reshape(5, 2)), tf.constant(np.arange(5)))
    parts = [_input.split_batch(batch, r, 2) for r in range(2)]
    assert [p[1].numpy().tolist() for p in parts] == [[0, 1, 2], [3, 4]]


def test_off_rebatch_sizes_are_tf_batch_sizes_for_worker():
    # The example of tf.data's batch_sizes_for_worker (7 rows, 2 workers): [4, 3] and [3, 4].
    assert _input.worker_batch_sizes(7, 2, 0) == [4, 3]
    assert _input.worker_batch_sizes(7, 2, 1) == [3, 4]
    assert _input.worker_batch_sizes(5, 4, 3) == [1, 2, 1, 1]
    assert _input.worker_batch_sizes(8, 4, 2) == [2, 2, 2, 2]


def test_distributed_datasets_follow_the_policies_of_the_tf_distribute_guide():
    # The guide's example: 12 elements, a global batch of 4, 2 workers with 1 replica each.
    ds = tf.data.Dataset.range(12).batch(4)
    per_rank = [_ids(_strategy(r, 2).experimental_distribute_dataset(ds)) for r in range(2)]
    assert per_rank == [[[0, 1], [4, 5], [8, 9]], [[2, 3], [6, 7], [10, 11]]]  # DATA
    for policy in (Policy.AUTO, Policy.FILE):  # no files to shard: DATA
        assert _ids(_strategy(1, 2).experimental_distribute_dataset(_with_policy(ds, policy))) \
            == per_rank[1]
    every = [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]]
    for r in range(2):  # OFF: each worker steps through all the data, per-replica batches
        assert _ids(_strategy(r, 2).experimental_distribute_dataset(
            _with_policy(ds, Policy.OFF))) == every
    # Rebatching takes rows across batches to fill each size, rotated per rank.
    odd = _with_policy(tf.data.Dataset.range(14).batch(7), Policy.OFF)
    assert _ids(_input.worker_dataset(odd, 1, 2)) == [[0, 1, 2], [3, 4, 5, 6], [7, 8, 9],
                                                       [10, 11, 12, 13]]
    # HINT: shard(SHARD_HINT, ...) becomes shard(num_workers, rank), then rebatching.
    hinted = _with_policy(tf.data.Dataset.range(8).shard(tf.data.experimental.SHARD_HINT, 0)
                          .batch(2), Policy.HINT)
    assert [_ids(_strategy(r, 2).experimental_distribute_dataset(hinted)) for r in range(2)] == \
        [[[0], [2], [4], [6]], [[1], [3], [5], [7]]]
    assert _strategy(0, 1).experimental_distribute_dataset(ds) is ds


def test_a_replicas_random_streams_depend_on_its_index_reproducibly():
    from corten.ops import _seed

    def draws():
        tf.random.set_seed(11)
        shared = tf.random.uniform((8,)).numpy()
        replicas = []
        for r in range(3):
            with _seed.replica_stream(r):
                replicas.append(tf.nn.dropout(tf.ones((64,)), 0.5).numpy())
        with _seed.replica_stream(1):
            stateless = tf.random.stateless_uniform((4,), seed=[1, 2]).numpy()
        return shared, replicas, stateless

    shared, replicas, stateless = draws()
    assert not np.array_equal(replicas[0], replicas[1])
    assert not np.array_equal(replicas[1], replicas[2])
    again = draws()
    np.testing.assert_array_equal(again[0], shared)
    for a, b in zip(again[1], replicas, strict=True):
        np.testing.assert_array_equal(a, b)
    # Outside a replica's step, and for stateless ops, nothing depends on the replica.
    tf.random.set_seed(11)
    np.testing.assert_array_equal(tf.random.uniform((8,)).numpy(), shared)
    np.testing.assert_array_equal(tf.random.stateless_uniform((4,), seed=[1, 2]).numpy(),
                                  stateless)


# ---------------------------------------------------------------------- under mpirun
MPIRUN = mpi_jobs.MPIRUN
needs_mpi = mpi_jobs.needs_mpi


def _run(argv, out):
    return mpi_jobs.run(argv, WORKER, out, timeout=120)


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    if MPIRUN is None or distribute.mpi_library() is None:
        pytest.skip("MPI is not installed")
    (record,), (arrays,) = _run([sys.executable], tmp_path_factory.mktemp("one") / "out")
    return record, arrays


@pytest.fixture(scope="module", params=[2, 4])
def job(request, tmp_path_factory):
    if MPIRUN is None or distribute.mpi_library() is None:
        pytest.skip("MPI is not installed")
    ranks = request.param
    records, arrays = _run([MPIRUN, "-np", str(ranks), sys.executable],
                           tmp_path_factory.mktemp(f"np{ranks}") / "out")
    assert [r["rank"] for r in records] == list(range(ranks))
    assert all(r["replicas"] == ranks for r in records)
    return ranks, records, arrays


@needs_mpi
def test_fit_sees_every_sample_once_per_epoch_split_as_tf_distribute(one_process, job):
    single, _ = one_process
    ranks, records, _ = job
    for key in ("arrays", "dataset"):  # shuffled arrays over 2 epochs; a batched dataset
        steps = single[key]  # the global batches, as one process sees them
        assert [len(s) for s in steps[:3]] == [8, 8, 5]
        for step, global_batch in enumerate(steps):
            pieces = [r[key][step] for r in records]
            # Replica r takes rows [r * ceil(n / N), ...) of the global batch.
            assert pieces == [global_batch[slice(*_input.replica_rows(len(global_batch), r,
                                                                       ranks))]
                              for r in range(ranks)]
        for epoch in range(len(steps) // 3):
            seen = [i for r in records for s in r[key][3 * epoch:3 * epoch + 3] for i in s]
            assert sorted(seen) == list(range(N_SAMPLES))
    # The uneven last batch of 5 rows: [3, 2] rows over 2 replicas, [2, 2, 1, 0] over 4.
    assert [len(r["dataset"][2]) for r in records] == ([3, 2] if ranks == 2 else [2, 2, 1, 0])
    # A custom loop over experimental_distribute_dataset sees the same pieces.
    assert all(r["loop_data"] == r["dataset"] for r in records)


@needs_mpi
def test_fit_with_sharding_off_gives_every_rank_the_same_per_replica_batches(job):
    ranks, records, _ = job
    per_replica = BATCH // ranks
    pieces = [list(range(i, min(i + per_replica, N_SAMPLES)))
              for i in range(0, N_SAMPLES, per_replica)]
    for r in records:
        # fit keeps the dataset's 3 global batches as its steps: the first 3 pieces.
        assert r["dataset_off"] == pieces[:3]
        assert r["loop_off"][:len(pieces) - 1] == pieces[:-1]
        assert sorted(i for s in r["loop_off"] for i in s) == list(range(N_SAMPLES))


@needs_mpi
def test_predict_returns_the_full_ordered_result_on_every_rank(one_process, job):
    _, single = one_process
    _, _, arrays = job
    for a in arrays:
        for key in ("predict_0", "predict_1", "predict_dataset_0"):
            assert a[key].shape == single[key].shape
            np.testing.assert_allclose(a[key], single[key], rtol=1e-6, atol=1e-7)


@needs_mpi
def test_dropout_masks_differ_across_ranks_and_runs_repeat(one_process, job):
    _, single = one_process
    _, records, arrays = job
    for tag in ("first", "second"):
        for i, a in enumerate(arrays):
            # Variables start from rank 0's values (and the one process's).
            np.testing.assert_array_equal(a[f"{tag}_initial"], single[f"{tag}_initial"])
            np.testing.assert_array_equal(a[f"{tag}_shared"], arrays[0][f"{tag}_shared"])
            for w in range(4):  # the summed gradients keep the ranks' weights equal
                np.testing.assert_array_equal(a[f"{tag}_final_{w}"], arrays[0][f"{tag}_final_{w}"])
            for b in arrays[i + 1:]:
                assert not np.array_equal(a[f"{tag}_run"], b[f"{tag}_run"])
        for i, r in enumerate(records):
            for other in records[i + 1:]:  # each step's masks differ between ranks
                for p, q in zip(r[f"{tag}_probes"], other[f"{tag}_probes"], strict=True):
                    assert not np.array_equal(p, q)
    for r in records:
        assert r["first_probes"] == r["second_probes"]
    for a in arrays:
        for key in a:
            if key.startswith("first_"):
                np.testing.assert_array_equal(a[key], a["second_" + key[len("first_"):]])
