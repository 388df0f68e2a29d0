"""StringLookup and TextVectorization: against a plain Python reference of tf.keras 2's
algorithm on a small corpus (every output mode), through run_layer_test, inside models that
train and save, and against tf.keras 2.21 itself when TensorFlow is installed."""

import collections
import json
import math
import os
import re
import subprocess
import sys
import textwrap

import corten as tf
import numpy as np
import pytest
from corten import keras
from corten.keras import layers
from corten.testing import run_layer_test

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "A dog! A fox? The end, the END.",
    "Ünïcödé words: café, naïve; façade.",
    "numbers 1 2 3 and 1-2-3 and 123",
    "",
    "  spaces   between\twords\nand lines  ",
    "the the the fox",
    "x",
]
PUNCT = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\''


# ----------------------------------------------------------------------- Python reference


def ref_tokens(text, standardize="lower_and_strip_punctuation", split="whitespace",
               ngrams=None):
    if standardize in ("lower", "lower_and_strip_punctuation"):
        text = text.encode().lower().decode()  # ASCII only, as tf.strings.lower
    if standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
        text = "".join(c for c in text if c not in PUNCT)
    tokens = text.split() if split == "whitespace" else list(text)
    if ngrams:
        widths = range(1, ngrams + 1) if isinstance(ngrams, int) else ngrams
        tokens = [" ".join(tokens[i:i + w]) for w in widths
                  for i in range(len(tokens) - w + 1)]
    return tokens


def ref_vocabulary(docs, max_tokens=None, specials=("", "[UNK]")):
    counts = collections.Counter(t for d in docs for t in d)
    counts.pop("", None)
    counts.pop("[UNK]", None)
    # Most frequent first; ties by the larger token (bytes), as tf.keras's reversed lexsort.
    ranked = sorted(counts, key=lambda t: (counts[t], t.encode()), reverse=True)
    if max_tokens:
        ranked = ranked[:max_tokens - len(specials)]
    return list(specials) + ranked


def ref_vectorize(docs, vocab, mode, sequence_length=None, idf=None):
    index = {t: i for i, t in enumerate(vocab)}
    oov = vocab.index("[UNK]")
    ids = [[index.get(t, oov) for t in d] for d in docs]
    if mode == "int":
        width = sequence_length if sequence_length else max(len(r) for r in ids)
        return np.array([(r + [0] * width)[:width] for r in ids], np.int64)
    out = np.zeros((len(docs), len(vocab)), np.float64)
    for row, r in enumerate(ids):
        for i in r:
            out[row, i] = 1 if mode == "multi_hot" else out[row, i] + 1
    if mode == "tf_idf":
        out = out * np.asarray(idf)
    return out


# ----------------------------------------------------------------------- TextVectorization


@pytest.mark.parametrize(("kwargs", "adapt_batch"), [
    ({}, None),
    ({"max_tokens": 12, "output_sequence_length": 5}, 3),
    ({"ngrams": 2, "output_sequence_length": 20}, None),
    ({"standardize": "lower", "split": "character", "max_tokens": 20}, 2),
    ({"standardize": None, "ngrams": (1, 3)}, None),
    ({"standardize": "strip_punctuation"}, 4),
])
def test_int_mode_equals_the_python_reference(kwargs, adapt_batch):
    layer = layers.TextVectorization(**kwargs)
    layer.adapt(CORPUS, batch_size=adapt_batch)
    docs = [ref_tokens(t, kwargs.get("standardize", "lower_and_strip_punctuation"),
                       kwargs.get("split", "whitespace"), kwargs.get("ngrams")) for t in CORPUS]
    vocab = ref_vocabulary(docs, kwargs.get("max_tokens"))
    assert layer.get_vocabulary() == vocab
    assert layer.vocabulary_size() == len(vocab)
    out = layer(CORPUS)
    assert out.dtype == tf.int64
    np.testing.assert_array_equal(out.numpy(), ref_vectorize(
        docs, vocab, "int", kwargs.get("output_sequence_length")))


@pytest.mark.parametrize("mode", ["multi_hot", "count", "tf_idf"])
@pytest.mark.parametrize("ngrams", [None, 2])
def test_encoded_modes_equal_the_python_reference(mode, ngrams):
    layer = layers.TextVectorization(max_tokens=15, output_mode=mode, ngrams=ngrams)
    layer.adapt(tf.data.Dataset.from_tensor_slices(CORPUS).batch(3))
    docs = [ref_tokens(t, ngrams=ngrams) for t in CORPUS]
    vocab = ref_vocabulary(docs, 15, specials=("[UNK]",))
    assert layer.get_vocabulary() == vocab
    idf = None
    if mode == "tf_idf":
        df = {t: sum(t in set(d) for d in docs) for t in vocab[1:]}
        weights = [math.log(1 + len(docs) / (1 + df[t])) for t in vocab[1:]]
        idf = [float(np.mean(np.float32(weights)))] + weights
    got = layer(CORPUS).numpy()
    assert got.dtype == np.float32 and got.shape == (len(CORPUS), len(vocab))
    np.testing.assert_allclose(got, ref_vectorize(docs, vocab, mode, idf=idf), rtol=1e-6)


