"""InputLayer and keras.Input: the entry points of a functional graph."""

from __future__ import annotations

from typing import Any

import corten
from corten import _C
from corten.keras import backend
from corten.keras.engine.keras_tensor import KerasTensor
from corten.keras.engine.node import Node
from corten.keras.layers.base_layer import Layer

__all__ = ["InputLayer", "Input"]


def _check_shape(shape: Any, what: str) -> tuple:
    if isinstance(shape, int):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"Input: `{what}` must be a tuple of integers (None for unknown "
                        f"dimensions). Received: {what}={shape!r}") from None
    out = []
    for d in shape:
        if d is None:
            out.append(None)
        elif isinstance(d, (int,)) or hasattr(d, "__index__"):
            d = int(d)
            if d < 0:
                raise ValueError(f"Input: dimensions must be non-negative or None. "
                                 f"Received: {what}={shape!r}")
            out.append(d)
        else:
            raise TypeError(f"Input: `{what}` must be a tuple of integers (None for unknown "
                            f"dimensions). Received: {what}={shape!r}")
    return tuple(out)


class InputLayer(Layer):
    """The layer behind ``keras.Input``: it has no weights and one output, a KerasTensor of
    shape ``batch_input_shape``.

    Args:
        input_shape: the shape without the batch dimension.
        batch_size: an optional static batch size.
        dtype: the dtype of the input (floatx by default).
        input_tensor: not supported (raises) unless None.
        sparse, ragged: only False/None are supported.
        optional: only False is supported (tf.keras 2.16+ writes it into every config).
        name: defaults to ``input_1``, ``input_2``, ...
        batch_input_shape: the full shape, batch dimension included (instead of input_shape
            and batch_size).
    """

    def __init__(self, input_shape: Any = None, batch_size: int | None = None, dtype: Any = None,
                 input_tensor: Any = None, sparse: bool | None = None, name: str | None = None,
                 ragged: bool | None = None, type_spec: Any = None, **kwargs: Any) -> None:
        batch_input_shape = kwargs.pop("batch_input_shape", None)
        kwargs.pop("batch_shape", None)
        if kwargs.pop("optional", False):
            raise NotImplementedError("InputLayer: optional inputs (which accept None) are not "
                                      "supported by corten. Received: optional=True")
        if kwargs:
            raise TypeError(f"InputLayer: unrecognized keyword arguments: {sorted(kwargs)}")
        if sparse:
            raise NotImplementedError("InputLayer: sparse inputs are not supported by corten. "
                                      "Received: sparse=True")
        if ragged:
            raise NotImplementedError("InputLayer: ragged inputs are not supported by corten. "
                                      "Received: ragged=True")
        if type_spec is not None:
            raise NotImplementedError("InputLayer: `type_spec` is not supported by corten; pass "
                                      "`shape` and `dtype`.")
        if input_shape is not None and batch_input_shape is not None:
            raise ValueError("Only provide the input_shape OR batch_input_shape argument to "
                             "InputLayer, not both at the same time.")
        if input_tensor is not None:
            if not isinstance(input_tensor, corten.Tensor):
                raise TypeError("InputLayer: `input_tensor` must be a tensor. "
                                f"Received: input_tensor={input_tensor!r}")
            batch_input_shape = tuple(input_tensor._shape_tuple)
            dtype = dtype or input_tensor.dtype.name
        if batch_input_shape is None:
            if input_shape is None:
                raise ValueError("Please provide to Input a `shape` or a `tensor` argument. Note "
                                 "that `shape` does not include the batch dimension.")
            batch_input_shape = (batch_size,) + _check_shape(input_shape, "shape")
        else:
            batch_input_shape = _check_shape(batch_input_shape, "batch_shape")
        if not name:
            name = f"input_{backend.get_uid('input')}"
        dtype = corten.as_dtype(dtype).name if dtype is not None else backend.floatx()
        super().__init__(name=name, dtype=dtype)
        self.__dict__["built"] = True
        self.__dict__["_batch_input_shape"] = batch_input_shape
        self.__dict__["sparse"] = False
        self.__dict__["ragged"] = False
        self.__dict__["_autocast"] = False
        tensor = KerasTensor(_C.empty_meta(batch_input_shape, dtype), name=name)
        Node(self, outputs=tensor)

    @property
    def _batch_shape(self) -> tuple:
        return self._batch_input_shape

    def call(self, inputs: Any) -> Any:
        return inputs

    def get_config(self) -> dict:
        return {"batch_input_shape": self._batch_input_shape, "dtype": self._dtype,
                "sparse": False, "ragged": False, "name": self.name, "optional": False}


def Input(shape: Any = None, batch_size: int | None = None, name: str | None = None,  # noqa: N802
          dtype: Any = None, sparse: bool | None = None, tensor: Any = None,
          ragged: bool | None = None, type_spec: Any = None, batch_shape: Any = None,
          **kwargs: Any) -> KerasTensor:
    """A symbolic input of a functional model (``keras.Input``).

    Args:
        shape: the shape of one sample, without the batch dimension (None for unknown
            dimensions), e.g. ``(784,)`` or ``(None,)`` for variable-length sequences.
        batch_size: an optional static batch size.
        name: the input's name (unique in a model): the key of the input in dict data.
        dtype: "float32" by default.
        batch_shape: the full shape, batch dimension included (instead of shape/batch_size).
        sparse, tensor, ragged, type_spec: accepted for compatibility (sparse and ragged
            inputs are not supported).

    Returns:
        A KerasTensor: call layers on it, then build ``keras.Model(inputs, outputs)``.

    Raises:
        ValueError: if neither or both of shape and batch_shape are given.

    Example:
        >>> inputs = keras.Input(shape=(784,))
        >>> inputs.shape
        TensorShape([None, 784])
    """
    if "batch_input_shape" in kwargs:
        batch_shape = kwargs.pop("batch_input_shape")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {sorted(kwargs)}")
    if shape is not None and batch_shape is not None:
        raise ValueError("Only provide the `shape` OR `batch_shape` argument to Input, not both "
                         "at the same time.")
    if shape is None and batch_shape is None and tensor is None and type_spec is None:
        raise ValueError("Please provide to Input a `shape` or a `tensor` or a `type_spec` "
                         "argument. Note that `shape` does not include the batch dimension.")
    layer_kwargs: dict[str, Any] = {"name": name, "dtype": dtype, "sparse": sparse,
                                    "ragged": ragged, "input_tensor": tensor,
                                    "type_spec": type_spec}
    if batch_shape is not None:
        layer_kwargs["batch_input_shape"] = batch_shape
    elif shape is not None:
        layer_kwargs["input_shape"] = shape
        layer_kwargs["batch_size"] = batch_size
    layer = InputLayer(**layer_kwargs)
    return layer._inbound_nodes[0].outputs
