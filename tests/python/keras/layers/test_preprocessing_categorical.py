"""CategoryEncoding, Hashing and IntegerLookup: the harness, numpy references, adapt,
save/load of their state, errors, and tf.keras 2 golden values
(golden/preprocessing_golden.json, made by golden/make_preprocessing_golden.py)."""

import json
import os

import corten
import numpy as np
import pytest
from corten import keras
from corten.keras import layers
from corten.testing import run_layer_test

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden",
                      "preprocessing_golden.json")
with open(GOLDEN) as f:
    GOLD = json.load(f)

rng = np.random.default_rng(3)


def _bincount_ref(x, depth, mode, weights=None):
    x = np.atleast_1d(x)
    if mode == "one_hot" and x.shape[-1] != 1:
        x = x[..., None]
    flat = x.reshape(int(np.prod(x.shape[:-1])), x.shape[-1])
    w = np.ones_like(flat, "float64") if weights is None else weights.reshape(flat.shape)
    out = np.zeros((flat.shape[0], depth))
    for r in range(flat.shape[0]):
        np.add.at(out[r], flat[r], w[r])
    if mode != "count":
        out = np.minimum(out, 1)
    return out.reshape((*x.shape[:-1], depth))


# ------------------------------------------------------------------ CategoryEncoding
# one_hot of (batch, k > 1) would have rank 3, which tf.keras 2 refuses (tested below).
@pytest.mark.parametrize(("mode", "shape"), [
    (mode, shape) for mode in ("one_hot", "multi_hot", "count")
    for shape in [(6,), (6, 1), (4, 3), (), (3, 0)]
    if not (mode == "one_hot" and len(shape) == 2 and shape[1] != 1)])
def test_category_encoding_matches_numpy(mode, shape):
    x = rng.integers(0, 7, size=shape).astype("int64")
    out = layers.CategoryEncoding(num_tokens=7, output_mode=mode)(x)
    assert out.dtype.name == "float32"
    np.testing.assert_array_equal(out.numpy(), _bincount_ref(x, 7, mode))


def test_category_encoding_count_weights_and_dtypes():
    x = rng.integers(0, 5, size=(4, 6)).astype("int32")
    w = rng.random((4, 6))
    layer = layers.CategoryEncoding(num_tokens=5, output_mode="count", dtype="float64")
    got = layer(x, count_weights=w)
    assert got.dtype.name == "float64"
    np.testing.assert_allclose(got.numpy(), _bincount_ref(x, 5, "count", w), rtol=1e-12)
    as_int = layers.CategoryEncoding(num_tokens=5, output_mode="count", dtype="int64")(x)
    assert as_int.dtype.name == "int64"
    np.testing.assert_array_equal(as_int.numpy(), _bincount_ref(x, 5, "count"))


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_category_encoding_through_the_harness(mode):
    shape = (5, 1) if mode == "one_hot" else (5, 4)
    run_layer_test(layers.CategoryEncoding, {"num_tokens": 10, "output_mode": mode},
                   input_shape=shape, input_dtype="int64", expected_output_shape=(5, 10),
                   expected_output_dtype="float32", expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, run_training_check=False)


def test_category_encoding_errors_name_the_layer():
    with pytest.raises(ValueError, match="num_tokens must be set"):
        layers.CategoryEncoding()
    with pytest.raises(ValueError, match=r"CategoryEncoding.*num_tokens=0"):
        layers.CategoryEncoding(0)
    with pytest.raises(ValueError, match=r"CategoryEncoding.*output_mode='tf_idf'"):
        layers.CategoryEncoding(3, output_mode="tf_idf")
    with pytest.raises(ValueError, match="sparse"):
        layers.CategoryEncoding(3, sparse=True)
    layer = layers.CategoryEncoding(3)
    with pytest.raises(ValueError, match=r"CategoryEncoding.*num_tokens=3.*\[0, 3\].*\(1, 2\)"):
        layer(np.array([[0, 3]]))
    with pytest.raises(ValueError, match=r"CategoryEncoding.*\[-1, 1\]"):
        layer(np.array([[-1, 1]]))
    with pytest.raises(ValueError, match="`count_weights` is not used"):
        layer(np.array([[0, 1]]), count_weights=np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"output rank is 2.*\(2, 2, 2\)"):
        layer(np.zeros((2, 2, 2), "int64"))
    with pytest.raises(ValueError, match=r"count_weights.*\(1, 2\).*\(1, 3\)"):
        layers.CategoryEncoding(3, output_mode="count")(np.array([[0, 1]]),
                                                        count_weights=np.ones((1, 3)))


