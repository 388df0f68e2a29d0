"""Object (de)serialization in the Keras 2.13+ ``serialize_keras_object`` format.

An object is described by::

    {"module": "keras.layers", "class_name": "Dense", "config": {...}, "registered_name": None}

``module`` is the public Keras module for built-in objects and the defining module for custom
ones, ``registered_name`` the name given by ``register_keras_serializable``
(``"Custom>MLP"``), None for built-ins. A function is ``{"class_name": "function", "config":
"<name>", ...}``. Layers and models add ``build_config`` (the input shapes they were built with)
and models ``compile_config``.

Note [Safe deserialization]
Deserializing never executes code named by the config: no pickle, no eval, no lambdas, and no
import of the ``module`` a config names. A class is found only among the objects passed in
``custom_objects``, those of enclosing ``custom_object_scope`` blocks, those registered with
``register_keras_serializable``, and corten's built-in layers, models, optimizers, schedules,
losses, metrics, initializers, regularizers, constraints and activations. Anything else raises a
ValueError naming the class, the module it was saved from and the fix.
"""

from __future__ import annotations

import importlib
import inspect
import types
from typing import Any

import numpy as np

from corten.keras.saving import object_registration
from corten.keras.saving.object_registration import CustomObjectScope

__all__ = ["serialize_keras_object", "deserialize_keras_object"]

_PLAIN = (str, int, float, bool)
# Corten modules whose public objects are "built-in" (fixed names; never taken from a file).
_FUNCTIONAL_MODULES = ("corten.keras.models.functional", "corten.keras.models.sequential",
                       "corten.keras.models.input_layer")


# ---------------------------------------------------------------------- built-in tables
def _builtin_tables() -> list[tuple[str, dict[str, Any]]]:
    """``[(public module, {name: object})]``: corten's built-in serializable objects.

    Computed on each call (cheap) so that classes added later by other modules appear.
    """
    from corten import keras
    from corten.keras import (
        activations,
        constraints,
        initializers,
        layers,
        losses,
        metrics,
        optimizers,
        regularizers,
    )
    from corten.keras import models as models_mod
    from corten.keras.layers import Layer
    from corten.keras.optimizers import schedules

    def classes(module: Any, base: type, names: Any = None) -> dict[str, Any]:
        out = {}
        for name in names if names is not None else getattr(module, "__all__", dir(module)):
            obj = getattr(module, name, None)
            if inspect.isclass(obj) and issubclass(obj, base):
                out[obj.__name__] = obj
        return out

    def public(module: Any) -> dict[str, Any]:
        out = {}
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                out[name] = obj
        return out

    model_classes: dict[str, Any] = {}
    model_classes.update(classes(keras, Layer, dir(keras)))
    model_classes.update(classes(models_mod, Layer, dir(models_mod)))
    for name in _FUNCTIONAL_MODULES:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        model_classes.update(classes(mod, Layer, dir(mod)))
    layer_classes = classes(layers, Layer, dir(layers))
    loss_objects = dict(losses._CLASSES)
    loss_objects.update(losses._FUNCTIONS)
    metric_objects = public(metrics)
    metric_objects.update(getattr(metrics, "_CLASSES", {}))
    metric_objects.update(getattr(metrics, "_FUNCTIONS", {}))
    activation_objects = dict(activations._BY_NAME)
    initializer_objects = public(initializers)
    initializer_objects.update(getattr(initializers, "_ALIASES", {}) or
                               getattr(importlib.import_module("corten.ops.initializers"),
                                       "_ALIASES", {}))
    return [
        ("keras.layers", layer_classes),
        ("keras", model_classes),
        ("keras.optimizers", classes(optimizers, optimizers.Optimizer, dir(optimizers))),
        ("keras.optimizers.schedules",
         classes(schedules, schedules.LearningRateSchedule, dir(schedules))),
        ("keras.losses", loss_objects),
        ("keras.metrics", metric_objects),
        ("keras.initializers", initializer_objects),
        ("keras.regularizers", public(regularizers) | dict(regularizers._BY_NAME)),
        ("keras.constraints", public(constraints) | dict(constraints._BY_NAME)),
        ("keras.activations", activation_objects),
    ]


def _public_module(obj: Any) -> str | None:
    """The public Keras module of a built-in object, else None."""
    for module, table in _builtin_tables():
        if any(v is obj for v in table.values()):
            return module
    return None


def _module_matches(saved: str, public: str) -> bool:
    # "keras.layers", "keras.src.layers.core.dense", "corten.keras.layers.core" -> layers.
    if saved == public:
        return True
    kind = public.rsplit(".", 1)[-1]
    parts = saved.replace("keras.src.", "keras.").split(".")
    return kind != "keras" and kind in parts


