"""Soak test: 100,000 training steps of the seeds' MLP, reporting memory and speed as it goes.

    python bench/soak.py [--steps 100000] [--every 10000]

Trains the guides' MLP (784-64-64-10, RMSprop, batch 64) with Model.fit on the bundled MNIST
subset, epoch after epoch, and every `--every` steps prints the process's resident memory
(VmRSS), corten's live and cached allocator bytes, and the mean step time since the last
report. Flat memory and flat step times over the run are what it checks by eye; it asserts
nothing (speed lives in bench/, never in tests).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import corten
from corten import keras


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Reporter(keras.callbacks.Callback):
    def __init__(self, every: int, total: int) -> None:
        super().__init__()
        self.every, self.total, self.steps = every, total, 0
        self.t0 = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.steps % self.every == 0:
            now = time.perf_counter()
            stats = corten.config.memory_stats()
            print(f"{self.steps:>8} | {rss_bytes() / 2**20:8.1f} | "
                  f"{stats['live_bytes'] / 2**20:9.2f} | {stats.get('cached_bytes', 0) / 2**20:10.2f} | "
                  f"{(now - self.t0) / self.every * 1e3:8.4f} | {float(logs['loss']):.4f}",
                  flush=True)
            self.t0 = now
        if self.steps >= self.total:
            self.model.stop_training = True


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100_000)
    p.add_argument("--every", type=int, default=10_000)
    args = p.parse_args()
    keras.utils.set_random_seed(0)
    (x, y), _ = keras.datasets.mnist_small.load_data()
    x = x.reshape(len(x), 784).astype(np.float32) / 255
    inputs = keras.Input(shape=(784,))
    h = keras.layers.Dense(64, activation="relu")(inputs)
    h = keras.layers.Dense(64, activation="relu")(h)
    model = keras.Model(inputs, keras.layers.Dense(10)(h))
    model.compile(optimizer=keras.optimizers.RMSprop(),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    steps_per_epoch = len(x) // 64
    epochs = -(-args.steps // steps_per_epoch)
    print(f"# corten {corten.__version__}, {args.steps} steps of the MLP (batch 64, "
          f"{steps_per_epoch} steps an epoch), threads "
          f"{corten.config.threading.get_intra_op_parallelism_threads()}")
    print("   steps | RSS MiB  | live MiB  | cached MiB | ms/step  | loss")
    model.fit(x, y, batch_size=64, epochs=epochs, verbose=0,
              callbacks=[Reporter(args.every, args.steps)])


if __name__ == "__main__":
    main()
