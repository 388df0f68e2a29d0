"""tf.einsum against numpy.einsum (float64 references): the equations of EinsumDense and
MultiHeadAttention, ellipses, diagonals, reductions, outer products, several operands;
gradients against finite differences; the error messages; traced and symbolic use."""

from __future__ import annotations

import corten as tf
import numpy as np
import pytest
from cases import as_layout
from corten import keras
from corten.keras.layers.multi_head_attention import _build_attention_equation

# float32 products summed in float32 over at most ~40 terms of size <= 9
TOL = {"float32": {"rtol": 2e-5, "atol": 1e-4}, "float64": {"rtol": 1e-10, "atol": 1e-12}}

_DOT_4D, _COMBINE_4D, _ = _build_attention_equation(4, (1,))
# 2-D attention over axes 2 and 3 of a rank-5 query: projections of rank 6
_DOT_6D, _COMBINE_6D, _ = _build_attention_equation(6, (2, 3))

# (equation, operand shapes): tf-keras's EinsumDense test equations, its attention equations
# (projections, query-key products, combinations, over one and two axes), and the rest.
CASES = [
    ("ab,b->a", [(3, 5), (5,)]),
    ("ab,bc->ac", [(3, 5), (5, 4)]),
    ("abc,cde->abde", [(2, 3, 4), (4, 2, 5)]),
    ("BFNH,NHD->BFD", [(2, 3, 2, 4), (2, 4, 5)]),
    ("abc,cd->abd", [(2, 3, 4), (4, 5)]),
    ("i,d->id", [(4,), (3,)]),
    ("ibd,nd->ibn", [(3, 2, 4), (5, 4)]),
    ("...b,bc->...c", [(3, 5), (5, 4)]),
    ("...b,bc->...c", [(2, 3, 5), (5, 4)]),
    ("...bc,bc->...b", [(2, 3, 4), (3, 4)]),
    ("...c,cde->...de", [(2, 3, 4), (4, 2, 3)]),
    ("bc...,cd->bd...", [(2, 3, 2, 4), (3, 5)]),
    ("bc...,cde->bde...", [(2, 3, 4), (3, 2, 5)]),
    (_DOT_4D, [(2, 5, 3, 4), (2, 6, 3, 4)]),  # aecd,abcd->acbe
    (_COMBINE_4D, [(2, 3, 6, 5), (2, 5, 3, 4)]),  # acbe,aecd->abcd
    ("abcd,cde->abe", [(2, 6, 3, 4), (3, 4, 7)]),
    (_DOT_6D, [(2, 2, 3, 2, 2, 3), (2, 2, 2, 3, 2, 3)]),  # abghef,abcdef->abecdgh
    (_COMBINE_6D, [(2, 2, 2, 2, 3, 3, 2), (2, 2, 3, 2, 2, 4)]),
    ("bqhd,bkhd->bhqk", [(2, 4, 3, 5), (2, 6, 3, 5)]),
    ("bhqk,bkhd->bqhd", [(2, 3, 4, 6), (2, 6, 3, 5)]),
    ("ij,jk", [(3, 4), (4, 2)]),
    ("ba,cb->ac", [(4, 3), (2, 4)]),
    ("ijk,jil->kl", [(3, 4, 2), (4, 3, 5)]),
    ("bij,bjk->bik", [(3, 2, 4), (3, 4, 5)]),
    ("bji,bjk->bik", [(3, 4, 2), (3, 4, 5)]),
    ("bij,bkj->bki", [(3, 2, 4), (3, 5, 4)]),
    ("...ij,...jk->...ik", [(3, 1, 2, 4), (1, 5, 4, 3)]),
    ("...ij,jk->...ik", [(2, 3, 4), (4, 5)]),
    ("ij->ji", [(3, 4)]),
    ("ij->i", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("ii->i", [(4, 4)]),
    ("ii", [(4, 4)]),
    ("iij->ji", [(3, 3, 2)]),
    ("ijij->ij", [(2, 3, 2, 3)]),
    ("...->...", [(2, 3)]),
    ("i,i->", [(5,)] * 2),
    ("i,i->i", [(5,)] * 2),
    ("bi,bi->b", [(3, 5)] * 2),
    ("bi,bj->bij", [(3, 4), (3, 2)]),
    ("i,j->ij", [(3,), (4,)]),
    (",ij->ij", [(), (2, 3)]),
    ("ij,kl->ijkl", [(2, 3), (1, 2)]),
    ("ab,cd->", [(2, 3), (3, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("i,i,i->i", [(4,)] * 3),
    ("ab,ab,ab->", [(2, 3)] * 3),
    ("a,b,c->abc", [(2,), (3,), (4,)]),
    ("ab,bc,ca->", [(2, 3), (3, 4), (4, 2)]),
    ("ij,jk->ik", [(2, 0), (0, 3)]),
    ("ij,jk->ik", [(0, 3), (3, 2)]),
    (" ab , bc -> ac ", [(2, 3), (3, 4)]),
]


def _ids(case):
    return f"{case[0].strip()}|{'x'.join(map(str, [len(s) for s in case[1]]))}"


@pytest.mark.parametrize(("equation", "shapes"), CASES, ids=[_ids(c) for c in CASES])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_numpy(equation, shapes, dtype, rng):
    arrays = [rng.uniform(-3, 3, size=s).astype(dtype) for s in shapes]
    got = tf.einsum(equation, *[tf.constant(a) for a in arrays])
    want = np.einsum(equation, *[a.astype(np.float64) for a in arrays])
    assert got.dtype.name == dtype
    assert tuple(got.shape) == want.shape
    np.testing.assert_allclose(got.numpy().astype(np.float64), want, **TOL[dtype])


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_integer_operands(dtype, rng):
    a = rng.integers(-5, 5, size=(2, 3, 4)).astype(dtype)
    b = rng.integers(-5, 5, size=(4, 5)).astype(dtype)
    got = tf.einsum("abc,cd->abd", a, b)
    assert got.dtype.name == dtype
    np.testing.assert_array_equal(got.numpy(), np.einsum("abc,cd->abd", a, b))


@pytest.mark.parametrize("layout", ["transposed", "strided", "negstep"])
def test_non_contiguous_operands(layout, rng):
    a = rng.standard_normal((3, 4, 5))
    b = rng.standard_normal((5, 4, 2))
    for eq in ("abc,cbd->ad", "abc,cde->abde", "abc,cbd->bad"):
        got = tf.einsum(eq, as_layout(a, layout), as_layout(b, layout))
        np.testing.assert_allclose(got.numpy(), np.einsum(eq, a, b), **TOL["float64"])


def test_numpy_and_python_operands():
    got = tf.einsum("ij,j->i", np.eye(3), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(got.numpy(), [1.0, 2.0, 3.0])


def test_identity_equation_returns_a_new_tensor():
    x = tf.constant([[1.0, 2.0]])
    y = tf.einsum("ij->ij", x)
    assert y is not x
    np.testing.assert_array_equal(y.numpy(), x.numpy())


def test_the_batch_size_is_not_fixed_in_traced_plans(rng):
    """The reshapes say -1 for the batch: plans traced at two batch sizes relax."""
    kernel = tf.constant(rng.standard_normal((4, 2, 3)))
    f = tf.function(lambda x: tf.einsum("abc,cde->abde", x, kernel), reduce_retracing=True)
    for n in (2, 3, 5, 7):
        x = rng.standard_normal((n, 3, 4))
        np.testing.assert_allclose(f(tf.constant(x)).numpy(),
                                   np.einsum("abc,cde->abde", x, kernel.numpy()),
                                   **TOL["float64"])
    assert f.experimental_get_tracing_count() == 2


# ------------------------------------------------------------------------------ gradients

GRAD_CASES = [
    ("abc,cde->abde", [(2, 3, 2), (2, 2, 3)]),
    (_DOT_4D, [(2, 3, 2, 2), (2, 2, 2, 2)]),
    (_COMBINE_4D, [(2, 2, 2, 3), (2, 3, 2, 2)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (1, 2, 3, 2)]),
    ("ii->i", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("i,j->ij", [(2,), (3,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
]


def _finite_difference(equation, arrays, weight, k, eps=1e-6):
    grad = np.zeros_like(arrays[k])
    for idx in np.ndindex(arrays[k].shape):
        plus = [a.copy() for a in arrays]
        minus = [a.copy() for a in arrays]
        plus[k][idx] += eps
        minus[k][idx] -= eps
        grad[idx] = (np.sum(np.einsum(equation, *plus) * weight)
                     - np.sum(np.einsum(equation, *minus) * weight)) / (2 * eps)
    return grad


@pytest.mark.parametrize(("equation", "shapes"), GRAD_CASES, ids=[_ids(c) for c in GRAD_CASES])
def test_gradients_match_finite_differences(equation, shapes, rng):
    arrays = [rng.uniform(-2, 2, size=s) for s in shapes]
    weight = rng.uniform(-1, 1, size=np.einsum(equation, *arrays).shape)
    tensors = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as tape:
        for t in tensors:
            tape.watch(t)
        loss = tf.reduce_sum(tf.einsum(equation, *tensors) * tf.constant(weight))
    grads = tape.gradient(loss, tensors)
    for k, g in enumerate(grads):
        np.testing.assert_allclose(g.numpy(), _finite_difference(equation, arrays, weight, k),
                                   rtol=1e-7, atol=1e-8)


# ------------------------------------------------------------------------------ errors

def test_wrong_operand_count():
    with pytest.raises(ValueError, match=r"einsum: the equation has 2 input term\(s\) but 1 "
                                         r"operand\(s\) were given.*equation='ij,jk->ik', "
                                         r"shapes=\[\(2, 3\)\]"):
        tf.einsum("ij,jk->ik", np.ones((2, 3)))
    with pytest.raises(ValueError, match="einsum: at least one operand"):
        tf.einsum("ij")


def test_rank_mismatch_names_the_operand_and_shape():
    with pytest.raises(ValueError, match=r"einsum: operand 1 has rank 3 \(shape \(3, 4, 5\)\) "
                                         r"but its subscripts 'jk' name 2 axes"):
        tf.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((3, 4, 5)))
    with pytest.raises(ValueError, match=r"subscripts '\.\.\.ijk' name 3 axes and an ellipsis"):
        tf.einsum("...ijk->...", np.ones((2, 3)))


def test_size_mismatch_names_both_operands():
    with pytest.raises(ValueError, match=r"einsum: subscript 'j' has size 3 in operand 0 "
                                         r"\(axis 1, shape \(2, 3\)\) but size 4 in operand 1 "
                                         r"\(axis 0, shape \(4, 5\)\).*shapes=\[\(2, 3\), "
                                         r"\(4, 5\)\]"):
        tf.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((4, 5)))
    # named axes do not broadcast (tf.einsum's rule), ellipsis axes do
    with pytest.raises(ValueError, match="subscript 'i' has size 2 in operand 0"):
        tf.einsum("ij,ij->ij", np.ones((2, 3)), np.ones((1, 3)))
    with pytest.raises(ValueError, match="the ellipsis has size 2 in operand 0"):
        tf.einsum("...j,...j->...j", np.ones((2, 3)), np.ones((4, 3)))
    with pytest.raises(ValueError, match="subscript 'i' has size 2 in operand 0 .* size 3"):
        tf.einsum("ii->i", np.ones((2, 3)))


@pytest.mark.parametrize(("equation", "message"), [
    ("ij,jk->ik->i", "more than one '->'"),
    ("i1,jk->ik", r"input term 0 'i1' has invalid character\(s\) '1'"),
    ("i..j,jk->ik", r"invalid character\(s\) '\.'.*written '\.\.\.'"),
    ("ij,jk->iz", "output subscript 'z' appears in no input"),
    ("ij,jk->ii", r"output subscript\(s\) 'i' appear more than once"),
    ("...ij,jk->ik", r"no '\.\.\.' to put them in"),
    ("ij,jk->i,k", r"output term 'i,k' has invalid character"),
])
def test_malformed_equations(equation, message):
    first = np.ones((2, 2, 2)) if equation.startswith("...") else np.ones((2, 2))
    with pytest.raises(ValueError, match=message):
        tf.einsum(equation, first, np.ones((2, 2)))


def test_type_errors():
    with pytest.raises(TypeError, match=r"einsum: all operands must have the same dtype.*"
                                        r"dtypes=\['float32', 'float64'\]"):
        tf.einsum("ij,jk->ik", np.ones((2, 2), "float32"), np.ones((2, 2), "float64"))
    with pytest.raises(TypeError, match="einsum: equation must be a string"):
        tf.einsum(3, np.ones(2))
    with pytest.raises(TypeError, match="unexpected keyword argument 'axis'"):
        tf.einsum("i->i", np.ones(2), axis=0)
    tf.einsum("i->i", np.ones(2), name="e", optimize="greedy")  # TensorFlow's, ignored


# ------------------------------------------------------------------------------ symbolic use

def test_symbolic_inputs_give_a_graph_node_with_unknown_sizes():
    x = keras.Input(shape=(None, 6))
    w = keras.Input(shape=(6, 4), batch_size=None)
    y = tf.einsum("btd,bde->bte", x, w)
    assert tuple(y.shape) == (None, None, 4)
    model = keras.Model([x, w], y)
    rebuilt = keras.Model.from_config(model.get_config())
    a = np.random.default_rng(0).standard_normal((2, 3, 6)).astype("float32")
    b = np.random.default_rng(1).standard_normal((2, 6, 4)).astype("float32")
    np.testing.assert_allclose(rebuilt([a, b]).numpy(), np.einsum("btd,bde->bte", a, b),
                               **TOL["float32"])


def test_namespaces():
    assert tf.linalg.einsum is tf.einsum
    assert tf.linalg.matmul is tf.matmul
