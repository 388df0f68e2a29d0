"""One harness for every layer: ``run_layer_test`` (Keras's ``run_layer_test``, tf_keras's
``layer_test``).

A layer test names the layer class, its arguments and an input shape; the harness checks what
every layer owes its users: that it builds and runs, its output shape (also with ``None``
dimensions), ``compute_output_shape``, its weight counts, the ``get_config`` round trip, its use
in a Functional and a Sequential model rebuilt from their configs, one training step, save and
load, and masking.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

import corten
from corten import keras
from corten.keras.saving.object_registration import CustomObjectScope

__all__ = ["run_layer_test"]


def _numpy(x: Any) -> np.ndarray:
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def _shape(x: Any) -> tuple:
    return tuple(None if d is None else int(d) for d in x.shape)


def _input_data(input_shape: Sequence[int], dtype: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype.startswith("int"):
        return rng.integers(0, 10, size=input_shape).astype(dtype)
    if dtype == "bool":
        return rng.random(input_shape) < 0.5
    return rng.standard_normal(input_shape).astype(dtype)


def _check_shape(got: tuple, want: Sequence[Any] | None, what: str) -> None:
    if want is None:
        return
    want = tuple(want)
    ok = len(got) == len(want) and all(w is None or g == w for g, w in zip(got, want, strict=True))
    if not ok:
        raise AssertionError(f"{what}: output shape {got}, expected {want}")


def _assert_close(a: Any, b: Any, what: str, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    np.testing.assert_allclose(_numpy(a), _numpy(b), rtol=rtol, atol=atol, err_msg=what)


def run_layer_test(layer_cls: type, init_kwargs: dict[str, Any] | None = None,
                   input_shape: Sequence[int] | None = None, input_dtype: str = "float32",
                   input_data: Any = None, expected_output_shape: Sequence[Any] | None = None,
                   expected_output_dtype: str | None = None,
                   expected_num_trainable_weights: int | None = None,
                   expected_num_non_trainable_weights: int | None = None,
                   supports_masking: bool | None = None, run_training_check: bool = True,
                   run_mixed_shapes: bool = True, run_saving_check: bool = True,
                   custom_objects: dict[str, Any] | None = None) -> Any:
    """Checks a layer end to end and returns its output on the test input.

    Args:
        layer_cls: the layer class.
        init_kwargs: its constructor arguments.
        input_shape: the shape of the test input, batch included (or give `input_data`).
        input_dtype: the dtype of the generated input.
        input_data: a numpy array to use instead of random data.
        expected_output_shape: the output shape; None entries match any size.
        expected_output_dtype: the output dtype name (default: not checked).
        expected_num_trainable_weights, expected_num_non_trainable_weights: weight counts.
        supports_masking: the expected ``supports_masking``; when True the layer must pass an
            input mask through ``compute_mask``.
        run_training_check: run one ``train_on_batch`` step of a model holding the layer and
            check that it changes every trainable weight.
        run_mixed_shapes: also build the layer on symbolic inputs whose non-batch dimensions
            (all but the last) are unknown.
        run_saving_check: save the Functional model to a ``.keras`` file and load it back.
        custom_objects: passed to ``from_config`` and ``load_model``.

    Raises:
        AssertionError: the first check that fails, with what it compared.
    """
    init_kwargs = dict(init_kwargs or {})
    if input_data is None:
        if input_shape is None:
            raise ValueError("run_layer_test needs input_shape or input_data")
        input_data = _input_data(input_shape, input_dtype)
    input_data = np.asarray(input_data)
    input_shape = input_data.shape
    name = layer_cls.__name__

    # 1. Build and call eagerly.
    layer = layer_cls(**init_kwargs)
    output = layer(input_data)
    out_shape = _shape(output)
    _check_shape(out_shape, expected_output_shape, f"{name} called on {input_shape}")
    if expected_output_dtype is not None and output.dtype.name != expected_output_dtype:
        raise AssertionError(f"{name}: output dtype {output.dtype.name}, expected "
                             f"{expected_output_dtype}")
    try:
        computed = layer.compute_output_shape(input_shape)
    except NotImplementedError:
        computed = None
    if computed is not None and tuple(computed) != out_shape:
        raise AssertionError(f"{name}.compute_output_shape({input_shape}) = {tuple(computed)}, "
                             f"but the output has shape {out_shape}")

    # 2. Weight counts.
    if expected_num_trainable_weights is not None:
        got = len(layer.trainable_weights)
        if got != expected_num_trainable_weights:
            raise AssertionError(f"{name}: {got} trainable weights, expected "
                                 f"{expected_num_trainable_weights}")
    if expected_num_non_trainable_weights is not None:
        got = len(layer.non_trainable_weights)
        if got != expected_num_non_trainable_weights:
            raise AssertionError(f"{name}: {got} non-trainable weights, expected "
                                 f"{expected_num_non_trainable_weights}")

    # 3. get_config round trip: the same config, and the same outputs with the same weights.
    config = layer.get_config()
    clone = _from_config(layer_cls, config, custom_objects)
    clone_config = clone.get_config()
    config.pop("name", None)
    clone_config.pop("name", None)
    if clone_config != config:
        raise AssertionError(f"{name}: config changed in the round trip: {config} -> "
                             f"{clone_config}")
    clone(input_data)
    try:
        clone.set_weights(layer.get_weights())
    except ValueError as e:
        raise AssertionError(f"{name}: from_config(get_config()) built other weights than the "
                             f"layer's: {e}") from None
    _assert_close(_infer(clone, input_data), _infer(layer, input_data),
                  f"{name}: from_config(get_config()) with the same weights")

    # 4. Symbolic use: batch None, and unknown inner dimensions.
    shapes = [(None,) + tuple(input_shape[1:])]
    if run_mixed_shapes and len(input_shape) >= 3:
        shapes.append((None,) * (len(input_shape) - 1) + (input_shape[-1],))
    for shape in shapes:
        inp = keras.Input(batch_shape=shape, dtype=input_dtype)
        got_sym = _shape(_from_config(layer_cls, layer.get_config(), custom_objects)(inp))
        if len(got_sym) != len(out_shape) or any(
                g is not None and g != o for g, o in zip(got_sym, out_shape, strict=True)):
            raise AssertionError(f"{name} on a symbolic input of shape {shape}: output shape "
                                 f"{got_sym}, inconsistent with the eager output {out_shape}")

    # 5. Functional and Sequential models, each rebuilt from its config.
    functional = _functional(layer, input_shape, input_dtype)
    expected = _predict(functional, input_data)
    _assert_close(expected, _infer(layer, input_data), f"{name}: in a Functional model")
    rebuilt = keras.Model.from_config(functional.get_config(), custom_objects=custom_objects)
    rebuilt.set_weights(functional.get_weights())
    _assert_close(_predict(rebuilt, input_data), expected,
                  f"{name}: Functional model rebuilt from its config")
    sequential = keras.Sequential([keras.Input(shape=input_shape[1:], dtype=input_dtype),
                                   _copy(layer, custom_objects)])
    sequential.set_weights(layer.get_weights())
    _assert_close(_predict(sequential, input_data), expected, f"{name}: in a Sequential model")
    seq_rebuilt = keras.Sequential.from_config(sequential.get_config(),
                                               custom_objects=custom_objects)
    seq_rebuilt.set_weights(sequential.get_weights())
    _assert_close(_predict(seq_rebuilt, input_data), expected,
                  f"{name}: Sequential model rebuilt from its config")

    # 6. One training step changes every trainable weight.
    if run_training_check and np.issubdtype(np.asarray(expected).dtype, np.floating):
        model = _functional(_copy(layer, custom_objects), input_shape, input_dtype)
        model.set_weights(functional.get_weights())
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
        before = [_numpy(w).copy() for w in model.trainable_weights]
        # random targets: a constant offset has zero gradient through a softmax
        target = np.random.default_rng(1).standard_normal(np.shape(expected)).astype(
            np.asarray(expected).dtype)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loss = model.train_on_batch(input_data, target)
        said = "; ".join(str(w.message).split(".")[0] for w in caught)
        if not np.isfinite(np.asarray(loss)).all():
            raise AssertionError(f"{name}: train_on_batch gave a non-finite loss {loss}")
        for w, b in zip(model.trainable_weights, before, strict=True):
            if np.array_equal(_numpy(w), b):
                raise AssertionError(f"{name}: one training step left the trainable weight "
                                     f"{w.name} unchanged" + (f" ({said})" if said else ""))

    # 7. Save and load: the same predictions.
    if run_saving_check:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.keras")
            functional.save(path)
            loaded = keras.models.load_model(path, custom_objects=custom_objects)
        _assert_close(_predict(loaded, input_data), expected, f"{name}: saved and loaded")

    # 8. Masking.
    if supports_masking is not None:
        if bool(layer.supports_masking) != supports_masking:
            raise AssertionError(f"{name}: supports_masking is {layer.supports_masking}, "
                                 f"expected {supports_masking}")
        if supports_masking:
            mask = corten.constant(np.ones(input_shape[:2], dtype=bool))
            got = layer.compute_mask(corten.constant(input_data), mask)
            if got is None or not np.array_equal(_numpy(got), _numpy(mask)):
                raise AssertionError(f"{name}: compute_mask did not pass the input mask through")
    return output


def _from_config(layer_cls: type, config: dict[str, Any],
                 custom_objects: dict[str, Any] | None) -> Any:
    with CustomObjectScope(custom_objects):
        return layer_cls.from_config(config)


def _infer(layer: Any, x: np.ndarray) -> Any:
    """The layer's inference-mode output (training=False where its call takes it)."""
    import inspect

    if "training" in inspect.signature(layer.call).parameters:
        return layer(x, training=False)
    return layer(x)


def _copy(layer: Any, custom_objects: dict[str, Any] | None) -> Any:
    return keras.layers.deserialize(keras.layers.serialize(layer),
                                    custom_objects=custom_objects)


def _functional(layer: Any, input_shape: Sequence[int], dtype: str) -> Any:
    inputs = keras.Input(shape=tuple(input_shape[1:]), dtype=dtype)
    model = keras.Model(inputs, layer(inputs))
    return model


def _predict(model: Any, x: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=len(x), verbose=0))
