"""Bidirectional and TimeDistributed."""

import numpy as np
import pytest

import corten as tf
from corten import keras
from corten.keras import layers
from corten.testing import run_layer_test

RNG = np.random.default_rng(11)


def _reverse(y):
    return y[:, ::-1]


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_merge_modes_match_two_layers(merge_mode):
    x = RNG.normal(size=(2, 5, 3)).astype("float32")
    bi = layers.Bidirectional(layers.LSTM(4, return_sequences=True), merge_mode=merge_mode)
    out = bi(x)
    fwd = layers.LSTM(4, return_sequences=True)
    bwd = layers.LSTM(4, return_sequences=True, go_backwards=True)
    fwd.build((None, 5, 3))
    bwd.build((None, 5, 3))
    fwd.set_weights(bi.forward_layer.get_weights())
    bwd.set_weights(bi.backward_layer.get_weights())
    yf, yb = np.asarray(fwd(x)), _reverse(np.asarray(bwd(x)))
    want = {"concat": np.concatenate([yf, yb], -1), "sum": yf + yb, "mul": yf * yb,
            "ave": (yf + yb) / 2, None: [yf, yb]}[merge_mode]
    if merge_mode is None:
        for got, w in zip(out, want, strict=True):
            np.testing.assert_allclose(np.asarray(got), w, rtol=1e-6, atol=1e-6)
    else:
        np.testing.assert_allclose(np.asarray(out), want, rtol=1e-6, atol=1e-6)
    ids = [id(w) for w in bi.weights]
    assert ids == [id(w) for w in bi.forward_layer.weights + bi.backward_layer.weights]


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"layer": layers.LSTM(3)}, (2, 6)),
    ({"layer": layers.GRU(3, return_sequences=True), "merge_mode": "sum"}, (2, 4, 3)),
    ({"layer": layers.SimpleRNN(3, return_sequences=True), "merge_mode": "ave"}, (2, 4, 3)),
    ({"layer": layers.LSTM(3, return_sequences=True),
      "backward_layer": layers.GRU(3, return_sequences=True, go_backwards=True)}, (2, 4, 6)),
])
def test_bidirectional_layer_test(kwargs, expected):
    run_layer_test(layers.Bidirectional, kwargs, input_shape=(2, 4, 5),
                   expected_output_shape=expected)


def test_bidirectional_return_state_and_initial_state():
    x = RNG.normal(size=(2, 5, 3)).astype("float32")
    bi = layers.Bidirectional(layers.LSTM(4, return_state=True))
    out = bi(x)
    assert [tuple(o.shape) for o in out] == [(2, 8)] + [(2, 4)] * 4
    states = [tf.constant(RNG.normal(size=(2, 4)).astype("float32")) for _ in range(4)]
    out2 = bi(x, initial_state=states)
    assert not np.allclose(np.asarray(out2[0]), np.asarray(out[0]))
    with pytest.raises(ValueError, match="even count"):
        bi(x, initial_state=states[:3])


def test_bidirectional_masks_zero_padded_outputs():
    """zero_output_for_mask follows return_sequences: padded steps output zeros both ways, and
    the valid steps equal the unpadded sequence."""
    ids = keras.Input((None,), dtype="int32")
    emb = layers.Embedding(10, 4, mask_zero=True)(ids)
    seq = layers.Bidirectional(layers.LSTM(3, return_sequences=True))(emb)
    model = keras.Model(ids, seq)
    padded = np.asarray(model(np.array([[4, 2, 7, 0, 0]])))
    alone = np.asarray(model(np.array([[4, 2, 7]])))
    np.testing.assert_array_equal(padded[0, 3:], 0)
    np.testing.assert_allclose(padded[0, :3], alone[0], rtol=1e-5, atol=1e-6)
    assert seq._keras_mask is not None


def test_bidirectional_errors():
    with pytest.raises(ValueError, match="Invalid merge mode"):
        layers.Bidirectional(layers.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="different `go_backwards`"):
        layers.Bidirectional(layers.LSTM(2), backward_layer=layers.LSTM(2))
    with pytest.raises(ValueError, match="Layer` instance"):
        layers.Bidirectional("lstm")


def test_time_distributed():
    x = RNG.normal(size=(2, 4, 5)).astype("float32")
    td = layers.TimeDistributed(layers.Dense(3))
    y = np.asarray(td(x))
    k, b = (np.asarray(w) for w in td.weights)
    np.testing.assert_allclose(y, x @ k + b, rtol=1e-5, atol=1e-6)
    run_layer_test(layers.TimeDistributed, {"layer": layers.Dense(3)}, input_shape=(2, 4, 5),
                   expected_output_shape=(2, 4, 3), expected_num_trainable_weights=2)
    inp = keras.Input((None, 5))
    out = layers.TimeDistributed(layers.Dense(2))(inp)
    assert tuple(out.shape) == (None, None, 2)
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        layers.TimeDistributed(layers.Dense(3))(np.zeros((2, 5), "float32"))


def test_backward_layer_config_is_the_given_one():
    # As tf.keras: the backward layer's config has no zero_output_for_mask (Bidirectional
    # sets it itself), and it round-trips.
    bi = layers.Bidirectional(layers.LSTM(2, return_sequences=True),
                              backward_layer=layers.GRU(3, return_sequences=True,
                                                        go_backwards=True))
    config = bi.get_config()
    assert "zero_output_for_mask" not in config["backward_layer"]["config"]
    again = layers.Bidirectional.from_config(config)
    assert again.backward_layer.zero_output_for_mask
    assert again(np.zeros((1, 4, 3), "float32")).shape == (1, 4, 5)


def test_bidirectional_text_classifier_params_fit_and_save(tmp_path):
    """Embedding + two Bidirectional LSTM(64): tf.keras's parameter counts, fit on padded
    sequences, and save/load with the same predictions."""
    inp = keras.Input((None,), dtype="int32")
    x = layers.Embedding(20000, 128, mask_zero=True)(inp)
    x = layers.Bidirectional(layers.LSTM(64, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(64))(x)
    model = keras.Model(inp, layers.Dense(1, activation="sigmoid")(x))
    assert [layer.count_params() for layer in model.layers] == [0, 2_560_000, 98_816, 98_816,
                                                                 129]
    model.compile("adam", "binary_crossentropy")
    rng = np.random.default_rng(0)
    data = rng.integers(1, 20000, size=(16, 12))
    data[:5, 8:] = 0
    history = model.fit(data, rng.integers(0, 2, size=(16, 1)), epochs=1, batch_size=8,
                        verbose=0)
    assert np.isfinite(history.history["loss"][0])
    path = str(tmp_path / "bi.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(data, verbose=0), model.predict(data, verbose=0),
                               rtol=1e-6, atol=1e-7)
