"""``einsum``: Einstein summation lowered to corten's transpose, reshape, matmul and reductions.

Note [Einsum lowering]
``einsum`` is composed from existing ops in Python, so it gets gradients and traces into
compiled plans like any other op sequence; it never loops over data. An equation is first
parsed into one list of labels per operand (an ellipsis becomes internal labels, aligned to
the right as numpy broadcasts), then lowered in four steps:

1. A label repeated inside one operand (``"ii->i"``) takes the diagonal: the two axes are moved
   last, ``band_part(x, 0, 0)`` zeroes the off-diagonal, and the last axis is summed.
2. A label that only one operand has and the output lacks is summed out at once
   (``reduce_sum``), and an ellipsis axis of size 1 that another operand broadcasts is
   squeezed away, so that every remaining label has one size.
3. Operands are contracted pairwise from the left. A pair that shares a summed label is a
   batched matrix product: the shared kept labels become matmul's batch axes, each side's own
   labels are flattened into M (or N) and the summed labels into K. Only groups of several
   labels are reshaped, and an operand laid out as (K, M) (or whose innermost axis is a K
   axis) is passed with matmul's transpose flag instead of being transposed, so
   ``"abc,cde->abde"`` (EinsumDense) is one view, one GEMM and one view. A pair that shares
   no summed label (an outer product, ``"bi,bj->bij"``) is a broadcast multiply.
4. The result is transposed to the output's order (a view).

Reshapes put -1 in their first entry where the others are known and nonzero, so that a traced
plan does not hard-code the batch size and plans traced at two batch sizes can relax
(Note [Relaxed plans]). On meta tensors (shape inference in the functional API) unknown sizes
stay None.
"""

from __future__ import annotations

import math
import string
from typing import Any

import numpy as np

from corten import _C
from corten.ops import _symbolic as _sym
from corten.ops.array import expand_dims, identity, reshape, squeeze, transpose
from corten.ops.creation import convert_to_tensor
from corten.ops.linalg import band_part, matmul
from corten.ops.math import multiply
from corten.ops.reduction import reduce_sum

Tensor = _C.Tensor

__all__ = ["einsum"]

_LETTERS = frozenset(string.ascii_letters)


class _Spec:
    """A parsed equation: the label list of each operand and of the output, and label sizes."""

    def __init__(self, inputs: list[list[str]], output: list[str], sizes: dict[str, Any]):
        self.inputs = inputs
        self.output = output
        self.sizes = sizes


def _fail(equation: str, shapes: list[tuple], detail: str) -> ValueError:
    return ValueError(f"einsum: {detail}. Received: equation={equation!r}, "
                      f"shapes={shapes}")


def _split_term(term: str, equation: str, shapes: list[tuple], what: str) -> tuple[str, str, bool]:
    """(letters before '...', letters after, whether there is an ellipsis) of one term."""
    if "..." in term:
        head, _, tail = term.partition("...")
        has_ellipsis = True
    else:
        head, tail, has_ellipsis = term, "", False
    bad = sorted({c for c in head + tail if c not in _LETTERS})
    if bad:
        where = "" if "." not in bad else " (an ellipsis is written '...', at most once a term)"
        raise _fail(equation, shapes, f"{what} {term!r} has invalid character(s) "
                                      f"{''.join(bad)!r}{where}; subscripts are letters a-z, "
                                      "A-Z and '...'")
    return head, tail, has_ellipsis


