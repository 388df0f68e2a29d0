"""Seed state of the stateful random ops, with TensorFlow 2's semantics.

Only the global seed lives here; the per-key counter offsets live in C++ (corten/ops/random.h,
PhiloxStream), so that the draws of a traced function advance them on every replay. Every
number is drawn in C++ by Philox4x32-10 from a (key, offset) pair.

Keys are derived by a fixed hash, the same on every platform and Python version (Python's
``hash()`` is salted per process, so it is never used)::

    splitmix64(x):  x += 0x9E3779B97F4A7C15; z = x
                    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
                    z = (z ^ (z >> 27)) * 0x94D049BB133111EB
                    return z ^ (z >> 31)                          (all mod 2**64)
    mix(domain, w1, ..., wn):  h = splitmix64(domain); h = splitmix64(h ^ wi) for each wi

with seeds taken mod 2**64 (two's complement for negative values) and the domains

    1: stateful op with an op-level seed       key = mix(1, global_seed, op_seed)
    2: stateful op without an op-level seed    key = mix(2, global_seed)
    3: stateless op with seed pair [a, b]      key = mix(3, a, b), offset 0
    6: a stateful key k drawn in replica r     key = mix(6, k, r)

Note [Replica streams]: inside ``replica_stream(r)`` (a replica's step of a data-parallel
strategy with several replicas: fit's and evaluate's steps, ``Strategy.run``) the stateful keys
of domains 1 and 2 are folded with the replica index (domain 6), so with the same global seed
on every rank each replica draws its own dropout masks and noise, reproducibly (as a
``tf.random.Generator`` created in a strategy's scope gives each replica its own stream).
Outside a replica's step the keys are the same on every rank: dataset shuffles and the
shuffling of ``fit`` must give every rank the same order, or the ranks' parts of a global
batch would overlap. Stateless ops are never folded. The replica index is per thread, so an
input pipeline's prefetch thread keeps the unfolded keys.

Where no global seed is set, an op-level seed is combined with ``DEFAULT_GRAPH_SEED`` (as in
TensorFlow) and ops without any seed use a per-process random seed (nondeterministic). A
stateful key starts at counter offset 0 and advances by ``_C.philox_counters_used(numel)``
after each draw, so successive calls differ; ``set_seed`` resets every offset, so a program's
sequence of random ops repeats after it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

from corten import _C

DEFAULT_GRAPH_SEED = 87654321
_MASK = (1 << 64) - 1

_lock = threading.Lock()
_global_seed: int | None = None
_default_seed = int.from_bytes(os.urandom(8), "little")


def splitmix64(x: int) -> int:
    """One step of splitmix64 (Steele, Lea and Flood 2014) on a 64-bit value."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def mix(domain: int, *words: int) -> int:
    """The 64-bit Philox key of ``words`` in ``domain`` (see the module docstring)."""
    h = splitmix64(domain)
    for w in words:
        h = splitmix64(h ^ (int(w) & _MASK))
    return h


def _check_seed(seed: Any, name: str) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int):
        try:
            value = int(seed.__index__())
        except (AttributeError, TypeError):
            raise TypeError(f"{name} must be an integer. Received: {name}={seed!r}") from None
        return value
    return seed


_reset_hooks: list[Callable[[], None]] = []


def on_set_seed(hook: Callable[[], None]) -> None:
    """Calls `hook` whenever the global seed is set (Keras resets its weight streams there)."""
    _reset_hooks.append(hook)


def set_seed(seed: int | None) -> None:
    """Sets the global random seed and resets the op counters (``None`` clears it)."""
    global _global_seed, _default_seed
    value = None if seed is None else _check_seed(seed, "seed")
    with _lock:
        _global_seed = value
        _C.reset_philox_streams()
        _default_seed = int.from_bytes(os.urandom(8), "little")
    for hook in _reset_hooks:
        hook()


def get_global_seed() -> int | None:
    """The global seed set by ``set_seed``, or None."""
    return _global_seed


_replica = threading.local()


@contextlib.contextmanager
def replica_stream(replica_id: int | None) -> Iterator[None]:
    """Inside, on this thread, stateful random ops draw from replica ``replica_id``'s streams
    (Note [Replica streams]); None restores the shared streams."""
    previous = getattr(_replica, "id", None)
    _replica.id = replica_id
    try:
        yield
    finally:
        _replica.id = previous


def stateful_key(op_seed: int | None) -> int:
    """The Philox key of a stateful op with the given op-level seed (folded with the replica
    index inside ``replica_stream``)."""
    if op_seed is not None:
        base = DEFAULT_GRAPH_SEED if _global_seed is None else _global_seed
        key = mix(1, base, _check_seed(op_seed, "seed"))
    else:
        key = mix(2, _default_seed if _global_seed is None else _global_seed)
    replica_id = getattr(_replica, "id", None)
    return key if replica_id is None else mix(6, key, replica_id)


def stateless_key(seed: Any) -> int:
    """The Philox key of a stateless op's seed pair ``[a, b]`` (list, tuple, array or Tensor)."""
    values = seed.numpy() if isinstance(seed, _C.Tensor) else seed
    if hasattr(values, "tolist"):
        values = values.tolist()
    if not isinstance(values, (list, tuple)) or len(values) != 2:
        raise ValueError(f"seed must be a pair of integers (shape [2]). Received: seed={seed!r}")
    a, b = (_check_seed(v, "seed") for v in values)
    return mix(3, a, b)


def get_state() -> dict[str, Any]:
    """The positions of the stateful random streams (JSON-ready), for saving with a model."""
    with _lock:
        return {"global_seed": _global_seed,
                "offsets": {str(k): v for k, v in _C.philox_stream_offsets()}}


def set_state(state: Any) -> None:
    """Restores the stream positions `get_state` returned, so that the random ops after it
    draw what they would have drawn in the process that saved it (under the same global
    seed: the streams' keys derive from it).

    Raises:
        ValueError: a malformed state.
    """
    if not isinstance(state, dict) or not isinstance(state.get("offsets"), dict):
        raise ValueError(f"a random state must be a dict with 'offsets'. Received: {state!r}")
    offsets = {}
    for k, v in state["offsets"].items():
        try:
            key, value = int(k), v
        except (TypeError, ValueError):
            raise ValueError(f"a random state's offsets must map integers to integers. "
                             f"Received: {k!r}: {v!r}") from None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MASK:
            raise ValueError(f"a random state's offset must be an integer in [0, 2**64). "
                             f"Received: {value!r}")
        offsets[key & _MASK] = value
    with _lock:
        for key, value in offsets.items():
            _C.set_philox_stream_offset(key, value)


def global_seed_or_default() -> int:
    """The global seed when set, else this process's random default seed."""
    return _default_seed if _global_seed is None else _global_seed