def test_category_encoding_compute_output_shape_on_symbolic_inputs():
    inputs = keras.Input(shape=(4,), dtype="int64")
    assert tuple(layers.CategoryEncoding(6)(inputs).shape) == (None, 6)
    inputs = keras.Input(shape=(), dtype="int64")
    assert tuple(layers.CategoryEncoding(6, output_mode="one_hot")(inputs).shape) == (None, 6)


def test_category_encoding_matches_tf_keras_golden():
    case = GOLD["category_encoding"]
    x = np.array(case["x"], "int64")
    for mode, want in case["outputs"].items():
        layer = layers.CategoryEncoding(num_tokens=case["num_tokens"], output_mode=mode)
        got = layer(x[:, :1] if mode == "one_hot" else x)
        assert got.dtype.name == want["dtype"]
        np.testing.assert_array_equal(got.numpy(), want["y"])
    got = layer(x, count_weights=np.array(case["count_weights"], "float32"))
    np.testing.assert_allclose(got.numpy(), case["weighted"], rtol=1e-6)
    assert sorted(layer.get_config()) == sorted(case["config_keys"])


def test_category_encoding_is_reachable_as_tf_keras_names():
    assert keras.layers.CategoryEncoding is layers.CategoryEncoding
    assert corten.keras.layers.CategoryEncoding(2).get_config()["output_mode"] == "multi_hot"


# ------------------------------------------------------------------ IntegerLookup
VOCAB = [12, 36, 1138, 42]


def _lookup_ref(x, vocab, num_oov=1, mask=None):
    start = (1 if mask is not None else 0) + num_oov
    table = {t: i + start for i, t in enumerate(vocab)}
    out = np.empty_like(x)
    for i, t in np.ndenumerate(x):
        if mask is not None and t == mask:
            out[i] = 0
        elif t in table:
            out[i] = table[t]
        else:
            out[i] = (1 if mask is not None else 0) + (t % num_oov if num_oov > 1 else 0)
    return out


@pytest.mark.parametrize(("num_oov", "mask"), [(1, None), (3, None), (1, 0), (2, 7)])
def test_integer_lookup_matches_a_python_table(num_oov, mask):
    x = rng.choice(np.array(VOCAB + [0, 7, 5, -3, 99]), size=(6, 5)).astype("int64")
    layer = layers.IntegerLookup(vocabulary=VOCAB, num_oov_indices=num_oov, mask_token=mask)
    out = layer(x)
    assert out.dtype.name == "int64"
    np.testing.assert_array_equal(out.numpy(), _lookup_ref(x, VOCAB, num_oov, mask))
    assert layer.vocabulary_size() == len(VOCAB) + num_oov + (mask is not None)
    inverse = layers.IntegerLookup(vocabulary=VOCAB, num_oov_indices=num_oov, mask_token=mask,
                                   invert=True)
    back = inverse(out).numpy()
    known = np.isin(x, VOCAB) | ((x == mask) if mask is not None else False)
    np.testing.assert_array_equal(back[known], x[known])
    assert (back[~known] == -1).all()


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_integer_lookup_encoded_modes(mode):
    x = rng.choice(np.array(VOCAB + [5]), size=(4,) if mode == "one_hot" else (4, 6))
    out = layers.IntegerLookup(vocabulary=VOCAB, output_mode=mode)(x)
    assert out.dtype.name == "float32"
    np.testing.assert_array_equal(out.numpy(), _bincount_ref(_lookup_ref(x, VOCAB), 5, mode))
    padded = layers.IntegerLookup(vocabulary=VOCAB, output_mode=mode, max_tokens=9,
                                  pad_to_max_tokens=True)(x)
    assert padded.shape[-1] == 9


def test_integer_lookup_adapt_ranks_by_count_then_token():
    data = np.array([[5, 7, 7, 9], [9, 9, 5, 2], [7, 9, 3, 3]], "int64")
    layer = layers.IntegerLookup()
    layer.adapt(data)
    assert layer.get_vocabulary() == [-1, 9, 7, 5, 3, 2]
    assert layer.get_vocabulary(include_special_tokens=False) == [9, 7, 5, 3, 2]
    on_ds = layers.IntegerLookup(max_tokens=3)
    on_ds.adapt(corten.data.Dataset.from_tensor_slices(data).batch(2))
    assert on_ds.get_vocabulary() == [-1, 9, 7]
    masked = layers.IntegerLookup(mask_token=9)
    masked.adapt(data)
    assert masked.get_vocabulary() == [9, -1, 7, 5, 3, 2]


