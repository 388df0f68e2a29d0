"""A keras.Model subclass constructed with inputs and outputs is that subclass running the
functional graph (the customizing-fit guide's ``CustomModel(inputs, outputs)``), as tf.keras."""

from __future__ import annotations

import numpy as np
from corten import keras
from corten.keras import layers


class CustomModel(keras.Model):
    def train_step(self, data):
        self.steps_seen = getattr(self, "steps_seen", 0) + 1
        return super().train_step(data)


class WithInit(keras.Model):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.extra = "kept"


def _graph():
    inputs = keras.Input((5,))
    return inputs, layers.Dense(2, kernel_initializer="ones")(inputs)


def test_subclass_with_inputs_and_outputs_runs_the_graph_and_its_own_train_step():
    inputs, outputs = _graph()
    model = CustomModel(inputs, outputs)
    assert isinstance(model, CustomModel)
    assert isinstance(model, keras.Model)
    assert type(model).__name__ == "CustomModel"
    x = np.ones((3, 5), "float32")
    np.testing.assert_allclose(model(x), np.full((3, 2), 5.0))
    model.compile("sgd", "mse", run_eagerly=True)
    model.fit(x, np.zeros((3, 2), "float32"), batch_size=3, epochs=2, verbose=0)
    assert model.steps_seen == 2
    # Compiled, the Python side effect happens once, while tracing (tf.function's rule).
    model.compile("sgd", "mse")
    model.fit(x, np.zeros((3, 2), "float32"), batch_size=3, epochs=2, verbose=0)
    assert model.steps_seen == 3
    assert [w.shape for w in model.weights] == [(5, 2), (2,)]


def test_subclass_with_its_own_init_and_its_saved_file(tmp_path):
    inputs, outputs = _graph()
    model = WithInit(inputs=inputs, outputs=outputs, name="with_init")
    assert model.extra == "kept"
    assert model.name == "with_init"
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path, custom_objects={"WithInit": WithInit})
    assert isinstance(loaded, WithInit)
    assert loaded.extra == "kept"
    x = np.arange(10, dtype="float32").reshape(2, 5)
    np.testing.assert_array_equal(loaded(x), model(x))
