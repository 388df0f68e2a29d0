"""keras.optimizers.schedules: learning rates as functions of the optimizer step (Keras 2).

A schedule is called with the optimizer's ``iterations`` (the number of updates applied so far)
and returns the learning rate for the next update as a scalar tensor (float32 for float
hyperparameters, as TensorFlow converts Python floats). The formulas are tensor ops on the
step, computed in that dtype as tf.keras does, so that a compiled training step computes its
learning rate on every replay.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import corten

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
           "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts", "serialize", "deserialize"]


def _dtype(like: Any) -> Any:
    """float64 for a float64 hyperparameter (tensor or numpy), else float32."""
    if isinstance(like, (corten.Tensor, np.ndarray, np.generic)) and \
            np.asarray(like).dtype == np.float64:
        return corten.float64
    return corten.float32


def _t(value: Any, dtype: Any) -> corten.Tensor:
    """``value`` (a step Variable, tensor or number) as a scalar tensor of ``dtype``."""
    if isinstance(value, corten.Tensor):
        return value if value.dtype == dtype else corten.cast(value, dtype)
    return corten.constant(value, dtype=dtype)


class LearningRateSchedule:
    """Base class: ``schedule(step)`` returns the learning rate at ``step``.

    Subclasses implement ``__call__(step)`` and ``get_config()``.
    """

    def __call__(self, step: Any):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`.")

    def get_config(self) -> dict:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` in "
            "order to be serializable.")

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (integer division of the
    exponent with ``staircase=True``).

    Raises:
        ValueError: if ``decay_steps`` is not positive.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str | None = None) -> None:
        if decay_steps is None or float(decay_steps) <= 0:
            raise ValueError("Argument `decay_steps` must be > 0. "
                             f"Received: decay_steps={decay_steps}")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step: Any):
        dtype = _dtype(self.initial_learning_rate)
        p = _t(step, dtype) / _t(self.decay_steps, dtype)
        if self.staircase:
            p = corten.math.floor(p)
        return _t(self.initial_learning_rate, dtype) * corten.pow(_t(self.decay_rate, dtype), p)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` for ``step <= boundaries[0]``, ``values[1]`` for
    ``boundaries[0] < step <= boundaries[1]``, ..., ``values[-1]`` after the last boundary.

    Raises:
        ValueError: unless ``len(values) == len(boundaries) + 1``.
    """

    def __init__(self, boundaries: list, values: list, name: str | None = None) -> None:
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}.")
        self.boundaries = list(boundaries)
        self.values = list(values)
        self.name = name

    def __call__(self, step: Any):
        ints = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                   for v in self.values)
        dtype = corten.int32 if ints else _dtype(self.values[0])
        s = _t(step, corten.float64)
        value = _t(self.values[-1], dtype)
        # The first boundary at or after the step wins: fill from the last one back.
        for boundary, v in reversed(list(zip(self.boundaries, self.values[:-1], strict=True))):
            value = corten.where(s <= _t(boundary, corten.float64), _t(v, dtype), value)
        return value

    def get_config(self) -> dict:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """Polynomial decay from ``initial_learning_rate`` to ``end_learning_rate`` over
    ``decay_steps`` (``cycle=True`` restarts with a longer period)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int,
                 end_learning_rate: float = 0.0001, power: float = 1.0, cycle: bool = False,
                 name: str | None = None) -> None:
        if decay_steps is None or float(decay_steps) <= 0:
            raise ValueError("Argument `decay_steps` must be > 0. "
                             f"Received: decay_steps={decay_steps}")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step: Any):
        dtype = _dtype(self.initial_learning_rate)
        s = _t(step, dtype)
        decay_steps = _t(self.decay_steps, dtype)
        if self.cycle:
            # With step 0, the multiplier is 1 (not 0).
            multiplier = corten.where(corten.equal(s, 0.0), _t(1.0, dtype),
                                      corten.math.ceil(s / decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            s = corten.minimum(s, decay_steps)
        p = s / decay_steps
        lr0, lr1 = _t(self.initial_learning_rate, dtype), _t(self.end_learning_rate, dtype)
        return (lr0 - lr1) * corten.pow(1.0 - p, _t(self.power, dtype)) + lr1

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (integer division with
    ``staircase=True``)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str | None = None) -> None:
        if decay_steps is None or float(decay_steps) <= 0:
            raise ValueError("Argument `decay_steps` must be > 0. "
                             f"Received: decay_steps={decay_steps}")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step: Any):
        dtype = _dtype(self.initial_learning_rate)
        p = _t(step, dtype) / _t(self.decay_steps, dtype)
        if self.staircase:
            p = corten.math.floor(p)
        return _t(self.initial_learning_rate, dtype) / (1.0 + _t(self.decay_rate, dtype) * p)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay (SGDR without restarts), with an optional linear warmup.

    Without warmup: ``lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) /
    decay_steps)) + alpha)``. With ``warmup_target``: a linear ramp from
    ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``, then the cosine decay
    of ``warmup_target`` over ``decay_steps``.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 name: str | None = None, warmup_target: float | None = None,
                 warmup_steps: int = 0) -> None:
        if decay_steps is None or float(decay_steps) <= 0:
            raise ValueError("Argument `decay_steps` must be > 0. "
                             f"Received: decay_steps={decay_steps}")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decay(self, step: Any, decay_from: Any, dtype: Any) -> Any:
        fraction = step / _t(self.decay_steps, dtype)
        cosine = 0.5 * (1.0 + corten.math.cos(math.pi * fraction))
        alpha = _t(self.alpha, dtype)
        return decay_from * ((1.0 - alpha) * cosine + alpha)

    def __call__(self, step: Any):
        dtype = _dtype(self.initial_learning_rate)
        s = _t(step, dtype)
        lr0 = _t(self.initial_learning_rate, dtype)
        decay_steps = _t(self.decay_steps, dtype)
        if self.warmup_target is None:
            return self._decay(corten.minimum(s, decay_steps), lr0, dtype)
        warmup = _t(self.warmup_steps, dtype)
        s = corten.minimum(s, decay_steps + warmup)
        target = _t(self.warmup_target, dtype)
        # The ramp divides by warmup_steps, which may be 0: a ramp of no steps is never taken.
        ramp = (target - lr0) * corten.math.divide_no_nan(s, warmup) + lr0
        return corten.where(s < warmup, ramp, self._decay(s - warmup, target, dtype))

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): the i-th period lasts
    ``first_decay_steps * t_mul ** i`` steps and starts at ``m_mul ** i`` times the initial
    rate."""

    def __init__(self, initial_learning_rate: float, first_decay_steps: int, t_mul: float = 2.0,
                 m_mul: float = 1.0, alpha: float = 0.0, name: str | None = None) -> None:
        if first_decay_steps is None or float(first_decay_steps) <= 0:
            raise ValueError("Argument `first_decay_steps` must be > 0. "
                             f"Received: first_decay_steps={first_decay_steps}")
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step: Any):
        dtype = _dtype(self.initial_learning_rate)
        fraction = _t(step, dtype) / _t(self.first_decay_steps, dtype)
        t_mul, m_mul = _t(self._t_mul, dtype), _t(self._m_mul, dtype)
        if float(self._t_mul) == 1.0:
            i_restart = corten.math.floor(fraction)
            fraction = fraction - i_restart
        else:
            i_restart = corten.math.floor(
                corten.math.log(1.0 - fraction * (1.0 - t_mul)) / corten.math.log(t_mul))
            sum_r = (1.0 - corten.pow(t_mul, i_restart)) / (1.0 - t_mul)
            fraction = (fraction - sum_r) / corten.pow(t_mul, i_restart)
        m_fac = corten.pow(m_mul, i_restart)
        cosine = 0.5 * m_fac * (1.0 + corten.math.cos(math.pi * fraction))
        alpha = _t(self.alpha, dtype)
        return _t(self.initial_learning_rate, dtype) * ((1.0 - alpha) * cosine + alpha)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


_BY_NAME = {cls.__name__: cls for cls in (
    ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay, CosineDecay,
    CosineDecayRestarts)}


def serialize(learning_rate_schedule: LearningRateSchedule) -> dict:
    """``{"class_name": ..., "config": ...}`` for a schedule."""
    if not isinstance(learning_rate_schedule, LearningRateSchedule):
        raise ValueError("serialize expects a LearningRateSchedule. "
                         f"Received: learning_rate_schedule={learning_rate_schedule!r}")
    return {"module": "keras.optimizers.schedules",
            "class_name": type(learning_rate_schedule).__name__,
            "config": learning_rate_schedule.get_config(), "registered_name": None}


def deserialize(config: dict, custom_objects: dict | None = None) -> LearningRateSchedule:
    """Instantiates a schedule from ``serialize``'s output.

    Raises:
        ValueError: for an unknown class name.
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret serialized schedule: {config!r}")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _BY_NAME.get(name)
    if cls is None:
        raise ValueError(f"Unknown learning rate schedule: {name!r}. Please ensure it is "
                         "passed in `custom_objects`.")
    return cls.from_config(dict(config.get("config", {})))
