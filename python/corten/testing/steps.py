"""A custom training step (GradientTape, mean squared error, ``apply_gradients``), the loop
body of the guides' custom training loops, for tests that compare compiled and eager steps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import corten


def mse_train_step(model: Any, optimizer: Any) -> Callable[[Any, Any], Any]:
    """A step ``step(x, y)`` that applies one gradient step of ``mean((model(x) - y) ** 2)``.

    Args:
        model: a built Keras model.
        optimizer: a Keras optimizer.

    Returns:
        The step function; it returns the loss.
    """

    def step(x: Any, y: Any) -> Any:
        with corten.GradientTape() as tape:
            loss = corten.reduce_mean(corten.square(model(x) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    return step
