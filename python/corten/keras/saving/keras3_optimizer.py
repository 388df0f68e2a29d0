"""The optimizer state of Keras 3 ``.keras`` files, restored into corten's optimizers.

Note [Keras 3 optimizer variables]
Keras 3 saves ``optimizer.variables`` under ``optimizer/vars/0, 1, ...``: ``iterations``, then
its learning rate as a variable (unless the learning rate is a schedule), then the slots its
``build`` creates. For every optimizer both have, the slots come in corten's order: one kind
per variable interleaved (Adam's momentum and velocity, Adadelta's, Adamax's, Nadam's), then
the kinds built for all variables at once (Adam's amsgrad ``velocity_hat``, RMSprop's
momentum and centred average gradient after its velocities), all over the model's trainable
variables in order. corten keeps ``iterations`` and the same slots; its learning rate is set
from the saved one. Two variables have no counterpart and need none: Keras 3's SGD without
momentum keeps no slots (corten's, unused, stay at zero), and Keras 3's Nadam saves its
running product of momentum factors after the slots, which corten recomputes from
``iterations`` (Nadam.set_weights) instead of reading it. Any other
optimizer class (a subclass may add variables), or a count or shape that differs, leaves the
optimizer fresh, with a warning naming the optimizer, and the model loads without its
optimizer state, as Keras 3's own ``load_own_variables`` does. A model saved before its first
training step has no slots saved; its iterations and learning rate are restored.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

__all__ = ["restore_keras3_optimizer_state"]


def _mapped_classes() -> tuple[type, ...]:
    from corten.keras import optimizers

    return (optimizers.SGD, optimizers.Adam, optimizers.AdamW, optimizers.RMSprop,
            optimizers.Adagrad, optimizers.Adadelta, optimizers.Adamax, optimizers.Nadam)


def _layout(optimizer: Any, values: list[np.ndarray]) -> tuple[list[np.ndarray], Any] | str:
    """``(corten's optimizer variables' values, the saved learning rate or None)`` from Keras
    3's saved ``values``, or why they do not map."""
    from corten.keras import optimizers
    from corten.keras.optimizers import schedules

    ours = list(optimizer.variables)
    slots = ours[1:]
    has_lr = not isinstance(getattr(optimizer, "_learning_rate", None),
                            schedules.LearningRateSchedule)
    keras_slots = 0 if isinstance(optimizer, optimizers.SGD) and optimizer.momentum == 0 \
        else len(slots)
    expected = 1 + int(has_lr) + keras_slots
    if isinstance(optimizer, optimizers.Nadam) and len(values) == expected + 1 and \
            values[-1].shape == ():
        values = values[:-1]  # the running product of momentum factors
    if len(values) == 1 + int(has_lr) and keras_slots:
        # Saved before its first step: Keras 3 builds the slots then, so none were saved.
        return [values[0], *(np.zeros(tuple(v.shape), dtype=v.dtype.name) for v in slots)], \
            (values[1] if has_lr else None)
    if len(values) != expected:
        what = "iterations, " + ("the learning rate, " if has_lr else "") + \
            f"{keras_slots} slot(s) for {len(optimizer._trainable_variables)} trainable " \
            "variable(s)"
        return f"has {len(values)} saved variables where {expected} are expected ({what})"
    for i, value in enumerate(values):
        if value.dtype.kind not in "fiub":
            return f"has a saved variable {i} of dtype {value.dtype}"
    scalars = [0, 1] if has_lr else [0]
    for i in scalars:
        if values[i].shape != ():
            name = "iterations" if i == 0 else "learning rate"
            return f"has a saved {name} (variable {i}) of shape {values[i].shape}, not a scalar"
    saved_slots = values[1 + int(has_lr):]
    if keras_slots == 0:
        saved_slots = [np.zeros(tuple(v.shape), dtype=v.dtype.name) for v in slots]
    for k, (var, value) in enumerate(zip(slots, saved_slots, strict=True)):
        if tuple(value.shape) != tuple(var.shape):
            return (f"has a saved variable {1 + int(has_lr) + k} of shape "
                    f"{tuple(value.shape)} where corten's {var.name!r} has shape "
                    f"{tuple(var.shape)}")
    return [values[0], *saved_slots], (values[1] if has_lr else None)


def restore_keras3_optimizer_state(model: Any, values: list[np.ndarray], filepath: str) -> None:
    """Sets the compiled ``model``'s optimizer from the optimizer variables of a Keras 3
    ``.keras`` file (Note [Keras 3 optimizer variables]), building the optimizer first; when
    they do not map, leaves it fresh and warns naming the optimizer and the file."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return
    label = f"{type(optimizer).__name__} optimizer {optimizer.name!r}"

    def skip(why: str) -> None:
        warnings.warn(f"Skipping loading the optimizer state of {filepath!r}: the Keras 3 "
                      f"{label} {why}. The model is loaded without its optimizer state; "
                      "training starts with a fresh optimizer.", stacklevel=3)

    if type(optimizer) not in _mapped_classes():
        skip("is not one whose Keras 3 variables corten knows how to map")
        return
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    layout = _layout(optimizer, values)
    if isinstance(layout, str):
        skip(layout)
        return
    state, learning_rate = layout
    try:
        optimizer.set_weights(state)
    except ValueError as e:
        skip(f"cannot take the saved state ({e})")
        return
    if learning_rate is not None:
        optimizer.learning_rate = float(learning_rate)
