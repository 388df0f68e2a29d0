"""``corten.data.Dataset``: input pipelines with ``tf.data.Dataset``'s API and semantics.

A Dataset is an immutable description of a pipeline; each ``iter(dataset)`` starts a fresh
pass, so datasets are re-iterable and, for a fixed seed, deterministic. Elements are nested
structures (tuples, dicts) of components; iteration yields corten Tensors for numeric
components, as TensorFlow's eager iteration does.

Python only moves data here: components are numpy arrays or corten Tensors that are sliced,
stacked and reordered; every computation on values happens in the user's ``map`` functions
through corten ops.

Example:
    >>> ds = Dataset.from_tensor_slices((x, y)).shuffle(1024, seed=1).batch(64)
    >>> for x_batch, y_batch in ds:
    ...     ...
"""

from __future__ import annotations

import copy
import os
import queue
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from corten import _C
from corten.data import structure as st
from corten.data.structure import TensorSpec
from corten.dtypes import as_dtype, int64
from corten.ops import _seed

__all__ = ["Dataset", "AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY"]

AUTOTUNE = -1
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2

_AUTOTUNE_PREFETCH = 2
Tensor = _C.Tensor


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, Tensor):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        if value.ndim != 0:
            raise ValueError(f"{name} must be a scalar. Received: {name}={value!r}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer. Received: {name}={value!r}")
    return int(value)


def _call(fn: Callable[..., Any], element: Any) -> Any:
    """Calls a user function the way tf.data does: a tuple element is unpacked into
    positional arguments, anything else (a dict, a single tensor) is one argument."""
    args = st.map_structure(st.to_output, element)
    if isinstance(element, tuple) and not hasattr(element, "_fields"):
        return fn(*args)
    return fn(args)


def _is_true(value: Any) -> bool:
    if isinstance(value, Tensor):
        if value.shape != () or value.dtype != "bool":
            raise ValueError("filter: the predicate must return a scalar bool tensor. "
                             f"Received: shape={value.shape}, dtype={value.dtype}")
        return bool(value.numpy())
    arr = np.asarray(value)
    if arr.shape != () or arr.dtype != np.bool_:
        raise ValueError("filter: the predicate must return a scalar bool. "
                         f"Received: {value!r}")
    return bool(arr)


def _shuffle_seed(seed: int | None) -> int:
    """The 64-bit seed of a shuffle, fixed when the dataset is created (as TensorFlow).

    An op-level seed gives a deterministic order (combined with the global seed when one is
    set); with only ``corten.random.set_seed`` the seed is drawn from corten's stateful random
    stream, so a program's sequence of datasets repeats; with neither it is random."""
    if seed is not None:
        return _seed.stateful_key(_as_int(seed, "seed"))
    if _seed.get_global_seed() is not None:
        from corten.ops.random import uniform

        words = uniform([2], minval=0, maxval=2**31 - 1, dtype=int64).numpy().tolist()
        return _seed.mix(5, *words)
    return int.from_bytes(os.urandom(8), "little")


