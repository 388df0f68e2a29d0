"""Elementwise math: arithmetic, comparisons, logical ops and unary functions.

Binary ops broadcast like numpy. Both operands must have the same dtype, as in TensorFlow;
Python numbers and numpy arrays are converted to the dtype of the tensor operand.
"""

from __future__ import annotations

from typing import Any

from corten import _C
from corten.ops import _symbolic as _sym
from corten.dtypes import as_dtype

Tensor = _C.Tensor

__all__ = [
    "negative",
    "abs",
    "sign",
    "square",
    "sqrt",
    "rsqrt",
    "exp",
    "log",
    "log1p",
    "expm1",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "round",
    "floor",
    "ceil",
    "logical_not",
    "reciprocal",
    "erf",
    "add",
    "subtract",
    "multiply",
    "divide",
    "divide_no_nan",
    "floordiv",
    "floormod",
    "pow",
    "maximum",
    "minimum",
    "equal",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "logical_and",
    "logical_or",
    "truediv",
    "where",
    "clip_by_value",
    "cast",
]


def negative(x: Any, name: str | None = None) -> Tensor:
    """Numerical negative, elementwise: -x."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(negative, (x, name), {})
    return _C.negative(x)


def abs(x: Any, name: str | None = None) -> Tensor:
    """Absolute value, elementwise."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(abs, (x, name), {})
    return _C.abs(x)


def sign(x: Any, name: str | None = None) -> Tensor:
    """Sign of x (-1, 0 or 1; NaN for NaN), elementwise."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(sign, (x, name), {})
    return _C.sign(x)


def square(x: Any, name: str | None = None) -> Tensor:
    """x * x, elementwise."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(square, (x, name), {})
    return _C.square(x)


def sqrt(x: Any, name: str | None = None) -> Tensor:
    """Square root, elementwise (floating dtypes)."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(sqrt, (x, name), {})
    return _C.sqrt(x)


def rsqrt(x: Any, name: str | None = None) -> Tensor:
    """1 / sqrt(x), elementwise (floating dtypes)."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(rsqrt, (x, name), {})
    return _C.rsqrt(x)


def exp(x: Any, name: str | None = None) -> Tensor:
    """Exponential, elementwise (floating dtypes)."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(exp, (x, name), {})
    return _C.exp(x)


def log(x: Any, name: str | None = None) -> Tensor:
    """Natural logarithm, elementwise (floating dtypes)."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(log, (x, name), {})
    return _C.log(x)


def log1p(x: Any, name: str | None = None) -> Tensor:
    """log(1 + x), accurate for small x (floating dtypes)."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(log1p, (x, name), {})
    return _C.log1p(x)


def expm1(x: Any, name: str | None = None) -> Tensor:
    """exp(x) - 1, accurate for small x (floating dtypes)."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(expm1, (x, name), {})
    return _C.expm1(x)


def sin(x: Any, name: str | None = None) -> Tensor:
    """Sine, elementwise (floating dtypes)."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(sin, (x, name), {})
    return _C.sin(x)


def cos(x: Any, name: str | None = None) -> Tensor:
    """Cosine, elementwise (floating dtypes)."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(cos, (x, name), {})
    return _C.cos(x)


def tanh(x: Any, name: str | None = None) -> Tensor:
    """Hyperbolic tangent, elementwise (floating dtypes)."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(tanh, (x, name), {})
    return _C.tanh(x)


def sigmoid(x: Any, name: str | None = None) -> Tensor:
    """Logistic sigmoid 1 / (1 + exp(-x)), elementwise, stable for large |x|."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(sigmoid, (x, name), {})
    return _C.sigmoid(x)


def round(x: Any, name: str | None = None) -> Tensor:
    """Rounds half to even, elementwise (as TensorFlow)."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(round, (x, name), {})
    return _C.round(x)


def floor(x: Any, name: str | None = None) -> Tensor:
    """Largest integer not greater than x, elementwise."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(floor, (x, name), {})
    return _C.floor(x)


def ceil(x: Any, name: str | None = None) -> Tensor:
    """Smallest integer not less than x, elementwise."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(ceil, (x, name), {})
    return _C.ceil(x)


def logical_not(x: Any, name: str | None = None) -> Tensor:
    """Logical NOT of a bool tensor."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(logical_not, (x, name), {})
    return _C.logical_not(x)


def reciprocal(x: Any, name: str | None = None) -> Tensor:
    """1 / x, elementwise (floating dtypes)."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(reciprocal, (x, name), {})
    return _C.reciprocal(x)


def erf(x: Any, name: str | None = None) -> Tensor:
    """Gauss error function, elementwise (floating dtypes)."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(erf, (x, name), {})
    return _C.erf(x)


