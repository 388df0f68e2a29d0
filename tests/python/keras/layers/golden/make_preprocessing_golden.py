"""Writes preprocessing_golden.json: tf.keras 2 outputs of the numeric and categorical
preprocessing layers, for test_preprocessing_numeric.py and test_preprocessing_categorical.py.

Run with the tf.keras 2 peer:
    TF_USE_LEGACY_KERAS=1 /work/peers/tfkeras/bin/python make_preprocessing_golden.py
"""

import json
import os

import numpy as np
import tensorflow as tf
import tf_keras as keras

rng = np.random.default_rng(7)
out = {}

# Normalization: adapt over a batched Dataset, per-feature statistics, then call.
data = (rng.normal(size=(37, 3)) * [1.0, 5.0, 0.1] + [0.0, -3.0, 10.0]).astype("float32")
layer = keras.layers.Normalization(axis=-1)
layer.adapt(tf.data.Dataset.from_tensor_slices(data).batch(8))
x = rng.normal(size=(4, 3)).astype("float32")
out["normalization"] = {
    "axis": -1, "batch": 8, "adapt": data.tolist(), "x": x.tolist(),
    "mean": layer.adapt_mean.numpy().tolist(), "variance": layer.adapt_variance.numpy().tolist(),
    "y": layer(x).numpy().tolist(), "config_keys": sorted(layer.get_config())}

# Discretization with given boundaries, every output mode.
xd = np.array([[-1.5, 0.0, 0.1], [0.25, 1.0, 7.0]], "float32")
bounds = [0.0, 0.1, 1.0, 2.5]
out["discretization"] = {"bin_boundaries": bounds, "x": xd.tolist(), "outputs": {}}
for mode in ("int", "one_hot", "multi_hot", "count"):
    layer = keras.layers.Discretization(bin_boundaries=bounds, output_mode=mode)
    xin = xd[0] if mode == "one_hot" else xd
    y = layer(xin)
    out["discretization"]["outputs"][mode] = {"y": y.numpy().tolist(), "dtype": y.dtype.name}
out["discretization"]["config_keys"] = sorted(layer.get_config())
# Discretization.adapt: arrays (batches of 32) and a batched Dataset.
xa = (rng.normal(size=(203, 2)) * 4).astype("float32")
adapts = []
for kwargs, batch in (({"num_bins": 4}, None), ({"num_bins": 5, "epsilon": 0.05}, 16),
                      ({"num_bins": 3, "epsilon": 0.3}, 50)):
    layer = keras.layers.Discretization(**kwargs)
    layer.adapt(xa if batch is None else tf.data.Dataset.from_tensor_slices(xa).batch(batch))
    adapts.append({"kwargs": kwargs, "batch": batch,
                   "bin_boundaries": [float(b) for b in layer.bin_boundaries],
                   "y": layer(xa[:5]).numpy().tolist()})
out["discretization"]["adapt_data"] = xa.tolist()
out["discretization"]["adapts"] = adapts

# CategoryEncoding, every output mode, with count weights.
xc = np.array([[1, 2, 2, 0], [3, 3, 3, 1]], "int64")
out["category_encoding"] = {"x": xc.tolist(), "num_tokens": 5, "outputs": {}}
for mode in ("one_hot", "multi_hot", "count"):
    layer = keras.layers.CategoryEncoding(num_tokens=5, output_mode=mode)
    xin = xc[:, :1] if mode == "one_hot" else xc
    y = layer(xin)
    out["category_encoding"]["outputs"][mode] = {"y": y.numpy().tolist(),
                                                 "dtype": y.dtype.name}
w = np.array([[0.5, 1.0, 2.0, 0.25], [1.0, 1.0, 1.0, 3.0]], "float32")
layer = keras.layers.CategoryEncoding(num_tokens=5, output_mode="count")
out["category_encoding"]["count_weights"] = w.tolist()
out["category_encoding"]["weighted"] = layer(xc, count_weights=w).numpy().tolist()
out["category_encoding"]["config_keys"] = sorted(layer.get_config())

# Hashing of integers: without and with a salt, and with a mask value.
xh = np.array([[0, 1, 2, 3], [-1, 42, 123456789, -987654321012]], "int64")
out["hashing"] = {"x": xh.tolist(), "cases": []}
for kwargs in ({"num_bins": 3}, {"num_bins": 1000}, {"num_bins": 17, "mask_value": 0},
               {"num_bins": 1000, "salt": 133}, {"num_bins": 1000, "salt": [7, 11]}):
    layer = keras.layers.Hashing(**kwargs)
    out["hashing"]["cases"].append({"kwargs": kwargs, "y": layer(xh).numpy().tolist()})
out["hashing"]["config_keys"] = sorted(layer.get_config())
# Every decimal length (1 to 20 characters) and the int64 extremes, with many bins.
wide = [0, 7, -7] + [10**k + k for k in range(1, 19)] + [-(10**k) - 3 for k in range(1, 19)]
wide += [np.iinfo(np.int64).min, np.iinfo(np.int64).max]
xw = np.array(wide, "int64")
out["hashing"]["wide"] = {"x": [str(v) for v in wide], "cases": []}
for kwargs in ({"num_bins": 2**31 - 1}, {"num_bins": 2**31 - 1, "salt": [2**40 + 3, -5]}):
    y = keras.layers.Hashing(**kwargs)(xw).numpy().tolist()
    out["hashing"]["wide"]["cases"].append({"kwargs": kwargs, "y": y})
xi32 = np.array([[0, -1, 2147483647, -2147483648, 65536]], "int32")
out["hashing"]["int32"] = {"x": xi32.tolist(),
                           "y": keras.layers.Hashing(num_bins=97)(xi32).numpy().tolist()}

# IntegerLookup: a given vocabulary, adapt, invert, and the output modes.
vocab = [12, 36, 1138, 42]
xi = np.array([[12, 1138, 42], [42, 1000, 36]], "int64")
il = {"vocabulary": vocab, "x": xi.tolist(), "cases": []}
for kwargs in ({}, {"num_oov_indices": 2}, {"mask_token": 0}, {"output_mode": "multi_hot"},
               {"output_mode": "count"}, {"output_mode": "one_hot"},
               {"num_oov_indices": 2, "output_mode": "count"}, {"invert": False}):
    layer = keras.layers.IntegerLookup(vocabulary=vocab, **kwargs)
    xin = xi[0] if kwargs.get("output_mode") == "one_hot" else xi
    y = layer(xin)
    il["cases"].append({"kwargs": kwargs, "y": y.numpy().tolist(), "dtype": y.dtype.name,
                        "vocab": [int(v) for v in layer.get_vocabulary()]})
layer = keras.layers.IntegerLookup(vocabulary=vocab, invert=True)
il["invert"] = layer(np.array([[1, 0, 4]], "int64")).numpy().tolist()
adapt_data = np.array([[5, 7, 7, 9], [9, 9, 5, 2], [7, 9, 3, 3]], "int64")
layer = keras.layers.IntegerLookup(max_tokens=4)
layer.adapt(adapt_data)
il["adapt"] = {"data": adapt_data.tolist(), "max_tokens": 4,
               "vocab": [int(v) for v in layer.get_vocabulary()]}
layer = keras.layers.IntegerLookup(output_mode="tf_idf")
layer.adapt(adapt_data)
il["tf_idf"] = {"vocab": [int(v) for v in layer.get_vocabulary()],
                "y": layer(adapt_data[:2]).numpy().tolist()}
il["config_keys"] = sorted(layer.get_config())
out["integer_lookup"] = il

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "preprocessing_golden.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("wrote", path)
