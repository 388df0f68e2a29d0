"""Every seed model and one model of each layer family, saved from Python and run through the
C API (ctypes, as a native program would): the outputs equal Python's bit for bit at the same
thread count, at any batch size, from several threads at once."""

import sys
import threading
from pathlib import Path

import corten as tf
import numpy as np
import pytest
from corten import keras
from corten.bench.peers import keras_models

sys.path.insert(0, str(Path(__file__).parent))
from native import c_api, zoo  # noqa: E402

CASES = {**{f"seed_{k}": v for k, v in zoo.SEEDS.items()}, **zoo.FAMILIES}


@pytest.fixture(scope="module")
def lib():
    return c_api.load_or_skip()


def _python_outputs(model, inputs):
    out = model(inputs[0] if len(inputs) == 1 else inputs, training=False)
    return [t.numpy() for t in (out if isinstance(out, (list, tuple)) else [out])]


@pytest.mark.parametrize("name", sorted(CASES))
def test_saved_models_run_natively_bit_for_bit(lib, tmp_path, name):
    tf.random.set_seed(7)
    model, inputs = CASES[name]()
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    native = c_api.Model(lib, path)
    try:
        got = native.predict(inputs)
        want = _python_outputs(model, inputs)
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)
        # The batch dimension is free (unless the model fixes it, as the guide's CustomRNN
        # does): one sample gives the first row.
        if any(lib.corten_model_input_shape(native.handle, i)[0] != -1
               for i in range(len(inputs))):
            return
        first = native.predict([x[:1] for x in inputs])
        for g, w in zip(first, _python_outputs(model, [x[:1] for x in inputs]), strict=True):
            np.testing.assert_array_equal(g, w)
    finally:
        native.close()


def test_inputs_and_outputs_are_named(lib, tmp_path):
    model, inputs = zoo.seed_ticket_classifier()
    path = str(tmp_path / "tickets.keras")
    model.save(path)
    native = c_api.Model(lib, path)
    try:
        assert native.input_names == ["title", "body", "tags"]
        assert native.output_names == ["priority", "department"]
        index = c_api.ctypes.c_int64()
        assert lib.corten_model_input_index(native.handle, b"tags", c_api.ctypes.byref(index)) \
            == c_api.OK
        assert index.value == 2
        assert lib.corten_model_input_index(native.handle, b"subject",
                                            c_api.ctypes.byref(index)) == c_api.VALUE_ERROR
        assert b"no input 'subject'; its inputs are 'title', 'body', 'tags'" in \
            lib.corten_last_error()
        assert lib.corten_model_input_rank(native.handle, 0) == 2
        shape = lib.corten_model_input_shape(native.handle, 2)
        assert (shape[0], shape[1]) == (-1, 12)
        assert lib.corten_model_input_dtype(native.handle, 1) == 3  # float32
        assert lib.corten_model_input_rank(native.handle, 3) == -1
        assert not lib.corten_model_input_shape(native.handle, 3)
        assert lib.corten_model_input_name(native.handle, 3) is None
    finally:
        native.close()
    # The C++ API takes the inputs by name too.
    saved = tf._C.SavedModel(path)
    named = saved.predict({"tags": tf.constant(inputs[2]), "title": tf.constant(inputs[0]),
                           "body": tf.constant(inputs[1])})
    np.testing.assert_array_equal(named[1].numpy(), _python_outputs(model, inputs)[1])
    with pytest.raises(ValueError, match="the input 'tags' is missing"):
        saved.predict({"title": tf.constant(inputs[0]), "body": tf.constant(inputs[1])})