def _is_keras_module(module: Any) -> bool:
    return module is None or module == "builtins" or (isinstance(module, str) and (
        module == "keras" or module.startswith(("keras.", "corten.keras", "tf.keras",
                                                "tensorflow.keras"))))


def _find_builtin(name: str, module: Any, want_function: bool,
                  only: tuple[str, ...] | None = None) -> Any:
    tables = _builtin_tables()
    if only is not None:
        tables = [t for t in tables if t[0] in only]
    if isinstance(module, str):
        preferred = [t for t in tables if _module_matches(module, t[0])]
        tables = preferred + [t for t in tables if t not in preferred]
    for _, table in tables:
        obj = table.get(name)
        if obj is None:
            continue
        if want_function != inspect.isclass(obj):
            return obj
    return None


# ---------------------------------------------------------------------- serialize
def serialize_keras_object(obj: Any) -> Any:
    """A JSON-compatible description of ``obj`` (Keras 2.13+ format).

    Plain values, lists and dicts are kept (tuples become lists); numpy arrays become
    ``{"class_name": "__numpy__", ...}``; functions and objects with ``get_config`` become
    ``{"module", "class_name", "config", "registered_name"}``.

    Raises:
        ValueError: for a lambda (its code cannot be saved safely) or an object without
            ``get_config``.
        NotImplementedError: from a default ``get_config`` whose constructor arguments are not
            JSON-serialisable (naming the class and the argument).
    """
    import corten
    from corten import _C
    from corten.tensor_shape import TensorShape

    if obj is None or isinstance(obj, _PLAIN):
        return obj
    if isinstance(obj, TensorShape):
        return obj.as_list()
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise ValueError(f"Cannot serialize a dict with non-string key {k!r} (configs are "
                                 f"JSON objects). Received: {obj!r}")
            out[k] = serialize_keras_object(v)
        return out
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (np.ndarray, _C.Tensor)):
        arr = np.asarray(obj)
        return {"class_name": "__numpy__",
                "config": {"value": arr.tolist(), "dtype": arr.dtype.name}}
    if isinstance(obj, corten.DType):
        return obj.name
    if isinstance(obj, types.FunctionType):
        if obj.__name__ == "<lambda>":
            raise ValueError(
                "Cannot serialize a lambda: its code would have to be saved and executed when "
                "loading, which corten never does. Use a named function registered with "
                "@keras.utils.register_keras_serializable() instead.")
        public = _public_module(obj)
        return {"module": public or obj.__module__, "class_name": "function",
                "config": obj.__name__,
                "registered_name": obj.__name__ if public else
                object_registration.get_registered_name(obj)}
    if inspect.isclass(obj):
        raise ValueError(f"Cannot serialize the class {obj!r}; serialize an instance. "
                         f"Received: {obj!r}")
    if not hasattr(obj, "get_config"):
        raise ValueError(f"Cannot serialize {obj!r} of type {type(obj).__name__}: it has no "
                         "get_config() method.")
    cls = type(obj)
    inner = serialize_keras_object(obj.get_config())
    public = _public_module(cls)
    config = {
        "module": public or cls.__module__,
        "class_name": cls.__name__,
        "config": inner,
        "registered_name": None if public else object_registration.get_registered_name(cls),
    }
    get_build = getattr(obj, "get_build_config", None)
    if callable(get_build):
        build_config = get_build()
        if build_config is not None:
            config["build_config"] = serialize_keras_object(build_config)
    get_compile = getattr(obj, "get_compile_config", None)
    if callable(get_compile):
        compile_config = get_compile()
        if compile_config is not None:
            config["compile_config"] = compile_config
    return config


# ---------------------------------------------------------------------- deserialize
def _not_found(class_name: Any, module: Any, registered_name: Any, what: str) -> ValueError:
    reg = (f" (registered name {registered_name!r})"
           if registered_name and registered_name != class_name else "")
    return ValueError(
        f"Could not locate {what} {class_name!r}{reg}, saved from module {module!r}. corten "
        "never imports modules named in a file. Make sure the custom class is decorated with "
        "`@keras.utils.register_keras_serializable()` (and defined before loading), or pass "
        f"it with `custom_objects={{{str(class_name)!r}: {class_name}}}` (to load_model or "
        "deserialize) or inside a `keras.utils.custom_object_scope`.")