def test_integer_lookup_tf_idf_matches_the_formula():
    data = np.array([[5, 7, 7, 9], [9, 9, 5, 2], [7, 9, 3, 3]], "int64")
    layer = layers.IntegerLookup(output_mode="tf_idf")
    layer.adapt(data)
    vocab = layer.get_vocabulary(include_special_tokens=False)
    docs = np.array([sum(t in row for row in data) for t in vocab])
    idf = np.log(1 + 3 / (1 + docs))
    idf = np.concatenate([[idf.astype("float32").mean()], idf])
    counts = _bincount_ref(_lookup_ref(data, vocab), len(idf), "count")
    np.testing.assert_allclose(layer(data).numpy(), counts * idf, rtol=1e-6)


def test_integer_lookup_through_the_harness():
    run_layer_test(layers.IntegerLookup, {"vocabulary": [1, 3, 5, 7]}, input_shape=(4, 3),
                   input_dtype="int64", expected_output_shape=(4, 3),
                   expected_output_dtype="int64", expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, run_training_check=False)
    run_layer_test(layers.IntegerLookup, {"vocabulary": [1, 3, 5], "output_mode": "count"},
                   input_shape=(4, 3), input_dtype="int64", expected_output_shape=(4, 4),
                   expected_output_dtype="float32", run_training_check=False)


def test_integer_lookup_adapted_vocabulary_survives_save_and_load(tmp_path):
    lookup = layers.IntegerLookup(output_mode="tf_idf")
    lookup.adapt(rng.integers(0, 20, size=(30, 5)))
    inputs = keras.Input(shape=(5,), dtype="int64")
    model = keras.Model(inputs, layers.Dense(2)(lookup(inputs)))
    path = str(tmp_path / "lookup.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    x = rng.integers(0, 25, size=(4, 5))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    restored = [layer for layer in loaded.layers if isinstance(layer, layers.IntegerLookup)][0]
    assert restored.get_vocabulary() == lookup.get_vocabulary()


def test_integer_lookup_feeds_an_embedding_in_training():
    lookup = layers.IntegerLookup(vocabulary=VOCAB)
    model = keras.Sequential([keras.Input(shape=(3,), dtype="int64"), lookup,
                              layers.Embedding(lookup.vocabulary_size(), 4), layers.Flatten(),
                              layers.Dense(1)])
    model.compile("sgd", "mse")
    x = rng.choice(np.array(VOCAB + [5]), size=(8, 3))
    model.fit(x, np.ones((8, 1)), epochs=1, verbose=0)


def test_integer_lookup_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"IntegerLookup.*max_tokens=1"):
        layers.IntegerLookup(max_tokens=1)
    with pytest.raises(ValueError, match=r"IntegerLookup.*num_oov_indices=-1"):
        layers.IntegerLookup(num_oov_indices=-1)
    with pytest.raises(ValueError, match=r"IntegerLookup.*repeated.*\[3\]"):
        layers.IntegerLookup(vocabulary=[1, 3, 3])
    with pytest.raises(ValueError, match=r"IntegerLookup.*mask token.*mask_token=1"):
        layers.IntegerLookup(vocabulary=[1, 3], mask_token=1)
    with pytest.raises(ValueError, match=r"IntegerLookup.*larger than the maximum"):
        layers.IntegerLookup(vocabulary=[1, 3, 4], max_tokens=3)
    with pytest.raises(ValueError, match="`invert` is true"):
        layers.IntegerLookup(invert=True, output_mode="count")
    with pytest.raises(ValueError, match="`idf_weights` must be set"):
        layers.IntegerLookup(vocabulary=[1], output_mode="tf_idf")
    with pytest.raises(ValueError, match=r"found OOV values \[5\]"):
        layers.IntegerLookup(vocabulary=[1, 2], num_oov_indices=0)(np.array([[1, 5]]))
    with pytest.raises(ValueError, match="Cannot adapt IntegerLookup"):
        layers.IntegerLookup(vocabulary=[1, 2]).adapt(np.array([[1, 5]]))
    with pytest.raises(RuntimeError, match="must set the layer's vocabulary"):
        layers.IntegerLookup(output_mode="multi_hot")(np.array([[1, 5]]))
    with pytest.raises(TypeError, match=r"IntegerLookup: inputs must be integers.*float32"):
        layers.IntegerLookup(vocabulary=[1])(np.array([[1.0]], "float32"))


