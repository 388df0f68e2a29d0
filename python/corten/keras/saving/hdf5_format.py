"""Model and weights files in tf.keras 2's HDF5 layout (``model.save("x.h5")``,
``save_weights("x.h5")``, and loading both), readable by tf.keras 2 and Keras 3.

Layout of a whole-model file (tf_keras/src/saving/legacy/hdf5_format.py)::

    /                        attrs: keras_version, backend, model_config (JSON:
                             {"class_name": "Sequential", "config": model.get_config()}),
                             training_config (JSON: loss, metrics, weighted_metrics,
                             loss_weights, optimizer_config), when compiled
    /model_weights           attrs: layer_names (model.layers), backend, keras_version
    /model_weights/<layer>   attrs: weight_names ("dense/kernel:0", ...), one dataset per
                             weight at that path; the layer's trainable weights, then its
                             non-trainable ones
    /model_weights/top_level_model_weights   the model's own weights, the same way
    /optimizer_weights       attrs: weight_names ("iteration:0", "Adam/m/dense/kernel:0", ...)

A weights file (``save_weights``) is ``/model_weights`` alone, at the root. A name list longer
than HDF5's 64 KB attribute limit is split into ``layer_names0``, ``layer_names1``...

Loading matches layers by position (the layers that have weights, in ``model.layers`` order),
or by name with ``by_name=True``, as tf.keras does; every shape is checked before anything is
assigned. A damaged file gives a ValueError naming it, never a hang or a crash of libhdf5
(hdf5_guard: Note [HDF5 hangs on damaged files], Note [HDF5 crashes on damaged datatypes]).
h5py is an optional dependency (``pip install corten[h5]``).

Note [HDF5 backend attribute]
tf.keras and Keras 3 convert the weights of a file only when its ``backend`` attribute says
"theano" (flipped convolution kernels). corten's weights use TensorFlow's layouts (kernels
HWIO, LSTM gates i, f, c, o), so files are written with backend "tensorflow" and read as is.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

import numpy as np

from corten.keras.saving import atomic, hdf5_guard, serialization_lib
from corten.keras.saving.object_registration import CustomObjectScope

__all__ = ["save_model_to_hdf5", "load_model_from_hdf5", "save_weights_to_hdf5",
           "load_weights_from_hdf5", "is_hdf5", "is_hdf5_path"]

#: The tf.keras version whose layout the files follow (the ``keras_version`` attribute).
KERAS_VERSION = "2.21.0"
BACKEND = "tensorflow"  # Note [HDF5 backend attribute]
HDF5_OBJECT_HEADER_LIMIT = 64512
_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_TOP_LEVEL = "top_level_model_weights"


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as e:
        raise ImportError(
            "Reading and writing HDF5 (.h5) Keras files requires h5py, an optional dependency "
            "of corten. Install it with: pip install corten[h5]  (or pip install h5py)") from e
    return h5py


def is_hdf5_path(filepath: Any, save_format: Any = None) -> bool:
    """Whether a save to `filepath` writes HDF5, as tf.keras decides: ``save_format`` "h5" or
    "hdf5", or no save_format and a name ending in ``.h5`` or ``.hdf5``."""
    if save_format is not None:
        return str(save_format).lower() in ("h5", "hdf5")
    return os.fspath(filepath).lower().endswith((".h5", ".hdf5"))


def is_hdf5(filepath: Any) -> bool:
    """Whether `filepath` is a file that starts with the HDF5 signature (at offset 0 or after a
    user block of 512, 1024, 2048... bytes). Never raises."""
    try:
        with open(os.fspath(filepath), "rb") as f:
            offset = 0
            while True:
                f.seek(offset)
                head = f.read(8)
                if head == _SIGNATURE:
                    return True
                if len(head) < 8 or offset > 1 << 20:
                    return False
                offset = 512 if offset == 0 else offset * 2
    except (OSError, TypeError, ValueError):
        return False


def _invalid(filepath: str, why: str) -> ValueError:
    return ValueError(f"Cannot load HDF5 file {filepath!r}: {why}. The file is truncated, "
                      "corrupted or not a Keras HDF5 file written by model.save or "
                      "save_weights.")


def _str(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, (bytes, np.bytes_)) else str(value)


# ---------------------------------------------------------------------- name lists
def _save_names(group: Any, name: str, names: list[str]) -> None:
    """``group.attrs[name]`` = the names as bytes, split into ``name0``, ``name1``... when the
    list exceeds HDF5's attribute size limit (as tf.keras writes it)."""
    data = [n.encode("utf-8") for n in names]
    too_long = [n for n in data if len(n) > HDF5_OBJECT_HEADER_LIMIT]
    if too_long:
        raise ValueError(f"Cannot save to HDF5: the names {too_long[:3]} are longer than "
                         f"{HDF5_OBJECT_HEADER_LIMIT} bytes")
    array = np.asarray(data)
    chunks = 1
    parts = np.array_split(array, chunks)
    while any(p.nbytes > HDF5_OBJECT_HEADER_LIMIT for p in parts):
        chunks += 1
        parts = np.array_split(array, chunks)
    if chunks > 1:
        for i, part in enumerate(parts):
            group.attrs[f"{name}{i}"] = part
    else:
        group.attrs[name] = array