class Dataset:
    """A potentially large set of elements (``tf.data.Dataset``).

    Build one with ``from_tensor_slices``, ``from_tensors``, ``from_generator`` or ``range``
    and transform it with ``map``, ``filter``, ``shuffle``, ``batch``, ``repeat``, ``take``,
    ``skip``, ``shard``, ``zip``, ``concatenate``, ``cache``, ``prefetch``; ``with_options``
    attaches ``tf.data.Options`` (read back with ``options()``).
    """

    # Subclasses implement _elements() (a fresh iterator over elements whose leaves are numpy
    # arrays or Tensors), _cardinality() and _spec().

    def _elements(self) -> Iterator[Any]:
        raise NotImplementedError

    def _cardinality(self) -> int:
        return UNKNOWN_CARDINALITY

    def _spec(self) -> Any:
        raise NotImplementedError

    def _inputs(self) -> list[Dataset]:
        """The datasets this one reads (their options flow into ``options()``)."""
        return []

    # ------------------------------------------------------------------ iteration

    def __iter__(self) -> Iterator[Any]:
        for element in self._elements():
            yield st.map_structure(st.to_output, element)

    def as_numpy_iterator(self) -> Iterator[Any]:
        """An iterator over the elements as numpy arrays (strings as bytes)."""
        for element in self._elements():
            yield st.map_structure(st.to_numpy, element)

    def __bool__(self) -> bool:
        return True  # not __len__, which raises for infinite datasets

    def __len__(self) -> int:
        n = self._cardinality()
        if n == INFINITE_CARDINALITY:
            raise TypeError("The dataset is infinite.")
        if n == UNKNOWN_CARDINALITY:
            raise TypeError("The dataset length is unknown.")
        return n

    def cardinality(self) -> Tensor:
        """The number of elements as an int64 scalar tensor; ``INFINITE_CARDINALITY`` (-1) or
        ``UNKNOWN_CARDINALITY`` (-2) where it is not a known count."""
        from corten.ops.creation import constant

        return constant(self._cardinality(), dtype=int64)

    @property
    def element_spec(self) -> Any:
        """The structure of ``TensorSpec``s of an element (unknown dimensions are None)."""
        return self._spec()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} element_spec={self.element_spec!r}>"

    # ------------------------------------------------------------------ sources

    @staticmethod
    def from_tensor_slices(tensors: Any, name: str | None = None) -> Dataset:
        """A dataset whose elements are the slices of ``tensors`` along their first dimension.

        ``tensors`` is a tensor, a numpy array, a Python list (one tensor) or a tuple/dict
        nesting of them; every component must have the same first dimension.

        Raises:
            ValueError: for a scalar component or components of different first dimension.
        """
        return _TensorSliceDataset(st.normalize(tensors))

    @staticmethod
    def from_tensors(tensors: Any, name: str | None = None) -> Dataset:
        """A dataset with one element, ``tensors``."""
        return _TensorDataset(st.normalize(tensors))

    @staticmethod
    def from_generator(generator: Callable[..., Any], output_types: Any = None,
                       output_shapes: Any = None, args: Any = None,
                       output_signature: Any = None, name: str | None = None) -> Dataset:
        """A dataset whose elements come from ``generator()`` (called anew for each pass).

        Args:
            generator: a callable returning an iterable (called with ``*args`` if given).
            output_types, output_shapes: the dtype and shape structures of an element (the
                older TensorFlow form).
            args: arguments for ``generator``.
            output_signature: a structure of ``TensorSpec`` describing an element. When no
                signature or types are given, the first element defines the spec.

        Raises:
            TypeError: if ``generator`` is not callable, or an element does not match the
                declared structure or dtype.
            ValueError: if an element's shape is incompatible with the declared one.
        """
        if not callable(generator):
            raise TypeError(f"generator must be callable. Received: generator={generator!r}")
        if output_signature is not None:
            if output_types is not None or output_shapes is not None:
                raise TypeError("from_generator: give output_signature or "
                                "output_types/output_shapes, not both.")
            st.map_structure(_check_spec, output_signature)
            signature = output_signature
        elif output_types is not None:
            if output_shapes is None:
                signature = st.map_structure(lambda t: TensorSpec(None, t), output_types)
            else:
                signature = _specs_from_types(output_types, output_shapes)
        elif output_shapes is not None:
            raise TypeError("from_generator: output_shapes needs output_types.")
        else:
            signature = None
        return _GeneratorDataset(generator, tuple(args) if args is not None else (), signature)

    @staticmethod
    def range(*args: Any, output_type: Any = int64, name: str | None = None) -> Dataset:
        """``range(stop)``, ``range(start, stop[, step])`` as a dataset of scalars (int64)."""
        if not 1 <= len(args) <= 3:
            raise ValueError(f"range takes 1 to 3 arguments. Received: args={args!r}")
        values = [_as_int(a, "range argument") for a in args]
        start, stop, step = (0, values[0], 1) if len(values) == 1 else (*values, 1)[:3]
        if step == 0:
            raise ValueError("range: step must not be 0. Received: step=0")
        return _RangeDataset(start, stop, step, as_dtype(output_type))

    @staticmethod
    def zip(*datasets: Any, name: str | None = None) -> Dataset:
        """A dataset of tuples (or the given nesting) of the elements of ``datasets``;
        as long as the shortest. ``zip(a, b)`` and ``zip((a, b))`` are the same."""
        structure = datasets[0] if len(datasets) == 1 else tuple(datasets)
        leaves = st.flatten(structure)
        if not leaves or not all(isinstance(d, Dataset) for d in leaves):
            raise TypeError("zip: expected datasets or a tuple/dict of datasets. "
                            f"Received: datasets={structure!r}")
        return _ZipDataset(structure)

    # ------------------------------------------------------------------ transformations

    def apply(self, transformation_func: Callable[[Dataset], Dataset]) -> Dataset:
        """``transformation_func(self)``, which must return a Dataset."""
        out = transformation_func(self)
        if not isinstance(out, Dataset):
            raise TypeError("apply: the transformation must return a Dataset. "
                            f"Received: {type(out).__name__}")
        return out

    def map(self, map_func: Callable[..., Any], num_parallel_calls: Any = None,
            deterministic: Any = None, name: str | None = None) -> Dataset:
        """Applies ``map_func`` to each element (tuple elements are unpacked into arguments).
        ``num_parallel_calls`` is accepted for compatibility; calls run in order."""
        if not callable(map_func):
            raise TypeError(f"map_func must be callable. Received: map_func={map_func!r}")
        return _MapDataset(self, map_func)

    def filter(self, predicate: Callable[..., Any], name: str | None = None) -> Dataset:
        """Keeps the elements for which ``predicate`` returns a true scalar bool."""
        if not callable(predicate):
            raise TypeError(f"predicate must be callable. Received: predicate={predicate!r}")
        return _FilterDataset(self, predicate)

    def flat_map(self, map_func: Callable[..., Any], name: str | None = None) -> Dataset:
        """Maps each element to a Dataset and flattens the results in order."""
        return _FlatMapDataset(self, map_func)

    def shuffle(self, buffer_size: Any, seed: int | None = None,
                reshuffle_each_iteration: bool = True, name: str | None = None) -> Dataset:
        """Randomly shuffles the elements with a buffer of ``buffer_size`` elements.

        As TensorFlow: the buffer is filled with the first ``buffer_size`` elements; each
        output is drawn uniformly from the buffer and its slot refilled with the next input.
        A buffer as large as the dataset gives a uniform permutation. With
        ``reshuffle_each_iteration`` each pass has a different (still seeded) order.

        Raises:
            ValueError: if ``buffer_size`` < 1.
        """
        size = _as_int(buffer_size, "buffer_size")
        if size < 1:
            raise ValueError(f"shuffle: buffer_size must be at least 1. "
                             f"Received: buffer_size={size}")
        return _ShuffleDataset(self, size, _shuffle_seed(seed), bool(reshuffle_each_iteration))

    def batch(self, batch_size: Any, drop_remainder: bool = False, num_parallel_calls: Any = None,
              deterministic: Any = None, name: str | None = None) -> Dataset:
        """Stacks ``batch_size`` consecutive elements into one (the last batch may be smaller
        unless ``drop_remainder``). Components of an element must keep their shapes.

        Raises:
            ValueError: if ``batch_size`` < 1 (at creation) or two elements' components have
                different shapes (during iteration).
        """
        size = _as_int(batch_size, "batch_size")
        if size < 1:
            raise ValueError(f"batch: batch_size must be at least 1. Received: batch_size={size}")
        return _BatchDataset(self, size, bool(drop_remainder))

    def unbatch(self, name: str | None = None) -> Dataset:
        """Splits each element along its first dimension (the inverse of ``batch``)."""
        return _UnbatchDataset(self)

    def repeat(self, count: Any = None, name: str | None = None) -> Dataset:
        """Repeats the dataset ``count`` times (forever for None or -1)."""
        n = -1 if count is None else _as_int(count, "count")
        return _RepeatDataset(self, n)

    def take(self, count: Any, name: str | None = None) -> Dataset:
        """The first ``count`` elements (all for -1)."""
        return _TakeDataset(self, _as_int(count, "count"))

    def skip(self, count: Any, name: str | None = None) -> Dataset:
        """All but the first ``count`` elements (none for -1)."""
        return _SkipDataset(self, _as_int(count, "count"))

    def enumerate(self, start: Any = 0, name: str | None = None) -> Dataset:
        """Pairs each element with its int64 index: ``(i, element)``."""
        first = _as_int(start, "start")
        return Dataset.zip(Dataset.range(first, np.iinfo(np.int64).max), self)

    def concatenate(self, dataset: Dataset, name: str | None = None) -> Dataset:
        """This dataset's elements followed by ``dataset``'s.

        Raises:
            TypeError: if the two element structures or dtypes differ.
        """
        if not isinstance(dataset, Dataset):
            raise TypeError(f"concatenate: expected a Dataset. Received: {type(dataset).__name__}")
        return _ConcatenateDataset(self, dataset)

    def cache(self, filename: str = "", name: str | None = None) -> Dataset:
        """Keeps the elements in memory after the first complete pass; later passes read
        them from there. Only the in-memory cache (``filename=''``) is supported."""
        if filename:
            raise NotImplementedError(
                "cache: only the in-memory cache is supported; call cache() without a filename. "
                f"Received: filename={filename!r}")
        return _CacheDataset(self)

    def prefetch(self, buffer_size: Any, name: str | None = None) -> Dataset:
        """Produces up to ``buffer_size`` elements ahead in a background thread
        (``AUTOTUNE`` picks a small buffer). Errors raised while producing are raised by the
        consumer; the thread ends when the iterator is exhausted or dropped."""
        size = _as_int(buffer_size, "buffer_size")
        if size == AUTOTUNE:
            size = _AUTOTUNE_PREFETCH
        if size < 0:
            raise ValueError(f"prefetch: buffer_size must be >= 0 or AUTOTUNE. "
                             f"Received: buffer_size={size}")
        return _PrefetchDataset(self, size) if size > 0 else self

    def shard(self, num_shards: Any, index: Any, name: str | None = None) -> Dataset:
        """Every ``num_shards``-th element starting at ``index``: element ``i`` goes to shard
        ``i % num_shards`` (``tf.data.Dataset.shard``). ``num_shards`` may be
        ``tf.data.experimental.SHARD_HINT``, which ``AutoShardPolicy.HINT`` replaces by the
        number of workers (iterating such a dataset outside tf.distribute raises).

        Raises:
            ValueError: if ``num_shards`` <= 0 or ``index`` is not in ``[0, num_shards)``.
        """
        from corten.data.options import SHARD_HINT

        n, i = _as_int(num_shards, "num_shards"), _as_int(index, "index")
        if n <= 0 and n != SHARD_HINT:
            raise ValueError("Number of shards must be greater than zero "
                             f"(currently num_shards = {n}).")
        if not 0 <= i < n and n != SHARD_HINT:
            raise ValueError(f"Index must be between 0 and {n - 1} (currently index = {i}).")
        return _ShardDataset(self, n, i)

    def with_options(self, options: Any, name: str | None = None) -> Dataset:
        """This dataset carrying ``options`` (a ``tf.data.Options``), merged over the options
        it already has: an option set here wins over the same option set before.

        Raises:
            TypeError: if ``options`` is not a ``tf.data.Options``.
        """
        from corten.data.options import Options

        if not isinstance(options, Options):
            raise TypeError(f"with_options: expected a tf.data.Options. Received: {options!r}")
        return _OptionsDataset(self, options)

    def options(self) -> Any:
        """The ``tf.data.Options`` of this dataset: those set with ``with_options`` on it or on
        the datasets it is built from (later ones win)."""
        from corten.data.options import dataset_options

        return dataset_options(self)

    def reduce(self, initial_state: Any, reduce_func: Callable[[Any, Any], Any]) -> Any:
        """Folds the elements into ``initial_state`` with ``reduce_func(state, element)``."""
        state = initial_state
        for element in self:
            state = reduce_func(state, element)
        return state

    def get_single_element(self, name: str | None = None) -> Any:
        """The only element of a one-element dataset.

        Raises:
            ValueError: if the dataset has no element or more than one."""
        it = iter(self)
        try:
            first = next(it)
        except StopIteration:
            raise ValueError("get_single_element: the dataset is empty.") from None
        for _ in it:
            raise ValueError("get_single_element: the dataset has more than one element.")
        return first


