"""Random ops: tf.random's normal, uniform, truncated_normal, their stateless variants, set_seed,
and tf.nn.dropout.

All numbers come from the C++ Philox4x32-10 kernels; a draw is a pure function of its (key,
counter offset) pair, so results are bit-identical for every thread count. How keys and
offsets follow from seeds is documented in ``corten.ops._seed``.
"""

from __future__ import annotations

from typing import Any

from corten import _C
from corten.dtypes import as_dtype, float32
from corten.ops import _seed
from corten.ops import _symbolic as _sym
from corten.ops.array import gather
from corten.ops._seed import set_seed

Tensor = _C.Tensor

__all__ = ["set_seed", "normal", "uniform", "truncated_normal", "shuffle", "stateless_normal",
           "stateless_uniform", "stateless_truncated_normal"]


def _uniform_bounds(minval: Any, maxval: Any, dtype: Any) -> tuple[Any, Any]:
    if dtype.is_integer:
        if maxval is None:
            raise ValueError(f"Must specify maxval for integer dtype {dtype.name}. "
                             f"Received: maxval={maxval}")
        return minval, maxval
    if not dtype.is_floating:
        raise TypeError(f"uniform: dtype must be float32, float64, int32 or int64. "
                        f"Received: dtype={dtype.name}")
    return float(minval), 1.0 if maxval is None else float(maxval)


def _int_bound(v: Any) -> Any:
    # Python ints stay ints (exact for int64); anything else goes through float, where the C++
    # entry point checks integrality.
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    try:
        return int(v.__index__())
    except (AttributeError, TypeError):
        return float(v)


def normal(shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = float32,
           seed: int | None = None, name: str | None = None) -> Tensor:
    """Samples from a normal distribution.

    Args:
        shape: the output shape (list, tuple, TensorShape or 1-D integer tensor).
        mean, stddev: the distribution's parameters (Python numbers or scalar tensors).
        dtype: float32 or float64.
        seed: the op-level seed, combined with the global seed (see ``set_seed``).

    Returns:
        A new tensor of ``shape`` and ``dtype``.

    Raises:
        TypeError: for an unsupported dtype. ValueError: for a bad shape or non-finite mean.

    Example:
        >>> corten.random.set_seed(1)
        >>> x = corten.random.normal([2, 3])
    """
    if _sym.tracing and (static := _sym.meta_shape(shape)) is not None:
        return _C.empty_meta(static, as_dtype(dtype))  # Note [Symbolic dispatch]
    dtype = as_dtype(dtype)
    mean, stddev = float(mean), float(stddev)
    return _C.random_normal(shape, mean, stddev, dtype, _seed.stateful_key(seed))


def uniform(shape: Any, minval: Any = 0, maxval: Any = None, dtype: Any = float32,
            seed: int | None = None, name: str | None = None) -> Tensor:
    """Samples from Uniform[minval, maxval).

    Floating dtypes default to ``maxval=1``; integer dtypes (int32, int64) require ``maxval``
    and ``minval < maxval`` and use TensorFlow's ``minval + bits % (maxval - minval)``.

    Raises:
        ValueError: for an integer dtype without maxval, bad bounds or a bad shape.
        TypeError: for an unsupported dtype.
    """
    if _sym.tracing and (static := _sym.meta_shape(shape)) is not None:
        return _C.empty_meta(static, as_dtype(dtype))  # Note [Symbolic dispatch]
    dtype = as_dtype(dtype)
    lo, hi = _uniform_bounds(minval, maxval, dtype)
    if dtype.is_integer:
        lo, hi = _int_bound(lo), _int_bound(hi)
    return _C.random_uniform(shape, lo, hi, dtype, _seed.stateful_key(seed))


def truncated_normal(shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = float32,
                     seed: int | None = None, name: str | None = None) -> Tensor:
    """Samples from a normal distribution whose values beyond 2 stddev from the mean are
    redrawn (the result's standard deviation is about 0.8796 * stddev)."""
    if _sym.tracing and (static := _sym.meta_shape(shape)) is not None:
        return _C.empty_meta(static, as_dtype(dtype))  # Note [Symbolic dispatch]
    dtype = as_dtype(dtype)
    mean, stddev = float(mean), float(stddev)
    return _C.truncated_normal(shape, mean, stddev, dtype, _seed.stateful_key(seed))


