"""One rank of test_multi_worker.py's hung-rank job: rank 1 stops answering in the middle of
the second epoch (it sleeps, as a deadlocked or swapped-out process would); the others must
fail within the strategy's timeout, naming it."""

import sys
import time

import corten as tf
import numpy as np
from corten import keras
from corten.keras import layers

TIMEOUT = float(sys.argv[1])


class HangOnRank1(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        if self.params_epoch == 1 and batch == 2 and strategy.rank == 1:
            time.sleep(10 * TIMEOUT)

    def on_epoch_begin(self, epoch, logs=None):
        self.params_epoch = epoch


strategy = tf.distribute.MultiWorkerMirroredStrategy(
    communication_options=tf.distribute.experimental.CommunicationOptions(
        timeout_seconds=TIMEOUT))
with strategy.scope():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3)])
    model.compile("sgd", "mse")
x = np.ones((64, 4), "float32")
model.fit(x, np.zeros((64, 3), "float32"), batch_size=8, epochs=3, verbose=0,
          callbacks=[HangOnRank1()])
