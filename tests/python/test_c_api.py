"""The C API (corten/c_api.h) driven through ctypes, as Rust, Go or C# would use it: load a
model saved from Python, predict, and get status codes with messages for every misuse."""

import ctypes
import sys
from pathlib import Path

import corten
import numpy as np
import pytest
from corten import keras
from corten.keras import layers

sys.path.insert(0, str(Path(__file__).parent))
from native import c_api  # noqa: E402

OK, VALUE_ERROR, TYPE_ERROR = c_api.OK, c_api.VALUE_ERROR, c_api.TYPE_ERROR
FLOAT32 = 3


@pytest.fixture(scope="module")
def lib():
    return c_api.load_or_skip()


def _tensor(lib, arr):
    return c_api.tensor(lib, np.asarray(arr, dtype="float32"))


def _array(lib, t):
    return c_api.array(lib, t)


def test_load_and_predict_through_ctypes(lib, tmp_path):
    inputs = keras.Input(shape=(5,))
    model = keras.Model(inputs, layers.Dense(2)(layers.Dense(7, activation="relu")(inputs)))
    path = str(tmp_path / "m.keras")
    model.save(path)
    handle = ctypes.c_void_p()
    assert lib.corten_model_load(path.encode(), ctypes.byref(handle)) == OK
    try:
        assert lib.corten_model_num_inputs(handle) == 1
        assert lib.corten_model_num_outputs(handle) == 1
        x = np.random.default_rng(0).standard_normal((4, 5)).astype("float32")
        xt = _tensor(lib, x)
        out = (ctypes.c_void_p * 1)()
        assert lib.corten_model_predict(handle, (ctypes.c_void_p * 1)(xt), 1, out, 1) == OK
        np.testing.assert_array_equal(_array(lib, out[0]), model(x, training=False).numpy())
        lib.corten_tensor_free(out[0])
        # Misuse: wrong counts, a wrong shape; the message names the problem.
        assert lib.corten_model_predict(handle, (ctypes.c_void_p * 1)(xt), 2, out, 1) == \
            VALUE_ERROR
        assert b"takes 1 inputs; got 2" in lib.corten_last_error()
        bad = _tensor(lib, np.ones((2, 3), "float32"))
        assert lib.corten_model_predict(handle, (ctypes.c_void_p * 1)(bad), 1, out, 1) == \
            VALUE_ERROR
        assert b"must be float32 of shape (None, 5)" in lib.corten_last_error()
        assert lib.corten_model_predict(handle, None, 1, out, 1) == VALUE_ERROR
        assert b"inputs is null" in lib.corten_last_error()
        lib.corten_tensor_free(xt)
        lib.corten_tensor_free(bad)
    finally:
        lib.corten_model_free(handle)


def test_errors_are_codes_with_messages(lib, tmp_path):
    handle = ctypes.c_void_p()
    assert lib.corten_model_load(str(tmp_path / "none.keras").encode(),
                                 ctypes.byref(handle)) == VALUE_ERROR
    assert b"no such file or directory" in lib.corten_last_error()
    assert not handle.value
    assert lib.corten_model_load(None, ctypes.byref(handle)) == VALUE_ERROR
    out = ctypes.c_void_p()
    shape = (ctypes.c_int64 * 1)(3)
    assert lib.corten_tensor_create(99, shape, 1, None, ctypes.byref(out)) == TYPE_ERROR
    assert b"unknown dtype 99" in lib.corten_last_error()
    neg = (ctypes.c_int64 * 1)(-3)
    assert lib.corten_tensor_create(FLOAT32, neg, 1, None, ctypes.byref(out)) == VALUE_ERROR
    assert lib.corten_set_num_threads(0) == VALUE_ERROR
    assert lib.corten_set_num_threads(corten.config.threading
                                      .get_intra_op_parallelism_threads()) == OK
    assert lib.corten_last_error() == b""