def _load_names(group: Any, name: str) -> list[str]:
    if name in group.attrs:
        return [_str(n) for n in hdf5_guard.read_attr(group, name)]
    out: list[str] = []
    i = 0
    while f"{name}{i}" in group.attrs:
        out.extend(_str(n) for n in hdf5_guard.read_attr(group, f"{name}{i}"))
        i += 1
    return out


# ---------------------------------------------------------------------- weights
def _legacy_weights(layer: Any) -> list[Any]:
    """A layer's weights in the HDF5 order: trainable ones, then non-trainable ones."""
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _top_level_weights(model: Any) -> list[Any]:
    own = model._own_vars() if hasattr(model, "_own_vars") else []
    return [v for v in own if v.trainable] + [v for v in own if not v.trainable]


def _var_name(layer: Any, var: Any) -> str:
    """tf.keras's variable name: the layer's name scope, then the variable's own path
    ("lstm/lstm_cell/kernel:0")."""
    name = str(getattr(var, "name", "weight"))
    if not name.endswith(":0"):
        name += ":0"
    if layer is not None and not name.startswith(layer.name + "/"):
        name = f"{layer.name}/{name}"
    return name


def _save_subset(group: Any, layer: Any, weights: list[Any]) -> None:
    names, used = [], set()
    for w in weights:
        base = _var_name(layer, w)
        name, i = base, 0
        while name in used:  # two weights of one layer with the same name
            i += 1
            name = f"{base[:-2]}_{i}:0"
        used.add(name)
        names.append(name)
    _save_names(group, "weight_names", names)
    for name, w in zip(names, weights, strict=True):
        value = np.asarray(w)
        group.create_dataset(name, data=value)


def _write_weights_group(f: Any, model: Any) -> None:
    layers = list(model.layers)
    seen: set[str] = set()
    for layer in layers:
        if layer.name in seen:
            raise ValueError(f"Cannot save {model.name!r} to HDF5: two layers are named "
                             f"{layer.name!r}, and the file's groups are named by layer")
        seen.add(layer.name)
    _save_names(f, "layer_names", [layer.name for layer in layers])
    f.attrs["backend"] = BACKEND.encode("utf-8")
    f.attrs["keras_version"] = KERAS_VERSION.encode("utf-8")
    for layer in sorted(layers, key=lambda x: x.name):
        _save_subset(f.create_group(layer.name), layer, _legacy_weights(layer))
    _save_subset(f.create_group(_TOP_LEVEL), None, _top_level_weights(model))


def _read_subset(group: Any) -> list[Any]:
    """The datasets of a layer's weights, unread: their shapes are checked against the model
    before any data is read, so a damaged shape cannot make loading allocate without bound."""
    return [group[name] for name in _load_names(group, "weight_names")]