def _lookup_custom(names: list[Any], custom_objects: dict | None) -> Any:
    for name in names:
        if not isinstance(name, str):
            continue
        if custom_objects and name in custom_objects:
            return custom_objects[name]
        obj = object_registration.get_registered_object(name)
        if obj is not None:
            return obj
    return None


def _retrieve(config: dict, custom_objects: dict | None, only: tuple[str, ...] | None,
              module_objects: dict | None) -> Any:
    class_name = config.get("class_name")
    module = config.get("module")
    registered_name = config.get("registered_name")
    is_function = class_name == "function"
    name = config.get("config") if is_function else class_name
    if not isinstance(name, str):
        raise ValueError(f"Invalid serialized object: 'class_name'/'config' must name a class "
                         f"or function. Received: {_short(config)}")
    obj = _lookup_custom([registered_name, name], custom_objects)
    if obj is None and module_objects:
        obj = module_objects.get(name)
    if obj is None and _is_keras_module(module):
        obj = _find_builtin(name, module, want_function=is_function, only=only)
    if obj is None:
        raise _not_found(name, module, registered_name, "function" if is_function else "class")
    if is_function and inspect.isclass(obj) or not is_function and not inspect.isclass(obj):
        raise ValueError(f"{name!r} resolved to {obj!r}, which is not a "
                         f"{'function' if is_function else 'class'}. Received: {_short(config)}")
    return obj


def _short(config: Any) -> str:
    text = repr(config)
    return text if len(text) <= 300 else text[:300] + "...}"


def _from_numpy(config: Any) -> np.ndarray:
    if not isinstance(config, dict):
        raise ValueError(f"Invalid __numpy__ config: {_short(config)}")
    dtype = config.get("dtype")
    allowed = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
               "float16", "float32", "float64"}
    if dtype not in allowed:
        raise ValueError(f"Invalid __numpy__ dtype {dtype!r}; expected one of {sorted(allowed)}")
    try:
        return np.asarray(config.get("value"), dtype=dtype)
    except (TypeError, ValueError) as e:
        raise ValueError(f"Invalid __numpy__ value: {e}") from None


def deserialize_keras_object(config: Any, custom_objects: dict | None = None,
                             safe_mode: bool = True, module_objects: dict | None = None,
                             printable_module_name: str = "object", **kwargs: Any) -> Any:
    """The object described by ``serialize_keras_object``'s output.

    Classes and functions are looked up (in order) in ``custom_objects``, enclosing
    ``custom_object_scope`` blocks, the ``register_keras_serializable`` registry and corten's
    built-ins; nothing else is imported or executed (see Note [Safe deserialization]). An object
    with a ``build_config`` is built from it.

    Raises:
        ValueError: for an unknown class or function (naming it, its module and the fix), a
            malformed config, or a lambda.
        TypeError: when the class's ``from_config`` rejects the config.
    """
    return _deserialize(config, custom_objects, module_objects, kwargs.get("_only"),
                        printable_module_name, depth=0)


_MAX_DEPTH = 200