def _check_spec(spec: Any) -> None:
    if not isinstance(spec, TensorSpec):
        raise TypeError("output_signature must be a structure of TensorSpec. "
                        f"Received: {spec!r}")


def _specs_from_types(types: Any, shapes: Any) -> Any:
    # output_shapes nests like output_types, but each shape is itself a tuple/list, so the two
    # are walked together down to the types' leaves.
    if isinstance(types, Mapping):
        return {k: _specs_from_types(types[k], shapes[k]) for k in types}
    if isinstance(types, (tuple, list)):
        if not isinstance(shapes, (tuple, list)) or len(shapes) != len(types):
            raise ValueError("from_generator: output_shapes must nest like output_types. "
                             f"Received: output_types={types!r}, output_shapes={shapes!r}")
        return tuple(_specs_from_types(t, s) for t, s in zip(types, shapes))
    return TensorSpec(shapes, types)


# --------------------------------------------------------------------------- sources


class _TensorSliceDataset(Dataset):
    def __init__(self, element: Any) -> None:
        self._structure = element
        leaves = st.flatten(element)
        if not leaves:
            raise ValueError("from_tensor_slices: expected at least one component.")
        arrays = [leaf if isinstance(leaf, Tensor) else np.asarray(leaf) for leaf in leaves]
        for i, a in enumerate(arrays):
            if len(a.shape) == 0:
                raise ValueError("from_tensor_slices: every component must have at least one "
                                 f"dimension; component {i} is a scalar. Received: {a!r}")
        n = arrays[0].shape[0]
        for i, a in enumerate(arrays[1:], 1):
            if a.shape[0] != n:
                raise ValueError(
                    "from_tensor_slices: all components must have the same size in their first "
                    f"dimension; got {n} (component 0, shape={tuple(arrays[0].shape)}) and "
                    f"{a.shape[0]} (component {i}, shape={tuple(a.shape)})")
        self._arrays = arrays
        self._n = int(n)

    def _elements(self) -> Iterator[Any]:
        arrays, structure = self._arrays, self._structure
        for i in range(self._n):
            yield st.pack(structure, [a[i] for a in arrays])

    def _cardinality(self) -> int:
        return self._n

    def _spec(self) -> Any:
        return st.pack(self._structure, [
            TensorSpec(tuple(a.shape[1:]), st.output_dtype(a)) for a in self._arrays])


