"""The op test table and the shapes, layouts and input builders the op tests share.

``OP_CASES`` holds one :class:`OpCase` per elementwise op (name, function, numpy reference,
dtypes, input domain, gradient sampler, bench case): the forward tests (test_elementwise.py),
the gradient checks (autograd/test_gradcheck.py), the fuzz tests (test_fuzz.py) and the bench
link all read it, and a coverage test fails when an op of the C++ table has no case. Every op
is checked against a numpy float64 reference over SHAPES (0-d, empty, size-1, plain) and
LAYOUTS (contiguous and three non-contiguous views of the same values).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import corten
import numpy as np

SHAPES = [(), (1,), (0,), (0, 3), (7,), (3, 4), (2, 3, 4)]
BROADCAST_PAIRS = [((3, 1), (1, 4)), ((4,), (2, 3, 4)), ((), (2, 3)), ((2, 1, 3), (4, 1)),
                   ((0, 1), (1, 5))]
LAYOUTS = ["contiguous", "transposed", "strided", "negstep"]

FLOAT_DTYPES = ["float32", "float64"]
# The CPU kernel sets this CPU supports, the portable baseline first.
SUPPORTED_ISAS = ["baseline"] + (["avx2"] if corten._C.cpu_has_avx2() else []) + (
    ["avx512"] if corten._C.cpu_has_avx512() else [])
INT_DTYPES = ["int32", "int64"]
NUMERIC_DTYPES = INT_DTYPES + FLOAT_DTYPES
ALL_DTYPES = ["bool"] + NUMERIC_DTYPES

TOL = {"float32": {"rtol": 1e-5, "atol": 1e-6}, "float64": {"rtol": 1e-10, "atol": 1e-12}}


def tol(dtype: str) -> dict:
    return TOL.get(dtype, {"rtol": 0, "atol": 0})


def random_array(rng: np.random.Generator, shape, dtype: str, low=-3.0, high=3.0) -> np.ndarray:
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype in INT_DTYPES:
        return rng.integers(int(low) - 2, int(high) + 3, size=shape).astype(dtype)
    return rng.uniform(low, high, size=shape).astype(dtype)


def as_layout(a: np.ndarray, layout: str) -> corten.Tensor:
    """A corten tensor equal to `a` whose memory layout is `layout` (a view for all but
    'contiguous')."""
    a = np.asarray(a)
    if layout == "contiguous" or a.ndim == 0:
        return corten.constant(np.array(a, order="C"))
    if layout == "transposed":
        base = corten.constant(np.ascontiguousarray(a.T))
        t = corten.transpose(base)
    elif layout == "strided":
        big = np.zeros(a.shape[:-1] + (a.shape[-1] * 2,), dtype=a.dtype)
        big[..., ::2] = a
        t = corten.constant(big)[..., ::2]
    elif layout == "negstep":
        t = corten.constant(np.ascontiguousarray(a[..., ::-1]))[..., ::-1]
    else:
        raise ValueError(layout)
    assert tuple(t.shape) == a.shape
    return t


def check_close(got: corten.Tensor, want: np.ndarray, dtype: str, **kw) -> None:
    got_np = np.asarray(got)
    assert got_np.shape == want.shape, (got_np.shape, want.shape)
    if dtype in TOL:
        np.testing.assert_allclose(got_np.astype(np.float64), want, equal_nan=True, **{**tol(dtype), **kw})
    else:
        np.testing.assert_array_equal(got_np, want)


# --- Gradient samplers: float64 inputs for the finite-difference checks ---------------------

_grad_rng = np.random.default_rng(20240617)


def U(*shape, lo=-2.0, hi=2.0):
    """Uniform values."""
    return _grad_rng.uniform(lo, hi, shape)


def P(*shape, lo=0.5, hi=2.0):
    """Positive values."""
    return _grad_rng.uniform(lo, hi, shape)


def away(*shape, kinks=(0.0,), lo=-2.0, hi=2.0, margin=0.15):
    """Uniform values moved at least ``margin`` away from each kink."""
    x = _grad_rng.uniform(lo, hi, shape)
    for k in kinks:
        near = np.abs(x - k) < margin
        x = np.where(near, k + np.where(x >= k, 2 * margin, -2 * margin), x)
    return x


def distinct(*shape, spacing=0.3):
    """Values at least ``spacing`` apart (no ties for max/min)."""
    n = int(np.prod(shape))
    v = (_grad_rng.permutation(n) - n / 2) * spacing + _grad_rng.uniform(-0.02, 0.02, n)
    return v.reshape(shape)


# --- The op case table (OpInfo) -------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class OpCase:
    """One elementwise op, as every generic test sees it.

    Attributes:
        name: the op's name in the C++ op table (``corten._C.elementwise_ops()``).
        fn: the public function (the tf-style wrapper, so symbolic dispatch is covered too).
        ref: the numpy reference, applied to float64 inputs (or to the integer/bool inputs).
        dtypes: the input dtypes the forward test runs.
        domain: the input range of the forward and fuzz tests.
        grad: for a differentiable op, the float64 input sampler(s) of the gradient check (one
            per operand; None otherwise). A custom list of gradcheck cases may be given in
            test_gradcheck.py instead, when the op needs special inputs.
        fuzz: whether the fuzz test compares values with ``ref`` (False: only shapes and
            errors, for ops whose edge values differ from numpy's by definition).
        bench: the key of the op's case in the bench table (corten.bench.peers.cases), if any.
    """

    name: str
    fn: Callable
    ref: Callable
    dtypes: tuple[str, ...]
    domain: tuple[float, float] = (-3.0, 3.0)
    grad: tuple[Callable, ...] | None = None
    fuzz: bool = True
    bench: str | None = None

    @property
    def arity(self) -> int:
        return 1 if self.name in UNARY_NAMES else 2


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


F = tuple(FLOAT_DTYPES)
N = tuple(NUMERIC_DTYPES)
ANY = tuple(ALL_DTYPES)


def _u(name, fn, ref, dtypes, domain=(-3.0, 3.0), grad=None, **kw):
    return OpCase(name, fn, ref, dtypes, domain, None if grad is None else (grad,), **kw)


UNARY_CASES: list[OpCase] = [
    _u("negative", corten.negative, np.negative, N, grad=U),
    _u("abs", corten.abs, np.abs, N, grad=away),
    _u("sign", corten.sign, np.sign, N, grad=away),
    _u("square", corten.square, np.square, N, grad=U),
    _u("sqrt", corten.sqrt, np.sqrt, F, (0.1, 4.0), grad=P),
    _u("rsqrt", corten.math.rsqrt, lambda x: 1 / np.sqrt(x), F, (0.1, 4.0), grad=P),
    _u("exp", corten.exp, np.exp, F, (-5.0, 5.0), grad=U, bench="ops/exp 1M"),
    _u("log", corten.math.log, np.log, F, (0.1, 5.0), grad=P),
    _u("log1p", corten.math.log1p, np.log1p, F, (-0.5, 5.0),
       grad=lambda *s: U(*s, lo=-0.5, hi=2.0)),
    _u("expm1", corten.math.expm1, np.expm1, F, grad=U),
    _u("sin", corten.sin, np.sin, F, grad=U),
    _u("cos", corten.cos, np.cos, F, grad=U),
    _u("tanh", corten.tanh, np.tanh, F, (-4.0, 4.0), grad=U, bench="ops/tanh 1M"),
    _u("sigmoid", corten.sigmoid, _sigmoid, F, (-8.0, 8.0), grad=U, bench="ops/sigmoid 1M"),
    _u("round", corten.round, np.round, N, (-4.0, 4.0)),
    _u("floor", corten.floor, np.floor, N, (-4.0, 4.0)),
    _u("ceil", corten.math.ceil, np.ceil, N, (-4.0, 4.0)),
    _u("logical_not", corten.math.logical_not, np.logical_not, ("bool",)),
    _u("reciprocal", corten.math.reciprocal, lambda x: 1 / x, F, (0.5, 4.0),
       grad=lambda *s: away(*s, margin=0.4)),
    _u("relu", corten.nn.relu, lambda x: np.maximum(x, 0), N, grad=away, bench="ops/relu 1M"),
    _u("relu6", corten.nn.relu6, lambda x: np.clip(x, 0, 6), N, (-3.0, 9.0),
       grad=lambda *s: away(*s, kinks=(0.0, 6.0), lo=-2.0, hi=8.0)),
    _u("leaky_relu", corten.nn.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x), F, grad=away),
    _u("elu", corten.nn.elu, lambda x: np.where(x > 0, x, np.expm1(x)), F, grad=away),
    _u("selu", corten.nn.selu,
       lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)), F,
       grad=away),
    _u("gelu", corten.nn.gelu, lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))), F, grad=U),
    _u("gelu_tanh", lambda x: corten.nn.gelu(x, approximate=True),
       lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))), F, grad=U),
    _u("softplus", corten.nn.softplus, lambda x: np.logaddexp(x, 0), F, (-30.0, 30.0), grad=U),
    _u("softsign", corten.nn.softsign, lambda x: x / (1 + np.abs(x)), F, grad=away),
    _u("silu", corten.nn.silu, lambda x: x * _sigmoid(x), F, (-5.0, 5.0), grad=U),
    _u("hard_sigmoid", corten.ops.nn.hard_sigmoid, lambda x: np.clip(0.2 * x + 0.5, 0, 1), F,
       (-4.0, 4.0), grad=lambda *s: away(*s, kinks=(-2.5, 2.5), lo=-4.0, hi=4.0)),
    _u("erf", corten.math.erf, _erf, F, grad=U),
]


def _b(name, fn, ref, dtypes, grad=None, **kw):
    return OpCase(name, fn, ref, dtypes, (-3.0, 3.0), grad, **kw)


def _no_nan_div(a, b):
    return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


def _far_from_zero(*s):
    return away(*s, margin=0.5)


BINARY_CASES: list[OpCase] = [
    _b("add", corten.add, np.add, N, (U, U), bench="ops/add 1M"),
    _b("subtract", corten.subtract, np.subtract, N, (U, U)),
    _b("multiply", corten.multiply, np.multiply, N, (U, U), bench="ops/multiply 1M"),
    _b("divide", corten.divide, np.true_divide, F, (U, _far_from_zero)),
    _b("divide_no_nan", corten.math.divide_no_nan, _no_nan_div, F, (U, _far_from_zero),
       fuzz=False),
    _b("relu_grad", corten._C.relu_grad, lambda g, x: np.where(x > 0, g, 0).astype(g.dtype), N,
       (U, _far_from_zero)),
    _b("maximum", corten.maximum, np.maximum, N, (distinct, distinct)),
    _b("minimum", corten.minimum, np.minimum, N, (distinct, distinct)),
    _b("pow", corten.pow, np.power, F, (P, U), fuzz=False),
    _b("floordiv", corten.math.floordiv, np.floor_divide, F, fuzz=False),
    _b("floormod", corten.math.floormod, np.mod, F, (U, U), fuzz=False),
    _b("equal", corten.equal, np.equal, ANY),
    _b("not_equal", corten.not_equal, np.not_equal, ANY),
    _b("less", corten.less, np.less, N),
    _b("less_equal", corten.less_equal, np.less_equal, N),
    _b("greater", corten.greater, np.greater, N),
    _b("greater_equal", corten.greater_equal, np.greater_equal, N),
    _b("logical_and", corten.logical_and, np.logical_and, ("bool",)),
    _b("logical_or", corten.logical_or, np.logical_or, ("bool",)),
]

UNARY_NAMES = frozenset(c.name for c in UNARY_CASES)
OP_CASES: dict[str, OpCase] = {c.name: c for c in UNARY_CASES + BINARY_CASES}
