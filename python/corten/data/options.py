"""``tf.data.Options``: settings a dataset carries through its transformations.

``dataset.with_options(options)`` returns the dataset with ``options`` merged over the options
its inputs already carry; ``dataset.options()`` returns that merged set. As in TensorFlow an
option keeps its default until it is set, and when two option sets are merged the option set
last wins, group by group (``options.experimental_distribute.auto_shard_policy`` set in one
and ``options.deterministic`` in another both survive).

The options corten reads are ``experimental_distribute.auto_shard_policy`` (how
``tf.distribute`` splits a dataset over the ranks of a data-parallel job, see
``corten.distribute``) and ``deterministic`` (always honoured: corten's pipelines produce
elements in order).

Example:
    >>> options = tf.data.Options()
    >>> options.experimental_distribute.auto_shard_policy = (
    ...     tf.data.experimental.AutoShardPolicy.OFF)
    >>> dataset = dataset.with_options(options)
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Iterator
from typing import Any

__all__ = ["AutoShardPolicy", "DistributeOptions", "Options", "SHARD_HINT"]

# ``dataset.shard(SHARD_HINT, ...)`` marks where AutoShardPolicy.HINT shards (tf's kShardHint).
SHARD_HINT = -1


class AutoShardPolicy(enum.IntEnum):
    """How ``tf.distribute`` shards a dataset over the workers of a data-parallel job
    (``tf.data.experimental.AutoShardPolicy``, with TensorFlow's values).

    * ``OFF``: no sharding: every worker reads the whole dataset (each global batch is still
      cut into per-replica batches, and every worker steps through all of them).
    * ``AUTO``: FILE, falling back to DATA. corten has no file-reading datasets, so it is DATA.
    * ``FILE``: shards the input files; corten has none, so it falls back to DATA (TensorFlow
      raises for a dataset without file readers).
    * ``DATA``: every worker reads the whole dataset and keeps its part of each global batch.
    * ``HINT``: ``shard(SHARD_HINT, i)`` in the pipeline becomes ``shard(num_workers,
      worker_index)``; nothing else is sharded.
    """

    OFF = -1
    AUTO = 0
    FILE = 1
    DATA = 2
    HINT = 3


class _OptionsGroup:
    """A set of options with defaults; remembers which were set, for merging."""

    _defaults: dict[str, Any] = {}
    _types: dict[str, tuple] = {}

    def __init__(self) -> None:
        object.__setattr__(self, "_set", {})

    def __getattr__(self, name: str) -> Any:
        defaults = type(self)._defaults
        if name not in defaults:
            raise AttributeError(f"{type(self).__name__} has no option {name!r}")
        values = object.__getattribute__(self, "_set")
        if name not in values:
            # Nested groups are created on first read, so `o.group.option = v` sets them.
            default = defaults[name]
            if isinstance(default, type) and issubclass(default, _OptionsGroup):
                values[name] = default()
                return values[name]
            return default
        return values[name]

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in type(self)._defaults:
            raise AttributeError(f"Cannot set the property {name} on {type(self).__name__}.")
        types = type(self)._types.get(name)
        if value is not None and types is not None and not isinstance(value, types):
            raise TypeError(f"Property \"{name}\" must be of type {types[0].__name__}, got: "
                            f"{value!r} (type: {type(value).__name__}).")
        if name == "auto_shard_policy" and value is not None:
            value = AutoShardPolicy(value)
        self._set[name] = value

    def _items(self) -> Iterator[tuple[str, Any]]:
        return iter(self._set.items())

    def _merged(self, other: _OptionsGroup) -> _OptionsGroup:
        out = copy.copy(self)
        object.__setattr__(out, "_set", dict(self._set))
        for name, value in other._items():
            mine = out._set.get(name)
            if isinstance(value, _OptionsGroup) and isinstance(mine, _OptionsGroup):
                out._set[name] = mine._merged(value)
            else:
                out._set[name] = copy.deepcopy(value)
        return out

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in type(self)._defaults)

    __hash__ = None  # type: ignore[assignment]  (mutable, compared by value)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in type(self)._defaults)
        return f"{type(self).__name__}({fields})"


class DistributeOptions(_OptionsGroup):
    """Options for distributing a dataset (``tf.data.experimental.DistributeOptions``).

    Attributes:
        auto_shard_policy: an ``AutoShardPolicy`` (AUTO by default).
        num_devices: the number of devices fed by this pipeline (informational).
    """

    _defaults = {"auto_shard_policy": AutoShardPolicy.AUTO, "num_devices": None}
    _types = {"auto_shard_policy": (AutoShardPolicy,), "num_devices": (int,)}


class Options(_OptionsGroup):
    """The options of a dataset (``tf.data.Options``); apply with ``Dataset.with_options``.

    Attributes:
        deterministic: whether elements come in a deterministic order (None: the default,
            which is deterministic; corten always is).
        experimental_distribute: a ``DistributeOptions``.

    Raises:
        AttributeError: when setting an option that does not exist.
        TypeError: when setting an option to a value of the wrong type.
    """

    _defaults = {"deterministic": None, "experimental_distribute": DistributeOptions}
    _types = {"deterministic": (bool,), "experimental_distribute": (DistributeOptions,)}

    def merge(self, options: Options) -> Options:
        """A new ``Options``: these with the options set in ``options`` laid over them."""
        if not isinstance(options, Options):
            raise TypeError(f"merge: expected tf.data.Options. Received: {options!r}")
        return self._merged(options)


def merge_options(*options_list: Options) -> Options:
    """The options of ``options_list`` merged in order (a later set option wins)."""
    out = Options()
    for options in options_list:
        out = out._merged(options)
    return out


def dataset_options(dataset: Any) -> Options:
    """The options ``dataset`` carries: its inputs' options merged in order, then its own."""
    merged = merge_options(*(dataset_options(d) for d in dataset._inputs()))
    own = getattr(dataset, "_own_options", None)
    return merged if own is None else merged.merge(own)
