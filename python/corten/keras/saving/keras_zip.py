"""``load_model`` of ``.keras`` files written by Keras 3 and by tf.keras 2.13+, and
``load_weights`` of their ``.weights.h5`` files.

Such a file is a zip archive holding ``metadata.json`` (``{"keras_version": "3.5.0", ...}``),
``config.json`` (the model's ``serialize_keras_object`` config, with ``compile_config``) and
``model.weights.h5``, an HDF5 file whose groups follow the object graph::

    layers/<key>/vars/0, 1, ...          a layer's own variables, in creation order
    layers/<key>/cell/vars/...           an RNN's cell (forward_layer/..., backward_layer/...
                                         for Bidirectional, layer/... for TimeDistributed)
    layers/<key>/layers/<key>/...        a nested model's layers
    optimizer/vars/0, 1, ...             the optimizer's variables

where ``<key>`` is the layer's class name in snake case, made unique within its list
(``dense``, ``dense_1``...), not the layer's name.

Note [Keras 3 configs]
Keras 3 configs differ from tf.keras 2's in a few systematic ways, mapped here before corten's
own deserialization (Note [Safe deserialization]) runs: dtype policies are objects
(``{"class_name": "DTypePolicy", "config": {"name": "float32"}}``: the name is kept),
InputLayer has ``batch_shape``, functional nodes are ``{"args": [keras tensors], "kwargs"}``
(turned into tf.keras 2's ``[[layer, node, tensor, kwargs]]``; Note [Keras 3 masks in
functional configs]), and modules are ``keras.src...``/``tf_keras.src...``. Arguments that
Keras 3 renamed get corten's name (LeakyReLU's ``negative_slope`` is ``alpha``). Arguments
that corten's class does not take are dropped when they hold their neutral value (None,
False, the default of a feature left off, ``data_format="channels_last"`` for a class that
only knows channels last); any other one raises a ValueError naming the class and the
argument, as does a class corten does not have.
"""

from __future__ import annotations

import inspect
import io
import re
import zipfile
from typing import Any

import numpy as np

from corten.keras.saving import atomic, hdf5_format, hdf5_guard, keras3_optimizer, serialization_lib
from corten.keras.saving.object_registration import CustomObjectScope

__all__ = ["is_keras_zip", "load_keras_zip", "assign_v3_weights", "is_v3_weights_group",
           "save_v3_weights"]

WEIGHTS = "model.weights.h5"
_MAX_WEIGHTS_BYTES = 8 * 1024**3
# Arguments of newer Keras versions whose value is their default (the feature left off).
_NEUTRAL_DEFAULTS = {"renorm_momentum": 0.99, "renorm_clipping": None, "groups": 1,
                     "fill_mode": "constant", "fill_value": 0.0, "value_range": [0, 255]}
# Keras 3's names for arguments that tf.keras 2 (and corten) call otherwise.
_RENAMED = {"LeakyReLU": {"negative_slope": "alpha"}}
# Arguments that corten's classes take through **kwargs (no named parameter to find).
_KWARGS = {"RNN": {"zero_output_for_mask"}}
# Arguments that choose an implementation, not a result (an RNN's kernel fusion), or that
# restate what the file holds elsewhere (a lookup's vocabulary size: its vocabulary asset).
_HINTS = {"implementation", "vocabulary_size"}


def is_keras_zip(filepath: str) -> bool:
    """Whether `filepath` is a zip archive with a ``model.weights.h5`` entry (Keras 3 or
    tf.keras 2.13+). Never raises."""
    try:
        with zipfile.ZipFile(filepath) as zf:
            return WEIGHTS in zf.namelist()
    except Exception:  # a predicate: whatever a damaged archive raises, it is not one
        return False


def _invalid(filepath: str, why: str) -> ValueError:
    return ValueError(f"Cannot load Keras file {filepath!r}: {why}.")


# ---------------------------------------------------------------------- configs
def _to_snake_case(name: str) -> str:
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _module(module: Any) -> Any:
    if isinstance(module, str) and module.startswith("tf_keras"):
        return "keras" + module[len("tf_keras"):]
    return module


