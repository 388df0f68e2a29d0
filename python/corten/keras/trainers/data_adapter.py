"""Turns what users pass to ``fit``/``evaluate``/``predict`` into batches (Keras 2 data adapters).

Accepted inputs: numpy arrays, corten tensors and Python lists of numbers; lists, tuples and
dicts of them; ``corten.data.Dataset`` (already batched, yielding ``x``, ``(x, y)`` or
``(x, y, sample_weight)``); Python generators and iterators yielding the same; and
``keras.utils.Sequence``-like objects (``__len__`` + ``__getitem__`` returning batches).

Every batch handed to ``train_step`` is packed as Keras packs it: ``x`` alone when there is no
target and ``x`` is not nested, else ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

import corten
from corten import _C, nest
from corten.keras import backend, nested_lists
from corten.ops import _seed

__all__ = ["DataHandler", "pack_x_y_sample_weight", "unpack_x_y_sample_weight",
           "train_validation_split", "single_batch", "is_array_data"]

Tensor = _C.Tensor

# The op-level seed of the stream that seeds shuffling: a stream of its own, so that shuffling
# does not shift the numbers drawn by initializers and dropout.
_SHUFFLE_OP_SEED = 1815


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """Packs a batch as Keras does: ``x`` (not nested, no y), ``(x,)``, ``(x, y)`` or
    ``(x, y, sample_weight)``."""
    if y is None:
        if not isinstance(x, (list, tuple, Mapping)):
            return x
        return (x,)
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """Unpacks a batch into ``(x, y, sample_weight)`` (missing ones are None).

    Raises:
        ValueError: for a tuple of more than three elements.
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple) or _is_namedtuple(data):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                     f"`(x, y, sample_weight)`, found: {data!r}")


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


# ---------------------------------------------------------------------- array data
def _is_array_leaf(x: Any) -> bool:
    return isinstance(x, (np.ndarray, Tensor)) or (
        hasattr(x, "__array__") and hasattr(x, "shape") and hasattr(x, "dtype"))


