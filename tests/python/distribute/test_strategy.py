"""corten.distribute in one process: tf.distribute's strategy interface with one replica, and
the pieces the multi-process runs rely on (batch splitting, loss scaling)."""

import contextlib

import corten as tf
import numpy as np
import pytest
from corten import keras


def test_one_replica_strategy_interface():
    strategy = tf.distribute.MirroredStrategy()
    assert strategy.num_replicas_in_sync == 1
    assert not tf.distribute.has_strategy()
    with strategy.scope() as s:
        assert s is strategy
        assert tf.distribute.has_strategy()
        assert tf.distribute.get_strategy() is strategy
    assert not tf.distribute.has_strategy()
    assert strategy.run(lambda a, b=0: a + b, args=(2,), kwargs={"b": 3}) == 5
    assert tf.distribute.is_chief()  # a process alone writes its files
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(strategy.reduce(tf.distribute.ReduceOp.SUM, x).numpy(),
                                  x.numpy())
    assert float(strategy.reduce("MEAN", x, axis=0)[1]) == 3.0
    with pytest.raises(ValueError, match="reduce_op must be SUM or MEAN"):
        strategy.reduce("MAX", x)
    dataset = tf.data.Dataset.from_tensor_slices(np.arange(6.0)).batch(4)
    assert strategy.experimental_distribute_dataset(dataset) is dataset


def test_compute_average_loss_divides_by_the_global_batch():
    assert float(tf.nn.compute_average_loss([1.0, 2.0, 3.0, 4.0], global_batch_size=8)) == 1.25
    assert float(tf.distribute.compute_average_loss([1.0, 3.0])) == 2.0


def test_a_model_compiled_in_one_replica_scope_trains_as_without_it():
    def run(scoped):
        tf.random.set_seed(3)
        strategy = tf.distribute.MultiWorkerMirroredStrategy()  # outside mpirun: one replica
        inputs = keras.Input((4,))
        with strategy.scope() if scoped else contextlib.nullcontext():
            model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
            model.compile("sgd", "mse")
        x = np.linspace(-1, 1, 32, dtype="float32").reshape(8, 4)
        model.fit(x, np.ones((8, 2), "float32"), batch_size=4, epochs=2, verbose=0)
        return model.get_weights()

    for a, b in zip(run(True), run(False), strict=True):
        np.testing.assert_array_equal(a, b)