def _parse(equation: str, shapes: list[tuple]) -> _Spec:
    """Parses ``equation`` for operands of ``shapes``; checks ranks and sizes."""
    eq = equation.replace(" ", "")
    if eq.count("->") > 1:
        raise _fail(equation, shapes, "the equation has more than one '->'")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise _fail(equation, shapes, f"the equation has {len(terms)} input term(s) but "
                                      f"{len(shapes)} operand(s) were given")
    parts = []
    ell_rank = 0
    for i, (term, shape) in enumerate(zip(terms, shapes, strict=True)):
        head, tail, has_ell = _split_term(term, equation, shapes, f"input term {i}")
        n = len(head) + len(tail)
        if (not has_ell and n != len(shape)) or (has_ell and n > len(shape)):
            raise _fail(equation, shapes, f"operand {i} has rank {len(shape)} (shape "
                                          f"{shape}) but its subscripts {term!r} name "
                                          f"{n} ax{'is' if n == 1 else 'es'}"
                                          + (" and an ellipsis" if has_ell else ""))
        k = len(shape) - n if has_ell else 0
        ell_rank = max(ell_rank, k)
        parts.append((head, tail, k))
    ell_labels = [f"...{j}" for j in range(ell_rank)]
    inputs = [list(head) + ell_labels[ell_rank - k:] + list(tail) for head, tail, k in parts]

    counts: dict[str, int] = {}
    for labels in inputs:
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
    if arrow:
        head, tail, has_ell = _split_term(rhs, equation, shapes, "output term")
        if ell_rank and not has_ell:
            raise _fail(equation, shapes, "the operands have ellipsis dimensions but the output "
                                          "term has no '...' to put them in")
        letters = head + tail
        dup = sorted({c for c in letters if letters.count(c) > 1})
        if dup:
            raise _fail(equation, shapes, f"output subscript(s) {''.join(dup)!r} appear more "
                                          "than once in the output")
        missing = [c for c in letters if c not in counts]
        if missing:
            raise _fail(equation, shapes, f"output subscript {missing[0]!r} appears in no input")
        output = list(head) + (ell_labels if has_ell else []) + list(tail)
    else:
        # Implicit mode, as numpy and tf.einsum: the ellipsis, then the letters used once.
        output = ell_labels + sorted(c for c, n in counts.items()
                                     if n == 1 and not c.startswith("..."))

    sizes: dict[str, Any] = {}
    owner: dict[str, tuple[int, int]] = {}
    for i, (labels, shape) in enumerate(zip(inputs, shapes, strict=True)):
        for axis, (label, size) in enumerate(zip(labels, shape, strict=True)):
            if label not in sizes:
                sizes[label], owner[label] = size, (i, axis)
                continue
            known = sizes[label]
            if size is None or known == size:
                continue
            if known is None:
                sizes[label], owner[label] = size, (i, axis)
                continue
            if label.startswith("...") and (size == 1 or known == 1):
                # ellipsis dimensions broadcast as in numpy
                if known == 1:
                    sizes[label], owner[label] = size, (i, axis)
                continue
            j, other_axis = owner[label]
            name = "the ellipsis" if label.startswith("...") else f"subscript {label!r}"
            raise _fail(equation, shapes, f"{name} has size {known} in operand {j} (axis "
                                          f"{other_axis}, shape {shapes[j]}) but size {size} in "
                                          f"operand {i} (axis {axis}, shape {shape})")
    return _Spec(inputs, output, sizes)


def _prod(dims: list[Any]) -> Any:
    return None if any(d is None for d in dims) else math.prod(dims)


def _reshape(t: Tensor, dims: list[Any]) -> Tensor:
    """reshape(t, dims); unknown sizes (meta tensors only) stay None, and the first entry is
    -1 where that is unambiguous, so that traced plans do not fix the batch size."""
    dims = list(dims)
    if tuple(dims) == t._shape_tuple:
        return t
    if t.device != "meta" and dims and all(d is not None for d in dims) \
            and math.prod(dims[1:]) > 0:
        dims[0] = -1
    return reshape(t, dims)


def _permute(t: Tensor, labels: list[str], target: list[str]) -> Tensor:
    """``t`` (axes labelled ``labels``) transposed so that its axes follow ``target``."""
    if labels == target:
        return t
    return transpose(t, [labels.index(label) for label in target])


