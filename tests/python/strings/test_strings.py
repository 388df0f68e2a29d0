"""String tensors and corten.strings: against Python's own string functions, and against
values TensorFlow 2.21 computed (strings_tf_golden.json, made by the script in its docstring
key "_script" below)."""

import gc
import json
import pathlib
import re

import corten as tf
import numpy as np
import pytest
from corten import _C

GOLDEN = json.loads((pathlib.Path(__file__).parent / "strings_tf_golden.json").read_text())
GOLDEN_WORDS = ["", "a", "hello", "Hello World", "ünïcödé", "x" * 17, "y" * 40, "z" * 70,
                "q" * 200, "\x00\xff"]

rng = np.random.default_rng(7)
ALPHABET = list("abcXYZ019 ,.!?-_\t") + ["é", "ß", "Ж", "日"]


def corpus(n, max_len=24):
    return ["".join(rng.choice(ALPHABET, rng.integers(0, max_len))) for _ in range(n)]


def as_bytes(strings):
    return [s.encode() for s in strings]


# ----------------------------------------------------------------------- the dtype


def test_constant_from_python_and_numpy_strings():
    t = tf.constant([["a", "bé"], ["", "日本"]])
    assert t.dtype == tf.string and t.shape == (2, 2)
    assert t.numpy().tolist() == [[b"a", "bé".encode()], [b"", "日本".encode()]]
    assert tf.constant("x").numpy() == b"x" and tf.constant(b"\xff\x00").numpy() == b"\xff\x00"
    for arr in (np.array(["a", "bb"]), np.array([b"a", b"bb"]), np.array(["a", b"bb"], object)):
        assert tf.constant(arr).numpy().tolist() == [b"a", b"bb"]
    empty = tf.constant([], dtype=tf.string)
    assert empty.dtype == tf.string and empty.shape == (0,)
    assert tf.constant("ab", shape=(2, 1)).numpy().tolist() == [[b"ab"], [b"ab"]]
    assert tf.as_dtype(str) == tf.string and tf.as_dtype(np.bytes_) == tf.string
    assert tf.as_dtype("string") == tf.string and tf.as_dtype(7) == tf.string
    assert repr(tf.constant("x")) == "<corten.Tensor: shape=(), dtype=string, numpy=b'x'>"


def test_conversion_errors_are_type_errors():
    with pytest.raises(TypeError, match="cannot convert the string 'a' to float32"):
        tf.constant("a", dtype=tf.float32)
    with pytest.raises(TypeError, match="cannot convert the number 1 to string"):
        tf.constant(1, dtype=tf.string)
    with pytest.raises(TypeError, match="holding a int to a tensor: an object array"):
        tf.constant(np.array(["a", 1], dtype=object))
    with pytest.raises(TypeError, match="cast: cannot cast string to float32.*to_number"):
        tf.cast(tf.constant(["1"]), tf.float32)
    with pytest.raises(TypeError, match="cast: cannot cast int32 to string.*as_string"):
        tf.cast(tf.constant([1]), tf.string)
    s = tf.constant(["a", "b"])
    for op in (tf.add, tf.multiply, tf.maximum, tf.less):
        with pytest.raises(TypeError, match="string"):
            op(s, s)
    with pytest.raises(TypeError, match="string"):
        tf.reduce_sum(s)
    with pytest.raises((TypeError, BufferError)):
        memoryview(s)
    with pytest.raises(TypeError, match="string"):
        s.__dlpack__()


def test_data_movement_keeps_bytes_alive():
    # The results outlive their source: their storage keeps the byte buffers.
    src = tf.constant(["alpha", "beta", "gamma", "delta"])
    views = {
        "slice": src[1:3], "step": src[::-2], "reshape": tf.reshape(src, (2, 2)),
        "transpose": tf.transpose(tf.reshape(src, (2, 2))),
        "gather": tf.gather(src, [3, 3, 0]), "concat": tf.concat([src, tf.constant(["z"])], 0),
        "stack": tf.stack([src, src]), "tile": tf.tile(src, [2]),
        "pad": tf.pad(src, [[1, 1]]), "fill": tf.fill([2], tf.constant("zz")),
        "identity": tf.identity(src), "expand": tf.expand_dims(src, 0),
    }
    want = {k: v.numpy().tolist() for k, v in views.items()}
    del src
    gc.collect()
    _ = [tf.constant(["overwrite" * 8] * 64) for _ in range(8)]
    for k, v in views.items():
        assert v.numpy().tolist() == want[k], k
    assert want["pad"] == [b"", b"alpha", b"beta", b"gamma", b"delta", b""]
    assert want["gather"] == [b"delta", b"delta", b"alpha"]