def add(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x + y with broadcasting."""
    if _sym.active and (type(x) is _sym.KT or type(y) is _sym.KT):
        return _sym.op_node(add, (x, y, name), {})
    return _C.add(x, y)


def subtract(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x - y with broadcasting."""
    if _sym.active and (type(x) is _sym.KT or type(y) is _sym.KT):
        return _sym.op_node(subtract, (x, y, name), {})
    return _C.subtract(x, y)


def multiply(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x * y with broadcasting."""
    if _sym.active and (type(x) is _sym.KT or type(y) is _sym.KT):
        return _sym.op_node(multiply, (x, y, name), {})
    return _C.multiply(x, y)


def divide(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x / y with broadcasting; integer inputs give float64 (true division)."""
    if _sym.active and (type(x) is _sym.KT or type(y) is _sym.KT):
        return _sym.op_node(divide, (x, y, name), {})
    return _C.divide(x, y)


def divide_no_nan(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x / y with broadcasting, and 0 wherever y == 0 (even where x is NaN or infinite).

    Floating dtypes only (TypeError otherwise), as tf.math.divide_no_nan.
    """
    if _sym.active and (type(x) is _sym.KT or type(y) is _sym.KT):
        return _sym.op_node(divide_no_nan, (x, y, name), {})
    return _C.divide_no_nan(x, y)


def floordiv(x: Any, y: Any, name: str | None = None) -> Tensor:
    """floor(x / y) with broadcasting; integer division by zero gives 0."""
    if _sym.active and (type(x) is _sym.KT or type(y) is _sym.KT):
        return _sym.op_node(floordiv, (x, y, name), {})
    return _C.floordiv(x, y)


def floormod(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x - floor(x / y) * y (the sign of y), with broadcasting."""
    if _sym.active and (type(x) is _sym.KT or type(y) is _sym.KT):
        return _sym.op_node(floormod, (x, y, name), {})
    return _C.floormod(x, y)


def pow(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x ** y with broadcasting."""
    if _sym.active and (type(x) is _sym.KT or type(y) is _sym.KT):
        return _sym.op_node(pow, (x, y, name), {})
    return _C.pow(x, y)


def maximum(x: Any, y: Any, name: str | None = None) -> Tensor:
    """Elementwise maximum (NaN propagates)."""
    if _sym.active and (type(x) is _sym.KT or type(y) is _sym.KT):
        return _sym.op_node(maximum, (x, y, name), {})
    return _C.maximum(x, y)


def minimum(x: Any, y: Any, name: str | None = None) -> Tensor:
    """Elementwise minimum (NaN propagates)."""
    if _sym.active and (type(x) is _sym.KT or type(y) is _sym.KT):
        return _sym.op_node(minimum, (x, y, name), {})
    return _C.minimum(x, y)


def equal(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x == y elementwise (bool result)."""
    if _sym.active and (type(x) is _sym.KT or type(y) is _sym.KT):
        return _sym.op_node(equal, (x, y, name), {})
    return _C.equal(x, y)


def not_equal(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x != y elementwise (bool result)."""
    if _sym.active and (type(x) is _sym.KT or type(y) is _sym.KT):
        return _sym.op_node(not_equal, (x, y, name), {})
    return _C.not_equal(x, y)


def less(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x < y elementwise (bool result)."""
    if _sym.active and (type(x) is _sym.KT or type(y) is _sym.KT):
        return _sym.op_node(less, (x, y, name), {})
    return _C.less(x, y)


def less_equal(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x <= y elementwise (bool result)."""
    if _sym.active and (type(x) is _sym.KT or type(y) is _sym.KT):
        return _sym.op_node(less_equal, (x, y, name), {})
    return _C.less_equal(x, y)


def greater(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x > y elementwise (bool result)."""
    if _sym.active and (type(x) is _sym.KT or type(y) is _sym.KT):
        return _sym.op_node(greater, (x, y, name), {})
    return _C.greater(x, y)


def greater_equal(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x >= y elementwise (bool result)."""
    if _sym.active and (type(x) is _sym.KT or type(y) is _sym.KT):
        return _sym.op_node(greater_equal, (x, y, name), {})
    return _C.greater_equal(x, y)


def logical_and(x: Any, y: Any, name: str | None = None) -> Tensor:
    """Logical AND of bool tensors."""
    if _sym.active and (type(x) is _sym.KT or type(y) is _sym.KT):
        return _sym.op_node(logical_and, (x, y, name), {})
    return _C.logical_and(x, y)


def logical_or(x: Any, y: Any, name: str | None = None) -> Tensor:
    """Logical OR of bool tensors."""
    if _sym.active and (type(x) is _sym.KT or type(y) is _sym.KT):
        return _sym.op_node(logical_or, (x, y, name), {})
    return _C.logical_or(x, y)


truediv = divide


def where(condition: Any, x: Any = None, y: Any = None, name: str | None = None) -> Tensor:
    """Elementwise ``x if condition else y``; the three arguments broadcast together.

    Raises:
        ValueError: if x or y is missing (the index form of tf.where is not supported).
    """
    if _sym.active and (type(condition) is _sym.KT or type(x) is _sym.KT or type(y) is _sym.KT):
        return _sym.op_node(where, (condition, x, y, name), {})
    if x is None or y is None:
        raise ValueError(
            "where: both x and y must be given (the single-argument form is not supported). "
            f"Received: x={x!r}, y={y!r}"
        )
    return _C.where(condition, x, y)


def clip_by_value(t: Any, clip_value_min: Any, clip_value_max: Any, name: str | None = None) -> Tensor:
    """Clips values to [clip_value_min, clip_value_max]; the bounds broadcast against t."""
    if _sym.active and (type(t) is _sym.KT or type(clip_value_min) is _sym.KT
                        or type(clip_value_max) is _sym.KT):
        return _sym.op_node(clip_by_value, (t, clip_value_min, clip_value_max, name), {})
    return _C.clip_by_value(t, clip_value_min, clip_value_max)


def cast(x: Any, dtype: Any, name: str | None = None) -> Tensor:
    """Converts x to dtype. Float to integer truncates toward zero (NaN gives 0, out-of-range
    values saturate); anything to bool is ``x != 0``."""
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(cast, (x, dtype, name), {})
    return _C.cast(x, as_dtype(dtype))
