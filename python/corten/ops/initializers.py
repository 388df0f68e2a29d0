"""keras.initializers: how weights get their initial values.

Each initializer is called as ``init(shape, dtype)``. An initializer with a ``seed`` gives the
same values on every call; without one it draws from corten's global Philox stream, or, inside
``Layer.add_weight``, from a stream keyed by the layer and weight names (so adding a layer does
not change the initial weights of the others).
"""

from __future__ import annotations

import contextlib
import math
import threading
from typing import Any

import numpy as np

import corten
from corten.ops import _seed

__all__ = ["Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform",
           "TruncatedNormal", "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeNormal",
           "HeUniform", "LecunNormal", "LecunUniform", "Orthogonal", "Identity", "get",
           "serialize", "deserialize"]

_ctx = threading.local()


@contextlib.contextmanager
def weight_stream(key: str):
    """Inside this context, unseeded initializers draw from a stream derived from ``key``."""
    prev = getattr(_ctx, "key", None)
    _ctx.key = key
    try:
        yield
    finally:
        _ctx.key = prev


def _stateless_seed(explicit: int | None) -> list[int] | None:
    """A stateless seed pair for this draw, or None to use the global stateful stream."""
    if explicit is not None:
        return [int(explicit), 0]
    key = getattr(_ctx, "key", None)
    if key is None:
        return None
    gs = _seed.global_seed_or_default()
    digest = 0
    for ch in key.encode():
        digest = (digest * 1099511628211 + ch) & ((1 << 63) - 1)  # FNV-style, stable
    return [gs & ((1 << 63) - 1), digest]


def _dtype(dtype: Any) -> Any:
    return corten.as_dtype(dtype if dtype is not None else "float32")


class Initializer:
    """Base class: subclasses implement ``__call__(shape, dtype=None, **kwargs)``."""

    def __call__(self, shape, dtype=None, **kwargs):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


class Zeros(Initializer):
    def __call__(self, shape, dtype=None, **kwargs):
        return corten.zeros(shape, _dtype(dtype))


class Ones(Initializer):
    def __call__(self, shape, dtype=None, **kwargs):
        return corten.ones(shape, _dtype(dtype))


class Constant(Initializer):
    def __init__(self, value=0):
        self.value = value

    def __call__(self, shape, dtype=None, **kwargs):
        value = np.asarray(self.value)
        if value.ndim == 0:
            return corten.fill(shape, corten.constant(value.item(), dtype=_dtype(dtype)))
        return corten.reshape(corten.constant(value, dtype=_dtype(dtype)), shape)

    def get_config(self):
        return {"value": self.value if np.ndim(self.value) == 0 else np.asarray(self.value).tolist()}


class _Seeded(Initializer):
    def __init__(self, seed: int | None = None):
        self.seed = seed

    def get_config(self):
        return {"seed": self.seed}


class RandomNormal(_Seeded):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None, **kwargs):
        s = _stateless_seed(self.seed)
        if s is None:
            return corten.random.normal(shape, self.mean, self.stddev, _dtype(dtype))
        return corten.random.stateless_normal(shape, s, self.mean, self.stddev, _dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(_Seeded):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None, **kwargs):
        s = _stateless_seed(self.seed)
        if s is None:
            return corten.random.uniform(shape, self.minval, self.maxval, _dtype(dtype))
        return corten.random.stateless_uniform(shape, s, self.minval, self.maxval, _dtype(dtype))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(_Seeded):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None, **kwargs):
        s = _stateless_seed(self.seed)
        if s is None:
            return corten.random.truncated_normal(shape, self.mean, self.stddev, _dtype(dtype))
        return corten.random.stateless_truncated_normal(shape, s, self.mean, self.stddev,
                                                        _dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _fans(shape) -> tuple[float, float]:
    shape = tuple(int(d) for d in shape)
    if len(shape) < 1:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


class VarianceScaling(_Seeded):
    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if scale <= 0.0:
            raise ValueError(f"VarianceScaling: scale must be positive. Received: scale={scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: invalid mode. Received: mode={mode!r}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(
                f"VarianceScaling: invalid distribution. Received: distribution={distribution!r}")
        super().__init__(seed)
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None, **kwargs):
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(scale) / 0.87962566103423978
            return TruncatedNormal(0.0, stddev, self.seed)(shape, dtype)
        if self.distribution == "untruncated_normal":
            return RandomNormal(0.0, math.sqrt(scale), self.seed)(shape, dtype)
        limit = math.sqrt(3.0 * scale)
        return RandomUniform(-limit, limit, self.seed)(shape, dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


class GlorotUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class GlorotNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class HeNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class HeUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class LecunNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class LecunUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class Orthogonal(_Seeded):
    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None, **kwargs):
        shape = tuple(int(d) for d in shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: the shape must have rank >= 2. Received: shape={shape}")
        rows = math.prod(shape[:-1])
        cols = shape[-1]
        a = RandomNormal(0.0, 1.0, self.seed)((max(rows, cols), min(rows, cols)), "float64")
        # QR factorisation is a one-off host-side step of weight creation, not tensor math on
        # the training path; numpy's LAPACK does it.
        q, r = np.linalg.qr(np.asarray(a))
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return corten.constant((self.gain * q).reshape(shape), dtype=_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None, **kwargs):
        shape = tuple(int(d) for d in shape)
        if len(shape) != 2:
            raise ValueError(f"Identity: the shape must have rank 2. Received: shape={shape}")
        return corten.multiply(corten.eye(shape[0], shape[1], dtype=_dtype(dtype)), self.gain)

    def get_config(self):
        return {"gain": self.gain}


_ALIASES = {
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "random_normal": RandomNormal, "normal": RandomNormal, "random_uniform": RandomUniform,
    "uniform": RandomUniform, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal, "he_normal": HeNormal, "he_uniform": HeUniform,
    "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform, "orthogonal": Orthogonal,
    "identity": Identity,
}
for _cls in list(_ALIASES.values()):
    _ALIASES[_cls.__name__] = _cls


def serialize(initializer: Initializer) -> dict:
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


def deserialize(config: dict, custom_objects: dict | None = None) -> Initializer:
    """The initializer a ``{"class_name": ..., "config": {...}}`` dict describes.

    Raises:
        ValueError: a malformed config or an unknown class name.
    """
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError("An initializer config must be a dict with a 'class_name' string. "
                         f"Received: config={config!r}")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _ALIASES.get(name)
    if cls is None:
        raise ValueError(f"Unknown initializer: {name!r}")
    inner = config.get("config", {})
    if not isinstance(inner, dict):
        raise ValueError(f"The config of initializer {name!r} must be a dict. Received: {inner!r}")
    try:
        return cls.from_config(inner)
    except TypeError as e:
        raise ValueError(f"Invalid config for initializer {name!r}: {e}") from None


def get(identifier: Any) -> Initializer | None:
    """An initializer from a name ("glorot_uniform"), a config dict, an instance or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier)
        if cls is None:
            raise ValueError(f"Unknown initializer: {identifier!r}. Known: {sorted(_ALIASES)}")
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")
