"""keras.Sequential: add, pop, summary, deferred build, training."""

import numpy as np
import pytest
from functional_helpers import summary_lines

from corten import keras
from corten.keras import layers

SEQ_SUMMARY = [
    'Model: "my_sequential"',
    "_" * 65,
    " Layer (type)                Output Shape              Param #   ",
    "=" * 65,
    " dense (Dense)               (None, 2)                 10        ",
    " " * 65,
    " dense_1 (Dense)             (None, 3)                 9         ",
    " " * 65,
    " dense_2 (Dense)             (None, 4)                 16        ",
    " " * 65,
    "=" * 65,
    "Total params: 35",
    "Trainable params: 35",
    "Non-trainable params: 0",
    "_" * 65,
]


def _three_layers():
    return [layers.Dense(2, activation="relu"), layers.Dense(3, activation="relu"),
            layers.Dense(4)]


def test_sequential_with_input_summary():
    model = keras.Sequential([keras.Input(shape=(4,))] + _three_layers(), name="my_sequential")
    assert model.built
    assert summary_lines(model) == SEQ_SUMMARY
    assert [l.name for l in model.layers] == ["dense", "dense_1", "dense_2"]
    assert model.output_shape == (None, 4)
    assert tuple(model(np.ones((3, 4), "float32")).shape) == (3, 4)


def test_sequential_add_and_input_shape_kwarg():
    model = keras.Sequential(name="my_sequential")
    model.add(layers.Dense(2, activation="relu", input_shape=(4,)))
    model.add(layers.Dense(3, activation="relu"))
    model.add(layers.Dense(4))
    assert summary_lines(model) == SEQ_SUMMARY
    model2 = keras.Sequential()
    model2.add(layers.InputLayer(input_shape=(4,)))
    model2.add(layers.Dense(2))
    assert model2.output_shape == (None, 2)


def test_sequential_deferred_build():
    model = keras.Sequential(_three_layers())
    assert not model.built
    with pytest.raises(ValueError, match="This model has not yet been built"):
        model.summary()
    y = model(np.ones((5, 4), "float32"))
    assert tuple(y.shape) == (5, 4)
    assert model.built and len(model.weights) == 6
    assert summary_lines(model)[4] == " dense (Dense)               (None, 2)                 10        "
    model3 = keras.Sequential(_three_layers())
    model3.build((None, 4))
    assert model3.count_params() == 35


def test_sequential_pop():
    model = keras.Sequential([keras.Input(shape=(4,))] + _three_layers())
    model.pop()
    assert len(model.layers) == 2
    assert model.output_shape == (None, 3)
    assert tuple(model(np.ones((1, 4), "float32")).shape) == (1, 3)
    model.pop()
    model.pop()
    with pytest.raises(TypeError, match="There are no layers in the model"):
        model.pop()


def test_sequential_errors():
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2, name="d")])
    with pytest.raises(TypeError, match="must be an instance of class Layer"):
        model.add("dense")
    with pytest.raises(ValueError, match='Name "d" is already the name'):
        model.add(layers.Dense(2, name="d"))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 7"):
        bad = layers.Dense(3)
        bad(keras.Input(shape=(7,)))
        model.add(bad)
    assert len(model.layers) == 1


def test_sequential_fit_evaluate_predict():
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(8, activation="relu"),
                              layers.Dense(3)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(
        from_logits=True), metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.random((64, 4)).astype("float32")
    y = (x.sum(1) > 2).astype("int64")
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, acc = model.evaluate(x, y, verbose=0)
    assert 0 <= acc <= 1
    assert model.predict(x, verbose=0).shape == (64, 3)


def test_sequential_inside_functional():
    block = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(5), layers.Dense(2)],
                             name="block")
    inputs = keras.Input(shape=(4,))
    outputs = layers.Dense(1)(block(inputs))
    model = keras.Model(inputs, outputs)
    assert model.count_params() == 25 + 12 + 3
    lines = summary_lines(model, expand_nested=True)
    assert any(l.startswith("| dense_1 (Dense)") for l in lines)
    assert tuple(model(np.ones((2, 4), "float32")).shape) == (2, 1)


def test_subclassed_model_summary_multiple():
    class MLP(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense_1 = layers.Dense(64, activation="relu")
            self.dense_2 = layers.Dense(10)

        def call(self, inputs):
            return self.dense_2(self.dense_1(inputs))

    mlp = MLP()
    with pytest.raises(ValueError, match="not yet been built"):
        mlp.summary()
    mlp(np.zeros((1, 32), "float32"))
    lines = summary_lines(mlp)
    assert lines[0] == 'Model: "mlp"'
    assert lines[4] == " dense (Dense)               multiple                  2112      "
    assert lines[-4] == "Total params: 2,762"


@pytest.mark.parametrize("kind", ["functional", "sequential_input", "sequential_deferred"])
def test_float64_inputs_keep_their_precision_into_float64_layers(kind):
    """A graph network does not cast its inputs to its own (float32) compute dtype; its layers
    cast them, and a deferred Sequential's inferred Input takes the first call's dtype, as in
    tf.keras 2: a 1e-12 step survives into a float64 Dense."""
    dense = layers.Dense(1, dtype="float64", kernel_initializer="ones", use_bias=False)
    if kind == "functional":
        inputs = keras.Input(shape=(3,), dtype="float64")
        model = keras.Model(inputs, dense(inputs))
    elif kind == "sequential_input":
        model = keras.Sequential([keras.Input(shape=(3,), dtype="float64"), dense])
    else:
        model = keras.Sequential([dense])
    x = np.array([[1 + 1e-12, 0.0, 0.0]])
    y = model(x).numpy()
    assert y.dtype == np.float64 and y[0, 0] == x[0, 0]
    # predict()'s data adapter casts float64 arrays to floatx first, as tf.keras 2's does.
    assert model.predict(x, verbose=0)[0, 0] == 1.0
    if kind == "sequential_deferred":
        assert model.inputs[0].dtype == "float64"