class _TensorDataset(Dataset):
    def __init__(self, element: Any) -> None:
        if not st.flatten(element):
            raise ValueError("from_tensors: expected at least one component.")
        self._element = element

    def _elements(self) -> Iterator[Any]:
        yield self._element

    def _cardinality(self) -> int:
        return 1

    def _spec(self) -> Any:
        return st.spec_of(self._element)


class _RangeDataset(Dataset):
    def __init__(self, start: int, stop: int, step: int, dtype: Any) -> None:
        self._range = range(start, stop, step)
        self._np_dtype = dtype.as_numpy_dtype
        self._dtype = dtype

    def _elements(self) -> Iterator[Any]:
        np_dtype = self._np_dtype
        for i in self._range:
            yield np.asarray(i, dtype=np_dtype)

    def _cardinality(self) -> int:
        return len(self._range)

    def _spec(self) -> Any:
        return TensorSpec((), self._dtype)


class _GeneratorDataset(Dataset):
    def __init__(self, generator: Callable[..., Any], args: tuple, signature: Any) -> None:
        self._generator = generator
        self._args = args
        self._signature = signature
        self._inferred: Any = None

    def _convert(self, value: Any, signature: Any) -> Any:
        if not st.same_structure(signature, value) and not (
                isinstance(value, list) and not st.is_structure(signature)):
            raise TypeError("from_generator: the generator yielded an element that does not "
                            f"match the expected structure {signature!r}. Received: {value!r}")
        flat_specs = st.flatten(signature)
        if isinstance(value, list) and not st.is_structure(signature):
            flat_values = [value]
        else:
            flat_values = st.flatten(value)
        out = []
        for spec, v in zip(flat_specs, flat_values):
            arr = st.normalize(v, copy_tensors=False)
            if isinstance(arr, Tensor):
                arr = np.asarray(arr)
            if spec.dtype == _C.DType.string:
                arr = np.asarray(arr)
                if arr.dtype.kind not in "SUO":
                    raise TypeError(
                        f"from_generator: the generator yielded an element of dtype {arr.dtype} "
                        f"where string was expected. Received: {v!r}")
            else:
                target = spec.dtype.as_numpy_dtype
                kind = np.dtype(target).kind
                if arr.dtype.kind in "SUO" or (kind in "iub" and arr.dtype.kind == "f") or \
                        (kind == "b" and arr.dtype.kind != "b"):
                    raise TypeError(
                        f"from_generator: the generator yielded an element of dtype {arr.dtype} "
                        f"where {spec.dtype} was expected. Received: {v!r}")
                arr = arr.astype(target, copy=False)
            if not st.shapes_compatible(spec.shape, arr.shape):
                raise ValueError(
                    f"from_generator: the generator yielded an element of shape {arr.shape} "
                    f"where an element of shape {spec.shape} was expected.")
            out.append(arr)
        return st.pack(signature, out)

    def _elements(self) -> Iterator[Any]:
        it = iter(self._generator(*self._args))
        for value in it:
            if self._signature is None:
                yield st.normalize(value, copy_tensors=False)
            else:
                yield self._convert(value, self._signature)

    def _spec(self) -> Any:
        if self._signature is not None:
            return self._signature
        if self._inferred is None:
            for element in self._elements():
                self._inferred = st.spec_of(element)
                break
            else:
                raise ValueError("from_generator: the generator yielded no element, so the "
                                 "element_spec is unknown; pass output_signature.")
        return self._inferred