def test_integer_lookup_vocabulary_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("12\n36\n1138\n42")
    layer = layers.IntegerLookup(vocabulary=str(path))
    assert layer.get_vocabulary() == [-1] + VOCAB


def test_integer_lookup_matches_tf_keras_golden():
    case = GOLD["integer_lookup"]
    x = np.array(case["x"], "int64")
    for want in case["cases"]:
        layer = layers.IntegerLookup(vocabulary=case["vocabulary"], **want["kwargs"])
        got = layer(x[0] if want["kwargs"].get("output_mode") == "one_hot" else x)
        assert got.dtype.name == want["dtype"]
        np.testing.assert_array_equal(got.numpy(), want["y"])
        assert layer.get_vocabulary() == want["vocab"]
    layer = layers.IntegerLookup(vocabulary=case["vocabulary"], invert=True)
    np.testing.assert_array_equal(layer(np.array([[1, 0, 4]])).numpy(), case["invert"])
    data = np.array(case["adapt"]["data"], "int64")
    layer = layers.IntegerLookup(max_tokens=case["adapt"]["max_tokens"])
    layer.adapt(data)
    assert layer.get_vocabulary() == case["adapt"]["vocab"]
    layer = layers.IntegerLookup(output_mode="tf_idf")
    layer.adapt(data)
    assert layer.get_vocabulary() == case["tf_idf"]["vocab"]
    np.testing.assert_allclose(layer(data[:2]).numpy(), case["tf_idf"]["y"], rtol=1e-6)
    assert sorted(layer.get_config()) == sorted(case["config_keys"])


# ------------------------------------------------------------------ Hashing
def test_hashing_matches_tf_keras_golden():
    case = GOLD["hashing"]
    x = np.array(case["x"], "int64")
    for want in case["cases"]:
        got = layers.Hashing(**want["kwargs"])(x)
        assert got.dtype.name == "int64"
        np.testing.assert_array_equal(got.numpy(), want["y"])
    wide = np.array([int(v) for v in case["wide"]["x"]], "int64")
    for want in case["wide"]["cases"]:
        np.testing.assert_array_equal(layers.Hashing(**want["kwargs"])(wide).numpy(), want["y"])
    x32 = np.array(case["int32"]["x"], "int32")
    np.testing.assert_array_equal(layers.Hashing(num_bins=97)(x32).numpy(), case["int32"]["y"])
    layer = layers.Hashing(num_bins=3, salt=[1, 2])
    assert sorted(layer.get_config()) == sorted(case["config_keys"])


def test_hashing_mask_value_and_encoded_modes():
    x = rng.integers(-50, 50, size=(6, 4)).astype("int64")
    x[0, 0] = 7
    plain = layers.Hashing(num_bins=9)(x).numpy()
    masked = layers.Hashing(num_bins=10, mask_value=7)(x).numpy()
    np.testing.assert_array_equal(masked, np.where(x == 7, 0, plain + 1))
    assert (masked >= 0).all()
    assert (masked < 10).all()
    for mode in ("multi_hot", "count"):
        got = layers.Hashing(num_bins=9, output_mode=mode)(x)
        assert got.dtype.name == "float32"
        np.testing.assert_array_equal(got.numpy(), _bincount_ref(plain, 9, mode))
    one_hot = layers.Hashing(num_bins=9, output_mode="one_hot")(x[:, 0])
    np.testing.assert_array_equal(one_hot.numpy(), np.eye(9)[plain[:, 0]])


