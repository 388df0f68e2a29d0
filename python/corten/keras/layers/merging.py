"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate and Dot, and
their functional forms (``layers.add([a, b])``, ...), with tf.keras 2's shape and mask rules.

Each layer wires C++ ops (add, multiply, maximum, concat, matmul, ...) together; their
backward rules give the gradients.
"""

from __future__ import annotations

import functools
from typing import Any

import corten
from corten.keras.layers.base_layer import Layer

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
           "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"]


def _shape(x: Any) -> tuple:
    return tuple(x.shape)


class _Merge(Layer):
    """Elementwise merge of a list of tensors that broadcast together (tf.keras 2's _Merge:
    inputs of lower rank get size-1 dimensions after the batch one)."""

    _min_inputs = 2

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True

    def _check_inputs(self, inputs: Any) -> list[Any]:
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"A merge layer should be called on a list of inputs. Received: "
                             f"inputs={inputs!r} (not a list)")
        if len(inputs) < self._min_inputs:
            raise ValueError(f"A merge layer should be called on a list of at least "
                             f"{self._min_inputs} inputs. Got {len(inputs)} inputs.")
        shapes = [_shape(x) for x in inputs]
        rank = max(len(s) for s in shapes)
        # lower ranks get size-1 dimensions after the batch one (see _expand)
        padded = [s[:1] + (1,) * (rank - len(s)) + s[1:] for s in shapes]
        for d in range(rank):
            sizes = {s[d] for s in padded if s[d] is not None and s[d] != 1}
            if len(sizes) > 1:
                raise ValueError(f"Inputs have incompatible shapes. Received shapes "
                                 f"{', '.join(map(str, shapes))} (layer {self.name!r})")
        return list(inputs)

    def _expand(self, inputs: list[Any]) -> list[Any]:
        rank = max(x.ndim for x in inputs)
        out = []
        for x in inputs:
            while x.ndim < rank:
                x = corten.expand_dims(x, 1)
            out.append(x)
        return out

    def call(self, inputs: Any) -> Any:
        xs = self._expand(self._check_inputs(inputs))
        return self._merge(xs)

    def _merge(self, xs: list[Any]) -> Any:
        raise NotImplementedError

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None or all(m is None for m in mask):
            return None
        masks = [corten.expand_dims(m, 0) for m in mask if m is not None]
        return corten.reduce_all(corten.concat(masks, axis=0), axis=0)


class _Fold(_Merge):
    """A merge that folds one binary op over its inputs."""

    @staticmethod
    def _op(a: Any, b: Any) -> Any:
        raise NotImplementedError

    def _merge(self, xs):
        return functools.reduce(self._op, xs)


class Add(_Fold):
    """The sum of its inputs (broadcasting)."""

    _op = staticmethod(corten.add)


class Subtract(_Fold):
    """The difference of its two inputs."""

    _op = staticmethod(corten.subtract)

    def _check_inputs(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError("A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received: inputs={inputs!r}")
        return super()._check_inputs(inputs)


class Multiply(_Fold):
    """The elementwise product of its inputs."""

    _op = staticmethod(corten.multiply)


class Average(_Fold):
    """The mean of its inputs."""

    _op = staticmethod(corten.add)

    def _merge(self, xs):
        total = super()._merge(xs)
        return corten.divide(total, corten.cast(len(xs), total.dtype))


class Maximum(_Fold):
    """The elementwise maximum of its inputs."""

    _op = staticmethod(corten.maximum)


class Minimum(_Fold):
    """The elementwise minimum of its inputs."""

    _op = staticmethod(corten.minimum)


class Concatenate(_Merge):
    """Concatenates its inputs along `axis`; every other dimension must match. The masks are
    concatenated too (an input without one counts as all True), as tf.keras 2 does.

    Args:
        axis: the axis to concatenate along.
    """

    _min_inputs = 1

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = axis

    def _check_inputs(self, inputs):
        if not isinstance(inputs, (list, tuple)) or not inputs:
            raise ValueError("A `Concatenate` layer should be called on a list of at least 1 "
                             f"input. Received: inputs={inputs!r}")
        shapes = [_shape(x) for x in inputs]
        rank = len(shapes[0])
        axis = self.axis % rank if rank else 0
        for s in shapes[1:]:
            if len(s) != rank or any(a is not None and b is not None and a != b
                                     for i, (a, b) in enumerate(zip(s, shapes[0], strict=True))
                                     if i != axis):
                raise ValueError(
                    "A `Concatenate` layer requires inputs with matching shapes except for the "
                    f"concatenation axis. Received: input_shape={shapes} (axis={self.axis})")
        return list(inputs)

    def call(self, inputs):
        return corten.concat(self._check_inputs(inputs), axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        # tf.keras 2: an input without a mask counts as all True; masks of lower rank get a
        # last axis; the concatenation is reduced with all() over the last axis.
        if mask is None or all(m is None for m in mask):
            return None
        full = []
        for x, m in zip(inputs, mask, strict=True):
            if m is None:
                m = corten.cast(corten.ones_like(x), "bool")
            elif m.ndim < x.ndim:
                m = corten.expand_dims(m, -1)
            full.append(m)
        return corten.reduce_all(corten.concat(full, axis=self.axis), axis=-1)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class Dot(_Merge):
    """The dot product of two batches of vectors (or of matrices along `axes`).

    Args:
        axes: an int or a pair: the axis of each input to sum over (after the batch axis).
        normalize: L2-normalise both inputs along `axes` first (the cosine proximity).
    """

    def __init__(self, axes: Any, normalize: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axes = axes
        self.normalize = normalize
        self.supports_masking = False

    def _axes(self, a: Any, b: Any) -> tuple[int, int]:
        axes = self.axes if isinstance(self.axes, (list, tuple)) else (self.axes, self.axes)
        return axes[0] % a.ndim, axes[1] % b.ndim

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError("A `Dot` layer should be called on a list of 2 inputs. "
                             f"Received: inputs={inputs!r}")
        a, b = inputs
        if a.ndim not in (2, 3) or b.ndim not in (2, 3):
            raise ValueError(f"Dot: inputs of rank 2 or 3 are supported. Received shapes "
                             f"{_shape(a)} and {_shape(b)}")
        ax, bx = self._axes(a, b)
        if a.shape[ax] is not None and b.shape[bx] is not None and a.shape[ax] != b.shape[bx]:
            raise ValueError(f"Dimension incompatibility: {a.shape[ax]} != {b.shape[bx]}. "
                             f"Layer shapes: {_shape(a)}, {_shape(b)} (axes={self.axes})")
        if self.normalize:
            a, b = _l2_normalize(a, ax), _l2_normalize(b, bx)
        if a.ndim == 2 and b.ndim == 2:
            return corten.reduce_sum(a * b, axis=1, keepdims=True)
        a3 = a if a.ndim == 3 else corten.expand_dims(a, 2 if ax == 1 else 1)
        b3 = b if b.ndim == 3 else corten.expand_dims(b, 2 if bx == 1 else 1)
        if a.ndim == 2:
            ax = 1
        if b.ndim == 2:
            bx = 1
        # (batch, m, k) @ (batch, k, n): the summed axes moved inwards
        lhs = a3 if ax == 2 else corten.transpose(a3, [0, 2, 1])
        rhs = b3 if bx == 1 else corten.transpose(b3, [0, 2, 1])
        out = corten.matmul(lhs, rhs)
        squeeze = [i for i, r in ((2, b.ndim == 2), (1, a.ndim == 2)) if r]
        for i in squeeze:
            out = corten.squeeze(out, i)
        return out

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config.update({"axes": self.axes, "normalize": self.normalize})
        return config


def _l2_normalize(x: Any, axis: int) -> Any:
    """x / max(||x||, 1e-6) along `axis` (tf.math.l2_normalize's epsilon of 1e-12 on the
    squared norm)."""
    sq = corten.reduce_sum(corten.multiply(x, x), axis=axis, keepdims=True)
    return corten.multiply(x, corten.math.rsqrt(corten.maximum(sq, 1e-12)))


def add(inputs: list[Any], **kwargs: Any) -> Any:
    """``Add(**kwargs)(inputs)``."""
    return Add(**kwargs)(inputs)


def subtract(inputs: list[Any], **kwargs: Any) -> Any:
    """``Subtract(**kwargs)(inputs)``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: list[Any], **kwargs: Any) -> Any:
    """``Multiply(**kwargs)(inputs)``."""
    return Multiply(**kwargs)(inputs)


def average(inputs: list[Any], **kwargs: Any) -> Any:
    """``Average(**kwargs)(inputs)``."""
    return Average(**kwargs)(inputs)


def maximum(inputs: list[Any], **kwargs: Any) -> Any:
    """``Maximum(**kwargs)(inputs)``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: list[Any], **kwargs: Any) -> Any:
    """``Minimum(**kwargs)(inputs)``."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: list[Any], axis: int = -1, **kwargs: Any) -> Any:
    """``Concatenate(axis=axis, **kwargs)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: list[Any], axes: Any, normalize: bool = False, **kwargs: Any) -> Any:
    """``Dot(axes, normalize, **kwargs)(inputs)``."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