# --------------------------------------------------------------------------- transformations


class _UnaryDataset(Dataset):
    def __init__(self, input_dataset: Dataset) -> None:
        self._input = input_dataset

    def _cardinality(self) -> int:
        return self._input._cardinality()

    def _spec(self) -> Any:
        return self._input._spec()

    def _inputs(self) -> list[Dataset]:
        return [self._input]


class _OptionsDataset(_UnaryDataset):
    def __init__(self, input_dataset: Dataset, options: Any) -> None:
        super().__init__(input_dataset)
        self._own_options = copy.deepcopy(options)  # later edits of `options` do not leak in

    def _elements(self) -> Iterator[Any]:
        return self._input._elements()


class _ShardDataset(_UnaryDataset):
    def __init__(self, input_dataset: Dataset, num_shards: int, index: int) -> None:
        super().__init__(input_dataset)
        self._num_shards, self._index = num_shards, index

    def _elements(self) -> Iterator[Any]:
        from corten.data.options import SHARD_HINT

        if self._num_shards == SHARD_HINT:
            raise RuntimeError(
                "`tf.data.Dataset.shard(SHARD_HINT, ...)` can only be used in "
                "`tf.distribute.Strategy.experimental_distribute_dataset()` with "
                "`tf.data.experimental.AutoShardPolicy.HINT` policy.")
        for i, element in enumerate(self._input._elements()):
            if i % self._num_shards == self._index:
                yield element

    def _cardinality(self) -> int:
        n = self._input._cardinality()
        if n < 0:
            return n
        if self._num_shards < 0:  # SHARD_HINT: known once tf.distribute replaces it
            return UNKNOWN_CARDINALITY
        return n // self._num_shards + (1 if self._index < n % self._num_shards else 0)


