"""One rank of test_faults.py's MPI jobs (``mpirun -np N python fault_worker.py OUT BACKUP``):
fits a small model under MultiWorkerMirroredStrategy with BackupAndRestore(BACKUP/rank<r>); every
rank writes its final weights and the epochs it ran to OUT.

With ``CORTEN_FAULT_KILL=rank:epoch:batch`` in the environment, that rank SIGKILLs itself after
training that batch, once: it first writes OUT/killed.json (its rank and the time of the kill),
and a run that finds that file does not kill again, so the same command resumes the job.
"""

import json
import os
import signal
import sys
import time

import corten as tf
import numpy as np
from corten import keras
from corten.keras import layers

GLOBAL_BATCH = 16
STEPS = 4
EPOCHS = 6


class KillSelf(keras.callbacks.Callback):
    """SIGKILLs this process after the given batch (a machine lost mid-epoch)."""

    def __init__(self, rank, out):
        super().__init__()
        spec = os.environ.get("CORTEN_FAULT_KILL", "")
        self.marker = os.path.join(out, "killed.json")
        self.at = None
        if spec and not os.path.exists(self.marker):
            kill_rank, epoch, batch = (int(v) for v in spec.split(":"))
            if kill_rank == rank:
                self.at = (epoch, batch)
        self.rank = rank
        self.epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            with open(self.marker, "w") as f:
                json.dump({"rank": self.rank, "pid": os.getpid(), "time": time.time()}, f)
            os.kill(os.getpid(), signal.SIGKILL)


class Epochs(keras.callbacks.Callback):
    """Records the epochs this run trained (History holds those of the last fit too; this
    also sees an epoch cut short)."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def main(out, backup):
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((GLOBAL_BATCH * STEPS, 8)).astype("float32")
    y = rng.integers(0, 3, GLOBAL_BATCH * STEPS)
    with strategy.scope():
        tf.random.set_seed(1)
        model = keras.Sequential([keras.Input((8,)), layers.Dense(16, activation="relu"),
                                  layers.Dense(3)])
        model.compile(keras.optimizers.Adam(0.01),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rank = strategy.rank
    # A backup directory that only this rank sees, as on machines without a shared file
    # system: rank 0 writes and reads its own; the others receive its values by broadcast.
    backup = os.path.join(backup, f"rank{rank}")
    epochs = Epochs()
    history = model.fit(x, y, batch_size=GLOBAL_BATCH, epochs=EPOCHS, shuffle=False, verbose=0,
                        callbacks=[keras.callbacks.BackupAndRestore(backup),
                                   KillSelf(rank, out), epochs])
    np.savez(os.path.join(out, f"rank{rank}.npz"), *model.get_weights())
    with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
        json.dump({"rank": rank, "epochs": epochs.epochs, "history_epochs": history.epoch,
                   "iterations": int(model.optimizer.iterations)}, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