def _deserialize(config: Any, custom_objects: dict | None, module_objects: dict | None,
                 only: tuple[str, ...] | None, what: str, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise ValueError(f"Config nested deeper than {_MAX_DEPTH} levels")
    if config is None or isinstance(config, _PLAIN):
        return config
    if isinstance(config, (list, tuple)):
        return [_deserialize(v, custom_objects, module_objects, None, what, depth + 1)
                for v in config]
    if not isinstance(config, dict):
        raise ValueError(f"Could not interpret serialized {what}: {_short(config)}")
    if "class_name" not in config or "config" not in config:
        return {k: _deserialize(v, custom_objects, module_objects, None, what, depth + 1)
                for k, v in config.items()}
    class_name = config["class_name"]
    inner = config["config"]
    if class_name == "__tuple__":
        return tuple(_deserialize((inner or {}).get("value", []), custom_objects,
                                  module_objects, None, what, depth + 1))
    if class_name == "__bytes__":
        value = inner.get("value") if isinstance(inner, dict) else None
        if not isinstance(value, str):
            raise ValueError(f"Invalid __bytes__ config: {_short(config)}")
        return value.encode("utf-8")
    if class_name == "__numpy__":
        return _from_numpy(inner)
    if class_name in ("__tensor__",):
        import corten

        return corten.convert_to_tensor(_from_numpy(inner))
    if class_name == "__lambda__":
        raise ValueError("Refusing to deserialize a lambda: that would execute code stored in "
                         "the file. Replace the lambda by a named function registered with "
                         "@keras.utils.register_keras_serializable().")
    if isinstance(class_name, str) and class_name.startswith("__"):
        raise ValueError(f"Unsupported special object {class_name!r}: {_short(config)}")
    obj = _retrieve(config, custom_objects, only, module_objects)
    if class_name == "function":
        return obj
    if inner is None:
        inner = {}
    if not isinstance(inner, dict):
        raise ValueError(f"The config of {class_name!r} must be a JSON object. Received: "
                         f"{_short(inner)}")
    from_config = getattr(obj, "from_config", None)
    if from_config is None:
        raise ValueError(f"Class {class_name!r} has no from_config() method.")
    with CustomObjectScope(custom_objects):
        try:
            if "custom_objects" in inspect.signature(from_config).parameters:
                instance = from_config(inner, custom_objects=custom_objects)
            else:
                instance = from_config(inner)
        except TypeError as e:
            raise TypeError(
                f"{class_name} could not be deserialized properly: {e}. Please ensure that the "
                "constructor accepts every key that get_config() returns, and that "
                "components that are objects (layers, models...) returned by get_config() "
                f"are explicitly deserialized in {class_name}.from_config(). "
                f"Config: {_short(inner)}") from e
        build_config = config.get("build_config")
        if build_config and not getattr(instance, "built", True):
            build_from_config = getattr(instance, "build_from_config", None)
            if callable(build_from_config):
                build_from_config(build_config)
    return instance


def deserialize_layer(config: Any, custom_objects: dict | None = None) -> Any:
    """A Layer (or Model) from its serialized config; built-ins are searched among layers and
    models only.

    Raises:
        ValueError: for an unknown class, or a config describing something other than a layer.
    """
    from corten.keras.layers import Layer

    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret serialized layer: {_short(config)}. Expected "
                         "{'class_name': ..., 'config': ...}.")
    config = dict(config)
    config.setdefault("config", {})
    obj = deserialize_keras_object(config, custom_objects=custom_objects,
                                   printable_module_name="layer", _only=("keras.layers", "keras"))
    if not isinstance(obj, Layer):
        raise ValueError(f"The config describes a {type(obj).__name__}, not a layer. Received: "
                         f"class_name={config.get('class_name')!r}")
    return obj


# ---------------------------------------------------------------------- build configs
_MAX_BUILD_ELEMENTS = 2**26
_BUILD_DTYPES = ("float32", "float64", "int32", "int64", "bool", "string")


def _is_shape(value: Any) -> bool:
    return isinstance(value, list) and all(
        v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in value)


def build_inputs(config: Any) -> Any:
    """Zeros of the shapes in a ``build_config`` (unknown dimensions taken as 1), or None if it
    records no input shape.

    Raises:
        ValueError: for a malformed config, a negative dimension or an input over 2**26
            elements (checked before allocating).
    """
    import corten

    if not isinstance(config, dict):
        raise ValueError(f"Invalid build_config: expected a JSON object. Received: "
                         f"{_short(config)}")
    shapes = config.get("input_shape")
    if shapes is None:
        return None
    dtypes = config.get("input_dtype")

    def make(shape: Any, dtype: Any, depth: int) -> Any:
        if depth > 32:
            raise ValueError("Invalid build_config: input structure nested too deeply")
        if _is_shape(shape):
            dims = [1 if d is None else d for d in shape]
            if any(d < 0 for d in dims):
                raise ValueError(f"Invalid build_config: negative dimension in {shape}")
            count = 1
            for d in dims:
                count *= d
                if count > _MAX_BUILD_ELEMENTS:
                    raise ValueError(f"Invalid build_config: input shape {shape} has more than "
                                     f"{_MAX_BUILD_ELEMENTS} elements")
            dtype = dtype if isinstance(dtype, str) else None
            if dtype is not None and dtype not in _BUILD_DTYPES:
                raise ValueError(f"Invalid build_config: unsupported dtype {dtype!r}")
            if dtype == "string":
                return corten.fill(tuple(dims), corten.constant(""))
            return corten.zeros(tuple(dims), dtype=dtype or "float32")
        if isinstance(shape, (list, tuple)):
            ds = dtype if isinstance(dtype, list) and len(dtype) == len(shape) else [None] * len(
                shape)
            return [make(s, d, depth + 1) for s, d in zip(shape, ds)]
        if isinstance(shape, dict):
            ds = dtype if isinstance(dtype, dict) else {}
            return {str(k): make(v, ds.get(k), depth + 1) for k, v in shape.items()}
        raise ValueError(f"Invalid build_config input_shape: {_short(shape)}")

    return make(shapes, dtypes, 0)