def test_equal_broadcasts_and_records_in_functions():
    a = tf.constant([["a", "b"], ["c", "a"]])
    np.testing.assert_array_equal((a == "a").numpy(), [[True, False], [False, True]])
    np.testing.assert_array_equal(tf.not_equal(a, tf.constant(["a", "a"])).numpy(),
                                  [[False, True], [True, False]])
    np.testing.assert_array_equal(tf.equal(a[:, ::-1], a[::-1]).numpy(), [[False, True],
                                                                       [True, False]])

    @tf.function
    def eq(x):
        return tf.where(tf.equal(x, "a"), tf.zeros_like(x, "int32"), tf.ones_like(x, "int32"))

    for batch in (["a", "b"], ["b", "a", "a"]):
        np.testing.assert_array_equal(eq(tf.constant(batch)).numpy(),
                                      [0 if s == "a" else 1 for s in batch])


def test_dataset_yields_string_tensors():
    ds = tf.data.Dataset.from_tensor_slices((["a", "b", "c"], [1, 2, 3])).batch(2)
    first = next(iter(ds))
    assert first[0].dtype == tf.string and first[0].numpy().tolist() == [b"a", b"b"]
    upper = tf.data.Dataset.from_tensor_slices(["ab", "c"]).map(tf.strings.upper)
    assert [t.numpy() for t in upper] == [b"AB", b"C"]


# ----------------------------------------------------------------------- the ops


def test_case_strip_and_length_match_python():
    words = corpus(200)
    t = tf.constant(words)
    ascii_lower = [w.encode().lower() for w in words]  # bytes.lower: ASCII only, as TF
    assert tf.strings.lower(t).numpy().tolist() == ascii_lower
    assert tf.strings.upper(t).numpy().tolist() == [w.encode().upper() for w in words]
    assert tf.strings.strip(t).numpy().tolist() == [w.encode().strip(b" \t\n\r\v\f")
                                                   for w in words]
    assert tf.strings.length(t).numpy().tolist() == [len(w.encode()) for w in words]
    assert tf.strings.length(t, "UTF8_CHAR").numpy().tolist() == [len(w) for w in words]
    # UTF-8 case mapping of Latin-1, Latin Extended-A, Greek and Cyrillic letters.
    mixed = "ÀÉÎ Ā ĳ Ĺ Ž ΑΒΓ ДЖ Ѐ Ÿ"
    assert tf.strings.lower(mixed, encoding="utf-8").numpy().decode() == mixed.lower()
    assert tf.strings.upper(mixed.lower(), encoding="utf-8").numpy().decode() == \
        mixed.lower().upper()
    assert tf.strings.lower("ÀÉÎ ΑΒΓ ДЖ", encoding="utf-8").numpy().decode() == \
        GOLDEN["lower_utf8"][:10]
    with pytest.raises(ValueError, match="unsupported encoding"):
        tf.strings.lower("a", encoding="latin-1")


# Literals and single character classes match UTF-8 characters, as RE2 does (compared with
# Python's str patterns); the other patterns run on bytes (compared with Python's bytes
# patterns); Note [String regexes].
@pytest.mark.parametrize(("pattern", "rewrite", "by_character"), [
    ("fox", "cat", True), (r"\.", "!", True),
    (r"[!\"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']", "", True), (r"[a-c0-9]", "#", True),
    (r"[^a-z ]", "", True), (r"[é-ö]", "e", True), (r"[^\wЖ]", "_", True),
    (r"\s+", " ", False), (r"(\w)(\w*)", r"\2\1", False), (r"^a|b$", "<\\0>", False),
    (r"x*", "-", False),
])
def test_regex_replace_matches_python_re(pattern, rewrite, by_character):
    words = corpus(150) + ["the quick brown fox.", "a.b.c", "ab", ""]
    py_rewrite = re.sub(r"\\(\d)", r"\\g<\1>", rewrite)
    for count, replace_global in ((0, True), (1, False)):
        got = tf.strings.regex_replace(words, pattern, rewrite, replace_global).numpy().tolist()
        if by_character:
            want = [re.sub(pattern, py_rewrite, w, count=count, flags=re.ASCII).encode()
                    for w in words]
        else:
            want = [re.sub(pattern.encode(), py_rewrite.encode(), w.encode(), count=count)
                    for w in words]
        assert got == want


