"""One rank of test_sharding.py's MPI jobs (``mpirun -np N python shard_worker.py OUT``, or one
plain process for the reference): which rows each rank's fit steps see (arrays with shuffling,
a dataset, a dataset with AutoShardPolicy.OFF), predict's gathered outputs, and dropout's
per-rank masks and reproducibility. Every rank writes OUT/rank{r}.json and OUT/rank{r}.npz."""

import json
import sys

import corten as tf
import numpy as np
from corten import keras
from corten.keras import layers

N_SAMPLES, BATCH = 21, 8  # global batches of 8, 8 and 5 rows: the last one splits unevenly
SEEN: list[list[int]] = []  # the sample ids of each train step on this rank, in order


def data():
    rng = np.random.default_rng(0)
    ids = np.arange(N_SAMPLES, dtype="float32")[:, None]
    x = np.concatenate([ids, rng.standard_normal((N_SAMPLES, 3)).astype("float32")], axis=1)
    return x, rng.standard_normal((N_SAMPLES, 2)).astype("float32")


class Recorder(keras.Model):
    """Records the sample ids (column 0 of x) of every train step; runs eagerly."""

    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(2)

    def call(self, x, training=False):
        return self.dense(x[:, 1:])

    def train_step(self, batch):
        SEEN.append(np.asarray(batch[0])[:, 0].astype(int).tolist())
        return super().train_step(batch)


def ids_seen(strategy, x, epochs=1, **fit_args):
    SEEN.clear()
    with strategy.scope():
        model = Recorder()
        model.compile(keras.optimizers.SGD(0.01), "mse", run_eagerly=True)
    model.fit(x, epochs=epochs, verbose=0, **fit_args)
    return [list(s) for s in SEEN]


def sharding(strategy, record):
    x, y = data()
    tf.random.set_seed(7)  # the same shuffling on every rank
    record["arrays"] = ids_seen(strategy, x, y=y, batch_size=BATCH, epochs=2, shuffle=True)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    record["dataset"] = ids_seen(strategy, dataset)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    record["dataset_off"] = ids_seen(strategy, dataset.with_options(options))
    # A custom loop's view of the same datasets.
    record["loop_data"] = [np.asarray(b[0])[:, 0].astype(int).tolist()
                           for b in strategy.experimental_distribute_dataset(dataset)]
    record["loop_off"] = [np.asarray(b[0])[:, 0].astype(int).tolist() for b in
                          strategy.experimental_distribute_dataset(dataset.with_options(options))]


def predictions(strategy, arrays):
    x, _ = data()
    tf.random.set_seed(5)
    with strategy.scope():
        inputs = keras.Input((4,))
        hidden = layers.Dense(8, activation="relu")(inputs)
        model = keras.Model(inputs, [layers.Dense(3)(hidden), layers.Dense(1)(hidden)])
    first, second = model.predict(x, batch_size=BATCH, verbose=0)
    arrays.update(predict_0=first, predict_1=second)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    # predict takes a dataset's policy as DATA, as tf.keras does.
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(BATCH).with_options(options)
    arrays["predict_dataset_0"] = model.predict(dataset, verbose=0)[0]


def dropout_run(strategy, record, arrays, tag):
    x, y = data()
    x = x[:, 1:]  # not the ids
    probe = np.ones((2, 3), "float32")
    probes = []

    class Probed(keras.Sequential):
        def train_step(self, batch):
            # Drawn in the replica's step, as the training forward pass's mask is.
            probes.append(np.asarray(self(probe, training=True)).tolist())
            return super().train_step(batch)

    tf.random.set_seed(3)
    with strategy.scope():
        eager = Probed([keras.Input((3,)), layers.Dense(16), layers.Dropout(0.5), layers.Dense(2)])
        eager.compile(keras.optimizers.SGD(0.05), "mse", run_eagerly=True)
        compiled = keras.Sequential([keras.Input((3,)), layers.Dense(16), layers.Dropout(0.5),
                                     layers.Dense(2)])
        compiled.compile(keras.optimizers.SGD(0.05), "mse")
    arrays[f"{tag}_initial"] = compiled.get_weights()[0]
    eager.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    compiled.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    record[f"{tag}_probes"] = probes
    for i, w in enumerate(compiled.get_weights()):
        arrays[f"{tag}_final_{i}"] = w
    drop = layers.Dropout(0.5)
    traced = tf.function(lambda t: drop(t, training=True))
    arrays[f"{tag}_run"] = np.stack([np.asarray(strategy.run(traced, args=(probe,)))
                                     for _ in range(2)])
    # Outside a replica's step the streams are the same on every rank (shuffles rely on it).
    arrays[f"{tag}_shared"] = np.asarray(tf.random.uniform((4,)))


if __name__ == "__main__":
    out = sys.argv[1]
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    record = {"rank": strategy.rank, "replicas": strategy.num_replicas_in_sync}
    arrays = {}
    sharding(strategy, record)
    predictions(strategy, arrays)
    for tag in ("first", "second"):  # two identical runs
        dropout_run(strategy, record, arrays, tag)
    np.savez(f"{out}/rank{strategy.rank}.npz", **arrays)
    with open(f"{out}/rank{strategy.rank}.json", "w") as f:
        json.dump(record, f)
