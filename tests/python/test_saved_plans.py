"""Saved plans (Note [Saved plans]): a traced inference function written as a JSON document and
read back, in this process, with its captures given by name, computes bit for bit what the
model computes; documents that are wrong in any way give a ValueError, never a crash."""

import json

import corten as tf
import numpy as np
import pytest
from corten import _C, keras
from corten.keras import layers


def _mlp():
    inputs = keras.Input(shape=(12,))
    x = layers.Dense(16, activation="relu")(inputs)
    x = layers.Dense(16)(x)
    x = layers.Activation("tanh")(x)
    x = layers.Dense(8, activation="sigmoid")(x)
    x = layers.Dense(4)(x)
    x = layers.Add()([x, layers.Dense(4, use_bias=False)(inputs)])
    return keras.Model(inputs, x)


def _traced(model, sizes=(3, 5, 7)):
    fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    for n in sizes:
        fn(np.zeros((n, 12), "float32"))
    return fn._last_plan.plan


def _names(model, plan):
    by_id = {v._id: v.name for v in model.weights}
    return [by_id[c._id] for c in plan.captures]


def test_a_saved_mlp_plan_computes_what_the_model_computes():
    model = _mlp()
    plan = _traced(model)
    assert plan.input_shapes == [(None, 12)]
    text = plan.to_json(_names(model, plan))
    doc = json.loads(text)
    assert doc["format"] == "corten.plan"
    assert doc["version"] == 1
    loaded = _C.plan_from_json(text, "mlp", {v.name: v for v in model.weights})
    assert loaded.ops == plan.ops
    rng = np.random.default_rng(0)
    for n in (1, 3, 17):
        x = rng.standard_normal((n, 12)).astype("float32")
        np.testing.assert_array_equal(loaded.run([tf.constant(x)])[0].numpy(),
                                      model(x, training=False).numpy())
    # The plan reads the captures it is given: other weights, other outputs.
    zeros = {v.name: tf.zeros(v.shape) for v in model.weights}
    out = _C.plan_from_json(text, "mlp", zeros).run([tf.constant(np.ones((2, 12), "float32"))])
    np.testing.assert_array_equal(out[0].numpy(), np.zeros((2, 4), "float32"))


def test_ops_without_a_registered_replay_are_named():
    fn = tf.function(lambda x: tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=x * 2.0))
    fn(np.ones((2, 3), "float32"))
    plan = fn._last_plan.plan
    with pytest.raises(ValueError, match="op 'sigmoid_cross_entropy_with_logits'.*cannot be "
                                         "saved yet"):
        plan.to_json(["c"] * plan.num_captures)
    with pytest.raises(ValueError, match="captures need as many names"):
        _traced(_mlp()).to_json([])


def _document():
    model = _mlp()
    plan = _traced(model)
    return json.loads(plan.to_json(_names(model, plan))), {v.name: v for v in model.weights}


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d.update(format="other"), "not a corten plan"),
    (lambda d: d.update(version=2), "version 2, written by a newer corten"),
    (lambda d: d.update(num_slots=2**40), "num_slots"),
    (lambda d: d["nodes"][0].update(op="no_such_op"), "op 'no_such_op' cannot be loaded"),
    (lambda d: d["nodes"][0]["inputs"].__setitem__(0, 10**6), "reads slot 1000000"),
    (lambda d: d["nodes"][0]["inputs"].__setitem__(0, d["nodes"][-1]["first_output"]),
     "which no input or earlier node fills"),
    (lambda d: d["nodes"][0]["inputs"].__setitem__(1, -1000), "reads capture 999"),
    (lambda d: d["nodes"][1].update(first_output=d["nodes"][0]["first_output"]),
     "already filled"),
    (lambda d: d["nodes"][0]["attrs"].__setitem__(0, {"int": 99}), "enumerator in range"),
    (lambda d: d["nodes"][0]["inputs"].__delitem__(slice(1, None)),
     "op 'linear' takes 2 to 3 inputs; the node has 1"),
    (lambda d: d["nodes"][0]["attrs"].append({"int": 1}), "no more attributes"),
    (lambda d: d["nodes"][0]["attrs"].__setitem__(0, {"bogus": 1}), "unknown kind 'bogus'"),
    (lambda d: d["captures"][0].update(shape=[3, 3]), "the plan expects float32 of shape"),
    (lambda d: d["captures"][0].update(name="missing"), "capture 'missing' is missing"),
    (lambda d: d["inputs"][0].update(dtype="complex64"), "unknown dtype 'complex64'"),
    (lambda d: d["inputs"][0].update(shape=[-1, 12]), "invalid dimension"),
    (lambda d: d["outputs"].__setitem__(0, 10**5), "an output reads slot"),
])
def test_wrong_documents_name_what_is_wrong(edit, message):
    doc, captures = _document()
    edit(doc)
    with pytest.raises(ValueError, match=message):
        _C.plan_from_json(json.dumps(doc), "hostile", captures)


def test_fuzzed_documents_fail_cleanly_or_run():
    doc, captures = _document()
    text = json.dumps(doc).encode()
    rng = np.random.default_rng(1)
    x = [tf.constant(np.ones((2, 12), "float32"))]
    loaded = 0
    for _ in range(400):
        data = bytearray(text)
        kind = rng.integers(3)
        if kind == 0:
            data = data[:rng.integers(len(data))]
        else:
            for _ in range(rng.integers(1, 4)):
                at = rng.integers(len(data))
                data[at] = rng.integers(256) if kind == 1 else \
                    ord(rng.choice(list("0123456789-[]{},:\"")))
        try:
            plan = _C.plan_from_json(bytes(data).decode("utf-8", "replace"), "fuzz", captures)
        except ValueError:
            continue
        loaded += 1
        try:
            plan.run(x)
        except (ValueError, TypeError, IndexError):
            pass
    assert loaded < 400