def test_the_seeds_saved_model_directory_runs_natively(lib, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model, inputs = zoo.seed_mlp()
    model.save("path_to_my_model")  # the functional guide's call: a directory
    native = c_api.Model(lib, "path_to_my_model")
    try:
        np.testing.assert_array_equal(native.predict(inputs)[0], _python_outputs(model, inputs)[0])
    finally:
        native.close()


def test_a_model_that_draws_random_numbers_says_so(lib, tmp_path):
    # The custom-layers guide's VAE samples z in every call: its graph is not a computation a
    # native program could repeat, so the file keeps it out and says why.
    vae = keras_models.vae(keras, keras_models.tf_math(tf, keras), original_dim=12,
                           intermediate_dim=8, latent_dim=3)
    vae(np.zeros((2, 12), "float32"))
    path = str(tmp_path / "vae.keras")
    vae.save(path)
    with pytest.raises(ValueError, match="has no inference graph.*draws random numbers"):
        c_api.Model(lib, path)


@pytest.mark.parametrize("name", ["seed_toy_resnet", "seed_mlp"])
def test_several_threads_predict_on_one_model(lib, tmp_path, name):
    # The MLP's graph runs as a Dense chain (Note [Dense chains]), each call with its own
    # scratch buffers.
    model, inputs = getattr(zoo, name)()
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    native = c_api.Model(lib, path)
    shape = tuple(inputs[0].shape[1:])
    batches = [zoo._images(shape, 1 + s % 3, seed=s)[0] for s in range(8)]
    want = [_python_outputs(model, [x])[0] for x in batches]
    got: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []

    def work(k):
        try:
            for _ in range(3):
                got[k] = native.predict([batches[k]])[0]
        except BaseException as e:  # noqa: BLE001  (reported below)
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    native.close()
    assert not errors
    for k, w in enumerate(want):
        np.testing.assert_array_equal(got[k], w)


def test_threads_and_allocator_are_configurable(lib, tmp_path):
    before = lib.corten_get_num_threads()
    assert lib.corten_set_num_threads(1) == c_api.OK
    assert lib.corten_get_num_threads() == 1
    assert lib.corten_set_num_threads(before) == c_api.OK
    assert lib.corten_set_cache_limit(-1) == c_api.VALUE_ERROR
    assert b"bytes must be >= 0" in lib.corten_last_error()
    assert lib.corten_set_cache_limit(1 << 30) == c_api.OK
    assert lib.corten_allocator_peak_bytes() >= lib.corten_allocator_live_bytes() >= 0


def test_a_file_saved_by_format_version_1_still_loads(lib):
    # Committed by make_graph_fixture.py; later versions read it and give its predictions
    # (within the rounding a new kernel may change).
    fixtures = Path(__file__).parent / "native" / "fixtures"
    path = str(fixtures / "graph_v1.keras")
    probe = np.load(fixtures / "graph_v1.npz")
    native = c_api.Model(lib, path)
    try:
        assert native.input_names == ["image", "tokens"]
        assert native.output_names == ["label"]
        got = native.predict([probe["image"], probe["tokens"]])[0]
    finally:
        native.close()
    np.testing.assert_allclose(got, probe["y"], rtol=1e-5, atol=1e-6)
    model = keras.models.load_model(path)
    np.testing.assert_array_equal(
        got, _python_outputs(model, [tf.constant(probe["image"]), tf.constant(probe["tokens"])])[0])


def _mutations(rng, doc):
    """One random edit of a graph document: a node's inputs, outputs or attributes, or a
    declared shape, set to small, negative or absurd values."""
    values = [0, 1, 2, 3, -1, -2, 7, 64, 2**40, -2**40, 2**62]
    node = doc["nodes"][rng.integers(len(doc["nodes"]))]
    kind = rng.integers(5)
    if kind == 0 and node["inputs"]:
        node["inputs"][rng.integers(len(node["inputs"]))] = int(rng.choice(values))
    elif kind == 1:
        node["num_outputs"] = int(rng.choice(values[:8]))
    elif kind == 2 and node["attrs"]:
        attr = node["attrs"][rng.integers(len(node["attrs"]))]
        (key, value), = attr.items()
        if key == "ints" and value:
            value[rng.integers(len(value))] = int(rng.choice(values))
        elif key == "int":
            attr[key] = int(rng.choice(values))
        elif key == "float":
            attr[key] = [0.0, -1.0, 1e300, "nan", "inf"][rng.integers(5)]
        elif key == "string":
            attr[key] = str(rng.choice(["", "same", "valid", "relu", "x" * 300]))
    elif kind == 3:
        node["op"] = doc["nodes"][rng.integers(len(doc["nodes"]))]["op"]
    else:
        shape = doc["inputs"][rng.integers(len(doc["inputs"]))]["shape"]
        if shape:
            shape[rng.integers(len(shape))] = int(rng.choice(values[:8]))


def test_hostile_graph_files_fail_cleanly_for_a_time_budget(tmp_path):
    # Random edits of a real graph (conv, batch norm, pooling, embedding, LSTM, dense) for a
    # fixed time: each file is refused with a ValueError, TypeError or IndexError when read or
    # run, or it runs; the process never crashes.
    import json
    import time
    import zipfile

    fixtures = Path(__file__).parent / "native" / "fixtures"
    probe = np.load(fixtures / "graph_v1.npz")
    inputs = [tf.constant(probe["image"]), tf.constant(probe["tokens"])]
    directory = tmp_path / "hostile"
    with zipfile.ZipFile(fixtures / "graph_v1.keras") as zf:
        zf.extractall(directory)
    original = json.loads((directory / "inference.plan.json").read_text())
    rng = np.random.default_rng(2026)
    outcomes = {"refused": 0, "ran": 0}
    deadline = time.monotonic() + 3.0
    tries = 0
    while time.monotonic() < deadline or tries < 50:
        tries += 1
        doc = json.loads(json.dumps(original))
        for _ in range(rng.integers(1, 4)):
            _mutations(rng, doc)
        (directory / "inference.plan.json").write_text(json.dumps(doc))
        try:
            tf._C.SavedModel(str(directory)).predict(inputs)
            outcomes["ran"] += 1
        except (ValueError, TypeError, IndexError, MemoryError):
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0, outcomes
    assert outcomes["ran"] > 0, outcomes
