"""Linear algebra ops: matmul, and the fused linear (Dense) op."""

from __future__ import annotations

from typing import Any

from corten import _C
from corten.ops import _symbolic as _sym
from corten.dtypes import as_dtype

Tensor = _C.Tensor

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
