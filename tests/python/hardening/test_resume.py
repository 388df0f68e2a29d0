"""N steps, save, a new process, load, M steps: the same weights as N + M steps in one run,
bit for bit, dropout and shuffling included (Note [Saved random state])."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from corten.ops import _seed

_COMMON = textwrap.dedent("""
    import sys
    import numpy as np
    from corten import keras
    from corten.keras import layers
    keras.utils.set_random_seed(7)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 6)).astype("float32")
    y = rng.normal(size=(96, 1)).astype("float32")
""")

_TRAIN_SAVE_CONTINUE = _COMMON + textwrap.dedent("""
    inputs = keras.Input(shape=(6,))
    h = layers.Dropout(0.5)(layers.Dense(16, activation="relu")(inputs))
    model = keras.Model(inputs, layers.Dense(1)(h))
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)          # N steps
    model.save(sys.argv[1])
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)          # M more
    np.save(sys.argv[2], np.concatenate([w.ravel() for w in model.get_weights()]))
""")

_LOAD_CONTINUE = _COMMON + textwrap.dedent("""
    model = keras.models.load_model(sys.argv[1])
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)          # the same M steps
    np.save(sys.argv[2], np.concatenate([w.ravel() for w in model.get_weights()]))
""")


def _run(code, *args):
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize("name", ["model.keras", "model_dir"])
def test_resume_in_a_new_process_is_bit_exact_with_dropout(tmp_path, name):
    path = tmp_path / name
    _run(_TRAIN_SAVE_CONTINUE, path, tmp_path / "one_run.npy")
    _run(_LOAD_CONTINUE, path, tmp_path / "resumed.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "resumed.npy"),
                                  np.load(tmp_path / "one_run.npy"))


def test_random_state_round_trip_and_validation():
    state = _seed.get_state()
    _seed.set_state(state)
    assert _seed.get_state() == state
    for bad in [None, {"offsets": []}, {"offsets": {"x": 1}}, {"offsets": {"1": -1}},
                {"offsets": {"1": 2**64}}, {"offsets": {"1": True}}]:
        with pytest.raises(ValueError, match="random state"):
            _seed.set_state(bad)
