"""Damages Keras files in fixed, seeded ways and loads each one; run by
test_corrupted_files.py in a subprocess, so that a hang or a crash fails the test instead of
freezing or killing pytest:

    python fuzz_loading.py OUTDIR SEEDS [SOURCE ...]      (SEEDS: "0-12,64,130")

SOURCE names a committed fixture (``mlp.h5``, ``keras3_mlp.keras``...) or a file corten writes
(``corten.h5``, ``corten_weights.h5``, ``corten.weights.h5``). For every source, seed and kind of
damage (truncation, bit flips, overwritten byte runs, damage within the first 2 KB where the
superblock and root group live; for ``.keras`` archives, the same on the archive and on its
``model.weights.h5`` inside an intact archive), it calls ``load_model`` (whole-model files) and
``load_weights`` into a model built from the intact file, and prints one JSON line per case:
``{"case", "load_model", "load_weights"}``, each outcome "ok" or
``{"type", "message", "named", "changed"}``: the exception, whether its message names the
damaged file, and whether a failed ``load_weights`` changed any variable. A ``START`` line
precedes each case, so the last one names a case that hung.
"""

from __future__ import annotations

import io
import json
import os
import sys
import warnings
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
KINDS = ("truncate", "flip", "overwrite", "head")
WEIGHTS = "model.weights.h5"


def damage(raw: bytes, seed: int, kind: str) -> bytes:
    """`raw` damaged by `kind`, reproducibly from `seed`."""
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    data = bytearray(raw)
    if kind == "truncate":
        return bytes(data[:int(rng.integers(0, len(data)))])
    if kind == "flip":
        for i in rng.integers(0, len(data), size=int(rng.integers(1, 17))):
            data[i] ^= 1 << int(rng.integers(0, 8))
        return bytes(data)
    if kind == "overwrite":
        for _ in range(int(rng.integers(1, 4))):
            n = int(rng.integers(1, 65))
            i = int(rng.integers(0, len(data) - n))
            data[i:i + n] = rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()
        return bytes(data)
    for i in rng.integers(0, min(2048, len(data)), size=int(rng.integers(1, 7))):
        data[i] = int(rng.integers(0, 256))
    return bytes(data)


def _replace_entry(archive: bytes, name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, data if info.filename == name else zin.read(info))
    return out.getvalue()


def _corten_files(outdir: str) -> dict[str, str]:
    from corten import keras
    from corten.keras import layers

    model = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(8, activation="relu"),
                              layers.BatchNormalization(), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(16, 6)).astype("float32"), rng.integers(0, 3, size=(16,)),
              batch_size=8, verbose=0)
    paths = {"corten.h5": os.path.join(outdir, "corten.h5"),
             "corten_weights.h5": os.path.join(outdir, "corten_weights.h5"),
             "corten.weights.h5": os.path.join(outdir, "corten.weights.h5")}
    model.save(paths["corten.h5"])
    model.save_weights(paths["corten_weights.h5"])
    model.save_weights(paths["corten.weights.h5"])
    return paths


def _model_source(name: str) -> str:
    """The whole-model file whose architecture a weights file fits."""
    if name.startswith("corten"):
        return "corten.h5"
    if name.endswith(".weights.h5"):
        return name[:-len(".weights.h5")] + ".keras"
    return name.replace("_weights", "")


def _outcome(error: BaseException, path: str, changed: bool | None = None) -> dict:
    out = {"type": type(error).__name__, "message": str(error)[:300],
           "named": os.path.basename(path) in str(error)}
    if changed is not None:
        out["changed"] = changed
    return out


def parse_seeds(text: str) -> list[int]:
    """``"0-3,9"`` -> ``[0, 1, 2, 9]`` (ranges exclude their end)."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds.extend(range(int(lo), int(hi)) if hi else [int(lo)])
    return seeds


def run(outdir: str, seeds: list[int], sources: list[str]) -> None:
    from corten import keras

    warnings.simplefilter("ignore")  # a fresh optimizer's warning is not a failure here
    own = _corten_files(outdir)
    paths = {s: own.get(s, os.path.join(FIXTURES, s)) for s in sources}
    for s in sources:
        paths.setdefault(_model_source(s), own.get(_model_source(s),
                                                    os.path.join(FIXTURES, _model_source(s))))
    models = {}
    for s in sources:
        src = _model_source(s)
        models[s] = keras.models.load_model(paths[src], compile=False)
    for s in sources:
        with open(paths[s], "rb") as f:
            raw = f.read()
        ext = ".keras" if s.endswith(".keras") else ".h5"
        variants = [("", raw)]
        if ext == ".keras":
            with zipfile.ZipFile(io.BytesIO(raw)) as zf:
                inner = zf.read(WEIGHTS)
            variants.append(("inner", inner))
        for seed in seeds:
            for where, data in variants:
                for kind in KINDS:
                    case = f"{s}/{where or 'file'}/{kind}/{seed}"
                    print("START", case, flush=True)
                    damaged = damage(data, seed, kind)
                    if where == "inner":
                        damaged = _replace_entry(raw, WEIGHTS, damaged)
                    path = os.path.join(outdir, f"damaged_{seed}_{kind}{ext}")
                    with open(path, "wb") as f:
                        f.write(damaged)
                    result = {"case": case}
                    if "weights" not in s:
                        try:
                            keras.models.load_model(path)
                            result["load_model"] = "ok"
                        except Exception as e:  # classified by the test
                            result["load_model"] = _outcome(e, path)
                    if ext == ".h5":
                        model = models[s]
                        before = [np.array(w, copy=True) for w in model.weights]
                        try:
                            model.load_weights(path)
                            result["load_weights"] = "ok"
                        except Exception as e:  # classified by the test
                            changed = any(not np.array_equal(np.asarray(w), b, equal_nan=True)
                                          for w, b in zip(model.weights, before, strict=True))
                            result["load_weights"] = _outcome(e, path, changed)
                        for w, b in zip(model.weights, before, strict=True):
                            w.assign(b)
                    print(json.dumps(result), flush=True)
                    os.remove(path)


if __name__ == "__main__":
    run(sys.argv[1], parse_seeds(sys.argv[2]), sys.argv[3:])
