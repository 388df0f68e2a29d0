"""keras.activations: every activation by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import corten
from corten import _C
from corten.ops import _symbolic as _sym
from corten.ops import math as math_ops
from corten.ops import nn

__all__ = ["relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "sigmoid", "hard_sigmoid", "tanh",
           "softmax", "log_softmax", "softplus", "softsign", "swish", "silu", "exponential",
           "linear", "get", "serialize", "deserialize", "mish"]


def _symbolic(x: Any) -> bool:
    return _sym.active and type(x) is _sym.KT


def relu(x: Any, alpha: float = 0.0, max_value: float | None = None, threshold: float = 0.0):
    """max(x, 0), with Keras's optional leak (alpha), cap (max_value) and threshold."""
    if alpha == 0.0 and max_value is None and threshold == 0.0:
        return nn.relu(x)
    if _symbolic(x):
        return _sym.op_node(relu, (x, alpha, max_value, threshold), {})
    x = corten.convert_to_tensor(x)
    zeros = corten.zeros_like(x)
    y = corten.where(x > threshold, x, zeros) if threshold != 0.0 else nn.relu(x)
    if alpha != 0.0:
        y = y + alpha * corten.where(x < threshold, x - threshold, zeros)
    if max_value is not None:
        y = corten.minimum(y, max_value)
    return y


def relu6(x):
    """min(max(x, 0), 6)."""
    return nn.relu6(x)


def leaky_relu(x, alpha: float = 0.2):
    """x for x > 0, alpha * x otherwise."""
    return nn.leaky_relu(x, alpha)


def elu(x, alpha: float = 1.0):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    if _symbolic(x):
        return _sym.op_node(elu, (x, alpha), {})
    return _C.elu(x, float(alpha))


def selu(x):
    """Scaled exponential linear unit (Klambauer et al., 2017)."""
    return nn.selu(x)


def gelu(x, approximate: bool = False):
    """Gaussian error linear unit: exact (erf) or, with approximate=True, the tanh form."""
    return nn.gelu(x, approximate)


def sigmoid(x):
    """1 / (1 + exp(-x))."""
    return math_ops.sigmoid(x)


def hard_sigmoid(x):
    """Piecewise linear sigmoid: clip(0.2 * x + 0.5, 0, 1) (Keras 2)."""
    return nn.hard_sigmoid(x)


def tanh(x):
    """Hyperbolic tangent."""
    return math_ops.tanh(x)


def softmax(x, axis: int = -1):
    """exp(x) / sum(exp(x)) along `axis`."""
    return nn.softmax(x, axis)


def log_softmax(x, axis: int = -1):
    """log(softmax(x)) along `axis`, computed stably."""
    return nn.log_softmax(x, axis)


def softplus(x):
    """log(exp(x) + 1)."""
    return nn.softplus(x)


def softsign(x):
    """x / (|x| + 1)."""
    return nn.softsign(x)


def swish(x):
    """x * sigmoid(x) (also named silu)."""
    return nn.silu(x)


silu = swish


def exponential(x):
    """exp(x)."""
    return math_ops.exp(x)


def mish(x):
    """x * tanh(softplus(x)) (tf.keras's mish), composed of corten ops."""
    return math_ops.multiply(x, math_ops.tanh(nn.softplus(x)))


def linear(x):
    """The identity."""
    return x


_BY_NAME: dict[str, Callable] = {f.__name__: f for f in [
    relu, relu6, leaky_relu, elu, selu, gelu, sigmoid, hard_sigmoid, tanh, softmax, log_softmax,
    softplus, softsign, swish, exponential, linear, mish]}
_BY_NAME["silu"] = swish


def serialize(activation: Callable | None) -> str | None:
    if activation is None:
        return None
    for name, fn in _BY_NAME.items():
        if fn is activation:
            return "swish" if name == "silu" else name
    return getattr(activation, "__name__", repr(activation))


def deserialize(name: str, custom_objects: dict | None = None) -> Callable:
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name not in _BY_NAME:
        raise ValueError(f"Unknown activation function: {name!r}. Known: {sorted(_BY_NAME)}")
    return _BY_NAME[name]


def get(identifier: Any) -> Callable:
    """An activation from a name, None (linear) or a callable."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        return deserialize(identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier.get("config", identifier.get("class_name")))
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")
