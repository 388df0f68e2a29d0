"""The layer tree and weight lists are cached between steps; every tracking change must show."""

from __future__ import annotations

import numpy as np

import corten as tf
from corten import keras
from corten.keras import layers


class Block(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(3)
        self.extra = []

    def call(self, x):
        for layer in self.extra:
            x = layer(x)
        return self.dense(x)


def _names(variables):
    return [v.name for v in variables]


def test_weight_lists_follow_every_kind_of_change():
    block = Block()
    block(np.ones((2, 3), "float32"))
    assert len(block.trainable_weights) == 2
    before = block.trainable_weights

    # a container mutated in place after the first access
    block.extra.append(layers.Dense(3, name="late"))
    block(np.ones((2, 3), "float32"))
    assert len(block.trainable_weights) == 4
    assert len(block._flatten_layers()) == 3

    # a weight added with add_weight, a trainable flag on a Variable, a layer's trainable flag
    w = block.add_weight("scale", shape=(1,))
    assert any(v is w for v in block.trainable_weights)
    w.trainable = False
    assert not any(v is w for v in block.trainable_weights)
    assert any(v is w for v in block.non_trainable_weights)
    block.extra[0].trainable = False
    assert len(block.trainable_weights) == 2
    assert _names(block.trainable_weights) == _names(before)

    # an attribute deleted, then one reassigned
    old = {id(v) for v in block.dense.weights}
    del block.dense
    assert not any(id(v) in old for v in block.weights)
    assert len(block.weights) == 3  # the late layer's two and scale
    block.dense = layers.Dense(2)
    block.dense(np.ones((1, 3), "float32"))
    assert len(block.trainable_weights) == 2


def test_returned_lists_are_copies():
    block = Block()
    block(np.ones((2, 3), "float32"))
    first = block.trainable_weights
    first.clear()
    assert len(block.trainable_weights) == 2


def test_sequential_add_and_pop_update_the_tree():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    assert len(model.trainable_weights) == 2
    model.add(layers.Dense(5))
    assert len(model.trainable_weights) == 4
    model.pop()
    assert len(model.trainable_weights) == 2
    assert tf.reduce_sum(model(np.ones((1, 4), "float32"))).shape == ()


def test_model_metrics_follow_compile_and_add_metric():
    class WithMetric(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)

        def call(self, x):
            out = self.dense(x)
            if self.extra:
                self.add_metric(tf.reduce_mean(out), name="mean_out")
            return out

    model = WithMetric()
    model.extra = False
    # call() reads Python state that changes between fits: only eager steps see the change (a
    # compiled step keeps its first trace, as tf.keras's tf.function does).
    model.compile("sgd", "mse", metrics=["mae"], run_eagerly=True)
    x, y = np.ones((8, 2), "float32"), np.zeros((8, 1), "float32")
    model.fit(x, y, verbose=0)
    assert model.metrics_names == ["loss", "mae"]
    model.extra = True
    model.fit(x, y, verbose=0)
    assert model.metrics_names == ["loss", "mae", "mean_out"]
    model.compile("sgd", "mse", run_eagerly=True)
    # the compiled metrics are built by the first batch; add_metric's metric stays (Keras 2)
    assert model.metrics_names == ["mean_out"]
    model.fit(x, y, verbose=0)
    assert model.metrics_names == ["loss", "mean_out"]