# ----------------------------------------------------------------------- model files


def _shapes_model():
    inputs = keras.Input(shape=(2, 6))
    flat = layers.Flatten()(inputs)
    a = layers.Dense(5, activation="relu")(flat)
    b = layers.Reshape((5, 1))(layers.Dense(5)(flat))
    merged = layers.Concatenate()([layers.Reshape((5, 1))(a), b])
    x = layers.Permute((2, 1))(merged)
    x = layers.Flatten()(x)
    return keras.Model(inputs, layers.Softmax()(layers.Dense(3)(x)))


def test_elementwise_chains_are_saved_unfused(tmp_path):
    inputs = keras.Input(shape=(6,))
    x = layers.Dense(6)(inputs)
    x = layers.Activation("sigmoid")(layers.Activation("tanh")(x * 2.0 + 1.0))
    model = keras.Model(inputs, layers.Multiply()([x, inputs]))
    path = str(tmp_path / "chain.keras")
    model.save(path)
    native = _C.SavedModel(path)
    data = np.random.default_rng(4).standard_normal((5, 6)).astype("float32")
    np.testing.assert_allclose(native.predict([tf.constant(data)])[0].numpy(),
                               model(data, training=False).numpy(), rtol=1e-6, atol=1e-7)


def test_shape_ops_and_softmax_save_and_run_natively(tmp_path):
    model = _shapes_model()
    path = str(tmp_path / "shapes.keras")
    model.save(path)
    native = _C.SavedModel(path)
    x = np.random.default_rng(3).standard_normal((4, 2, 6)).astype("float32")
    np.testing.assert_array_equal(native.predict([tf.constant(x)])[0].numpy(),
                                  model(x, training=False).numpy())


@pytest.mark.parametrize("where", ["m.keras", "saved_dir"])
def test_model_save_stores_the_graph_that_the_cpp_api_runs(tmp_path, where):
    model = _mlp()
    path = str(tmp_path / where)
    model.save(path)
    native = _C.SavedModel(path)
    assert native.num_inputs == 1
    assert native.input_shapes == [(None, 12)]
    rng = np.random.default_rng(2)
    for n in (1, 4, 33):
        x = rng.standard_normal((n, 12)).astype("float32")
        np.testing.assert_array_equal(native.predict([tf.constant(x)])[0].numpy(),
                                      model(x, training=False).numpy())
    with pytest.raises(ValueError, match=r"must be float32 of shape \(None, 12\)"):
        native.predict([tf.constant(np.ones((2, 5), "float32"))])
    # Python still loads the file as before.
    again = keras.models.load_model(path)
    np.testing.assert_array_equal(again.predict(np.ones((2, 12), "float32"), verbose=0),
                                  model.predict(np.ones((2, 12), "float32"), verbose=0))


class _SelfLoss(layers.Layer):
    """A layer whose op (a loss) has no saved replay: a model holding it keeps its graph out."""

    def call(self, x):
        return tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.nn.sigmoid(x), logits=x)


def test_a_model_whose_graph_cannot_be_saved_says_why(tmp_path):
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, _SelfLoss()(layers.Dense(3)(inputs)))
    path = str(tmp_path / "m.keras")
    model.save(path)
    with pytest.raises(ValueError, match=r"has no inference graph.*op "
                                         r"'sigmoid_cross_entropy_with_logits'.*cannot be saved"):
        _C.SavedModel(path)
    again = keras.models.load_model(path, custom_objects={"_SelfLoss": _SelfLoss})
    np.testing.assert_allclose(again.predict(np.ones((1, 4)), verbose=0),
                               model.predict(np.ones((1, 4)), verbose=0))


def test_damaged_graph_entries_are_refused(tmp_path):
    import zipfile

    model = _mlp()
    good = tmp_path / "good.keras"
    model.save(good)
    with zipfile.ZipFile(good) as z:
        entries = {i.filename: z.read(i) for i in z.infolist()}
    doc = json.loads(entries["inference.plan.json"])
    doc["nodes"][0]["op"] = "os.system"
    bad = tmp_path / "bad.keras"
    with zipfile.ZipFile(bad, "w") as z:
        for name, data in entries.items():
            z.writestr(name, json.dumps(doc) if name == "inference.plan.json" else data)
    with pytest.raises(ValueError, match="op 'os.system' cannot be loaded"):
        _C.SavedModel(str(bad))
    with pytest.raises(ValueError, match="missing.keras': no such file or directory"):
        _C.SavedModel(str(tmp_path / "missing.keras"))
    (tmp_path / "junk.keras").write_bytes(b"not a zip at all" * 4)
    with pytest.raises(ValueError, match="Cannot read model file.*junk.keras"):
        _C.SavedModel(str(tmp_path / "junk.keras"))


def test_a_graph_that_would_write_its_weights_is_refused(tmp_path):
    # A saved graph only computes: a batch_norm node edited to train (updating the moving
    # statistics, which threads share) is refused when the file is read.
    model = keras.Sequential([keras.Input((3,)), layers.BatchNormalization()])
    path = tmp_path / "bn_dir"
    model.save(str(path))
    doc = json.loads((path / "inference.plan.json").read_text())
    node = next(n for n in doc["nodes"] if n["op"] == "batch_norm")
    assert node["attrs"][1] == {"int": 0}
    node["attrs"][1] = {"int": 1}
    (path / "inference.plan.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="'batch_norm' with training=True updates the moving"):
        _C.SavedModel(str(path))
