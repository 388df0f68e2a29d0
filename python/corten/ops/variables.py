"""corten.Variable: a mutable tensor, updated in place."""

from __future__ import annotations

import itertools
import sys
import weakref
from typing import Any

import numpy as np

from corten import _C
from corten.dtypes import as_dtype
from corten.ops import _symbolic as _sym

Tensor = _C.Tensor

__all__ = ["Variable"]

_uid = itertools.count()

# Live Variables by tensor id, so that C++ handles (GradientTape.watched_variables) map back to
# the Python objects.
_by_id: weakref.WeakValueDictionary[int, Variable] = weakref.WeakValueDictionary()


def _lookup(t: Tensor) -> Tensor:
    """The Python Variable behind the C++ handle ``t`` (``t`` itself if there is none)."""
    v = _by_id.get(t._id)
    return t if v is None else v


# Counts changes of any Variable's trainable flag: cached weight lists (keras layers) compare it.
trainable_changes = [0]


class Variable(Tensor):
    """A tensor whose value can change in place: ``assign``, ``assign_add``, ``assign_sub``.

    It reads like a tensor everywhere (ops, operators, ``numpy()``, ``np.asarray``). Trainable
    variables used by an op while a GradientTape records are watched automatically.

    Args:
        initial_value: a tensor, numpy array or Python value (copied), or a zero-argument
            callable returning one.
        trainable: whether tapes watch the variable automatically.
        name: a name; defaults to "Variable".
        dtype: converts the initial value to this dtype.

    Example:
        >>> v = corten.Variable([1.0, 2.0])
        >>> v.assign_add([1.0, 1.0])
    """

    def __init__(self, initial_value: Any = None, trainable: bool = True, name: str | None = None,
                 dtype: Any = None, **kwargs: Any) -> None:
        if initial_value is None:
            raise ValueError("Variable: initial_value must be given. Received: initial_value=None")
        if callable(initial_value):
            initial_value = initial_value()
        unsupported = set(kwargs) - {"validate_shape", "caching_device", "constraint",
                                     "synchronization", "aggregation", "shape",
                                     "experimental_enable_variable_lifting", "import_scope"}
        if unsupported:
            raise TypeError(f"Variable: unexpected keyword arguments {sorted(unsupported)}")
        dtype = None if dtype is None else as_dtype(dtype)
        super().__init__(_C.make_variable(initial_value, dtype, bool(trainable)))
        self._name = name if name is not None else "Variable"
        self._unique_id = next(_uid)
        self.constraint = kwargs.get("constraint")
        _by_id[self._id] = self
        # Created in a data-parallel strategy's scope: every rank starts from rank 0's value.
        distribute = sys.modules.get("corten.distribute")
        if distribute is not None and distribute.has_strategy():
            distribute.get_strategy()._broadcast_variable(self)

    @property
    def name(self) -> str:
        """The variable's name, with TensorFlow's ":0" suffix."""
        return f"{self._name}:0"

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        _C.set_trainable(self, bool(value))
        trainable_changes[0] += 1

    def assign(self, value: Any, use_locking: bool = False, name: str | None = None,
               read_value: bool = True):
        """Copies ``value`` (same shape; converted to the variable's dtype) into the variable.

        Raises:
            ValueError: if the shapes differ; the variable is left unchanged.
            TypeError: if the value's dtype differs (tensors) or cannot be converted implicitly
                (Python and numpy values); the variable is left unchanged.
        """
        if _sym.tracing and getattr(value, "device", None) == "meta":
            return self if read_value else None  # Note [Symbolic dispatch]: no data
        _C.assign_variable(self, value, "assign")
        return self if read_value else None

    def assign_add(self, delta: Any, use_locking: bool = False, name: str | None = None,
                   read_value: bool = True):
        """In-place ``self += delta`` (``delta`` has the variable's shape; errors as ``assign``)."""
        if _sym.tracing and getattr(delta, "device", None) == "meta":
            return self if read_value else None  # Note [Symbolic dispatch]: no data
        _C.assign_variable(self, delta, "assign_add")
        return self if read_value else None

    def assign_sub(self, delta: Any, use_locking: bool = False, name: str | None = None,
                   read_value: bool = True):
        """In-place ``self -= delta`` (``delta`` has the variable's shape; errors as ``assign``)."""
        if _sym.tracing and getattr(delta, "device", None) == "meta":
            return self if read_value else None  # Note [Symbolic dispatch]: no data
        _C.assign_variable(self, delta, "assign_sub")
        return self if read_value else None

    def read_value(self) -> Tensor:
        """A snapshot of the current value (a new tensor that later assignments do not change)."""
        return _C.clone(self)

    def value(self) -> Tensor:
        return self.read_value()

    def ref(self) -> _VariableRef:
        """A hashable reference to this variable (variables themselves are not hashable)."""
        return _VariableRef(self)

    experimental_ref = ref

    def __repr__(self) -> str:
        return (f"<corten.Variable '{self.name}' shape={self.shape} dtype={self.dtype.name}, "
                f"numpy={np.array_repr(np.asarray(self))}>")

    __str__ = __repr__


class _VariableRef:
    __slots__ = ("_variable",)

    def __init__(self, variable: Variable) -> None:
        self._variable = variable

    def deref(self) -> Variable:
        return self._variable

    def __hash__(self) -> int:
        return id(self._variable)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _VariableRef) and other._variable is self._variable