def test_regex_matches_tensorflow_and_survives_long_inputs():
    assert tf.strings.regex_replace(["aaa bbb", "x1y22z"], r"(\w)\w*", r"<\1>").numpy() \
        .tolist() == [s.encode() for s in GOLDEN["rr"]]
    assert tf.strings.regex_replace(["aaa bbb"], "a", "b", replace_global=False).numpy() \
        .tolist() == [s.encode() for s in GOLDEN["rr1"]]
    long = "ab" * 500_000
    assert tf.strings.regex_replace(long, r"(a|b)*", "x").numpy() == b"xx"
    assert tf.strings.regex_full_match(long, r"(ab)*").numpy()
    np.testing.assert_array_equal(tf.strings.regex_full_match(["abc", "ab", "b1"], r"[a-c]+")
                                  .numpy(), [True, True, False])
    with pytest.raises(ValueError, match=r"regex_replace: invalid regular expression '\(a'"):
        tf.strings.regex_replace(["a"], "(a", "")


def test_split_and_ngrams_match_python_and_tensorflow():
    words = corpus(100)
    r = tf.strings.split(words)
    assert isinstance(r, tf.RaggedTensor) and r.nrows() == 100
    assert r.to_list() == [w.encode().split() for w in words]
    assert tf.strings.split(words, ",").to_list() == [w.encode().split(b",") for w in words]
    assert tf.strings.split("a b").numpy().tolist() == [b"a", b"b"]
    assert tf.strings.split(["a b  c d", " x "], maxsplit=1).to_list() == \
        [[s.encode() for s in row] for row in GOLDEN["split_max"]]
    assert tf.strings.split(["a,,b,", ""], sep=",").to_list() == \
        [[s.encode() for s in row] for row in GOLDEN["split_sep"]]
    tokens = tf.RaggedTensor.from_row_lengths(["a", "b", "c", "d"], [3, 1])
    assert tf.strings.ngrams(tokens, (2, 3), separator="_").to_list() == \
        [[s.encode() for s in row] for row in GOLDEN["ngrams"]]

    def py_ngrams(row, widths):
        return [" ".join(row[i:i + w]).encode() for w in widths for i in range(len(row) - w + 1)]

    split = [w.split() for w in words]
    got = tf.strings.ngrams(r, (1, 2, 3)).to_list()
    assert got == [py_ngrams(s, (1, 2, 3)) for s in split]
    dense = tf.strings.ngrams(tf.constant([["a", "b", "c"], ["d", "e", "f"]]), 2).to_list()
    assert dense == [[b"a b", b"b c"], [b"d e", b"e f"]]
    with pytest.raises(ValueError, match="ngrams: every ngram_width must be >= 1; got 0"):
        tf.strings.ngrams(r, 0)
    with pytest.raises(ValueError, match="split: input must be a scalar or a 1-D tensor"):
        tf.strings.split(tf.constant([["a"]]))


def test_joins_and_unicode():
    t = tf.constant([["a", "b"], ["c", "d"]])
    assert tf.strings.reduce_join(t, axis=1, separator="-").numpy().tolist() == [b"a-b", b"c-d"]
    assert tf.strings.reduce_join(t, axis=0).numpy().tolist() == [b"ac", b"bd"]
    assert tf.strings.reduce_join(t).numpy() == b"abcd"
    assert tf.strings.join([t, "!"], separator="").numpy().tolist() == [[b"a!", b"b!"],
                                                                       [b"c!", b"d!"]]
    words = corpus(50) + ["\udcff".encode("utf-8", "surrogatepass").decode("latin-1")]
    raw = [w.encode() for w in words[:-1]] + [b"a\xffb\xe6\x97"]
    decoded = tf.strings.unicode_decode(raw, "UTF-8").to_list()
    want = [[ord(c) for c in b.decode("utf-8", "replace")] for b in raw]
    assert decoded == want
    chars = tf.strings.unicode_split(raw, "UTF-8").to_list()
    assert chars == [[c.encode() for c in b.decode("utf-8", "replace")] for b in raw]
    back = tf.strings.unicode_encode(tf.RaggedTensor.from_row_lengths(
        np.concatenate([np.array(r, np.int32) for r in want]), [len(r) for r in want]), "UTF-8")
    assert back.numpy().tolist() == [b.decode("utf-8", "replace").encode() for b in raw]
    assert tf.strings.unicode_encode([72, 0x110000], "UTF-8").numpy() == "H\ufffd".encode()


