"""Linear algebra ops: matmul, band_part, and the fused linear (Dense) op."""

from __future__ import annotations

import operator
from typing import Any

from corten import _C
from corten.dtypes import as_dtype, int32
from corten.ops import _symbolic as _sym

Tensor = _C.Tensor

# band_part is tf.linalg's only (no top-level tf.band_part): corten.linalg exports it.
__all__ = ["matmul"]


def matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False,
           adjoint_a: bool = False, adjoint_b: bool = False, a_is_sparse: bool = False,
           b_is_sparse: bool = False, output_type: Any = None,
           name: str | None = None) -> Tensor:
    """Matrix product of the last two axes of `a` and `b`, batch axes broadcast (rank >= 2).

    Args:
        a, b: tensors of the same dtype (int32, int64, float32, float64) and rank >= 2.
        transpose_a, transpose_b: transpose the last two axes of the operand first.
        adjoint_a, adjoint_b: conjugate-transpose; the same as transposing for real dtypes.
        a_is_sparse, b_is_sparse: hints, ignored.
        output_type: None, or the operands' dtype.
        name: ignored (TensorFlow compatibility).

    Returns:
        A tensor of shape batch + (m, n).

    Raises:
        ValueError: a rank below 2, inner dimensions that differ, batch shapes that do not
            broadcast, or both transpose_x and adjoint_x set.
        TypeError: dtypes differ or are bool.

    Example:
        >>> matmul(ones((2, 3)), ones((4, 3)), transpose_b=True).shape
        TensorShape([2, 4])
    """
    if _sym.active and (type(a) is _sym.KT or type(b) is _sym.KT):
        return _sym.op_node(matmul, (a, b, transpose_a, transpose_b, adjoint_a, adjoint_b,
                                     a_is_sparse, b_is_sparse, output_type, name), {})
    if transpose_a and adjoint_a:
        raise ValueError("matmul: only one of transpose_a and adjoint_a can be True. "
                         f"Received: transpose_a={transpose_a}, adjoint_a={adjoint_a}")
    if transpose_b and adjoint_b:
        raise ValueError("matmul: only one of transpose_b and adjoint_b can be True. "
                         f"Received: transpose_b={transpose_b}, adjoint_b={adjoint_b}")
    out = _C.matmul(a, b, bool(transpose_a or adjoint_a), bool(transpose_b or adjoint_b))
    if output_type is not None and as_dtype(output_type) != out.dtype:
        raise TypeError("matmul: output_type must be None or the operands' dtype "
                        f"({out.dtype.name}). Received: output_type={output_type!r}")
    return out


def _band_limit(value: Any, arg: str) -> int:
    if isinstance(value, Tensor):
        if value.ndim != 0 or not value.dtype.is_integer:
            raise ValueError(f"band_part: {arg} must be an integer scalar. Received: "
                             f"{arg}={value!r}")
        return int(value)
    if isinstance(value, bool):
        raise ValueError(f"band_part: {arg} must be an integer. Received: {arg}={value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"band_part: {arg} must be an integer. Received: "
                         f"{arg}={value!r}") from None