class _MapDataset(_UnaryDataset):
    def __init__(self, input_dataset: Dataset, fn: Callable[..., Any]) -> None:
        super().__init__(input_dataset)
        self._fn = fn
        self._spec_cache: Any = None

    def _elements(self) -> Iterator[Any]:
        fn = self._fn
        for element in self._input._elements():
            out = _call(fn, element)
            if isinstance(out, list):  # tf.data converts a returned list to a tuple
                out = tuple(out)
            yield st.normalize(out, copy_tensors=False)

    def _spec(self) -> Any:
        # The output structure of a Python function is only known by calling it: use the
        # first element (as TensorFlow traces the function once).
        if self._spec_cache is None:
            for element in self._elements():
                self._spec_cache = st.spec_of(element)
                break
            else:
                raise ValueError("map: the dataset is empty, so the element_spec of the mapped "
                                 "dataset is unknown.")
        return self._spec_cache


class _FilterDataset(_UnaryDataset):
    def __init__(self, input_dataset: Dataset, predicate: Callable[..., Any]) -> None:
        super().__init__(input_dataset)
        self._predicate = predicate

    def _elements(self) -> Iterator[Any]:
        for element in self._input._elements():
            if _is_true(_call(self._predicate, element)):
                yield element

    def _cardinality(self) -> int:
        return UNKNOWN_CARDINALITY


class _FlatMapDataset(_UnaryDataset):
    def __init__(self, input_dataset: Dataset, fn: Callable[..., Any]) -> None:
        super().__init__(input_dataset)
        self._fn = fn

    def _inner(self, element: Any) -> Dataset:
        inner = _call(self._fn, element)
        if not isinstance(inner, Dataset):
            raise TypeError("flat_map: map_func must return a Dataset. "
                            f"Received: {type(inner).__name__}")
        return inner

    def _elements(self) -> Iterator[Any]:
        for element in self._input._elements():
            yield from self._inner(element)._elements()

    def _cardinality(self) -> int:
        return UNKNOWN_CARDINALITY

    def _spec(self) -> Any:
        for element in self._input._elements():
            return self._inner(element)._spec()
        raise ValueError("flat_map: the dataset is empty, so the element_spec is unknown.")


class _ShuffleDataset(_UnaryDataset):
    def __init__(self, input_dataset: Dataset, buffer_size: int, seed: int,
                 reshuffle: bool) -> None:
        super().__init__(input_dataset)
        self._buffer_size = buffer_size
        self._seed = seed
        self._reshuffle = reshuffle
        self._epoch = 0
        self._lock = threading.Lock()

    def _elements(self) -> Iterator[Any]:
        with self._lock:
            epoch = self._epoch if self._reshuffle else 0
            self._epoch += 1
        rng = np.random.Generator(np.random.Philox(key=[self._seed, epoch]))
        source = self._input._elements()
        buffer: list[Any] = []
        for element in source:
            buffer.append(element)
            if len(buffer) == self._buffer_size:
                break
        draws = rng.random(1024)
        k = 0
        for element in source:
            if k == len(draws):
                draws, k = rng.random(1024), 0
            i = int(draws[k] * len(buffer))
            k += 1
            yield buffer[i]
            buffer[i] = element
        while buffer:
            if k == len(draws):
                draws, k = rng.random(1024), 0
            i = int(draws[k] * len(buffer))
            k += 1
            yield buffer[i]
            buffer[i] = buffer[-1]
            buffer.pop()


def _stack(items: list[Any], component: int) -> np.ndarray:
    arrays = [np.asarray(x) for x in items]
    first = arrays[0].shape
    for j, a in enumerate(arrays[1:], 1):
        if a.shape != first:
            raise ValueError(
                f"batch: cannot batch tensors with different shapes in component {component}. "
                f"First element had shape {first} and element {j} had shape {a.shape}.")
    return np.stack(arrays)


# What holding one element in a pending batch costs besides its data (the Python objects).
_ELEMENT_OVERHEAD = 64


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 0