def _take_diagonals(t: Tensor, labels: list[str]) -> tuple[Tensor, list[str]]:
    """Step 1: every label repeated within one operand replaced by its diagonal."""
    while len(set(labels)) != len(labels):
        label = next(lab for lab in labels if labels.count(lab) > 1)
        p = labels.index(label)
        q = labels.index(label, p + 1)
        rest = [a for a in range(len(labels)) if a not in (p, q)]
        t = transpose(t, rest + [p, q])
        t = reduce_sum(band_part(t, 0, 0), axis=-1)
        labels = [labels[a] for a in rest] + [label]
    return t, labels


def _broadcast_multiply(a: Tensor, la: list[str], b: Tensor, lb: list[str],
                        target: list[str]) -> Tensor:
    """a * b with both aligned to ``target`` (size-1 axes where one lacks a label)."""
    def align(t: Tensor, labels: list[str]) -> Tensor:
        own = [lab for lab in target if lab in labels]
        t = _permute(t, labels, own)
        for axis, label in enumerate(target):
            if label not in labels:
                t = expand_dims(t, axis)
        return t

    return multiply(align(a, la), align(b, lb))


def _contract(a: Tensor, la: list[str], b: Tensor, lb: list[str], keep: list[str],
              sizes: dict[str, Any]) -> tuple[Tensor, list[str]]:
    """Step 3 for one pair: the product of a and b summed over their shared labels that are
    not in ``keep``; returns it with its labels. ``keep`` is ordered as the result should be."""
    shared = [lab for lab in la if lab in lb]
    contracted = [lab for lab in shared if lab not in keep]
    if not contracted:
        target = [lab for lab in keep if lab in la or lab in lb]
        return _broadcast_multiply(a, la, b, lb, target), target
    batch = [lab for lab in keep if lab in shared]
    free_a = [lab for lab in keep if lab in la and lab not in lb]
    free_b = [lab for lab in keep if lab in lb and lab not in la]
    # The GEMM writes (M, N): put first the operand whose labels come first in the result.
    if free_a and free_b and keep.index(free_b[0]) < keep.index(free_a[0]):
        a, la, b, lb, free_a, free_b = b, lb, a, la, free_b, free_a
    contracted = [lab for lab in la if lab in contracted]

    def side(t: Tensor, labels: list[str], free: list[str], free_first: bool) -> tuple[
            Tensor, bool]:
        """t as batch + (rows, cols), and whether matmul must transpose it."""
        natural = batch + (free + contracted if free_first else contracted + free)
        flipped = batch + (contracted + free if free_first else free + contracted)
        # matmul's transpose flag instead of a transpose when that keeps t's layout, or at
        # least its innermost axis innermost (the GEMM then reads unit-stride rows)
        transposed = labels != natural and (labels == flipped or (
            labels[-1] == flipped[-1] != natural[-1]))
        order = flipped if transposed else natural
        t = _permute(t, labels, order)
        groups = (free, contracted) if free_first != transposed else (contracted, free)
        if any(len(g) != 1 for g in groups):
            t = _reshape(t, [sizes[lab] for lab in batch]
                         + [_prod([sizes[lab] for lab in g]) for g in groups])
        return t, transposed

    x, transpose_x = side(a, la, free_a, free_first=True)
    y, transpose_y = side(b, lb, free_b, free_first=False)
    out = matmul(x, y, transpose_a=transpose_x, transpose_b=transpose_y)
    labels = batch + free_a + free_b
    if len(free_a) != 1 or len(free_b) != 1:
        out = _reshape(out, [sizes[lab] for lab in labels])
    return out, labels


