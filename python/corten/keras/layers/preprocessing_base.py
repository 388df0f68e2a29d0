"""The base of the stateful preprocessing layers (tf.keras 2's ``PreprocessingLayer``):
``adapt`` runs ``update_state`` over the batches of an array, a tensor or a Dataset, then
``finalize_state``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

import corten
from corten import _C
from corten._tensor import Tensor
from corten.keras.layers.base_layer import Layer
from corten.ops.hashing import bincount

__all__ = ["PreprocessingLayer", "is_concrete", "validate_string_arg", "listify"]

# tf.keras 2's DataHandler batches arrays by 32 when no batch_size is given.
_DEFAULT_BATCH_SIZE = 32


def is_concrete(x: Any) -> bool:
    """Whether ``x`` holds values (not a traced placeholder nor a shape-only meta tensor), so
    that value checks (ranges, vocabulary membership) can run on it.

    Args:
        x: a tensor.

    Returns:
        True for an eager tensor with data.
    """
    if not isinstance(x, _C.Tensor):
        return False
    if _C.trace_holds(x):
        return False
    return x.device != "meta"


def validate_string_arg(value: Any, allowed: tuple, layer_name: str, arg_name: str) -> None:
    """Raises a ValueError naming the layer when ``value`` is not one of ``allowed``.

    Args:
        value: the argument received.
        allowed: the accepted strings.
        layer_name: the layer's class name, for the message.
        arg_name: the argument's name.
    """
    if value not in allowed:
        raise ValueError(f"{layer_name}: unknown value for `{arg_name}`. Allowed values are: "
                         f"{list(allowed)}. Received: {arg_name}={value!r}")


def encoding_layer_kwargs(layer_name: str, output_mode: str, sparse: bool,
                          kwargs: dict) -> dict:
    """The Layer kwargs of a layer whose output is an index or an encoding (tf.keras's rule):
    int64 for ``output_mode="int"`` unless an integer dtype is given, else float32 by
    default. Rejects ``sparse=True`` (no sparse tensors) naming the layer."""
    if sparse:
        raise ValueError(f"{layer_name}: sparse outputs are not supported; use sparse=False. "
                         "Received: sparse=True")
    dtype = kwargs.get("dtype")
    if dtype is None:
        kwargs["dtype"] = "int64" if output_mode == "int" else "float32"
    elif output_mode == "int" and not corten.as_dtype(dtype).is_integer:
        kwargs["dtype"] = "int64"
    return kwargs


def listify(value: Any) -> Any:
    """A JSON-friendly copy of a config value: tensors and arrays become (nested) lists.

    Args:
        value: None, a number, a list, a numpy array or a tensor.

    Returns:
        The same value with arrays turned into lists.
    """
    if isinstance(value, Tensor):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


class PreprocessingLayer(Layer):
    """A layer whose state is computed from data by ``adapt`` (tf.keras 2 semantics).

    Subclasses implement ``update_state(batch)``, ``reset_state()`` and ``finalize_state()``.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._is_adapted = False

    @property
    def is_adapted(self) -> bool:
        """Whether ``adapt`` has run on this layer."""
        return self._is_adapted

    def update_state(self, data: Any) -> None:
        """Accumulates the statistics of one batch.

        Args:
            data: a batch, as a tensor.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement update_state")

    def reset_state(self) -> None:
        """Forgets the statistics gathered so far."""

    def finalize_state(self) -> None:
        """Turns the accumulated statistics into the state ``call`` uses."""

    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Computes the layer's state from ``data``.

        Args:
            data: a numpy array, a tensor, a nested list of numbers or a
                ``corten.data.Dataset`` yielding batches.
            batch_size: the number of samples per state update for arrays (32 by default);
                not allowed with a Dataset, which yields its own batches.
            steps: the number of batches to take from a Dataset (all by default); not
                supported with array inputs.

        Raises:
            ValueError: for an argument that does not fit the data, or empty data.
        """
        name = type(self).__name__
        if self.built:
            self.reset_state()
        seen = False
        for batch in _batches(name, data, batch_size, steps):
            if not self.built:
                # As tf.keras 2, adapting an unbuilt layer records the input rank in its
                # config (``batch_input_shape`` of Nones).
                if self._batch_input_shape is None:
                    self._batch_input_shape = (None,) * batch.ndim
                self.build(tuple(batch.shape))
                self.__dict__["built"] = True
            self.update_state(batch)
            seen = True
        if not seen:
            raise ValueError(f"{name}.adapt: the data holds no batch. Received: data={data!r}")
        self.finalize_state()
        self._is_adapted = True


def _batches(name: str, data: Any, batch_size: int | None, steps: int | None) -> Iterator[Any]:
    """Yields ``data`` as tensors, batch by batch."""
    if isinstance(data, corten.data.Dataset):
        if batch_size is not None:
            raise ValueError(f"{name}.adapt: `batch_size` is not supported with a Dataset, "
                             f"which yields its own batches. Received: batch_size={batch_size}")
        for i, element in enumerate(data):
            if steps is not None and i >= steps:
                return
            yield corten.convert_to_tensor(element)
        return
    if steps is not None:
        raise ValueError(f"{name}.adapt: `steps` is not supported with array inputs. "
                         f"Received: steps={steps}")
    if batch_size is None:
        batch_size = _DEFAULT_BATCH_SIZE
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"{name}.adapt: `batch_size` must be a positive integer. "
                         f"Received: batch_size={batch_size!r}")
    tensor = data if isinstance(data, Tensor) else corten.convert_to_tensor(data)
    if tensor.ndim == 0:
        yield tensor
        return
    n = int(tensor.shape[0])
    for start in range(0, n, int(batch_size)):
        yield tensor[start:start + int(batch_size)]