def test_numbers_to_and_from_strings():
    assert [s.decode() for s in tf.strings.as_string([1.5, -2.25, 1e10, 3.14159],
                                                     precision=2).numpy()] == GOLDEN["as_string_f"]
    assert [s.decode() for s in tf.strings.as_string([1.5, -2.25, 1e10, 3.14159]).numpy()] == \
        GOLDEN["as_string_d"]
    assert [s.decode() for s in tf.strings.as_string([1.5, -2.25], scientific=True).numpy()] == \
        GOLDEN["as_string_e"]
    assert [s.decode() for s in tf.strings.as_string([7, -3], width=4, fill="0").numpy()] == \
        GOLDEN["as_string_w"]
    assert [s.decode() for s in tf.strings.as_string([True, False]).numpy()] == \
        GOLDEN["as_string_b"]
    ints = rng.integers(-(2**62), 2**62, 100)
    assert tf.strings.as_string(ints).numpy().tolist() == [str(i).encode() for i in ints]
    np.testing.assert_array_equal(tf.strings.to_number(tf.strings.as_string(ints), tf.int64),
                                  ints)
    assert tf.strings.to_number([" 1.5", "1e3", "-2", "inf"]).numpy().tolist() == \
        [1.5, 1000.0, -2.0, float("inf")]
    with pytest.raises(ValueError, match=r"could not convert the string 'abc' \(element 1 of "
                                         r"shape \(2,\)\) to float32"):
        tf.strings.to_number(["1", "abc"])
    with pytest.raises(ValueError, match="'3000000000'.*to int32"):
        tf.strings.to_number(["3000000000"], tf.int32)
    with pytest.raises(ValueError, match="precision applies to floating-point"):
        tf.strings.as_string([1], precision=3)


def test_hash_buckets_equal_tensorflows():
    assert tf.strings.to_hash_bucket_fast(GOLDEN_WORDS, 1000003).numpy().tolist() == \
        GOLDEN["fast"]
    assert tf.strings.to_hash_bucket_strong(GOLDEN_WORDS, 1000003, [7, 11]).numpy().tolist() \
        == GOLDEN["strong"]


def test_ragged_to_dense_pads_cuts_and_checks_splits():
    r = tf.RaggedTensor.from_row_lengths(["a", "b", "c", "d"], [3, 0, 1])
    assert r.to_tensor().numpy().tolist() == [[b"a", b"b", b"c"], [b"", b"", b""],
                                              [b"d", b"", b""]]
    assert r.to_tensor("?", shape=(None, 2)).numpy().tolist() == [[b"a", b"b"], [b"?", b"?"],
                                                                   [b"d", b"?"]]
    n = tf.RaggedTensor.from_row_lengths([1, 2, 3], [1, 2])
    np.testing.assert_array_equal(n.to_tensor(shape=(None, 4)).numpy(), [[1, 0, 0, 0],
                                                                        [2, 3, 0, 0]])
    np.testing.assert_array_equal(n.row_lengths().numpy(), [1, 2])
    with pytest.raises(ValueError, match="row_splits must be non-decreasing; got 2 then 1"):
        _C.ragged_to_dense(tf.constant([1, 2, 3]), [0, 2, 1, 3], -1, 0)
    with pytest.raises(ValueError, match="must start at 0 and end at the number of values"):
        _C.ragged_to_dense(tf.constant([1, 2, 3]), [0, 2], -1, 0)


def test_symbolic_shapes_flow_through_string_ops():
    x = _C.empty_meta((None,), tf.string)
    assert tf.strings.lower(x).shape == (None,)
    values, splits = _C.string_split(x, "", -1)
    assert values.shape == (None,) and splits.shape == (None,)
    assert _C.ragged_to_dense(values, splits, 5, "").shape == (None, 5)
    assert tf.strings.to_number(x).dtype == tf.float32