class _BatchDataset(_UnaryDataset):
    def __init__(self, input_dataset: Dataset, batch_size: int, drop_remainder: bool) -> None:
        super().__init__(input_dataset)
        self._batch_size = batch_size
        self._drop_remainder = drop_remainder

    def _make_batch(self, elements: list[Any]) -> Any:
        flats = [st.flatten(e) for e in elements]
        stacked = [_stack([f[c] for f in flats], c) for c in range(len(flats[0]))]
        return st.pack(elements[0], stacked)

    def _check_fits(self, first: Any) -> None:
        """Refuses, at the first element, a batch that cannot fit in this machine's memory,
        instead of collecting elements until memory runs out."""
        n = self._batch_size
        card = self._input._cardinality()
        if card >= 0:
            n = min(n, card)
        element = sum(getattr(c, "nbytes", 8) for c in st.flatten(first))
        need = n * (element + _ELEMENT_OVERHEAD)
        total = _physical_memory()
        if total and need > total:
            raise MemoryError(
                f"batch: a batch of {n} elements of {element} bytes needs about {need} bytes, "
                f"more than this machine's {total} bytes of memory. Use a smaller batch_size. "
                f"Received: batch_size={self._batch_size}")

    def _elements(self) -> Iterator[Any]:
        if type(self._input) is _TensorSliceDataset:
            # Batches of consecutive slices are row ranges of the sliced arrays: no element
            # is taken apart and stacked again.
            source = self._input
            step = self._batch_size
            end = source._n - source._n % step if self._drop_remainder else source._n
            for i in range(0, end, step):
                yield st.pack(source._structure, [a[i:i + step] for a in source._arrays])
            return
        pending: list[Any] = []
        for element in self._input._elements():
            if not pending:
                self._check_fits(element)
            pending.append(element)
            if len(pending) == self._batch_size:
                yield self._make_batch(pending)
                pending = []
        if pending and not self._drop_remainder:
            yield self._make_batch(pending)

    def _cardinality(self) -> int:
        n = self._input._cardinality()
        if n < 0:
            return n
        b = self._batch_size
        return n // b if self._drop_remainder else -(-n // b)

    def _spec(self) -> Any:
        first = self._batch_size if self._drop_remainder else None
        return st.map_structure(
            lambda s: TensorSpec(None if s.shape is None else (first, *s.shape), s.dtype),
            self._input._spec())


class _UnbatchDataset(_UnaryDataset):
    def _elements(self) -> Iterator[Any]:
        for element in self._input._elements():
            leaves = [np.asarray(x) for x in st.flatten(element)]
            if any(a.ndim == 0 for a in leaves):
                raise ValueError("unbatch: every component must have at least one dimension.")
            n = leaves[0].shape[0]
            if any(a.shape[0] != n for a in leaves):
                raise ValueError("unbatch: components have different first dimensions: "
                                 f"{[a.shape for a in leaves]}")
            for i in range(n):
                yield st.pack(element, [a[i] for a in leaves])

    def _cardinality(self) -> int:
        n = self._input._cardinality()
        return n if n == INFINITE_CARDINALITY else UNKNOWN_CARDINALITY

    def _spec(self) -> Any:
        return st.map_structure(
            lambda s: TensorSpec(None if s.shape is None else s.shape[1:], s.dtype),
            self._input._spec())


class _RepeatDataset(_UnaryDataset):
    def __init__(self, input_dataset: Dataset, count: int) -> None:
        super().__init__(input_dataset)
        self._count = count

    def _elements(self) -> Iterator[Any]:
        done = 0
        while self._count < 0 or done < self._count:
            produced = False
            for element in self._input._elements():
                produced = True
                yield element
            if not produced:
                return
            done += 1

    def _cardinality(self) -> int:
        n = self._input._cardinality()
        if n in (INFINITE_CARDINALITY, UNKNOWN_CARDINALITY):
            return n
        if self._count < 0:
            return 0 if n == 0 else INFINITE_CARDINALITY
        return n * self._count


class _TakeDataset(_UnaryDataset):
    def __init__(self, input_dataset: Dataset, count: int) -> None:
        super().__init__(input_dataset)
        self._count = count

    def _elements(self) -> Iterator[Any]:
        if self._count == 0:
            return
        for i, element in enumerate(self._input._elements()):
            yield element
            if i + 1 == self._count:
                return

    def _cardinality(self) -> int:
        n = self._input._cardinality()
        if n == UNKNOWN_CARDINALITY:
            return n
        if self._count < 0:
            return n
        if n == INFINITE_CARDINALITY:
            return self._count
        return min(n, self._count)