INT, ONE_HOT, MULTI_HOT, COUNT, TF_IDF = "int", "one_hot", "multi_hot", "count", "tf_idf"


def check_index_range(layer_name: str, indices: Any, depth: int) -> None:
    """Raises a ValueError naming the layer when an eager tensor of indices holds a value
    outside ``[0, depth)`` (tf.keras 2 asserts this at run time; traced inputs are not
    checked).

    Args:
        layer_name: the layer's class name, for the message.
        indices: an integer tensor.
        depth: the number of tokens.
    """
    if not is_concrete(indices) or indices.shape.num_elements() == 0:
        return
    low = int(corten.reduce_min(indices).numpy())
    high = int(corten.reduce_max(indices).numpy())
    if low < 0 or high >= depth:
        raise ValueError(f"{layer_name}: input values must be in the range 0 <= values < "
                         f"num_tokens with num_tokens={depth}. Received values in "
                         f"[{low}, {high}] for inputs of shape {tuple(indices.shape)}")


def encoded_shape(input_shape: Any, output_mode: str, depth: int) -> tuple:
    """The output shape of :func:`encode_categorical` for an input shape.

    Args:
        input_shape: the input shape (None for unknown sizes).
        output_mode: one of int, one_hot, multi_hot, count, tf_idf.
        depth: the number of tokens.

    Returns:
        The output shape as a tuple.
    """
    shape = list(tuple(input_shape))
    if output_mode == INT:
        return tuple(shape)
    if not shape:
        return (depth,)
    if output_mode == ONE_HOT and shape[-1] != 1:
        return (*shape, depth)
    return (*shape[:-1], depth)


def encode_categorical(layer_name: str, inputs: Any, output_mode: str, depth: int, dtype: str,
                       count_weights: Any = None, idf_weights: Any = None) -> Any:
    """Encodes integer indices in ``[0, depth)`` as tf.keras 2's
    ``encode_categorical_inputs`` does (dense outputs): one-hot rows, multi-hot or count
    vectors over the last axis, optionally weighted per input (count) or per token (tf_idf).

    Args:
        layer_name: the calling layer's class name, for errors.
        inputs: an integer tensor of rank 0, 1 or 2 (rank 1 for one_hot may also be 2).
        output_mode: int, one_hot, multi_hot, count or tf_idf.
        depth: the number of tokens (the last output dimension).
        dtype: the output dtype.
        count_weights: optional weights of the inputs' shape, summed instead of ones (count).
        idf_weights: per-token weights of shape (depth,) for tf_idf.

    Returns:
        A dense tensor of shape :func:`encoded_shape`.

    Raises:
        ValueError: when the output would have rank above 2.
    """
    if output_mode == INT:
        return corten.identity(corten.cast(inputs, dtype))
    original_shape = tuple(inputs.shape)
    if inputs.ndim == 0:
        inputs = corten.expand_dims(inputs, -1)
    if output_mode == ONE_HOT and inputs.shape[-1] != 1:
        inputs = corten.expand_dims(inputs, -1)
    if inputs.ndim > 2:
        raise ValueError(f"{layer_name}: when output_mode is not 'int', the maximum supported "
                         f"output rank is 2. Received output_mode={output_mode!r} and input "
                         f"shape {original_shape}, which would result in output rank "
                         f"{inputs.ndim}.")
    weights = None
    if count_weights is not None:
        weights = corten.cast(count_weights, dtype)
        if weights.ndim < inputs.ndim:
            weights = corten.reshape(weights, tuple(inputs.shape))
    counts = bincount(inputs, depth, weights, binary=output_mode in (ONE_HOT, MULTI_HOT),
                      dtype=dtype)
    if output_mode == TF_IDF:
        counts = counts * corten.cast(idf_weights, dtype)
    return counts