def test_hashing_salted_differs_and_is_deterministic():
    x = np.arange(-100, 100, dtype="int64")
    a = layers.Hashing(num_bins=1000, salt=5)(x).numpy()
    b = layers.Hashing(num_bins=1000, salt=[5, 5])(x).numpy()
    c = layers.Hashing(num_bins=1000)(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert (a != c).mean() > 0.9


def test_hashing_through_the_harness():
    run_layer_test(layers.Hashing, {"num_bins": 5}, input_shape=(4, 3), input_dtype="int64",
                   expected_output_shape=(4, 3), expected_output_dtype="int64",
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0,
                   run_training_check=False)
    run_layer_test(layers.Hashing, {"num_bins": 5, "salt": 3, "output_mode": "multi_hot"},
                   input_shape=(4, 3), input_dtype="int32", expected_output_shape=(4, 5),
                   expected_output_dtype="float32", run_training_check=False)


def test_hashing_kernel_equals_its_reference_and_ignores_threads():
    from corten import _C
    from corten.config import threading

    x = rng.integers(-(2**62), 2**62, size=(50_000,))
    before = threading.get_intra_op_parallelism_threads()
    try:
        outs = []
        for threads in (1, 2):
            threading.set_intra_op_parallelism_threads(threads)
            outs.append(_C.hash_bucket(x, 12345).numpy())
            outs.append(_C.hash_bucket(x, 12345, True, 3, 2**64 - 1).numpy())
    finally:
        threading.set_intra_op_parallelism_threads(before)
    np.testing.assert_array_equal(outs[0], outs[2])
    np.testing.assert_array_equal(outs[1], outs[3])
    np.testing.assert_array_equal(outs[0], _C.hash_bucket(x, 12345, reference=True).numpy())
    np.testing.assert_array_equal(
        outs[1], _C.hash_bucket(x, 12345, True, 3, 2**64 - 1, reference=True).numpy())


def test_hash_bucket_op_on_strided_and_empty_inputs():
    from corten.ops.hashing import hash_bucket

    x = rng.integers(-1000, 1000, size=(6, 8)).astype("int64")
    strided = corten.constant(x)[:, ::2]
    np.testing.assert_array_equal(hash_bucket(strided, 31).numpy(),
                                  hash_bucket(np.ascontiguousarray(x[:, ::2]), 31).numpy())
    assert tuple(hash_bucket(np.zeros((0, 3), "int32"), 4).shape) == (0, 3)
    assert hash_bucket(np.int64(5), 4).shape == ()


def test_hashing_errors_name_the_layer_and_op():
    from corten.ops.hashing import hash_bucket

    with pytest.raises(ValueError, match=r"`num_bins` for `Hashing`.*num_bins=0"):
        layers.Hashing(num_bins=0)
    with pytest.raises(ValueError, match=r"`salt` argument for `Hashing`.*salt=\[1, 2, 3\]"):
        layers.Hashing(num_bins=3, salt=[1, 2, 3])
    with pytest.raises(ValueError, match=r"Hashing.*output_mode='tf_idf'"):
        layers.Hashing(num_bins=3, output_mode="tf_idf")
    with pytest.raises(TypeError, match=r"Hashing: inputs must be integers.*float32"):
        layers.Hashing(num_bins=3)(np.zeros((2, 2), "float32"))
    with pytest.raises(TypeError, match=r"hash_bucket: x must be int32, int64 or string; got float64.*"
                                        r"\(2,\)"):
        hash_bucket(np.zeros(2), 3)
    with pytest.raises(ValueError, match="hash_bucket: num_buckets must be >= 1; got 0"):
        hash_bucket(np.zeros(2, "int64"), 0)
    with pytest.raises(ValueError, match="hash_bucket: key must be two integers"):
        hash_bucket(np.zeros(2, "int64"), 3, key=[1])


def test_sorted_lookup_kernel_equals_its_reference_and_ignores_threads():
    from corten import _C
    from corten.config import threading
    from corten.ops.hashing import sorted_lookup

    keys = np.unique(rng.integers(-(10**6), 10**6, size=3000)).astype("int64")
    x = np.concatenate([rng.choice(keys, 20_000), rng.integers(-(10**6), 10**6, 20_000)])
    want = np.where(np.isin(x, keys), np.searchsorted(keys, x), -1)
    before = threading.get_intra_op_parallelism_threads()
    try:
        for threads in (1, 2):
            threading.set_intra_op_parallelism_threads(threads)
            np.testing.assert_array_equal(sorted_lookup(x, keys).numpy(), want)
    finally:
        threading.set_intra_op_parallelism_threads(before)
    small = x[:500].astype("int32")
    np.testing.assert_array_equal(_C.sorted_lookup(small, keys, reference=True).numpy(),
                                  want[:500])
    np.testing.assert_array_equal(sorted_lookup(np.zeros((2, 0), "int64"), keys).numpy(),
                                  np.zeros((2, 0)))
    np.testing.assert_array_equal(sorted_lookup(np.array([1, 2]), np.zeros(0, "int64")).numpy(),
                                  [-1, -1])
    with pytest.raises(TypeError, match="sorted_lookup: keys must be int64 for int64 x; got int32"):
        sorted_lookup(x, keys.astype("int32"))
    with pytest.raises(ValueError, match=r"sorted_lookup: keys must be 1-D; got shape \(1, 2\)"):
        sorted_lookup(x, np.array([[1, 2]], "int64"))
    with pytest.raises(TypeError, match="sorted_lookup: x must be int32, int64 or string; got float32"):
        sorted_lookup(np.zeros(2, "float32"), keys)


def test_integer_lookup_with_a_large_vocabulary():
    vocab = rng.permutation(200_000)[:50_000].astype("int64")
    layer = layers.IntegerLookup(vocabulary=vocab)
    x = rng.integers(0, 200_000, size=(64, 100))
    index = {int(t): i + 1 for i, t in enumerate(vocab)}
    want = np.vectorize(lambda t: index.get(int(t), 0))(x)
    np.testing.assert_array_equal(layer(x).numpy(), want)


def test_layers_inside_a_traced_function_match_eager():
    hashing = layers.Hashing(num_bins=10, salt=3)
    lookup = layers.IntegerLookup(vocabulary=[3, 5, 7], num_oov_indices=2)
    encode = layers.CategoryEncoding(num_tokens=5, output_mode="count")

    @corten.function
    def pipeline(x):
        return hashing(x), lookup(x), encode(lookup(x))

    for x in (np.array([[3, 5, 9], [7, 7, 1]]), np.array([[0, 3, 3], [-4, 5, 6]])):
        got = pipeline(x)
        want = (hashing(x), lookup(x), encode(lookup(x)))
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g.numpy(), w.numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_bincount_op_matches_numpy_and_its_reference(dtype):
    from corten import _C
    from corten.config import threading
    from corten.ops.hashing import bincount

    x = rng.integers(-2, 40, size=(3000, 25)).astype("int32")
    w = (rng.integers(-300, 700, size=x.shape) / 7).astype(dtype)
    want = np.stack([np.bincount(r[(r >= 0) & (r < 37)], wr[(r >= 0) & (r < 37)], 37)
                     for r, wr in zip(x, w.astype("float64"), strict=True)])
    before = threading.get_intra_op_parallelism_threads()
    try:
        outs = []
        for threads in (1, 2):
            threading.set_intra_op_parallelism_threads(threads)
            outs.append(bincount(x, 37, w, dtype=dtype).numpy())
    finally:
        threading.set_intra_op_parallelism_threads(before)
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], _C.bincount(x, 37, w, False, dtype, True).numpy())
    np.testing.assert_allclose(outs[0], want.astype(dtype), rtol=1e-5, atol=1e-3)
    assert outs[0].dtype == np.dtype(dtype)
    counts = np.stack([np.bincount(r[(r >= 0) & (r < 37)], minlength=37) for r in x])
    np.testing.assert_array_equal(bincount(x, 37, dtype=dtype).numpy(), counts)
    np.testing.assert_array_equal(bincount(x, 37, binary=True, dtype=dtype).numpy(), counts > 0)
    np.testing.assert_array_equal(bincount(x[0], 37, dtype=dtype).numpy(),
                                  np.bincount(x[0][x[0] >= 0], minlength=41)[:37])


def test_bincount_errors_name_the_op():
    from corten.ops.hashing import bincount

    x = np.zeros((2, 3), "int64")
    with pytest.raises(ValueError, match=r"bincount: x must have rank 1 or 2; got shape "
                                         r"\(1, 2, 3\)"):
        bincount(x[None], 4)
    with pytest.raises(ValueError, match=r"bincount: weights must have x's shape \(2, 3\); got "
                                         r"\(3,\)"):
        bincount(x, 4, np.ones(3, "float32"))
    with pytest.raises(TypeError, match="bincount: weights must have dtype float32; got float64"):
        bincount(x, 4, np.ones((2, 3)))
    with pytest.raises(ValueError, match="bincount: weights cannot be used with binary"):
        bincount(x, 4, np.ones((2, 3), "float32"), binary=True)
    with pytest.raises(ValueError, match="bincount: depth must be >= 0; got -1"):
        bincount(x, -1)
    with pytest.raises(TypeError, match="bincount: x must be int32 or int64; got float32"):
        bincount(np.zeros(2, "float32"), 3)