def test_callable_standardize_and_split_ragged_and_pad_to_max_tokens():
    def standardize(x):
        return tf.strings.regex_replace(tf.strings.lower(x), "<br />", " ")

    def split(x):
        return tf.strings.split(x, sep=",")

    layer = layers.TextVectorization(standardize=standardize, split=split, ragged=True)
    layer.adapt(["a,b<br />c", "b,b"])
    assert layer.get_vocabulary() == ["", "[UNK]", "b", "b c", "a"]
    out = layer(["a,b<br />c", "z"])
    assert isinstance(out, tf.RaggedTensor)
    vocab = layer.get_vocabulary()
    assert out.to_list() == [[vocab.index("a"), vocab.index("b c")], [1]]
    padded = layers.TextVectorization(max_tokens=10, output_mode="multi_hot",
                                      pad_to_max_tokens=True, vocabulary=["a", "b"])
    assert padded(["a c"]).numpy().tolist() == [[1, 1, 0] + [0] * 7]


def test_vocabulary_argument_file_and_errors(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("fox\ndog\ncafé\n", encoding="utf-8")
    layer = layers.TextVectorization(vocabulary=str(path), output_sequence_length=4)
    assert layer.get_vocabulary() == ["", "[UNK]", "fox", "dog", "café"]
    np.testing.assert_array_equal(layer(["Fox, CAFÉ dog zebra"]).numpy(), [[2, 1, 3, 1]])
    with pytest.raises(ValueError, match="Cannot adapt StringLookup layer after setting"):
        layer.adapt(["a"])
    with pytest.raises(ValueError, match="`output_sequence_length` must not be set"):
        layers.TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ValueError, match="`ngrams` must be None, an integer, or a tuple"):
        layers.TextVectorization(ngrams=[1, 2])
    with pytest.raises(ValueError, match="the last shape dimension must be 1.*\\(2, 2\\)"):
        layer(tf.constant([["a", "b"], ["c", "d"]]))
    with pytest.raises(ValueError, match="repeated term"):
        layers.TextVectorization(vocabulary=["a", "a"])
    with pytest.raises(TypeError, match=r"TextVectorization: inputs must be strings.*float64, "
                                        r"shape=\(1, 1\)"):
        layer(np.array([[1.0]]))


def test_run_layer_test_and_symbolic_shapes():
    vocab = ["the", "fox", "dog"]
    data = np.array([["the fox"], ["a dog"], ["dog dog the"]])
    out = run_layer_test(layers.TextVectorization,
                         {"vocabulary": vocab, "output_sequence_length": 4},
                         input_data=data, input_dtype="string", expected_output_shape=(None, 4),
                         expected_output_dtype="int64", run_training_check=False,
                         run_mixed_shapes=False)
    np.testing.assert_array_equal(out, [[2, 3, 0, 0], [1, 4, 0, 0], [4, 4, 2, 0]])
    out = run_layer_test(layers.TextVectorization,
                         {"vocabulary": vocab, "output_mode": "count"}, input_data=data,
                         input_dtype="string",
                         expected_output_shape=(None, 4), expected_output_dtype="float32",
                         run_training_check=False, run_mixed_shapes=False)
    np.testing.assert_array_equal(out, [[0, 1, 1, 0], [1, 0, 0, 1], [0, 1, 0, 2]])
    run_layer_test(layers.StringLookup, {"vocabulary": ["a", "b"]},
                   input_data=np.array([["a", "c"], ["b", "b"]]), input_dtype="string",
                   expected_output_dtype="int64",
                   run_training_check=False, run_mixed_shapes=False)


