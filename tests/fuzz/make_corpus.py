"""Writes the seed corpus of the fuzz targets (committed under tests/fuzz/corpus/).

    python tests/fuzz/make_corpus.py

Seeds are small valid files and a few broken ones, so that the fuzzers start near the formats'
interesting paths. Findings are added next to them by hand, named after what they found.
"""

from __future__ import annotations

import json
import os
import struct
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    from corten import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    corpus = os.path.join(HERE, "corpus")

    model_path = os.path.join(corpus, "load_model", "valid.keras")
    model.save(model_path)
    data = open(model_path, "rb").read()
    with open(os.path.join(corpus, "load_model", "truncated.keras"), "wb") as f:
        f.write(data[: len(data) // 2])
    with zipfile.ZipFile(model_path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    with zipfile.ZipFile(os.path.join(corpus, "load_model", "deflated.keras"), "w",
                         compression=zipfile.ZIP_DEFLATED) as zf:
        for n, d in entries.items():
            zf.writestr(n, d)

    weights_path = os.path.join(corpus, "load_weights", "valid.weights.safetensors")
    model.save_weights(weights_path)
    raw = open(weights_path, "rb").read()
    with open(os.path.join(corpus, "load_weights", "flipped.weights.safetensors"), "wb") as f:
        f.write(raw[:-3] + bytes([raw[-3] ^ 1]) + raw[-2:])
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                         "x": {"dtype": "I64", "shape": [], "data_offsets": [8, 16]}}).encode()
    with open(os.path.join(corpus, "load_weights", "two.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + np.arange(4, dtype="<i4").tobytes())

    rng = np.random.default_rng(0)
    for i in range(8):
        with open(os.path.join(corpus, "op_args", f"seed{i}"), "wb") as f:
            f.write(rng.integers(0, 256, size=48, dtype=np.uint8).tobytes())


if __name__ == "__main__":
    main()
