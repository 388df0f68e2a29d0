"""Time the Conv2D layer step (forward + gradients of sum(y)) against its parts."""
import time

import corten as tf
import numpy as np
from corten import keras


def tmin(fn, reps=10):
    best = 1e9
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best * 1e3


x = tf.constant(np.random.default_rng(0).standard_normal((32, 32, 32, 3)).astype("float32"))
layer = keras.layers.Conv2D(32, 3, padding="same")
layer(x)


def step(loss_fn):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = loss_fn(y)
    return tape.gradient(loss, [x, *layer.trainable_weights])


print("fwd", tmin(lambda: layer(x)))
print("step sum", tmin(lambda: step(tf.reduce_sum)))
print("step sum(y*1)", tmin(lambda: step(lambda y: tf.reduce_sum(y * 1.0))))