def bounded_values(datasets: list[Any], model: Any, filepath: str) -> list[np.ndarray]:
    """The data of `datasets` (an optimizer's state), refused when it claims more values than
    an optimizer of `model` keeps (Adam with amsgrad: 3 slots per weight)."""
    limit = 4 * sum(int(np.prod(w.shape)) for w in model.weights) + (1 << 16)
    total = sum(int(np.prod(d.shape)) if d.shape is not None else 0 for d in datasets)
    if total > limit:
        raise _invalid(filepath, f"its optimizer state declares {total} values, more than an "
                                 f"optimizer of this model keeps ({limit})")
    return [hdf5_guard.read_array(d) for d in datasets]


def _check_and_pair(model: Any, pairs: list[tuple[str, list[Any], list[np.ndarray]]],
                    filepath: str, skip_mismatch: bool) -> list[tuple[Any, np.ndarray]]:
    """``[(variable, value)]`` after checking every count and shape; ``pairs`` holds
    ``(layer label, variables, values)``."""
    updates = []
    for label, variables, values in pairs:
        if len(values) != len(variables):
            msg = (f"Weight count mismatch for layer {label} when loading {filepath!r}: the "
                   f"layer expects {len(variables)} weight(s) but the file has {len(values)}")
            if skip_mismatch:
                warnings.warn("Skipping loading weights: " + msg, stacklevel=4)
                continue
            raise ValueError(msg)
        for var, value in zip(variables, values, strict=True):
            want = tuple(var.shape)
            if tuple(value.shape) != want:
                msg = (f"Shape mismatch in layer {label} for weight {var.name!r} when loading "
                       f"{filepath!r}: the model expects shape {want} but the file has shape "
                       f"{tuple(value.shape)}")
                if skip_mismatch:
                    warnings.warn("Skipping loading weights: " + msg, stacklevel=4)
                    continue
                raise ValueError(msg)
            if value.dtype.kind not in "fiub":
                raise _invalid(filepath, f"the weight {var.name!r} of layer {label} has dtype "
                                         f"{value.dtype}")
            updates.append((var, hdf5_guard.read_array(value)))
    return updates


def _load_weights_group(f: Any, model: Any, filepath: str, by_name: bool = False,
                        skip_mismatch: bool = False) -> None:
    if not model.weights:
        raise ValueError(
            f"Unable to load weights into model {model.name!r}, which has not created its "
            "weights yet. Call the model on a batch of data (or build it) first, then load "
            "the weights.")
    backend = _str(hdf5_guard.read_attr(f, "backend", BACKEND))
    if backend == "theano":
        raise ValueError(f"Cannot load {filepath!r}: it holds Theano weights (flipped "
                         "convolution kernels), which corten does not convert")
    layer_names = _load_names(f, "layer_names")
    for name in layer_names:
        if name not in f:
            raise _invalid(filepath, f"the layer {name!r} listed in layer_names has no group")
    pairs = []
    if by_name:
        index: dict[str, list[Any]] = {}
        for layer in model.layers:
            index.setdefault(layer.name, []).append(layer)
        for k, name in enumerate(layer_names):
            values = _read_subset(f[name])
            for layer in index.get(name, []):
                pairs.append((f"#{k} (named {name!r})", _legacy_weights(layer), values))
    else:
        layers = [layer for layer in model.layers if _legacy_weights(layer)]
        saved = [n for n in layer_names if _load_names(f[n], "weight_names")]
        if len(saved) != len(layers):
            raise ValueError(
                f"Layer count mismatch when loading weights from {filepath!r} into model "
                f"{model.name!r}: the model has {len(layers)} layers with weights "
                f"({[la.name for la in layers][:8]}) but the file has {len(saved)} "
                f"({saved[:8]})")
        for k, (layer, name) in enumerate(zip(layers, saved, strict=True)):
            pairs.append((f"#{k} (named {layer.name!r} in the model, {name!r} in the file)",
                          _legacy_weights(layer), _read_subset(f[name])))
    top = _top_level_weights(model)
    if _TOP_LEVEL in f:
        values = _read_subset(f[_TOP_LEVEL])
        if values or top:
            pairs.append(("top_level_model_weights", top, values))
    updates = _check_and_pair(model, pairs, filepath, skip_mismatch)
    for var, value in updates:
        var.assign(value.astype(np.dtype(var.dtype.name), copy=False))