def _history(value: Any, out: list) -> None:
    """The ``keras_history`` of every Keras tensor in a Keras 3 node argument."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            history = (value.get("config") or {}).get("keras_history")
            if not isinstance(history, list) or len(history) != 3:
                raise ValueError(f"a functional node has an invalid keras_history {history!r}")
            out.append(history)
            return
        for v in value.values():
            _history(v, out)
    elif isinstance(value, list):
        for v in value:
            _history(v, out)


def _refs(value: Any) -> Any:
    """A Keras 3 node argument with its Keras tensors as tf.keras 2's ``[layer, node, tensor]``
    references (how tf.keras 2 writes tensors among keyword arguments)."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            histories: list = []
            _history(value, histories)
            return list(histories[0])
        return {k: _refs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_refs(v) for v in value]
    return value


def _nodes(nodes: Any) -> Any:
    """Keras 3 ``inbound_nodes`` as tf.keras 2's ``[[[layer, node, tensor, kwargs], ...]]``: the
    first positional argument's tensors are the node's inputs; the other positional arguments
    (MultiHeadAttention's value and key) travel as ``__args__``, and tensors among the keyword
    arguments as references, as tf.keras 2 writes them."""
    if not isinstance(nodes, list):
        return nodes
    out = []
    for node in nodes:
        if not isinstance(node, dict):
            out.append(node)
            continue
        args = node.get("args") or []
        histories: list = []
        _history(args[:1], histories)
        kwargs = {k: _refs(v) for k, v in (node.get("kwargs") or {}).items() if v is not None}
        if len(args) > 1:
            kwargs["__args__"] = _refs(args[1:])
        out.append([[h[0], h[1], h[2], kwargs] for h in histories])
    return out


def _layer_name(layer: Any) -> Any:
    return layer.get("name") or (layer.get("config") or {}).get("name") \
        if isinstance(layer, dict) else None


def _is_operation(layer: Any) -> bool:
    module = layer.get("module") if isinstance(layer, dict) else None
    return isinstance(module, str) and module.startswith(("keras.src.ops.", "keras.ops."))


def _drop_computed_masks(config: dict) -> dict:
    """A Keras 3 functional config without the masks it computes with operations.

    Note [Keras 3 masks in functional configs]
    Keras 3 records the mask a layer computes (Embedding's mask_zero, Masking) as nodes of
    operations (``NotEqual``, ``Any``, module ``keras.src.ops...``) whose output reaches the
    next layer as a ``mask`` keyword argument; tf.keras 2 and corten propagate masks from
    layer to layer instead. So a ``mask`` argument computed only by operations is dropped,
    then the operations no output depends on any more, and corten's propagation brings the
    same mask back. ``training`` arguments are dropped too: Keras 3 replaces them with the
    model call's own ``training`` whenever one is given, as corten's functional models do.
    """
    import copy

    config = copy.deepcopy(config)
    layers = config.get("layers")
    if not isinstance(layers, list):
        return config
    operations = {_layer_name(la) for la in layers if _is_operation(la)}
    index = {_layer_name(la): la for la in layers if isinstance(la, dict)}
    for layer in index.values():
        for node in layer.get("inbound_nodes") or []:
            kwargs = node.get("kwargs") if isinstance(node, dict) else None
            if not isinstance(kwargs, dict):
                continue
            if isinstance(kwargs.get("training"), bool):
                del kwargs["training"]
            histories: list = []
            _history(kwargs.get("mask"), histories)
            if histories and all(h[0] in operations for h in histories):
                del kwargs["mask"]
    if not operations:
        return config
    outputs: list = []
    _history_lists(config.get("output_layers"), outputs)
    reached: set = set()
    stack = [h[0] for h in outputs]
    while stack:
        name = stack.pop()
        if name in reached or name not in index:
            continue
        reached.add(name)
        histories = []
        for node in index[name].get("inbound_nodes") or []:
            if isinstance(node, dict):
                _history([node.get("args"), node.get("kwargs")], histories)
        stack.extend(h[0] for h in histories)
    for layer in layers:
        if _is_operation(layer) and _layer_name(layer) in reached:
            raise ValueError(f"the functional model computes with the operation "
                             f"{layer.get('class_name')!r} ({layer.get('module')}), which "
                             "corten's functional configs cannot express")
    config["layers"] = [la for la in layers if not _is_operation(la)]
    return config


