"""One rank of test_multi_worker.py's MPI jobs (``mpirun -np N python mpi_worker.py OUT``):
fit with SGD and with Adam, and a custom loop, under MultiWorkerMirroredStrategy; every rank
writes its final weights and history to OUT."""

import json
import sys

import corten as tf
import numpy as np
from corten import keras
from corten.keras import layers

GLOBAL_BATCH = 16
STEPS = 20


def build():
    tf.random.set_seed(1)
    return keras.Sequential([keras.Input((8,)), layers.Dense(16, activation="relu"),
                             layers.Dense(3)])


def data():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((GLOBAL_BATCH * STEPS, 8)).astype("float32"),
            rng.integers(0, 3, GLOBAL_BATCH * STEPS))


OPTIMIZERS = {"sgd": lambda: keras.optimizers.SGD(0.1),
              "adam": lambda: keras.optimizers.Adam(0.01)}


def fit(strategy, name):
    x, y = data()
    with strategy.scope():
        model = build()
        model.compile(OPTIMIZERS[name](),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
    history = model.fit(x, y, batch_size=GLOBAL_BATCH, epochs=2, shuffle=False, verbose=0)
    # 10 rows a batch split over the ranks unevenly: the metrics count every row once.
    evaluation = model.evaluate(x[:50], y[:50], batch_size=10, verbose=0, return_dict=True)
    return model.get_weights(), history.history["loss"], evaluation


def custom_loop(strategy):
    x, y = data()
    with strategy.scope():
        model = build()
        optimizer = keras.optimizers.SGD(0.1)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, reduction=keras.losses.Reduction.NONE)
    dataset = strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH))

    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = tf.distribute.compute_average_loss(loss_fn(yb, model(xb, training=True)),
                                                      GLOBAL_BATCH)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    losses = []
    for xb, yb in dataset:
        per_replica = strategy.run(step, args=(xb, yb))
        losses.append(float(strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica)))
    return model.get_weights(), losses


if __name__ == "__main__":
    out = sys.argv[1]
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    record = {"rank": strategy.rank, "replicas": strategy.num_replicas_in_sync}
    arrays = {}
    for name in OPTIMIZERS:
        weights, record[f"{name}_loss"], record[f"{name}_evaluate"] = fit(strategy, name)
        arrays.update({f"{name}_{i}": w for i, w in enumerate(weights)})
    weights, record["loop_loss"] = custom_loop(strategy)
    record["overlapped_steps"] = tf.distribute.overlapped_steps
    # The same SGD fit with a bucket per one or two variables, and with the gradients summed
    # after the backward pass instead of during it.
    options = tf.distribute.experimental.CommunicationOptions
    for name, opts in {"buckets": options(bytes_per_pack=64),
                       "no_overlap": options(overlap=False)}.items():
        other = tf.distribute.MultiWorkerMirroredStrategy(communication_options=opts)
        other_weights, record[f"{name}_loss"], _ = fit(other, "sgd")
        arrays.update({f"{name}_{i}": w for i, w in enumerate(other_weights)})
    # Only the chief writes saved models and checkpoints (each rank names its own file here, so
    # the test sees who wrote).
    with strategy.scope():
        model = build()
        model.compile("sgd", "mse")
    x, _ = data()
    model.fit(x, np.zeros((len(x), 3), "float32"), batch_size=GLOBAL_BATCH, verbose=0,
              callbacks=[keras.callbacks.ModelCheckpoint(f"{out}/ckpt_rank{strategy.rank}.keras")])
    model.save_weights(f"{out}/weights_rank{strategy.rank}.safetensors")
    arrays.update({f"loop_{i}": w for i, w in enumerate(weights)})
    np.savez(f"{out}/rank{strategy.rank}.npz", **arrays)
    with open(f"{out}/rank{strategy.rank}.json", "w") as f:
        json.dump(record, f)