def test_text_model_trains_saves_and_loads(tmp_path):
    texts = np.array(["good movie", "bad movie", "great film", "awful film"] * 8)
    labels = np.array([1, 0, 1, 0] * 8, "float32")
    vectorize = layers.TextVectorization(max_tokens=20, output_sequence_length=3)
    vectorize.adapt(texts)
    inputs = keras.Input(shape=(1,), dtype=tf.string)
    x = vectorize(inputs)
    x = layers.Embedding(20, 8)(x)
    x = layers.GlobalAveragePooling1D()(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    ds = tf.data.Dataset.from_tensor_slices((texts[:, None], labels)).batch(8)
    history = model.fit(ds, epochs=15, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    probe = np.array([["good film"], ["bad film"], ["unseen words"]])
    want = model.predict(probe, verbose=0)
    for path in (tmp_path / "m.keras", tmp_path / "saved_dir"):
        model.save(path)
        loaded = keras.models.load_model(path)
        np.testing.assert_allclose(loaded.predict(probe, verbose=0), want, rtol=1e-6)
        assert loaded.layers[1].get_vocabulary() == vectorize.get_vocabulary()


# ----------------------------------------------------------------------- StringLookup


def test_string_lookup_index_layout_oov_hashing_mask_and_invert():
    vocab = ["a", "b", "c"]
    layer = layers.StringLookup(vocabulary=vocab)
    np.testing.assert_array_equal(layer([["a", "c"], ["d", "b"]]).numpy(), [[1, 3], [0, 2]])
    masked = layers.StringLookup(vocabulary=vocab, mask_token="", num_oov_indices=2)
    buckets = tf.strings.to_hash_bucket_fast(["d", "zz"], 2).numpy()
    np.testing.assert_array_equal(masked(["", "a", "d", "zz"]).numpy(),
                                  [0, 3, 1 + buckets[0], 1 + buckets[1]])
    assert masked.get_vocabulary() == ["", "[UNK]", "[UNK]", "a", "b", "c"]
    inverse = layers.StringLookup(vocabulary=vocab, invert=True)
    assert inverse([[1, 3], [0, 7]]).numpy().tolist() == [[b"a", b"c"], [b"[UNK]", b"[UNK]"]]
    one_hot = layers.StringLookup(vocabulary=vocab, output_mode="one_hot")
    np.testing.assert_array_equal(one_hot(["b", "q"]).numpy(), [[0, 0, 1, 0], [1, 0, 0, 0]])
    strict = layers.StringLookup(vocabulary=vocab, num_oov_indices=0)
    with pytest.raises(ValueError, match=r"found OOV values \[b'q'\]"):
        strict(["a", "q"])
    with pytest.raises(TypeError, match="StringLookup: inputs must be strings"):
        layer(np.array([1, 2]))
    adapted = layers.StringLookup(max_tokens=4)
    adapted.adapt(np.array([["x", "y"], ["y", "z"], ["y", "x"]]))
    assert adapted.get_vocabulary() == ["[UNK]", "y", "x", "z"]
    config = adapted.get_config()
    clone = layers.StringLookup.from_config(json.loads(json.dumps(config)))
    np.testing.assert_array_equal(clone(["z", "y", "w"]).numpy(), adapted(["z", "y", "w"]))


# ----------------------------------------------------------------------- against tf.keras 2


def _tf_python():
    peer = os.environ.get("CORTEN_TFKERAS_PYTHON", "/work/peers/tfkeras/bin/python")
    try:
        import tensorflow  # noqa: F401
        return sys.executable
    except ImportError:
        return peer if os.path.exists(peer) else None


@pytest.mark.skipif(_tf_python() is None, reason="TensorFlow is not installed (optional "
                    "comparison with tf.keras 2)")
def test_same_vocabulary_and_outputs_as_tf_keras():
    cases = [({"output_sequence_length": 8}, "int"), ({"ngrams": 2, "max_tokens": 20}, "int"),
             ({"output_mode": "multi_hot"}, "multi_hot"), ({"output_mode": "count"}, "count"),
             ({"output_mode": "tf_idf", "ngrams": 2}, "tf_idf"),
             ({"split": "character", "max_tokens": 25}, "int")]
    script = textwrap.dedent(f"""
        import json, os
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import tensorflow as tf
        corpus = {CORPUS!r}
        out = []
        for kwargs, _ in {cases!r}:
            layer = tf.keras.layers.TextVectorization(**kwargs)
            layer.adapt(tf.data.Dataset.from_tensor_slices(corpus).batch(3))
            vocab = [t if isinstance(t, str) else t.decode() for t in layer.get_vocabulary()]
            out.append([vocab, layer(corpus).numpy().tolist()])
        print("RESULT" + json.dumps(out))
    """)
    proc = subprocess.run([_tf_python(), "-c", script], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "TF_USE_LEGACY_KERAS": "1"})
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")]
    assert line, proc.stderr[-2000:]
    want = json.loads(line[0][len("RESULT"):])
    for (kwargs, _), (vocab, values) in zip(cases, want, strict=True):
        layer = layers.TextVectorization(**kwargs)
        layer.adapt(tf.data.Dataset.from_tensor_slices(CORPUS).batch(3))
        assert layer.get_vocabulary() == vocab, kwargs
        np.testing.assert_allclose(layer(CORPUS).numpy(), np.asarray(values), rtol=1e-6,
                                   err_msg=str(kwargs))


def test_adapt_of_large_corpus_counts_like_a_counter():
    rng = np.random.default_rng(3)
    words = np.array([f"w{i}" for i in range(300)])
    docs = [" ".join(rng.choice(words, rng.integers(1, 12))) for _ in range(2000)]
    layer = layers.TextVectorization(max_tokens=50)
    layer.adapt(docs, batch_size=128)
    counts = collections.Counter(w for d in docs for w in d.split())
    want = sorted(counts, key=lambda t: (counts[t], t.encode()), reverse=True)[:48]
    assert layer.get_vocabulary()[2:] == want
    assert re.fullmatch(r"w\d+", layer.get_vocabulary()[2])