def is_array_data(x: Any) -> bool:
    """Whether ``x`` is an array, or a (nested) list/tuple/dict whose leaves are arrays or
    Python numbers (a Python list of numbers counts as one array)."""
    if x is None:
        return False
    if _is_array_leaf(x):
        return True
    if isinstance(x, Mapping):
        return all(v is None or is_array_data(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        if not x:
            return False
        if all(isinstance(v, (int, float, bool, np.generic)) for v in x):
            return True
        return all(v is None or is_array_data(v) or isinstance(v, (int, float, list))
                   for v in x)
    return False


def _to_numpy_leaf(x: Any) -> np.ndarray:
    if isinstance(x, Tensor):
        return np.asarray(x)
    return np.asarray(x)


def _normalize_arrays(x: Any, name: str = "x") -> Any:
    """Converts the leaves of an array structure to numpy arrays (floats in floatx, as the
    Keras 2 data adapter does); a (nested) list of numbers becomes one array."""
    if x is None:
        return None
    if isinstance(x, (list, tuple)) and x and nested_lists.is_list_of_scalars(x):
        x = nested_lists.list_to_array(x, name)
    if isinstance(x, Mapping):
        return {k: _normalize_arrays(v, f"{name}[{k!r}]") for k, v in x.items()}
    if isinstance(x, (list, tuple)) and not _is_array_leaf(x):
        out = [_normalize_arrays(v, f"{name}[{i}]") for i, v in enumerate(x)]
        return tuple(out) if isinstance(x, tuple) else out
    arr = _to_numpy_leaf(x)
    if arr.dtype.kind == "f" and arr.dtype != np.dtype(backend.floatx()):
        arr = arr.astype(backend.floatx())
    if arr.ndim == 0:
        raise ValueError("Expected arrays with a batch dimension, got a scalar. "
                         f"Received: {x!r}")
    return arr


def _flat_arrays(x: Any) -> list[np.ndarray]:
    return [a for a in nest.flatten(x) if a is not None]


def _check_cardinality(x: Any, y: Any, sample_weight: Any) -> int:
    sizes = {}
    for label, data in (("x", x), ("y", y), ("sample_weight", sample_weight)):
        if data is not None:
            sizes[label] = [int(a.shape[0]) for a in _flat_arrays(data)]
    all_sizes = {s for v in sizes.values() for s in v}
    if len(all_sizes) > 1:
        lines = ["Data cardinality is ambiguous:"]
        for label, s in sizes.items():
            lines.append(f"  {label} sizes: {', '.join(str(i) for i in s)}")
        lines.append("Make sure all arrays contain the same number of samples.")
        raise ValueError("\n".join(lines))
    if not all_sizes:
        raise ValueError("Expected input data with at least one array. Received: x=None")
    return all_sizes.pop()


def _take(data: Any, idx: Any) -> Any:
    if data is None:
        return None
    return nest.map_structure(lambda a: None if a is None else a[idx], data)


def _to_tensors(data: Any) -> Any:
    if data is None:
        return None

    def conv(a):
        if a is None or isinstance(a, Tensor):
            return a
        arr = np.asarray(a)
        if arr.dtype.kind == "f" and arr.dtype != np.dtype(backend.floatx()):
            arr = arr.astype(backend.floatx())
        if arr.dtype.kind in "U S O":
            return arr
        return corten.convert_to_tensor(np.ascontiguousarray(arr))

    return nest.map_structure(conv, data)


def train_validation_split(arrays: tuple, validation_split: float) -> tuple[tuple, tuple]:
    """Splits array data into training and validation parts: the last ``validation_split``
    fraction of the samples (before any shuffling) is the validation part, as in Keras.

    Raises:
        ValueError: for non-array data or a split leaving one side empty.
    """
    if not all(a is None or is_array_data(a) for a in arrays):
        raise ValueError("`validation_split` is only supported for Tensors or NumPy arrays, "
                         f"found following types in the input: "
                         f"{[type(a).__name__ for a in arrays]}")
    arrays = tuple(_normalize_arrays(a) for a in arrays)
    n = _check_cardinality(*arrays)
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"Training data contains {n} samples, which is not sufficient to split it into a "
            "validation and training set as specified by `validation_split="
            f"{validation_split}`. Either provide more data, or a different value for the "
            "`validation_split` argument.")
    train = tuple(_take(a, slice(0, split_at)) for a in arrays)
    val = tuple(_take(a, slice(split_at, n)) for a in arrays)
    return train, val


def _class_weight_to_sample_weight(y: Any, sample_weight: Any, class_weight: dict) -> Any:
    flat_y = nest.flatten(y)
    if len(flat_y) != 1:
        raise ValueError("`class_weight` is only supported for Models with a single output.")
    y_np = np.asarray(flat_y[0])
    if y_np.ndim == 2 and y_np.shape[1] > 1:
        classes = np.argmax(y_np, axis=1)
    elif y_np.ndim == 2 and y_np.shape[1] == 1:
        classes = np.rint(y_np[:, 0]).astype(np.int64)
    elif y_np.ndim == 1:
        classes = np.rint(y_np).astype(np.int64)
    else:
        raise ValueError("`class_weight` not supported for 3+ dimensional targets. "
                         f"Received: y.shape={y_np.shape}")
    keys = [int(k) for k in class_weight]
    if keys and min(keys) < 0:
        raise ValueError("Expected `class_weight` to be a dict with non-negative integer keys. "
                         f"Received: class_weight={class_weight}")
    table = np.ones(max(keys + [int(classes.max()) if classes.size else 0]) + 1,
                    dtype=backend.floatx())
    for k, w in class_weight.items():
        table[int(k)] = float(w)
    cw = table[classes]
    if sample_weight is not None:
        sw = np.asarray(nest.flatten(sample_weight)[0], dtype=backend.floatx())
        cw = cw.reshape((-1,) + (1,) * (sw.ndim - 1)) * sw
    return cw.astype(backend.floatx())


_TENSOR_DTYPES = frozenset(np.dtype(d) for d in ("float32", "float64", "int32", "int64", "bool"))


class _BatchSource:
    """One of x, y, sample_weight as batches: the leaves that a tensor can share without a copy
    (C-contiguous, a corten dtype) are cut by the C++ gather or sliced as views; the others
    (uint8 images, strings...) go through numpy and are converted per batch."""

    def __init__(self, data: Any) -> None:
        self.data = data
        self.single = data is None or not isinstance(data, (list, tuple, Mapping))
        leaves = [data] if self.single else nest.flatten(data)
        self.leaves = [_shareable(a) for a in leaves]

    def _pack(self, leaves: list[Any]) -> Any:
        return leaves[0] if self.single else nest.pack_sequence_as(self.data, leaves)

    def rows(self, lo: int, hi: int) -> Any:
        if self.data is None:
            return None
        return self._pack([a[lo:hi] if type(a) is Tensor else _to_tensors(a[lo:hi])
                           for a in self.leaves])

    def take(self, idx: np.ndarray, idx_t: Tensor) -> Any:
        if self.data is None:
            return None
        return self._pack([corten.gather(a, idx_t) if type(a) is Tensor
                           else _to_tensors(a[idx]) for a in self.leaves])


def _shareable(a: Any) -> Any:
    if isinstance(a, np.ndarray) and a.dtype in _TENSOR_DTYPES and a.flags.c_contiguous \
            and a.ndim >= 1:
        return corten.convert_to_tensor(a)
    return a


# ---------------------------------------------------------------------- adapters
class _ArrayAdapter:
    """In-memory arrays, batched by index (a fresh permutation per epoch when shuffling)."""

    def __init__(self, x: Any, y: Any, sample_weight: Any, batch_size: int | None,
                 shuffle: Any, steps: int | None) -> None:
        self.x = _normalize_arrays(x, "x")
        # fit(x, x) (autoencoders): one array, cut once per batch.
        self.y = self.x if y is x else _normalize_arrays(y, "y")
        self.sample_weight = _normalize_arrays(sample_weight, "sample_weight")
        self.num_samples = _check_cardinality(self.x, self.y, self.sample_weight)
        self.batch_size = 32 if batch_size is None else int(batch_size)
        if self.batch_size <= 0:
            raise ValueError(f"`batch_size` must be a positive integer. "
                             f"Received: batch_size={batch_size}")
        self.shuffle = shuffle
        self.num_batches = int(math.ceil(self.num_samples / self.batch_size))
        self.user_steps = steps
        self._sources = (_BatchSource(self.x),
                         _BatchSource(None if self.y is self.x else self.y),
                         _BatchSource(self.sample_weight))

    def steps(self) -> int:
        return self.num_batches if self.user_steps is None else int(self.user_steps)

    def should_recreate_iterator(self) -> bool:
        return True

    def make_iterator(self) -> Iterator[Any]:
        n, bs = self.num_samples, self.batch_size
        order, order_t = np.arange(n), None
        if self.shuffle == "batch":
            starts = np.asarray(shuffle_order(self.num_batches))
            order = np.concatenate([np.arange(s * bs, min(n, (s + 1) * bs)) for s in starts]) \
                if n else order
            order_t = corten.convert_to_tensor(order.astype(np.int64))
        elif self.shuffle:
            order_t = shuffle_order(n)
            order = np.asarray(order_t)
        self.epoch_order = (order, order_t)

        def gen():
            while True:  # steps_per_epoch larger than the data repeats it, as Keras
                for b in range(self.num_batches):
                    yield self.batch_at(b, order, order_t)
                if self.user_steps is None:
                    return

        return gen()

    def batch_at(self, b: int, order: np.ndarray, order_t: Tensor | None) -> tuple[Any, ...]:
        """Batch ``b`` of an epoch whose rows come in ``order`` (``order_t`` None: in storage
        order), as ``(x, y, sample_weight)``."""
        lo, hi = b * self.batch_size, min(self.num_samples, (b + 1) * self.batch_size)
        if order_t is None:
            batch = [src.rows(lo, hi) for src in self._sources]
        else:
            idx, idx_t = order[lo:hi], order_t[lo:hi]
            batch = [src.take(idx, idx_t) for src in self._sources]
        if self.y is self.x:
            batch[1] = batch[0]
        return tuple(batch)

    def replay_layout(self) -> tuple[list[Tensor], list[int]] | None:
        """The tensors that batches are cut from and, for each leaf of a packed batch in
        order, the index of the one it is cut from (Note [Epoch replay]); None when a leaf
        goes through numpy or the epoch repeats the data."""
        if self.user_steps is not None:
            return None
        sources: list[Any] = []
        spans: list[list[int]] = []
        for src in self._sources:
            leaves = [] if src.data is None else src.leaves
            spans.append(list(range(len(sources), len(sources) + len(leaves))))
            sources.extend(leaves)
        if not all(type(a) is Tensor for a in sources):
            return None
        y_span = spans[0] if self.y is self.x else spans[1]
        return sources, spans[0] + y_span + spans[2]


class _IterableAdapter:
    """Datasets, generators, iterators and Sequences: elements are already batches."""

    def __init__(self, data: Any, steps: int | None, kind: str) -> None:
        self.data = data
        self.kind = kind
        self.user_steps = steps
        self.num_samples = None
        self._iterator: Iterator[Any] | None = None
        self._size = self._known_size()

    def _known_size(self) -> int | None:
        if self.kind == "dataset":
            n = int(np.asarray(self.data.cardinality()))
            return n if n >= 0 else None
        if self.kind == "sequence":
            return len(self.data)
        return None

    def steps(self) -> int | None:
        return self.user_steps if self.user_steps is not None else self._size

    def should_recreate_iterator(self) -> bool:
        if self.kind == "generator":
            return False
        return self.user_steps is None or self._size == self.user_steps

    def make_iterator(self) -> Iterator[Any]:
        if self.kind == "sequence":
            seq = self.data

            def gen():
                for i in range(len(seq)):
                    yield _unpack_element(seq[i])
                if hasattr(seq, "on_epoch_end"):
                    seq.on_epoch_end()

            return gen()
        if self.kind == "generator":
            return (_unpack_element(e) for e in self.data)
        return (_unpack_element(e) for e in iter(self.data))


def _unpack_element(element: Any) -> tuple[Any, Any, Any]:
    x, y, sw = unpack_x_y_sample_weight(element)
    return _to_tensors(_normalize_iter(x)), _to_tensors(_normalize_iter(y)), \
        _to_tensors(_normalize_iter(sw))


def _normalize_iter(x: Any) -> Any:
    if x is None:
        return None
    return nest.map_structure(lambda a: a if isinstance(a, Tensor) or a is None
                              else np.asarray(a), x)


def _is_dataset(x: Any) -> bool:
    try:
        from corten.data import Dataset
    except ImportError:  # pragma: no cover - corten.data not built in
        return False
    return isinstance(x, Dataset)


def _is_sequence(x: Any) -> bool:
    return (hasattr(x, "__getitem__") and hasattr(x, "__len__")
            and not isinstance(x, (list, tuple, Mapping, np.ndarray, Tensor, str)))


def _is_iterator(x: Any) -> bool:
    return hasattr(x, "__next__") and hasattr(x, "__iter__")


def shuffle_order(n: int) -> Tensor:
    """A random order of ``n`` samples (int64) from the shuffle's own stateful stream: after
    ``keras.utils.set_random_seed(s)`` the same program shuffles identically on any thread
    count and on every rank of a data-parallel strategy (an op-level seed without a global
    seed takes TensorFlow's default graph seed, so the order is reproducible then too)."""
    return _C.random_permutation(n, _seed.stateful_key(_SHUFFLE_OP_SEED))


class DataHandler:
    """Iterates epochs and steps over user data (Keras 2 ``DataHandler``).

    Args:
        x, y, sample_weight: the data (see the module docstring).
        batch_size: for array data; None means 32. Not allowed for datasets and generators.
        steps_per_epoch: steps per epoch; by default one pass over the data.
        initial_epoch, epochs: the epochs to run.
        shuffle: True, False or "batch" (array data only).
        class_weight: ``{class_index: weight}``, turned into sample weights.
        model: the model, for checking inputs against its expected inputs.
        steps_per_execution: steps run between two callback calls.
    """

    def __init__(self, x: Any, y: Any = None, sample_weight: Any = None,
                 batch_size: int | None = None, steps_per_epoch: int | None = None,
                 initial_epoch: int = 0, epochs: int = 1, shuffle: Any = False,
                 class_weight: dict | None = None, model: Any = None,
                 steps_per_execution: int = 1) -> None:
        self.initial_epoch = int(initial_epoch)
        # The step the first epoch starts at (a BackupAndRestore backup taken mid-epoch).
        self.initial_step = 0
        self.epochs = int(epochs)
        self.class_weight = class_weight
        self.step_increment = max(1, int(steps_per_execution or 1))
        self.insufficient_data = False
        if steps_per_epoch is not None and int(steps_per_epoch) <= 0:
            raise ValueError(f"`steps_per_epoch` must be a positive integer or None. "
                             f"Received: steps_per_epoch={steps_per_epoch}")
        if x is None:
            raise ValueError("Expected input data `x`, got None. Received: x=None")
        iterable = _is_dataset(x) or _is_iterator(x) or (
            _is_sequence(x) and not is_array_data(x))
        if iterable:
            if y is not None:
                raise ValueError("`y` argument is not supported when using a dataset, a "
                                 "generator or a keras.utils.Sequence as input (the targets "
                                 f"come from it). Received: y={type(y).__name__}")
            if sample_weight is not None:
                raise ValueError("`sample_weight` argument is not supported when using a "
                                 "dataset, a generator or a keras.utils.Sequence as input.")
            if batch_size is not None:
                raise ValueError("The `batch_size` argument must not be specified for the "
                                 f"given input type. Received: batch_size={batch_size}, "
                                 f"x of type {type(x).__name__} (it is already batched)")
            kind = "dataset" if _is_dataset(x) else ("generator" if _is_iterator(x)
                                                      else "sequence")
            self.adapter: Any = _IterableAdapter(x, steps_per_epoch, kind)
        else:
            if not is_array_data(x):
                raise ValueError(
                    "Failed to find data adapter that can handle input: "
                    f"x of type {type(x).__name__}, y of type {type(y).__name__}. Expected "
                    "numpy arrays, tensors, lists/dicts of them, a corten.data.Dataset, "
                    "a generator or a keras.utils.Sequence.")
            if y is not None and not is_array_data(y):
                raise ValueError(f"Expected `y` to be arrays like `x`. Received: y of type "
                                 f"{type(y).__name__}")
            self.adapter = _ArrayAdapter(x, y, sample_weight, batch_size, shuffle,
                                         steps_per_epoch)
            if model is not None:
                _check_inputs_against_model(self.adapter.x, model)
        self.inferred_steps = self.adapter.steps()
        self._iterator: Iterator[Any] | None = None
        self._epoch_steps = 0

    @property
    def num_samples(self) -> int | None:
        return self.adapter.num_samples

    def replay_epoch(self, step_function: Any,
                     collect: Callable[[Any], None] | None = None) -> Any:
        """Runs the current epoch's steps with ``step_function`` (a compiled step) and returns
        the last step's logs, replaying the full batches with ``Plan.run_batches`` (Note [Epoch
        replay]; the first one through the step when it still has to trace, and in predict());
        None, with nothing run, when the data is not in-memory tensors or the step is not a
        compiled one. For callers that read no single batch's logs; ``collect`` (predict's)
        receives every result in order, the replayed batches' as one result whose tensors hold
        all their rows."""
        adapter = self.adapter
        if not isinstance(adapter, _ArrayAdapter) or self.class_weight is not None \
                or not hasattr(step_function, "batch_replayer"):
            return None
        layout = adapter.replay_layout()
        full = adapter.num_samples // adapter.batch_size
        if layout is None or full < 2:
            return None
        sources, input_source = layout
        order, order_t = adapter.epoch_order

        def batch(b: int) -> Any:
            return pack_x_y_sample_weight(*adapter.batch_at(b, order, order_t))

        def run(data: Any) -> Any:
            result = step_function(data)
            if collect is not None:
                collect(result)
            return result

        bs = adapter.batch_size
        first, logs, replay = 0, None, None
        if collect is None:
            # A plan traced by an earlier epoch or fit() replays the first batch too. Its key
            # needs only the batch's structure, shapes and dtypes: the first rows in storage
            # order (views) stand in for the shuffled batch.
            replay = step_function.batch_replayer(
                pack_x_y_sample_weight(*adapter.batch_at(0, order, None)))
        if replay is None:
            first_batch = batch(0)
            logs = run(first_batch)  # traces the plan when needed
            replay = step_function.batch_replayer(first_batch)
            first = 1
            if collect is not None and not all(
                    isinstance(t, Tensor) and t.ndim >= 1 and t.shape[0] == bs
                    for t in nest.flatten(logs)):
                replay = None  # results that do not stack by rows
        if replay is not None and first < full:
            logs = replay(sources, input_source, order_t, bs, first * bs, full - first,
                          collect is not None)
            if collect is not None:
                collect(logs)
            first = full
        for b in range(first, adapter.num_batches):
            logs = run(batch(b))
        return logs

    def enumerate_epochs(self) -> Iterator[tuple[int, Iterator[Any]]]:
        """Yields ``(epoch, iterator)`` from ``initial_epoch`` to ``epochs``."""
        self._iterator = self.adapter.make_iterator()
        for epoch in range(self.initial_epoch, self.epochs):
            if self.insufficient_data:
                break
            if epoch > self.initial_epoch and self.adapter.should_recreate_iterator():
                self._iterator = self.adapter.make_iterator()
            self._epoch_steps = 0
            yield epoch, self._iterator

    def steps(self) -> Iterator[int]:
        """Yields the first step index of each execution of the current epoch; stops early
        (and marks the data as insufficient) when the iterator runs out."""
        step, self.initial_step = self.initial_step, 0
        while self.inferred_steps is None or step < self.inferred_steps:
            if self.insufficient_data:
                return
            yield step
            step += self.step_increment

    def next_batch(self, iterator: Iterator[Any]) -> Any:
        """The next packed batch, or None when the iterator is exhausted."""
        try:
            x, y, sw = next(iterator)
        except StopIteration:
            if self.inferred_steps is None and self._epoch_steps > 0:
                # The first pass over a generator of unknown length ends its epoch.
                self.inferred_steps = self._epoch_steps
                return None
            self.insufficient_data = True
            warnings.warn(
                "Your input ran out of data; interrupting training. Make sure that your "
                "dataset or generator can generate at least `steps_per_epoch * epochs` "
                f"batches (in this case, {(self.inferred_steps or 0) * self.epochs} batches). You "
                "may need to use the repeat() function when building your dataset.", stacklevel=5)
            return None
        self._epoch_steps += 1
        if self.class_weight is not None and y is not None:
            sw = _to_tensors(_class_weight_to_sample_weight(y, sw, self.class_weight))
        return pack_x_y_sample_weight(x, y, sw)


    def executions(self, iterator: Iterator[Any]) -> Iterator[tuple[int, int, list[Any]]]:
        """The epoch's steps, one execution at a time: ``(begin_step, end_step, batches)``
        with up to ``steps_per_execution`` batches (fewer at the end of the data), as Keras 3's
        EpochIterator; the one step loop of fit, evaluate and predict. Stops when the data
        runs out."""
        for _ in range(self.initial_step):
            # Resuming mid-epoch: the batches before initial_step were trained before the
            # backup (tf.keras 2 trains the epoch's first batches again instead).
            if self.next_batch(iterator) is None:
                return
        for begin in self.steps():
            count = self.step_increment
            if self.inferred_steps is not None:
                count = min(count, self.inferred_steps - begin)
            batches = []
            for _ in range(count):
                batch = self.next_batch(iterator)
                if batch is None:
                    break
                batches.append(batch)
            if not batches:
                return
            yield begin, begin + len(batches) - 1, batches


def _check_inputs_against_model(x: Any, model: Any) -> None:
    """For models with declared inputs (functional): the number of inputs and dict keys."""
    inputs = getattr(model, "inputs", None)
    names = getattr(model, "input_names", None)
    if not isinstance(inputs, (list, tuple)) or not inputs:
        return
    if isinstance(x, Mapping):
        if names:
            missing = [n for n in names if n not in x]
            if missing and not isinstance(getattr(model, "_nested_inputs", None), Mapping):
                raise ValueError(
                    f'Missing data for input "{missing[0]}". You passed a data dictionary with '
                    f"keys {sorted(x)}. Expected the following keys: {list(names)}")
        return
    got = len(x) if isinstance(x, (list, tuple)) else 1
    if got != len(inputs):
        raise ValueError(f'Layer "{model.name}" expects {len(inputs)} input(s), but it received '
                         f"{got} input arrays. Received: x with {got} array(s)")


def single_batch(x: Any, y: Any = None, sample_weight: Any = None,
                 class_weight: dict | None = None) -> Any:
    """One packed batch from whole arrays (``train_on_batch`` and friends)."""
    xs = _to_tensors(_normalize_arrays(x)) if is_array_data(x) else x
    ys = _to_tensors(_normalize_arrays(y, "y")) if y is not None else None
    sws = (_to_tensors(_normalize_arrays(sample_weight, "sample_weight"))
           if sample_weight is not None else None)
    if is_array_data(x):
        _check_cardinality(_normalize_arrays(x), _normalize_arrays(y),
                           _normalize_arrays(sample_weight))
    if class_weight is not None and ys is not None:
        sws = _to_tensors(_class_weight_to_sample_weight(ys, sws, class_weight))
    return pack_x_y_sample_weight(xs, ys, sws)