def save_weights_to_hdf5(model: Any, filepath: Any, overwrite: bool = True) -> None:
    """Writes ``model``'s weights to `filepath` in tf.keras 2's HDF5 weights layout,
    atomically.

    Raises:
        ImportError: without h5py.
        ValueError: if the model has no weights yet.
        FileExistsError: if the file exists and ``overwrite`` is False.
    """
    h5py = _h5py()
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save_weights: {filepath!r} exists and overwrite=False")
    if not model.weights and not getattr(model, "built", False):
        raise ValueError(
            f"Unable to save the weights of model {model.name!r}: it has not created its "
            "weights yet. Call the model on a batch of data (or build it) first.")
    with atomic.atomic_path(filepath) as tmp, h5py.File(tmp, "w") as f:
        _write_weights_group(f, model)


def _open_for_reading(filepath: str) -> Any:
    h5py = _h5py()
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No such file: {filepath!r}")
    hdf5_guard.check_hdf5_file(filepath)  # Note [HDF5 hangs on damaged files]
    try:
        return h5py.File(filepath, "r")
    except (OSError, ValueError) as e:
        raise _invalid(filepath, f"h5py cannot open it ({e})") from None


# What reading a damaged HDF5 file can raise through h5py: a bad object header or a
# truncated dataset (OSError, RuntimeError), a missing group (KeyError), odd attributes
# (TypeError, ValueError, UnicodeDecodeError), or a config that is not JSON.
_READ_ERRORS = (OSError, RuntimeError, KeyError, TypeError, UnicodeDecodeError,
                json.JSONDecodeError, RecursionError, AttributeError, IndexError,
                OverflowError, NotImplementedError)


def load_weights_from_hdf5(model: Any, filepath: Any, by_name: bool = False,
                           skip_mismatch: bool = False) -> None:
    """Loads weights from a tf.keras 2 HDF5 weights file, or from the ``model_weights`` of a
    whole-model HDF5 file, into ``model``. Nothing is assigned unless every weight can be.

    Raises:
        ImportError: without h5py.
        ValueError: for a damaged file (naming it), a layer count, weight count or shape
            mismatch (naming the layer and both shapes).
    """
    filepath = os.fspath(filepath)
    from corten.keras.saving import keras_zip

    f = _open_for_reading(filepath)
    try:
        if keras_zip.is_v3_weights_group(f):  # tf.keras 2.13+'s "x.weights.h5", Keras 3's
            keras_zip.assign_v3_weights(model, f, filepath)
            return
        group = f["model_weights"] if "layer_names" not in f.attrs and "model_weights" in f \
            else f
        _load_weights_group(group, model, filepath, by_name=by_name,
                            skip_mismatch=skip_mismatch)
    except _READ_ERRORS as e:
        raise _invalid(filepath, f"its weights cannot be read ({type(e).__name__}: {e})") \
            from None
    except ValueError as e:  # h5py's, on a damaged dtype or name
        if filepath in str(e):
            raise
        raise _invalid(filepath, str(e)) from None
    finally:
        f.close()


# ---------------------------------------------------------------------- whole models
def _training_config(model: Any) -> dict | None:
    """tf.keras's training_config for a compiled model: the compile arguments, with the
    optimizer as ``optimizer_config``."""
    config = model.get_compile_config() if hasattr(model, "get_compile_config") else None
    if not config:
        return None
    optimizer = config.get("optimizer")
    if isinstance(optimizer, dict):
        # tf.keras 2.11+ registers its built-in optimizers as "Custom>Adam" and writes that.
        name = optimizer.get("registered_name") or f"Custom>{optimizer.get('class_name')}"
        optimizer = {"class_name": name, "config": optimizer.get("config")}
    return {"loss": config.get("loss"), "metrics": config.get("metrics"),
            "weighted_metrics": config.get("weighted_metrics"),
            "loss_weights": config.get("loss_weights"), "optimizer_config": optimizer}