def band_part(input: Any, num_lower: Any, num_upper: Any,  # noqa: A002
              name: str | None = None) -> Tensor:
    """Keeps a band of each innermost matrix and zeroes the rest (tf.linalg.band_part).

    Element (..., m, n) is kept when ``(num_lower < 0 or m - n <= num_lower) and
    (num_upper < 0 or n - m <= num_upper)``: ``band_part(x, -1, 0)`` is the lower triangle
    (a causal mask when x is all True), ``band_part(x, 0, 0)`` the diagonal. Composed from a
    mask of index comparisons and ``where`` (``logical_and`` for bool), so it has a gradient.

    Args:
        input: a tensor of rank >= 2 (any dtype, bool included).
        num_lower: how many subdiagonals to keep; negative keeps the whole lower triangle.
        num_upper: how many superdiagonals to keep; negative keeps the whole upper triangle.
        name: ignored (TensorFlow compatibility).

    Returns:
        A tensor of the input's shape and dtype.

    Raises:
        ValueError: a rank below 2, a non-integer limit, or a limit above the number of rows
            (num_lower) or columns (num_upper), as TensorFlow.

    Example:
        >>> band_part(ones((3, 3)), -1, 0).numpy()
        array([[1., 0., 0.],
               [1., 1., 0.],
               [1., 1., 1.]], dtype=float32)
    """
    if _sym.active and type(input) is _sym.KT:
        return _sym.op_node(band_part, (input, num_lower, num_upper, name), {})
    x = input if isinstance(input, Tensor) else _C.convert_to_tensor(input, None)
    shape = x._shape_tuple
    if len(shape) < 2:
        raise ValueError(f"band_part: input must be at least 2-D. Received: "
                         f"input.shape={shape}")
    lower = _band_limit(num_lower, "num_lower")
    upper = _band_limit(num_upper, "num_upper")
    rows, cols = shape[-2:]
    if rows is not None and lower > rows:
        raise ValueError(f"band_part: num_lower must be negative or at most the number of rows "
                         f"({rows}). Received: num_lower={lower}, input.shape={shape}")
    if cols is not None and upper > cols:
        raise ValueError(f"band_part: num_upper must be negative or at most the number of "
                         f"columns ({cols}). Received: num_upper={upper}, input.shape={shape}")
    if (lower < 0 and upper < 0) or x.device == "meta":
        return _C.identity(x)  # everything kept; or shape inference only
    # diff[m, n] = m - n; the mask is a constant of a traced plan (folded once).
    diff = _C.subtract(_C.reshape(_C.range(0.0, float(rows), 1.0, int32), (rows, 1)),
                       _C.range(0.0, float(cols), 1.0, int32))
    keep = None
    if lower >= 0:
        keep = _C.less_equal(diff, _C.convert_to_tensor(lower, int32))
    if upper >= 0:
        above = _C.greater_equal(diff, _C.convert_to_tensor(-upper, int32))
        keep = above if keep is None else _C.logical_and(keep, above)
    if x.dtype.name == "bool":
        return _C.logical_and(x, keep)
    return _C.where(keep, x, _C.zeros((), x.dtype))


#: The activations linear() fuses into the GEMM epilogue, as the C++ op lists them.
FUSED_ACTIVATIONS: tuple[str, ...] = tuple(_C.linear_activations())


def linear(x: Any, w: Any, bias: Any = None, activation: str | None = None) -> Tensor:
    """act(x @ w + bias) in one GEMM pass: the Dense layer's forward (internal API).

    Bias and activation are applied in the GEMM's write-back while each output tile is in
    cache. Not exported at the top level.

    Args:
        x: float32 or float64 tensor of shape (..., K).
        w: tensor of shape (K, N), the dtype of x.
        bias: None or a tensor of shape (N,), the dtype of x.
        activation: None or "linear" (identity), "relu", "sigmoid", "tanh" or "gelu" (the exact
            erf form, Keras' default).

    Returns:
        A tensor of shape (..., N).

    Raises:
        ValueError: shapes that do not fit (the message names them) or an unknown activation.
        TypeError: dtypes that differ or are not floating.

    Example:
        >>> linear(ones((2, 3)), ones((3, 4)), zeros((4,)), "relu").shape
        TensorShape([2, 4])
    """
    if _sym.active and (type(x) is _sym.KT or type(w) is _sym.KT or type(bias) is _sym.KT):
        return _sym.op_node(linear, (x, w, bias, activation), {})
    act = "linear" if activation is None else activation
    if act not in FUSED_ACTIVATIONS:
        raise ValueError(f"linear: activation must be None or one of {FUSED_ACTIVATIONS}. "
                         f"Received: activation={activation!r}")
    return _C.linear(x, w, bias, act)


def matmul_activation_grad(a: Any, b: Any, transpose_a: bool, transpose_b: bool,
                           activation: str, out: Any) -> Tensor:
    """matmul(a, b) times the derivative of `activation` at its output `out` (internal API).

    The gradient before a Dense layer's activation, computed in the GEMM's write-back: the
    compiled plans fuse a matmul and the activation's gradient nodes into this op (Note
    [Activation-derivative fusion]). Bit for bit the result of the unfused ops.

    Args:
        a: float32 or float64 tensor of rank 2.
        b: rank-2 tensor of a's dtype.
        transpose_a: transpose a first.
        transpose_b: transpose b first.
        activation: "relu", "sigmoid" or "tanh".
        out: the activation's output, of the product's shape and a's dtype.

    Returns:
        A tensor of the product's shape: relu: where(out > 0, p, 0); sigmoid:
        p * (out * (1 - out)); tanh: p * (1 - out * out), with p = matmul(a, b).

    Raises:
        ValueError: shapes that do not fit (the message names them), another activation.
        TypeError: dtypes that differ or are not floating.
    """
    return _C.matmul_activation_grad(a, b, bool(transpose_a), bool(transpose_b), activation, out)
