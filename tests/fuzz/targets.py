"""Fuzz targets: bytes in, and either a clean result or one of the allowed exceptions out.

    python tests/fuzz/targets.py load_model -runs=2000 tests/fuzz/corpus/load_model
    python tests/fuzz/targets.py --replay load_model tests/fuzz/corpus/load_model

With atheris installed (the ``fuzz`` extra), the first form runs a coverage-guided fuzzer
(libFuzzer's flags: -runs, -max_total_time, ...); --replay runs every file of a corpus once,
without atheris. Targets:

- ``load_model``: the bytes as a .keras file given to keras.models.load_model;
- ``load_weights``: the bytes as a weights file given to Model.load_weights;
- ``op_args``: the bytes choose an op and its arguments (shapes, dtypes, axes, values).

An exception other than the allowed ones (ValueError, and OSError for I/O; TypeError,
IndexError and MemoryError for ops), or a crash, is a finding: add the input to the corpus as
a regression. The C++ weights reader has a libFuzzer target of its own,
tests/cpp/fuzz_weights_file.cpp.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

import numpy as np

LOADER_ERRORS = (ValueError, OSError)
OP_ERRORS = (ValueError, TypeError, IndexError, MemoryError)

_tmp = tempfile.mkdtemp(prefix="corten-fuzz-")
atexit.register(shutil.rmtree, _tmp, True)
_model = None


def _small_model():
    global _model
    if _model is None:
        from corten import keras

        inputs = keras.Input(shape=(4,))
        _model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    return _model


def load_model(data: bytes) -> None:
    from corten import keras

    path = os.path.join(_tmp, "input.keras")
    with open(path, "wb") as f:
        f.write(data)
    try:
        keras.models.load_model(path)
    except LOADER_ERRORS:
        pass


def load_weights(data: bytes) -> None:
    model = _small_model()
    before = [w.numpy().copy() for w in model.weights]
    path = os.path.join(_tmp, "input.weights.safetensors")
    with open(path, "wb") as f:
        f.write(data)
    try:
        model.load_weights(path)
    except LOADER_ERRORS:
        for w, b in zip(model.weights, before, strict=True):
            if not np.array_equal(w.numpy(), b, equal_nan=True):
                raise AssertionError("a failed load_weights changed the model's weights") from None


_OPS = ["add", "multiply", "matmul", "reduce_sum", "reduce_max", "reshape", "transpose",
        "concat", "gather", "softmax", "argmax", "tile", "pad", "cast", "split", "expand_dims"]
_DTYPES = ["float32", "float64", "int32", "int64", "bool"]


def op_args(data: bytes) -> None:
    import corten as tf

    b = list(data) or [0]
    pos = [0]

    def take(n: int) -> int:
        v = b[pos[0] % len(b)] % n
        pos[0] += 1
        return v

    def shape() -> tuple[int, ...]:
        return tuple(take(5) for _ in range(take(4)))

    def array() -> np.ndarray:
        s, dt = shape(), _DTYPES[take(len(_DTYPES))]
        rng = np.random.default_rng(take(256))
        if dt == "bool":
            return rng.random(s) < 0.5
        return (rng.normal(size=s) * 3).astype(dt)

    def axis() -> int:
        return take(9) - 4

    op = _OPS[take(len(_OPS))]
    x, y = array(), array()
    calls = {
        "add": lambda: tf.add(x, y), "multiply": lambda: tf.multiply(x, y),
        "matmul": lambda: tf.matmul(x, y), "reduce_sum": lambda: tf.reduce_sum(x, axis=axis()),
        "reduce_max": lambda: tf.reduce_max(x, axis=axis(), keepdims=bool(take(2))),
        "reshape": lambda: tf.reshape(x, [take(7) - 1 for _ in range(take(4))]),
        "transpose": lambda: tf.transpose(x, [take(5) for _ in range(x.ndim)]),
        "concat": lambda: tf.concat([x, y], axis=axis()),
        "gather": lambda: tf.gather(x, np.array([take(7) - 1 for _ in range(take(4))], "int32"),
                                    axis=axis()),
        "softmax": lambda: tf.nn.softmax(x, axis=axis()), "argmax": lambda: tf.argmax(x, axis()),
        "tile": lambda: tf.tile(x, [take(4) for _ in range(x.ndim)]),
        "pad": lambda: tf.pad(x, [[take(3), take(3)] for _ in range(x.ndim)]),
        "cast": lambda: tf.cast(x, _DTYPES[take(len(_DTYPES))]),
        "split": lambda: tf.split(x, take(4) + 1, axis=axis()),
        "expand_dims": lambda: tf.expand_dims(x, axis()),
    }
    try:
        calls[op]()
    except OP_ERRORS as e:
        if not str(e):
            raise AssertionError(f"{op}: {type(e).__name__} without a message") from None


TARGETS = {"load_model": load_model, "load_weights": load_weights, "op_args": op_args}


def replay(target: str, corpus: str) -> int:
    """Runs every file of `corpus` through `target`; returns how many."""
    fn = TARGETS[target]
    names = sorted(os.listdir(corpus))
    for name in names:
        with open(os.path.join(corpus, name), "rb") as f:
            fn(f.read())
    return len(names)


def main(argv: list[str]) -> None:
    if argv[1] == "--replay":
        print(f"replayed {replay(argv[2], argv[3])} inputs")
        return
    import atheris

    target = TARGETS[argv[1]]
    with atheris.instrument_imports():
        import corten  # noqa: F401
    atheris.Setup([argv[0], *argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