def _history_lists(value: Any, out: list) -> None:
    """The ``[name, node, tensor]`` triples of a functional config's ``output_layers``."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        out.append(value)
    elif isinstance(value, list):
        for v in value:
            _history_lists(v, out)
    elif isinstance(value, dict):
        for v in value.values():
            _history_lists(v, out)


def _accepted(cls: type) -> set[str] | None:
    """The arguments ``cls.from_config`` passes on to constructors that take them: every
    named parameter of the ``__init__`` methods along the MRO, plus Layer's keyword arguments;
    None for models, whose from_config reads the config itself."""
    from corten.keras.layers import Layer
    from corten.keras.models import Model

    if issubclass(cls, Model):
        return None
    # Keys that a class's from_config takes itself (MultiHeadAttention's input shapes).
    names: set[str] = set(getattr(cls, "_from_config_keys", ()))
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            return None
        names |= {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    if issubclass(cls, Layer):
        names |= {"input_shape", "batch_input_shape", "batch_size", "input_dim", "weights",
                  "activity_regularizer", "autocast", "input_length"}
    for klass in cls.__mro__:
        names |= _KWARGS.get(klass.__name__, set())
    own = cls.__dict__.get("__init__")
    if own is not None and "data_format" not in inspect.signature(own).parameters:
        # A channels-last-only class (ZeroPadding1D, Resizing...) passes its base a fixed
        # data_format; Keras 3's adds the argument, whose "channels_last" is that value.
        names.discard("data_format")
    return names - {"self"}


def _convert(config: Any, depth: int = 0) -> Any:
    """A Keras 3 / tf.keras 2.13+ config in the form corten reads (Note [Keras 3 configs])."""
    if depth > 200:
        raise ValueError("the config is nested too deeply")
    if isinstance(config, list):
        return [_convert(v, depth + 1) for v in config]
    if not isinstance(config, dict):
        return config
    class_name = config.get("class_name")
    if class_name in ("DTypePolicy", "FloatDTypePolicy", "Policy") and \
            isinstance(config.get("config"), dict):
        return config["config"].get("name", "float32")
    if class_name in ("Functional", "Model") and isinstance(config.get("config"), dict):
        config = {**config, "config": _drop_computed_masks(config["config"])}
    out = {k: _convert(v, depth + 1) for k, v in config.items()
           if k not in ("shared_object_id",)}
    if "module" in out:
        out["module"] = _module(out["module"])
    if "inbound_nodes" in out:
        out["inbound_nodes"] = _nodes(config["inbound_nodes"])
    inner = out.get("config")
    if isinstance(class_name, str) and isinstance(inner, dict) and class_name != "function" \
            and not class_name.startswith("__"):
        if class_name == "InputLayer" and "batch_shape" in inner:
            inner["batch_input_shape"] = inner.pop("batch_shape")
        if config.get("registered_name") in (None, class_name):
            cls = serialization_lib._find_builtin(class_name, out.get("module"),
                                                  want_function=False)
            accepted = _accepted(cls) if inspect.isclass(cls) else None
            if accepted is not None:
                for key in list(inner):
                    if key in accepted:
                        continue
                    value = inner[key]
                    renamed = _RENAMED.get(class_name, {}).get(key)
                    if renamed is not None and renamed in accepted and renamed not in inner:
                        inner[renamed] = inner.pop(key)
                    elif key in _HINTS or value is None or value is False or (
                            key in _NEUTRAL_DEFAULTS and _NEUTRAL_DEFAULTS[key] == value) or (
                            key == "data_format" and value == "channels_last"):
                        del inner[key]
                    else:
                        raise ValueError(
                            f"{class_name} (layer {inner.get('name', '?')!r}) was saved with "
                            f"{key}={value!r}, which corten's {class_name} does not support")
    return out


# ---------------------------------------------------------------------- weights
def is_v3_weights_group(f: Any) -> bool:
    """Whether an open HDF5 file holds weights in the Keras 3 layout (``layers/...``)."""
    return "layer_names" not in f.attrs and "model_weights" not in f and (
        "layers" in f or "vars" in f)


# The sublayers holding weights, under the attribute names the files use, in tf.keras's
# weights order: an RNN's cell, Bidirectional's two layers, a wrapper's layer, and
# MultiHeadAttention's projections (tf.keras 2.13+ names them by their private attributes,
# Keras 3 by its public properties).
_CHILD_ORDER = ("cell", "forward_layer", "backward_layer", "layer",
                "_query_dense", "_key_dense", "_value_dense", "_output_dense",
                "query_dense", "key_dense", "value_dense", "output_dense")


def _own_values(group: Any) -> list[Any]:
    """The datasets of a ``vars`` group, by index, unread (shapes are checked first)."""
    return [group[k] for k in sorted(group, key=lambda k: int(k) if k.isdigit()
                                                 else -1)]


def _values(group: Any) -> list[Any]:
    """A layer's arrays: its own variables, then its children's, in tf.keras's weights order
    (an RNN's cell, Bidirectional's forward then backward layer, a wrapper's layer)."""
    out: list[Any] = _own_values(group["vars"]) if "vars" in group else []
    children = [k for k in group if k != "vars"]
    children.sort(key=lambda k: (_CHILD_ORDER.index(k) if k in _CHILD_ORDER
                                 else len(_CHILD_ORDER), k))
    for key in children:
        out.extend(_values(group[key]))
    return out


def _layer_keys(layers: list[Any]) -> list[str]:
    keys, used = [], {}
    for layer in layers:
        base = _to_snake_case(type(layer).__name__)
        n = used.get(base, 0)
        keys.append(base if n == 0 else f"{base}_{n}")
        used[base] = n + 1
    return keys


def _collect(model: Any, group: Any, filepath: str, path: str) -> list[tuple[Any, np.ndarray]]:
    from corten.keras.layers import InputLayer

    pairs: list[tuple[Any, np.ndarray]] = []
    layers = list(model.layers)
    if "layers" not in group:
        if any(la.weights for la in layers):
            raise _invalid(filepath, f"its weights have no {path}layers group")
        return pairs
    saved = group["layers"]
    keys = _layer_keys(layers)
    # Keras 3's Sequential lists no InputLayer, tf.keras 2's functional models do: the keys
    # only count layers of the same class, so the other layers' keys agree either way.
    for layer, key in zip(layers, keys, strict=True):
        weights = list(layer.weights)
        if not weights or isinstance(layer, InputLayer):
            continue
        if key not in saved:
            raise _invalid(filepath, f"it has no weights for layer {layer.name!r} "
                                     f"({type(layer).__name__}, expected at {path}layers/{key})")
        if hasattr(layer, "layers") and "layers" in saved[key]:
            pairs.extend(_collect(layer, saved[key], filepath, f"{path}layers/{key}/"))
            continue
        values = _values(saved[key])
        if len(values) != len(weights):
            raise ValueError(
                f"Weight count mismatch for layer {layer.name!r} ({type(layer).__name__}) "
                f"when loading {filepath!r}: the layer has {len(weights)} weights but "
                f"{path}layers/{key} holds {len(values)}")
        for var, value in zip(weights, values, strict=True):
            if tuple(value.shape) != tuple(var.shape):
                raise ValueError(
                    f"Shape mismatch in layer {layer.name!r} for weight {var.name!r} when "
                    f"loading {filepath!r}: the model expects shape {tuple(var.shape)} but "
                    f"{path}layers/{key} has shape {tuple(value.shape)}")
            pairs.append((var, hdf5_guard.read_array(value)))
    return pairs


def assign_v3_weights(model: Any, f: Any, filepath: str) -> None:
    """Assigns the weights of an open Keras 3 layout HDF5 file to ``model``, after checking
    them all."""
    if not model.weights:
        raise ValueError(
            f"Unable to load weights into model {model.name!r}, which has not created its "
            "weights yet. Call the model on a batch of data (or build it) first.")
    pairs = _collect(model, f, filepath, "")
    own = model._own_vars() if hasattr(model, "_own_vars") else []
    if own:
        values = _own_values(f["vars"]) if "vars" in f else []
        if len(values) != len(own):
            raise ValueError(f"Weight count mismatch for the model's own weights when loading "
                             f"{filepath!r}: {len(own)} expected, {len(values)} saved")
        for var, value in zip(own, values, strict=True):
            if tuple(value.shape) != tuple(var.shape):
                raise ValueError(f"Shape mismatch for the model's weight {var.name!r} when "
                                 f"loading {filepath!r}: {tuple(var.shape)} expected, "
                                 f"{tuple(value.shape)} saved")
            pairs.append((var, hdf5_guard.read_array(value)))
    for var, value in pairs:
        var.assign(np.asarray(value).astype(np.dtype(var.dtype.name), copy=False))


def _children(layer: Any) -> list[tuple[str, Any]]:
    from corten.keras.layers import Layer

    out = []
    for attr in _CHILD_ORDER:
        child = layer.__dict__.get(attr, None)
        if child is None:
            child = getattr(type(layer), attr, None) and getattr(layer, attr, None)
        if isinstance(child, Layer) and child is not layer:
            out.append((attr, child))
    return out


def _write_layer(group: Any, layer: Any) -> None:
    """A layer's state as Keras 3 saves it: its own variables under ``vars``, its children's
    (an RNN's cell...) under their attribute names, a nested model's layers under ``layers``."""
    if hasattr(layer, "layers") and hasattr(layer, "_own_vars"):
        _write_layers(group, layer)
        own = hdf5_format._top_level_weights(layer)
    else:
        children = _children(layer)
        taken = {id(w) for _, c in children for w in c.weights}
        own = [w for w in hdf5_format._legacy_weights(layer) if id(w) not in taken]
        for attr, child in children:
            _write_layer(group.create_group(attr), child)
    vars_ = group.create_group("vars")
    for i, w in enumerate(own):
        vars_.create_dataset(str(i), data=np.asarray(w))


def _write_layers(group: Any, model: Any) -> None:
    layers = group.create_group("layers")
    for layer, key in zip(model.layers, _layer_keys(list(model.layers)), strict=True):
        _write_layer(layers.create_group(key), layer)


def save_v3_weights(model: Any, filepath: str) -> None:
    """Writes ``model``'s weights (and its optimizer's variables) in the Keras 3 layout that
    tf.keras 2.13+ writes for a name ending in ``.weights.h5``, atomically.

    Raises:
        ImportError: without h5py.
        ValueError: if the model has no weights yet.
    """
    h5py = hdf5_format._h5py()
    if not model.weights and not getattr(model, "built", False):
        raise ValueError(
            f"Unable to save the weights of model {model.name!r}: it has not created its "
            "weights yet. Call the model on a batch of data (or build it) first.")
    with atomic.atomic_path(filepath) as tmp, h5py.File(tmp, "w") as f:
        _write_layer(f, model)
        optimizer = getattr(model, "optimizer", None)
        variables = list(getattr(optimizer, "variables", None) or [])
        if variables:
            group = f.create_group("optimizer").create_group("vars")
            for i, var in enumerate(variables):
                group.create_dataset(str(i), data=np.asarray(var))


def _optimizer_values(f: Any) -> list[np.ndarray] | None:
    if "optimizer" not in f or "vars" not in f["optimizer"]:
        return None
    return _own_values(f["optimizer"]["vars"])


# ---------------------------------------------------------------------- load_model
# Keras keeps an adapted lookup vocabulary out of the config, as a text asset of the layer:
# assets/layers/<layer name>/vocabulary.txt, one token per line, special tokens first.
_VOCABULARY_ASSET = re.compile(r"assets/layers/([^/]+)/vocabulary\.txt")
_MAX_VOCABULARY_BYTES = 256 * 1024 * 1024


def _read_entry(archive: Any, name: str, max_bytes: int, filepath: str) -> bytes:
    """An archive entry's bytes, its declared size checked before reading and after."""
    from corten.keras.saving import saving_lib

    info = archive.infos[name]
    if info.file_size > max_bytes:
        raise _invalid(filepath, f"{name} declares {info.file_size} bytes")
    try:
        with archive.zf.open(info) as f:
            data = f.read(info.file_size + 1)
    except saving_lib._ZIP_READ_ERRORS as e:
        raise _invalid(filepath, f"{name} cannot be read ({e})") from None
    if len(data) != info.file_size:
        raise _invalid(filepath, f"{name} is truncated")
    return data


def _vocabulary_assets(archive: Any, filepath: str) -> dict[str, list[str]]:
    """The vocabulary assets of the archive's top-level layers, by layer name."""
    found = {}
    for name in archive.infos:
        match = _VOCABULARY_ASSET.fullmatch(name)
        if not match:
            continue
        text = _read_entry(archive, name, _MAX_VOCABULARY_BYTES, filepath)
        try:
            found[match.group(1)] = text.decode("utf-8").split("\n")
        except UnicodeDecodeError as e:
            raise _invalid(filepath, f"{name} is not UTF-8 text ({e})") from None
    return found


def _set_vocabularies(model: Any, vocabularies: dict[str, list[str]], filepath: str) -> None:
    for layer in getattr(model, "layers", []):
        tokens = vocabularies.get(layer.name)
        if tokens is None or not hasattr(layer, "set_vocabulary"):
            continue
        if getattr(layer, "output_mode", getattr(layer, "_output_mode", None)) == "tf_idf":
            raise _invalid(filepath, f"layer {layer.name!r} ({type(layer).__name__}) uses "
                                     "output_mode='tf_idf', whose idf weights corten does not "
                                     "read from .keras files yet")
        try:
            layer.set_vocabulary(tokens)
        except (ValueError, TypeError) as e:
            raise _invalid(filepath, f"the vocabulary of layer {layer.name!r} does not fit "
                                     f"it ({e})") from None


def load_keras_zip(filepath: str, custom_objects: dict | None = None,
                   compile: bool = True) -> Any:
    """A model from a ``.keras`` file written by Keras 3 or tf.keras 2.13+.

    Raises:
        ImportError: without h5py (the weights are HDF5).
        ValueError: for a damaged archive (naming the file), a layer or argument corten does
            not support (naming it), or weights that do not fit the rebuilt model.
    """
    from corten.keras.layers import Layer
    from corten.keras.saving import saving_lib

    h5py = hdf5_format._h5py()
    archive = saving_lib._Archive(filepath)
    try:
        metadata = archive.read_json(saving_lib.METADATA)
        config = archive.read_json(saving_lib.CONFIG)
        raw = _read_entry(archive, WEIGHTS, _MAX_WEIGHTS_BYTES, filepath)
        vocabularies = _vocabulary_assets(archive, filepath)
    finally:
        archive.close()
    if not isinstance(config, dict) or "class_name" not in config:
        raise _invalid(filepath, "config.json does not describe a model")
    version = str((metadata or {}).get("keras_version", "")) if isinstance(metadata, dict) \
        else ""
    compile_config = config.pop("compile_config", None)
    try:
        converted = _convert(config)
    except ValueError as e:
        raise _invalid(filepath, str(e)) from None
    with CustomObjectScope(custom_objects):
        try:
            model = serialization_lib.deserialize_keras_object(converted,
                                                               custom_objects=custom_objects)
        except (KeyError, TypeError, IndexError, AttributeError, RecursionError) as e:
            raise _invalid(filepath, "config.json does not describe a model corten can build "
                                     f"({type(e).__name__}: {e})") from None
        except ValueError as e:
            raise _invalid(filepath, str(e)) from None
    if not isinstance(model, Layer):
        raise _invalid(filepath, f"config.json describes a {type(model).__name__}, not a model")
    _set_vocabularies(model, vocabularies, filepath)
    why = hdf5_guard.hang_reason(raw)  # Note [HDF5 hangs on damaged files]
    if why is not None:
        raise _invalid(filepath, f"{WEIGHTS} is corrupted: {why}")
    # h5py's file-object driver raises OverflowError for a read at an offset beyond ssize_t.
    try:
        f = h5py.File(io.BytesIO(raw), "r")
    except (OSError, ValueError, OverflowError) as e:
        raise _invalid(filepath, f"{WEIGHTS} is not a valid HDF5 file ({e})") from None
    try:
        try:
            assign_v3_weights(model, f, filepath)
            opt_values = _optimizer_values(f)
            if opt_values is not None:
                opt_values = hdf5_format.bounded_values(opt_values, model, filepath)
        except hdf5_format._READ_ERRORS as e:
            raise _invalid(filepath, f"{WEIGHTS} cannot be read ({type(e).__name__}: "
                                     f"{e})") from None
        except ValueError as e:  # a damaged datatype, h5py's on a damaged name
            if filepath in str(e):
                raise
            raise _invalid(filepath, f"{WEIGHTS} cannot be read ({e})") from None
    finally:
        f.close()
    if not compile or not compile_config or not hasattr(model, "compile_from_config"):
        return model
    try:
        compile_config = _convert(compile_config)
        if isinstance(compile_config, dict):
            compile_config["loss"] = hdf5_format.strip_loss_fn(compile_config.get("loss"))
        with CustomObjectScope(custom_objects):
            model.compile_from_config(compile_config, custom_objects=custom_objects)
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise _invalid(filepath, f"its compile_config cannot be applied ({e}); "
                                 "load_model(..., compile=False) loads the model without "
                                 "it") from None
    # tf.keras 2's optimizers keep corten's variable order (iterations, then the slots);
    # Keras 3's add the learning rate (Note [Keras 3 optimizer variables]).
    if opt_values and version.startswith("2."):
        hdf5_format.restore_optimizer_state(model, opt_values, filepath)
    elif opt_values:
        keras3_optimizer.restore_keras3_optimizer_state(model, opt_values, filepath)
    return model