def shuffle(value: Any, seed: int | None = None, name: str | None = None) -> Tensor:
    """Randomly shuffles a tensor along its first dimension (tf.random.shuffle): row ``i`` of
    the result is row ``perm[i]`` of ``value`` for a uniformly random permutation ``perm``.

    The permutation comes from the same seeded Philox streams as the other stateful draws,
    so a program shuffles identically after the same ``set_seed``; the sequence differs from
    TensorFlow's.

    Raises:
        ValueError: if ``value`` is a scalar.

    Example:
        >>> corten.random.shuffle(corten.range(5), seed=1).shape
        TensorShape([5])
    """
    value = value if isinstance(value, Tensor) else _C.convert_to_tensor(value)
    if value.ndim == 0:
        raise ValueError(f"shuffle: value must be at least 1-D; got a scalar of dtype "
                         f"{value.dtype.name}")
    perm = _C.random_permutation(int(value.shape[0]), _seed.stateful_key(seed))
    if value.device != perm.device:  # the order is drawn on the host; the rows move where they are
        perm = _C.copy_to_device(perm, value.device, "shuffle")
    return gather(value, perm, axis=0)


def stateless_normal(shape: Any, seed: Any, mean: float = 0.0, stddev: float = 1.0,
                     dtype: Any = float32, name: str | None = None) -> Tensor:
    """Like ``normal``, but a pure function of ``seed`` (a pair of integers): the same seed
    always gives the same values.

    Raises:
        ValueError: if seed is not a pair of integers.
    """
    return _C.random_normal(shape, float(mean), float(stddev), as_dtype(dtype),
                            _seed.stateless_key(seed), 0)


def stateless_uniform(shape: Any, seed: Any, minval: Any = 0, maxval: Any = None,
                      dtype: Any = float32, name: str | None = None) -> Tensor:
    """Like ``uniform``, but a pure function of ``seed`` (a pair of integers)."""
    dtype = as_dtype(dtype)
    lo, hi = _uniform_bounds(minval, maxval, dtype)
    if dtype.is_integer:
        lo, hi = _int_bound(lo), _int_bound(hi)
    return _C.random_uniform(shape, lo, hi, dtype, _seed.stateless_key(seed), 0)


def stateless_truncated_normal(shape: Any, seed: Any, mean: float = 0.0, stddev: float = 1.0,
                               dtype: Any = float32, name: str | None = None) -> Tensor:
    """Like ``truncated_normal``, but a pure function of ``seed`` (a pair of integers)."""
    return _C.truncated_normal(shape, float(mean), float(stddev), as_dtype(dtype),
                               _seed.stateless_key(seed), 0)


def dropout(x: Any, rate: float, noise_shape: Any = None, seed: int | None = None,
            name: str | None = None) -> Tensor:
    """Inverted dropout (tf.nn.dropout): zeroes each element with probability ``rate`` and
    scales the kept ones by ``1 / (1 - rate)``.

    Args:
        x: a float32 or float64 tensor (or tensor-like value).
        rate: the drop probability, in [0, 1). 0 returns a copy of x.
        noise_shape: the shape of the keep/drop mask, broadcast against x (each dimension 1 or
            x's size; None entries take x's size), e.g. ``[batch, 1, channels]`` to drop whole
            channels. None means x's shape.
        seed: the op-level seed, combined with the global seed (see ``set_seed``).

    Raises:
        ValueError: if rate is outside [0, 1) or noise_shape does not broadcast to x.
        TypeError: if x is not floating.
    """
    if _sym.active and (type(x) is _sym.KT):
        return _sym.op_node(dropout, (x, rate, noise_shape, seed, name), {})
    rate = float(rate)
    return _C.dropout(x, rate, noise_shape, _seed.stateful_key(seed))
