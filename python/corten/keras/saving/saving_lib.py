"""Whole-model saving: ``model.save(path)`` / ``keras.models.load_model(path)``.

A ``.keras`` file is a zip archive (entries stored, uncompressed) holding::

    metadata.json               {"format": "corten.keras.model", "format_version": 1,
                                 "corten_version": "0.1.0", "date_saved": "2024-05-01@12:00:00"}
    config.json                 the model as serialize_keras_object describes it:
                                 {"module", "class_name", "config", "registered_name",
                                  "build_config": {"input_shape": [null, 4], "input_dtype": ...},
                                  "compile_config": {"optimizer": {...}, "loss": ..., ...}}
    model.weights.safetensors   the weights (names as save_weights writes them) and the
                                 optimizer variables ("__optimizer__/0", ...: iterations, then
                                 slots), in the safetensors layout of weights_file.py;
                                 __metadata__ lists "weight_names" and "optimizer_variables"
    inference.plan.json         the inference graph for native use (inference_plan.py), when
                                 it can be saved; metadata.json's "inference_plan_error" says
                                 why not otherwise

Loading rebuilds the model from config.json (see Note [Safe deserialization] in
serialization_lib.py), builds it by calling it on zeros of the recorded input shape, assigns the
weights, compiles it from the compile config and restores the optimizer variables, so training
resumes exactly where it stopped.

Writes are atomic: the archive goes to a temporary file in the target directory that replaces
the target with ``os.replace`` once complete. Reading validates the archive before trusting it:
entry names (no absolute paths, ``..`` or duplicates), declared sizes (against limits and the
archive size, before anything is read), JSON, and the weights file's header and offsets.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import warnings
import zipfile
import zlib
from typing import Any

import numpy as np

from corten.keras.saving import (
    atomic,
    hdf5_format,
    inference_plan,
    keras_zip,
    serialization_lib,
    weights_file,
)
from corten.keras.saving.object_registration import CustomObjectScope
from corten.ops import _seed

__all__ = ["save_model", "load_model", "FORMAT_VERSION"]

FORMAT = "corten.keras.model"
FORMAT_VERSION = 1
CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.safetensors"
_OPTIMIZER_PREFIX = "__optimizer__/"

_MAX_JSON_BYTES = 64 * 1024 * 1024
_MAX_ENTRIES = 64
# Deflate cannot expand data more than ~1032 times; anything claiming more is a bomb.
_MAX_DEFLATE_RATIO = 1100


# What reading a zip entry can raise on a corrupt or hostile file: a bad CRC or header
# (BadZipFile), a corrupt deflate stream (zlib.error), an entry flagged as encrypted
# (RuntimeError: a password is required), truncation (EOFError, OSError).
_ZIP_READ_ERRORS = (zipfile.BadZipFile, zlib.error, RuntimeError, OSError, EOFError, ValueError,
                    NotImplementedError)


def _describe(e: BaseException) -> str:
    if isinstance(e, RuntimeError) and "encrypted" in str(e):
        return "the entry is encrypted"
    return f"{type(e).__name__}: {e}"


def _invalid(filepath: str, why: str) -> ValueError:
    return ValueError(f"Cannot load model file {filepath!r}: {why}. The file is truncated, "
                      "corrupted or not a .keras file written by model.save.")


# ---------------------------------------------------------------------- save
def _resolve_save_path(filepath: Any, save_format: Any) -> tuple[str, bool]:
    """``(path, as_directory)``: a ``.keras`` path is a zip file; any other path (no
    extension, as the guides' ``model.save("path_to_my_model")``) is a directory written at
    exactly that path, as tf.keras writes a SavedModel (HDF5 is handled before)."""
    filepath = os.fspath(filepath)
    ext = os.path.splitext(filepath)[1].lower()
    if save_format not in (None, "keras", "keras_v3", "tf"):
        raise ValueError(f"model.save: unknown save_format {save_format!r}; use 'keras' or "
                         "'tf' (a directory)")
    as_directory = save_format == "tf" or ext != ".keras"
    return filepath, as_directory


def _config_of(model: Any) -> dict:
    try:
        config = serialization_lib.serialize_keras_object(model)
    except NotImplementedError as e:
        raise NotImplementedError(
            f"Cannot save the architecture of {type(model).__name__}: {e}\nmodel.save needs "
            f"{type(model).__name__}.get_config() to return the constructor arguments (and "
            "from_config() to rebuild the model from them when they are not plain values). "
            "To save only the weights, use model.save_weights(path).") from None
    try:
        json.dumps(config)
    except (TypeError, ValueError) as e:
        raise TypeError(f"The config of {type(model).__name__} is not JSON-serialisable ({e}); "
                        "get_config() must return plain values (numbers, strings, lists, dicts) "
                        "or serializable Keras objects.") from None
    return config


def _collect_weights(model: Any, include_optimizer: bool) -> tuple[dict, dict]:
    weights = model.weights
    names = weights_file.weight_names(weights)
    tensors = {n: np.asarray(w) for n, w in zip(names, weights)}
    opt_names: list[str] = []
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None and hasattr(optimizer, "variables"):
        for i, var in enumerate(optimizer.variables):
            key = f"{_OPTIMIZER_PREFIX}{i}"
            if key in tensors:
                raise ValueError(f"Weight name {key!r} clashes with the optimizer's variables")
            tensors[key] = np.asarray(var)
            opt_names.append(key)
    metadata = {"format": "corten.keras.weights", "model": model.name,
                "weight_names": json.dumps(names), "optimizer_variables": json.dumps(opt_names)}
    return tensors, metadata


def save_model(model: Any, filepath: Any, overwrite: bool = True, save_format: Any = None,
               include_optimizer: bool = True, signatures: Any = None,
               **kwargs: Any) -> None:
    """Saves ``model`` (architecture, compile configuration, weights, optimizer state).

    A path ending in ``.keras`` gets one zip file; a path ending in ``.h5`` or ``.hdf5`` (or
    ``save_format="h5"``) an HDF5 file in tf.keras 2's layout (hdf5_format.py); any other path
    a directory at exactly that path (as tf.keras's SavedModel), holding the .keras entries as
    files. Every write is atomic, and ``load_model`` reads all three.

    The .keras file and the directory also hold the model's inference graph for native use
    (corten::Model, docs/model_format.md), and one graph per entry of ``signatures``: a
    ``corten.function`` with an ``input_signature`` (the ``serving_default`` signature,
    replacing the model's own graph) or a dict of them by name, as tf.keras's
    ``save(..., signatures=...)`` and ``tf.saved_model.save`` take them.

    Raises:
        NotImplementedError: if the model's architecture cannot be described (a subclassed
            model without a working get_config), saying what to implement.
        ValueError: for an unknown save_format, or a signature that cannot be saved (it names
            the signature and the reason).
        ImportError: for an HDF5 file (a path ending in .h5 or save_format "h5") without h5py.
        FileExistsError: if the path exists and ``overwrite`` is False, or is a file or
            directory that model.save did not write (it is never replaced).
    """
    import corten

    if hdf5_format.is_hdf5_path(filepath, save_format):
        hdf5_format.save_model_to_hdf5(model, filepath, overwrite=overwrite,
                                       include_optimizer=include_optimizer)
        return
    filepath, as_directory = _resolve_save_path(filepath, save_format)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"model.save: {filepath!r} exists and overwrite=False")
    config = _config_of(model)
    if not include_optimizer:
        config.pop("compile_config", None)
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "corten_version": corten.__version__,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                # Note [Saved random state]
                "random_state": _seed.get_state()}
    tensors, weights_meta = _collect_weights(model, include_optimizer)
    ids = {w._id: n for w, n in zip(model.weights, json.loads(weights_meta["weight_names"]),
                                    strict=True)}
    plan, constants, why = inference_plan.inference_plan(model, ids)
    extra_files = {}
    if plan is None:
        metadata["inference_plan_error"] = why
    else:
        tensors.update(constants)
        extra_files[inference_plan.ENTRY] = plan
    saved = [] if plan is None else [inference_plan.DEFAULT_SIGNATURE]
    if signatures is not None:
        signatures = _signature_dict(signatures)
        entries, constants = inference_plan.signature_plans(signatures, ids)
        tensors.update(constants)
        extra_files.update(entries)
        saved = sorted({*saved, *signatures})
        if inference_plan.DEFAULT_SIGNATURE in signatures:
            metadata.pop("inference_plan_error", None)
    metadata["signatures"] = saved
    size = weights_file.tensors_nbytes(tensors, weights_meta)

    if as_directory:
        _write_directory(filepath, metadata, config, tensors, weights_meta, extra_files)
        return
    with atomic.atomic_file(filepath) as f, \
            zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(METADATA, json.dumps(metadata, indent=2))
        zf.writestr(CONFIG, json.dumps(config, indent=2))
        for name, text in extra_files.items():
            zf.writestr(name, text)
        with zf.open(WEIGHTS, "w", force_zip64=size >= 2**31 - 2**20) as w:
            weights_file.write_tensors_to(w, tensors, weights_meta)


def _signature_dict(signatures: Any) -> dict[str, Any]:
    """``signatures`` as tf.saved_model.save takes it: one function (the ``serving_default``
    signature) or a dict of them by name."""
    if isinstance(signatures, dict):
        return dict(signatures)
    return {inference_plan.DEFAULT_SIGNATURE: signatures}


def _is_saved_model_dir(path: str) -> bool:
    """Whether `path` is a directory that model.save wrote (safe to replace)."""
    meta = os.path.join(path, METADATA)
    try:
        with open(meta, "rb") as f:
            return json.loads(f.read(_MAX_JSON_BYTES).decode("utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError, RecursionError):
        return False


def _write_directory(path: str, metadata: dict, config: dict, tensors: dict,
                     weights_meta: dict, extra_files: dict[str, str]) -> None:
    """The saved-model directory at `path`: the .keras entries as files, plus an empty
    ``assets/`` as tf.keras writes. Built beside `path` and renamed into place, so a crash
    leaves either the old directory or the new one; an existing directory that model.save did
    not write is never replaced."""
    path = os.path.abspath(path)
    if os.path.lexists(path) and not _is_saved_model_dir(path):
        kind = "directory" if os.path.isdir(path) else "file"
        raise FileExistsError(
            f"model.save: {path!r} is a {kind} that model.save did not write; it is left "
            "untouched. Choose another path, remove it, or use a path ending in .keras.")
    tmp = atomic.temp_dir(path)
    old = None
    try:
        os.mkdir(os.path.join(tmp, "assets"))
        for name, text in ((METADATA, json.dumps(metadata, indent=2)),
                           (CONFIG, json.dumps(config, indent=2)), *extra_files.items()):
            with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        with open(os.path.join(tmp, WEIGHTS), "wb") as f:
            weights_file.write_tensors_to(f, tensors, weights_meta)
            f.flush()
            os.fsync(f.fileno())
        if os.path.lexists(path):
            old = atomic.temp_dir(path)
            os.rmdir(old)
            os.rename(path, old)
        os.rename(tmp, path)
        tmp = None
    except OSError as e:
        if old is not None and not os.path.lexists(path):
            os.rename(old, path)
            old = None
        raise OSError(e.errno, f"{e.strerror or e} (while saving)", path) from e
    except BaseException:
        if old is not None and not os.path.lexists(path):
            os.rename(old, path)
            old = None
        raise
    finally:
        for leftover in (tmp, old):
            if leftover is not None:
                shutil.rmtree(leftover, ignore_errors=True)


# ---------------------------------------------------------------------- read (validated)
class _Archive:
    """A validated, read-only view of a .keras zip file."""

    def __init__(self, filepath: str) -> None:
        self.filepath = filepath
        self.size = os.path.getsize(filepath)
        try:
            self.zf = zipfile.ZipFile(filepath, "r")
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
                NotImplementedError, IndexError, KeyError, OverflowError) as e:
            raise _invalid(filepath, f"it is not a valid zip archive ({e})") from None
        try:
            self._validate()
        except BaseException:
            self.zf.close()
            raise

    def _validate(self) -> None:
        infos = self.zf.infolist()
        if len(infos) > _MAX_ENTRIES:
            raise _invalid(self.filepath, f"it has {len(infos)} entries (at most "
                                          f"{_MAX_ENTRIES} expected)")
        self.infos: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            parts = name.replace("\\", "/").split("/")
            if (not name or "\\" in name or "\x00" in name or name.startswith("/")
                    or ".." in parts or (len(name) > 1 and name[1] == ":")):
                raise _invalid(self.filepath, f"it has an unsafe entry name {name!r}")
            if name in self.infos:
                raise _invalid(self.filepath, f"the entry {name!r} appears twice")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise _invalid(self.filepath, f"the entry {name!r} uses an unsupported "
                                              f"compression method {info.compress_type}")
            if info.compress_size > self.size:
                raise _invalid(self.filepath, f"the entry {name!r} declares "
                                              f"{info.compress_size} compressed bytes in a "
                                              f"{self.size}-byte file")
            if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
                raise _invalid(self.filepath, f"the stored entry {name!r} declares "
                                              f"{info.file_size} bytes but holds "
                                              f"{info.compress_size}")
            if (info.compress_type == zipfile.ZIP_DEFLATED
                    and info.file_size > info.compress_size * _MAX_DEFLATE_RATIO + 1024):
                raise _invalid(self.filepath, f"the entry {name!r} declares {info.file_size} "
                                              f"bytes from {info.compress_size} compressed "
                                              "bytes (a zip bomb?)")
            self.infos[name] = info
        for required in (METADATA, CONFIG):
            if required not in self.infos:
                raise _invalid(self.filepath, f"it has no {required}")

    def read_json(self, name: str) -> Any:
        info = self.infos[name]
        if info.file_size > _MAX_JSON_BYTES:
            raise _invalid(self.filepath, f"{name} declares {info.file_size} bytes (at most "
                                          f"{_MAX_JSON_BYTES})")
        try:
            with self.zf.open(info) as f:
                raw = f.read(info.file_size + 1)
        except _ZIP_READ_ERRORS as e:
            raise _invalid(self.filepath, f"{name} cannot be read ({_describe(e)})") from None
        if len(raw) != info.file_size:
            raise _invalid(self.filepath, f"{name} is truncated")
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
            raise _invalid(self.filepath, f"{name} is not valid JSON ({e})") from None

    def read_weights_header(self) -> tuple[dict[str, Any], dict[str, str]] | None:
        """The weights' header only: inflates no tensor data (Note [Validate before
        inflating])."""
        return self._weights(header_only=True)

    def read_weights(self) -> tuple[dict[str, np.ndarray], dict[str, str]] | None:
        return self._weights(header_only=False)

    def _weights(self, header_only: bool) -> Any:
        info = self.infos.get(WEIGHTS)
        if info is None:
            return None
        label = f"{self.filepath}:{WEIGHTS}"
        try:
            with self.zf.open(info) as f:
                if header_only:
                    return weights_file.read_header_from(f, info.file_size, label)[:2]
                return weights_file.read_tensors_from(f, info.file_size, label)
        except _ZIP_READ_ERRORS as e:
            if isinstance(e, ValueError) and str(e).startswith("Cannot read weights file"):
                raise  # the weights reader's own message names the file already
            raise _invalid(self.filepath, f"{WEIGHTS} cannot be read ({_describe(e)})") from None

    def close(self) -> None:
        self.zf.close()


class _Directory:
    """A validated, read-only view of a saved-model directory (the entries of a .keras
    archive as files)."""

    def __init__(self, filepath: str) -> None:
        self.filepath = filepath
        for required in (METADATA, CONFIG):
            if not os.path.isfile(os.path.join(filepath, required)):
                if required == METADATA and os.path.isfile(os.path.join(filepath,
                                                                        "saved_model.pb")):
                    raise ValueError(
                        f"Cannot load {filepath!r}: it is a TensorFlow SavedModel, which corten "
                        "does not read. Save the model from tf.keras with "
                        "model.save('model.keras') and load that file.")
                raise _invalid(filepath, f"the directory has no {required}")

    def read_json(self, name: str) -> Any:
        path = os.path.join(self.filepath, name)
        size = os.path.getsize(path)
        if size > _MAX_JSON_BYTES:
            raise _invalid(self.filepath, f"{name} has {size} bytes (at most "
                                          f"{_MAX_JSON_BYTES})")
        with open(path, "rb") as f:
            raw = f.read(_MAX_JSON_BYTES + 1)
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
            raise _invalid(self.filepath, f"{name} is not valid JSON ({e})") from None

    def read_weights_header(self) -> tuple[dict[str, Any], dict[str, str]] | None:
        return self._weights(header_only=True)

    def read_weights(self) -> tuple[dict[str, np.ndarray], dict[str, str]] | None:
        return self._weights(header_only=False)

    def _weights(self, header_only: bool) -> Any:
        path = os.path.join(self.filepath, WEIGHTS)
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            if header_only:
                return weights_file.read_header_from(f, os.path.getsize(path), path)[:2]
            return weights_file.read_tensors_from(f, os.path.getsize(path), path)

    def close(self) -> None:
        pass


def _resolve_load_path(filepath: Any) -> str:
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"load_model: no such file or directory: {filepath!r}")
    return filepath


def _open(filepath: str) -> _Archive | _Directory:
    return _Directory(filepath) if os.path.isdir(filepath) else _Archive(filepath)


def read_archive(filepath: Any) -> tuple[dict, dict, Any]:
    """``(metadata, config, (weight entries, weights metadata) or None)`` of a validated .keras
    file or saved-model directory; the weights' header only, no tensor data.

    Raises:
        ValueError: for a file that is not a valid .keras archive, or was written by a newer
            format version.
    """
    filepath = _resolve_load_path(filepath)
    archive = _open(filepath)
    try:
        metadata = archive.read_json(METADATA)
        if not isinstance(metadata, dict):
            raise _invalid(filepath, f"{METADATA} is not a JSON object")
        version = metadata.get("format_version")
        if version is None and "keras_version" in metadata:
            # Keras 3 and tf.keras 2.13+ write keras_version; keras_zip reads their files,
            # which always hold the weights.
            raise _invalid(filepath, f"it is a .keras file of Keras "
                                     f"{metadata.get('keras_version')!r} without its "
                                     "model.weights.h5")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise _invalid(filepath, f"{METADATA} has no valid format_version "
                                     f"(received {version!r})")
        if version > FORMAT_VERSION:
            raise ValueError(
                f"Cannot load {filepath!r}: it was saved in format version {version} by corten "
                f"{metadata.get('corten_version')!r}, newer than this corten reads (format "
                f"version {FORMAT_VERSION}). Upgrade corten.")
        config = archive.read_json(CONFIG)
        if not isinstance(config, dict) or "class_name" not in config:
            raise _invalid(filepath, f"{CONFIG} does not describe a model (expected a JSON "
                                     "object with 'class_name' and 'config')")
        weights = archive.read_weights_header()
    finally:
        archive.close()
    return metadata, config, weights


# ---------------------------------------------------------------------- load
def _names_from(meta: dict[str, str], key: str) -> list[str] | None:
    try:
        names = json.loads(meta.get(key, "null"))
    except (TypeError, json.JSONDecodeError, RecursionError):
        return None
    if isinstance(names, list) and all(isinstance(n, str) for n in names):
        return names
    return None


def load_model(filepath: Any, custom_objects: dict | None = None, compile: bool = True,
               safe_mode: bool = True, **kwargs: Any) -> Any:
    """Loads a model saved by ``model.save``.

    Args:
        filepath: the .keras file, saved-model directory or HDF5 file that model.save wrote,
            or an HDF5 or .keras file written by tf.keras 2 or Keras 3.
        custom_objects: ``{name: class or function}`` for custom objects that are not
            registered with ``register_keras_serializable``.
        compile: whether to compile the model from the saved compile configuration and restore
            the optimizer's state.
        safe_mode: accepted for compatibility; loading is always safe (no code from the file
            is ever executed).

    Raises:
        ValueError: for a missing/invalid file, an unknown custom class (naming it, its module
            and the fix), or weights that do not fit the rebuilt model.
    """
    from corten.keras.layers import Layer

    filepath = _resolve_load_path(filepath)
    if os.path.isfile(filepath) and (hdf5_format.is_hdf5(filepath)
                                     or filepath.lower().endswith((".h5", ".hdf5"))):
        return hdf5_format.load_model_from_hdf5(filepath, custom_objects=custom_objects,
                                                compile=compile)
    if os.path.isfile(filepath) and keras_zip.is_keras_zip(filepath):
        return keras_zip.load_keras_zip(filepath, custom_objects=custom_objects,
                                        compile=compile)
    metadata, config, weights = read_archive(filepath)
    config = dict(config)
    compile_config = config.pop("compile_config", None)
    with CustomObjectScope(custom_objects):
        try:
            model = serialization_lib.deserialize_keras_object(config,
                                                               custom_objects=custom_objects)
        except (KeyError, TypeError, IndexError, AttributeError, RecursionError) as e:
            # A config that names known classes with arguments they cannot take.
            raise _invalid(filepath, f"{CONFIG} does not describe a model corten can build "
                                     f"({type(e).__name__}: {e})") from None
        except ValueError as e:
            if filepath in str(e):
                raise
            raise ValueError(f"Cannot load model file {filepath!r}: {e}") from None
    if not isinstance(model, Layer):
        raise _invalid(filepath, f"{CONFIG} describes a {type(model).__name__}, not a model")

    # Note [Validate before inflating]
    # The file's weights are checked against the rebuilt model from the header alone (names,
    # shapes, dtypes, and the optimizer state's size against the model's), and only then is
    # tensor data read: a small file that deflates to gigabytes of well-formed zeros is refused
    # before anything is inflated, and what is inflated is bounded by the model's own size.
    entries, wmeta = weights if weights is not None else ({}, {})
    stubs = {n: np.broadcast_to(np.zeros((), weights_file.numpy_dtype(e["dtype"])), e["shape"])
             for n, e in entries.items()}
    _check_weights(model, stubs, wmeta, filepath)
    arrays = {}
    if entries:
        archive = _open(filepath)
        try:
            arrays, wmeta = archive.read_weights()
        finally:
            archive.close()
    opt_names = _names_from(wmeta, "optimizer_variables") or sorted(
        (n for n in arrays if n.startswith(_OPTIMIZER_PREFIX)),
        key=lambda n: int(n[len(_OPTIMIZER_PREFIX):]) if n[len(_OPTIMIZER_PREFIX):].isdigit()
        else -1)
    if any(n not in arrays for n in opt_names):
        raise _invalid(filepath, "the optimizer variables listed in the weights file are missing")
    model_arrays = _model_entries(arrays, set(opt_names))
    if model_arrays:
        if not model.weights:
            raise ValueError(
                f"Cannot load the weights of {filepath!r} into {type(model).__name__}: the "
                "rebuilt model has no weights (its config has no build_config, so it was not "
                "built). Call the model on a batch before saving, or implement "
                "build_from_config().")
        label = f"{filepath}:{WEIGHTS}"
        weights_file.assign_weights(model, model_arrays, wmeta, label)

    # Note [Saved random state]: the random streams' positions at save time come back, so
    # training resumed in a new process (under the same global seed) draws the same dropout
    # masks and shuffles as the saving process would have: N steps + save + load + M steps
    # equal N + M steps bit for bit.
    if metadata.get("random_state") is not None:
        try:
            _seed.set_state(metadata["random_state"])
        except ValueError as e:
            raise _invalid(filepath, f"{METADATA} has an invalid random_state ({e})") from None

    if compile and compile_config is not None and hasattr(model, "compile"):
        with CustomObjectScope(custom_objects):
            model.compile_from_config(compile_config, custom_objects=custom_objects)
        if opt_names and getattr(model, "optimizer", None) is not None:
            _restore_optimizer(model, [arrays[n] for n in opt_names], filepath)
    return model


def _model_entries(arrays: dict[str, np.ndarray], opt_names: set) -> dict[str, np.ndarray]:
    """The weights file's entries that are the model's weights: neither optimizer variables nor
    the inference graph's own constants (inference_plan.py)."""
    return {n: a for n, a in arrays.items()
            if n not in opt_names and not n.startswith(inference_plan.CONSTANT_PREFIX)}