def save_model_to_hdf5(model: Any, filepath: Any, overwrite: bool = True,
                       include_optimizer: bool = True) -> None:
    """Writes ``model`` (config, weights, compile arguments and optimizer state) to `filepath`
    in tf.keras 2's HDF5 layout, atomically: an error leaves any previous file untouched.

    Raises:
        ImportError: without h5py.
        NotImplementedError: if the model's architecture cannot be described.
        FileExistsError: if the file exists and ``overwrite`` is False.
    """
    from corten.keras.saving import saving_lib

    h5py = _h5py()
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"model.save: {filepath!r} exists and overwrite=False")
    config = saving_lib._config_of(model)
    # A registered class goes by its registered name ("Package>Name"), as tf.keras's legacy
    # serialization writes it and looks it up.
    model_config = {"class_name": config.get("registered_name") or config["class_name"],
                    "config": config["config"]}
    from corten.keras.models import Functional, Sequential

    if not isinstance(model, (Functional, Sequential)) and config.get("build_config"):
        # A subclassed model (which tf.keras 2 cannot save to HDF5) is rebuilt from its build
        # config before its weights are loaded; tf.keras's two graph models need none.
        model_config["build_config"] = config["build_config"]
    training = _training_config(model) if include_optimizer else None
    optimizer = getattr(model, "optimizer", None)
    opt_vars = list(getattr(optimizer, "variables", None) or []) \
        if include_optimizer and training is not None else []
    dirname = os.path.dirname(os.path.abspath(filepath))
    os.makedirs(dirname, exist_ok=True)
    with atomic.atomic_path(filepath) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["keras_version"] = KERAS_VERSION
        f.attrs["backend"] = BACKEND
        f.attrs["model_config"] = json.dumps(model_config).encode("utf-8")
        if training is not None:
            f.attrs["training_config"] = json.dumps(training).encode("utf-8")
        _write_weights_group(f.create_group("model_weights"), model)
        if opt_vars:
            group = f.create_group("optimizer_weights")
            names = []
            for i, var in enumerate(opt_vars):
                name = str(getattr(var, "name", f"variable_{i}"))
                if name in names:
                    name = f"{name[:-2] if name.endswith(':0') else name}_{i}:0"
                names.append(name)
            _save_names(group, "weight_names", names)
            for name, var in zip(names, opt_vars, strict=True):
                group.create_dataset(name, data=np.asarray(var))


def strip_loss_fn(loss: Any) -> Any:
    """A serialized loss (or a list or dict of them) without the wrapped function ("fn") that
    tf.keras's built-in loss classes add to their get_config and their constructors refuse."""
    if isinstance(loss, dict) and "class_name" in loss and isinstance(loss.get("config"), dict):
        return {**loss, "config": {k: v for k, v in loss["config"].items() if k != "fn"}}
    if isinstance(loss, dict):
        return {k: strip_loss_fn(v) for k, v in loss.items()}
    if isinstance(loss, list):
        return [strip_loss_fn(v) for v in loss]
    return loss


def _compile_args(training: dict, filepath: str) -> dict:
    """corten's compile config from tf.keras's training_config."""
    if not isinstance(training, dict):
        raise _invalid(filepath, "its training_config is not a JSON object")
    optimizer = training.get("optimizer_config")
    if isinstance(optimizer, dict):
        optimizer = dict(optimizer)
        name = optimizer.get("class_name")
        # tf.keras 2.11+ registers its optimizers as "Custom>Adam".
        if isinstance(name, str) and name.startswith("Custom>"):
            optimizer["class_name"] = name[len("Custom>"):]
    metrics = training.get("metrics")

    def metric(m: Any) -> Any:
        # tf.keras stores compiled metrics ("accuracy" becomes a MeanMetricWrapper around
        # sparse_categorical_accuracy); the name given to compile brings back the same choice.
        if isinstance(m, dict) and m.get("class_name") == "MeanMetricWrapper":
            inner = m.get("config") or {}
            return inner.get("name") if inner.get("name") in ("accuracy", "acc") \
                else inner.get("fn", inner.get("name"))
        if isinstance(m, list):
            return [metric(x) for x in m]
        return m

    def flat(ms: Any) -> Any:
        if isinstance(ms, list) and len(ms) == 1 and isinstance(ms[0], list):
            return metric(ms[0])  # one output: [[m1, m2]]
        return metric(ms)

    return {"optimizer": optimizer, "loss": strip_loss_fn(training.get("loss")),
            "metrics": flat(metrics) if metrics is not None else None,
            "weighted_metrics": flat(training.get("weighted_metrics"))
            if training.get("weighted_metrics") is not None else None,
            "loss_weights": training.get("loss_weights")}


