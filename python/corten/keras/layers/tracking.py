"""Tracked containers: the lists and dicts a layer holds as attributes notify it when they change.

Note [Tracked containers]
``self.blocks = [Dense(4), Dense(8)]`` stores a :class:`TrackedList` (``self.heads = {...}`` a
:class:`TrackedDict`): a list or dict with the same contents, owned by the layer. Adding a layer
or variable to it (``append``, ``extend``, ``insert``, item assignment, ``update``, ...) tracks
it at once, and removing one untracks it unless the layer still holds it elsewhere, as Keras 3's
``utils/tracking.py`` does. So a layer's tree and weight lists change only through
``__setattr__``, ``__delattr__`` and these containers, and the caches keyed by the tracking
version never rescan attributes. The stored container is a copy: mutating the original list
object after the assignment does not reach the layer (as in Keras 3). Nested lists and dicts are
tracked too.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["TrackedList", "TrackedDict", "wrap"]


def wrap(value: Any, owner: Any) -> Any:
    """`value` with its lists and dicts (nested ones too) as tracked containers of `owner`."""
    if isinstance(value, TrackedList | TrackedDict) and value._owner() is owner:
        return value
    if isinstance(value, list):
        return TrackedList(value, owner)
    if isinstance(value, dict) and type(value) in (dict, TrackedDict):
        return TrackedDict(value, owner)
    return value


class _Tracked:
    __slots__ = ()

    def _notify(self, added: Iterable[Any] = (), removed: Iterable[Any] = ()) -> None:
        owner = self._owner()
        if owner is not None:
            for value in added:
                owner._track(value)
            for value in removed:
                owner._untrack(value)

    def _wrap(self, value: Any) -> Any:
        owner = self._owner()
        return value if owner is None else wrap(value, owner)


def _no_owner() -> None:
    return None


class TrackedList(_Tracked, list):
    """A list that tracks the layers and variables put into it (Note [Tracked containers])."""

    __slots__ = ("_owner",)

    def __init__(self, values: Iterable[Any] = (), owner: Any = None) -> None:
        self._owner: Callable[[], Any] = _no_owner if owner is None else weakref.ref(owner)
        super().__init__(self._wrap(v) for v in values)

    def append(self, value: Any) -> None:
        value = self._wrap(value)
        super().append(value)
        self._notify(added=[value])

    def extend(self, values: Iterable[Any]) -> None:
        values = [self._wrap(v) for v in values]
        super().extend(values)
        self._notify(added=values)

    def insert(self, index: Any, value: Any) -> None:
        value = self._wrap(value)
        super().insert(index, value)
        self._notify(added=[value])

    def __iadd__(self, values: Iterable[Any]) -> TrackedList:
        self.extend(values)
        return self

    def __imul__(self, n: int) -> TrackedList:
        old = list(self)
        super().__imul__(n)
        if n <= 0:  # repeats hold the same objects: only emptying removes any
            self._notify(removed=old)
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        old = self[index]
        value = [self._wrap(v) for v in value] if isinstance(index, slice) else self._wrap(value)
        super().__setitem__(index, value)
        self._notify(added=value if isinstance(index, slice) else [value],
                     removed=old if isinstance(index, slice) else [old])

    def __delitem__(self, index: Any) -> None:
        old = self[index]
        super().__delitem__(index)
        self._notify(removed=old if isinstance(index, slice) else [old])

    def pop(self, index: Any = -1) -> Any:
        value = super().pop(index)
        self._notify(removed=[value])
        return value

    def remove(self, value: Any) -> None:
        super().remove(value)
        self._notify(removed=[value])

    def clear(self) -> None:
        old = list(self)
        super().clear()
        self._notify(removed=old)

    def __reduce_ex__(self, protocol: Any) -> Any:
        return list, (list(self),)  # copies and pickles are plain lists


class TrackedDict(_Tracked, dict):
    """A dict that tracks the layers and variables put into it (Note [Tracked containers])."""

    __slots__ = ("_owner",)

    def __init__(self, values: Any = (), owner: Any = None) -> None:
        self._owner: Callable[[], Any] = _no_owner if owner is None else weakref.ref(owner)
        super().__init__()
        super().update((k, self._wrap(v)) for k, v in dict(values).items())

    def __setitem__(self, key: Any, value: Any) -> None:
        old = [self[key]] if key in self else []
        value = self._wrap(value)
        super().__setitem__(key, value)
        self._notify(added=[value], removed=old)

    def __delitem__(self, key: Any) -> None:
        old = self[key]
        super().__delitem__(key)
        self._notify(removed=[old])

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key: Any, *default: Any) -> Any:
        had = key in self
        value = super().pop(key, *default)
        if had:
            self._notify(removed=[value])
        return value

    def popitem(self) -> tuple[Any, Any]:
        item = super().popitem()
        self._notify(removed=[item[1]])
        return item

    def clear(self) -> None:
        old = list(self.values())
        super().clear()
        self._notify(removed=old)

    def __ior__(self, other: Any) -> TrackedDict:
        self.update(other)
        return self

    def __reduce_ex__(self, protocol: Any) -> Any:
        return dict, (dict(self),)