def _check_weights(model: Any, stubs: dict[str, np.ndarray], wmeta: dict[str, str],
                   filepath: str) -> None:
    """Validates the weights' header against the model before any data is read."""
    opt_names = set(_names_from(wmeta, "optimizer_variables") or
                    (n for n in stubs if n.startswith(_OPTIMIZER_PREFIX)))
    model_stubs = _model_entries(stubs, opt_names)
    if model_stubs and model.weights:
        weights_file.assign_weights(model, model_stubs, wmeta, f"{filepath}:{WEIGHTS}",
                                    check_only=True)
    model_bytes = sum(int(np.prod(w.shape)) * 8 for w in model.weights)
    opt_bytes = sum(stubs[n].size * stubs[n].dtype.itemsize for n in opt_names if n in stubs)
    if opt_bytes > 4 * model_bytes + (1 << 20):  # Adam with amsgrad keeps 3 slots per weight
        raise _invalid(filepath, f"its optimizer state declares {opt_bytes} bytes, more than an "
                                 f"optimizer of a model of {model_bytes // 8} values keeps")


def _restore_optimizer(model: Any, values: list[np.ndarray], filepath: str) -> None:
    optimizer = model.optimizer
    if len(values) > 1 and not optimizer.built:
        optimizer.build(model.trainable_variables)
    if len(values) == 1 and len(optimizer.variables) == 1:
        optimizer.set_weights(values)
        return
    try:
        optimizer.set_weights(values)
    except ValueError as e:
        warnings.warn(f"Skipping loading the optimizer state of {filepath!r}: {e} The optimizer "
                      "starts from scratch.", stacklevel=3)