def load_model_from_hdf5(filepath: Any, custom_objects: dict | None = None,
                         compile: bool = True) -> Any:
    """Rebuilds a model from a tf.keras 2 HDF5 file (or one ``save_model_to_hdf5`` wrote):
    its config, weights, and, with ``compile``, its compile arguments and optimizer state.

    Raises:
        ImportError: without h5py.
        ValueError: for a damaged file or one without a model config (naming the file), an
            unknown class (naming it), or weights that do not fit the rebuilt model.
    """
    from corten.keras.layers import Layer

    filepath = os.fspath(filepath)
    f = _open_for_reading(filepath)
    try:
        try:
            raw = hdf5_guard.read_attr(f, "model_config")
            if raw is None:
                if "layer_names" in f.attrs:
                    raise ValueError(
                        f"Cannot load a model from {filepath!r}: it is a weights file (written "
                        "by save_weights) with no model config. Build the model and call "
                        "model.load_weights on it.")
                raise _invalid(filepath, "it has no model_config attribute")
            model_config = json.loads(_str(raw))
            if not isinstance(model_config, dict) or "class_name" not in model_config:
                raise _invalid(filepath, "its model_config does not describe a model")
            with CustomObjectScope(custom_objects):
                try:
                    model = serialization_lib.deserialize_keras_object(
                        model_config, custom_objects=custom_objects)
                except (KeyError, TypeError, IndexError, AttributeError, RecursionError) as e:
                    raise _invalid(filepath, "its model_config does not describe a model corten "
                                             f"can build ({type(e).__name__}: {e})") from None
                except ValueError as e:
                    if filepath in str(e):
                        raise
                    raise ValueError(f"Cannot load model file {filepath!r}: {e}") from None
            if not isinstance(model, Layer):
                raise _invalid(filepath, f"its model_config describes a "
                                         f"{type(model).__name__}, not a model")
            if "model_weights" not in f:
                raise _invalid(filepath, "it has no model_weights group")
            _load_weights_group(f["model_weights"], model, filepath)
            raw_training = hdf5_guard.read_attr(f, "training_config")
            opt_values = None
            if compile and raw_training is not None and "optimizer_weights" in f:
                group = f["optimizer_weights"]
                opt_values = bounded_values([group[n] for n in _load_names(group, "weight_names")],
                                            model, filepath)
        except _READ_ERRORS as e:
            raise _invalid(filepath, f"{type(e).__name__}: {e}") from None
        except ValueError as e:  # h5py's, on a damaged dtype or name
            if filepath in str(e):
                raise
            raise _invalid(filepath, str(e)) from None
    finally:
        f.close()
    if not compile or raw_training is None or not hasattr(model, "compile_from_config"):
        return model
    try:
        training = json.loads(_str(raw_training))
    except (json.JSONDecodeError, RecursionError, UnicodeDecodeError) as e:
        raise _invalid(filepath, f"its training_config is not valid JSON ({e})") from None
    with CustomObjectScope(custom_objects):
        try:
            model.compile_from_config(_compile_args(training, filepath),
                                      custom_objects=custom_objects)
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            raise ValueError(f"Cannot compile the model of {filepath!r} from its "
                             f"training_config: {e}") from None
    if opt_values:
        restore_optimizer_state(model, opt_values, filepath)
    return model


def restore_optimizer_state(model: Any, values: list, filepath: str) -> None:
    """Sets the compiled model's optimizer variables from a file's saved values, building the
    optimizer first; values that do not fit leave a fresh optimizer and a warning naming the
    file."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return
    try:
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        optimizer.set_weights(values)
    except ValueError as e:
        warnings.warn(f"Skipping loading the optimizer state of {filepath!r}: {e} The "
                      "optimizer starts from scratch.", stacklevel=4)