def einsum(equation: str, *inputs: Any, **kwargs: Any) -> Tensor:
    """Tensor contraction over the subscripts of ``equation`` (tf.einsum, numpy.einsum).

    Every subscript letter names an axis; letters shared by operands must have equal sizes
    and are multiplied together, and letters missing from the output are summed. ``...``
    stands for the axes not named (broadcast as in numpy). Without ``->`` the output is the
    ellipsis followed by the letters used once, in alphabetical order. Batched matrix
    products run on corten's GEMM (Note [Einsum lowering]); gradients come from the ops used.

    Args:
        equation: subscripts such as ``"ab,bc->ac"``, ``"...ij,...jk->...ik"``,
            ``"bqhd,bkhd->bhqk"``, ``"ii->i"`` (diagonal) or ``"i,j->ij"`` (outer product).
        *inputs: the operands, one per input term, all of one dtype.
        **kwargs: ``name`` and ``optimize`` (TensorFlow's), accepted and ignored.

    Returns:
        A tensor with the output term's axes.

    Raises:
        ValueError: a malformed equation, a number of operands other than the number of input
            terms, a term whose length does not match its operand's rank, or a subscript with
            two different sizes (the message names the equation and the shapes).
        TypeError: operands of different dtypes, or an unknown keyword argument.

    Example:
        >>> einsum("abc,cd->abd", ones((2, 3, 4)), ones((4, 5))).shape
        TensorShape([2, 3, 5])
    """
    unknown = set(kwargs) - {"name", "optimize"}
    if unknown:
        raise TypeError(f"einsum: unexpected keyword argument {sorted(unknown)[0]!r}. "
                        f"Received: kwargs={sorted(kwargs)}")
    if _sym.active and _sym.any_keras(inputs):
        return _sym.op_node(einsum, (equation, *inputs), {})
    if not isinstance(equation, str):
        raise TypeError(f"einsum: equation must be a string. Received: equation={equation!r}")
    if not inputs:
        raise ValueError(f"einsum: at least one operand is required. Received: "
                         f"equation={equation!r}, shapes=[]")
    # Python lists and numbers take the dtype of the first tensor or array operand, as the
    # binary ops convert them.
    hint = next((x.dtype for x in inputs if isinstance(x, (Tensor, np.ndarray))), None)
    operands = [x if isinstance(x, Tensor) else convert_to_tensor(x) if isinstance(
        x, np.ndarray) else convert_to_tensor(x, dtype_hint=hint) for x in inputs]
    shapes = [t._shape_tuple for t in operands]
    dtypes = {t.dtype.name for t in operands}
    if len(dtypes) > 1:
        raise TypeError(f"einsum: all operands must have the same dtype. Received: "
                        f"equation={equation!r}, dtypes={[t.dtype.name for t in operands]}")
    spec = _parse(equation, shapes)
    sizes = spec.sizes
    output = spec.output

    terms = [_take_diagonals(t, list(labels)) for t, labels in zip(operands, spec.inputs,
                                                                    strict=True)]
    # Step 2: sum what nobody else needs, squeeze broadcast ellipsis axes.
    reduced = []
    for i, (t, labels) in enumerate(terms):
        elsewhere = set(output).union(*(set(lab) for j, (_, lab) in enumerate(terms) if j != i))
        axes = [k for k, lab in enumerate(labels) if lab not in elsewhere]
        if axes:
            t = reduce_sum(t, axis=axes)
            labels = [lab for lab in labels if lab in elsewhere]
        ones = [k for k, lab in enumerate(labels)
                if lab.startswith("...") and t._shape_tuple[k] == 1 and sizes[lab] != 1
                and sizes[lab] is not None]
        if ones:
            t = squeeze(t, ones)
            labels = [lab for k, lab in enumerate(labels) if k not in ones]
        reduced.append((t, labels))

    t, labels = reduced[0]
    for i in range(1, len(reduced)):
        b, lb = reduced[i]
        later = [lab for _, rest in reduced[i + 1:] for lab in rest]
        keep = list(output) + [lab for lab in dict.fromkeys(labels + lb + later)
                               if lab not in output and lab in later]
        t, labels = _contract(t, labels, b, lb, keep, sizes)
    if len(reduced) == 1 and t is operands[0] and labels == output:
        return identity(t)  # a new handle, as tf.einsum("ij->ij", x) returns a new tensor
    return _permute(t, labels, output)