class _SkipDataset(_UnaryDataset):
    def __init__(self, input_dataset: Dataset, count: int) -> None:
        super().__init__(input_dataset)
        self._count = count

    def _elements(self) -> Iterator[Any]:
        if self._count < 0:
            return
        for i, element in enumerate(self._input._elements()):
            if i >= self._count:
                yield element

    def _cardinality(self) -> int:
        n = self._input._cardinality()
        if n < 0:
            return n
        if self._count < 0:
            return 0
        return max(n - self._count, 0)


class _ZipDataset(Dataset):
    def __init__(self, structure: Any) -> None:
        self._structure = structure
        self._datasets: list[Dataset] = st.flatten(structure)

    def _elements(self) -> Iterator[Any]:
        iterators = [d._elements() for d in self._datasets]
        while True:
            parts = []
            for it in iterators:
                try:
                    parts.append(next(it))
                except StopIteration:
                    return
            yield st.pack(self._structure, parts)

    def _cardinality(self) -> int:
        result = INFINITE_CARDINALITY
        for d in self._datasets:
            n = d._cardinality()
            if n == UNKNOWN_CARDINALITY:
                return n
            if n != INFINITE_CARDINALITY:
                result = n if result == INFINITE_CARDINALITY else min(result, n)
        return result

    def _spec(self) -> Any:
        return st.pack(self._structure, [d._spec() for d in self._datasets])

    def _inputs(self) -> list[Dataset]:
        return list(self._datasets)


class _ConcatenateDataset(Dataset):
    def __init__(self, first: Dataset, second: Dataset) -> None:
        a, b = first._spec(), second._spec()
        if not st.same_structure(a, b):
            raise TypeError("concatenate: the two datasets' elements have different structures: "
                            f"{a!r} and {b!r}")
        for x, y in zip(st.flatten(a), st.flatten(b)):
            if x.dtype != y.dtype:
                raise TypeError("concatenate: the two datasets' elements have different dtypes: "
                                f"{x.dtype} and {y.dtype}")
        self._first, self._second = first, second
        self._spec_value = st.map_structure(lambda x, y: x.most_specific_compatible(y), a, b)

    def _elements(self) -> Iterator[Any]:
        yield from self._first._elements()
        yield from self._second._elements()

    def _cardinality(self) -> int:
        n1, n2 = self._first._cardinality(), self._second._cardinality()
        if INFINITE_CARDINALITY in (n1, n2):
            return INFINITE_CARDINALITY
        if UNKNOWN_CARDINALITY in (n1, n2):
            return UNKNOWN_CARDINALITY
        return n1 + n2

    def _spec(self) -> Any:
        return self._spec_value

    def _inputs(self) -> list[Dataset]:
        return [self._first, self._second]


class _CacheDataset(_UnaryDataset):
    def __init__(self, input_dataset: Dataset) -> None:
        super().__init__(input_dataset)
        self._cache: list[Any] | None = None

    def _elements(self) -> Iterator[Any]:
        if self._cache is not None:
            yield from self._cache
            return
        filled = []
        for element in self._input._elements():
            filled.append(element)
            yield element
        self._cache = filled  # only a complete pass is kept


# --------------------------------------------------------------------------- prefetch


_DONE = object()


def _produce(source: Iterator[Any], q: queue.Queue, stop: threading.Event) -> None:
    """Producer thread body: fills ``q`` with ("item", x), then ("done", None) or
    ("error", exc). Holds no reference to the consumer, so dropping the consumer's iterator
    lets it stop (``stop`` is set by the consumer's finalizer)."""

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    try:
        for element in source:
            if not put(("item", element)):
                return
        put(("done", None))
    except BaseException as exc:  # noqa: BLE001  (re-raised in the consumer)
        put(("error", exc))
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001, S110  (best effort on a dead pipeline)
                pass


class _PrefetchIterator:
    def __init__(self, source: Iterator[Any], buffer_size: int) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=buffer_size)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=_produce, args=(source, self._queue, self._stop),
                                        name="corten-data-prefetch", daemon=True)
        self._finished = False
        self._finalizer = weakref.finalize(self, self._stop.set)
        self._thread.start()

    def __iter__(self) -> _PrefetchIterator:
        return self

    def __next__(self) -> Any:
        if self._finished:
            raise StopIteration
        kind, value = self._queue.get()
        if kind == "item":
            return value
        self._finished = True
        self.close()
        if kind == "error":
            raise value
        raise StopIteration

    def close(self) -> None:
        self._stop.set()


class _PrefetchDataset(_UnaryDataset):
    def __init__(self, input_dataset: Dataset, buffer_size: int) -> None:
        super().__init__(input_dataset)
        self._buffer_size = buffer_size

    def _elements(self) -> Iterator[Any]:
        it = _PrefetchIterator(self._input._elements(), self._buffer_size)
        try:
            yield from it
        finally:
            it.close()
