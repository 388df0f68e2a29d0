"""``keras.mixed_precision.LossScaleOptimizer``: dynamic loss scaling, as tf.keras 2.

float16 holds gradients down to about 6e-8 only: small ones underflow to zero. The loss is
multiplied by a scale before the gradients are taken and the gradients divided by it after, so
that they stay representable. With dynamic scaling the scale starts high (2**15); a step whose
gradients hold an infinity or a NaN is skipped and halves the scale, and every
``dynamic_growth_steps`` finite steps in a row double it.

Note [Loss scale decisions]
Whether a step's gradients are finite is read on the host (the check of Note [Non-finite
steps] in keras/trainers/trainer.py), so fit() runs its train step eagerly under a dynamic
loss scale, as it does with TerminateOnNaN; a fixed scale (``dynamic=False``) needs no
decision and keeps the compiled step.
"""

from __future__ import annotations

import math
from typing import Any

import corten
from corten import _C
from corten.ops.variables import Variable


class LossScaleOptimizer:
    """An optimizer that scales the loss and unscales the gradients, as tf.keras 2's.

    Args:
        inner_optimizer: the optimizer that applies the (unscaled) gradients.
        dynamic: whether the scale adapts (skipping steps with non-finite gradients).
        initial_scale: the first scale (2**15 by default when dynamic).
        dynamic_growth_steps: finite steps in a row after which the scale doubles.

    Example:
        >>> opt = keras.mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.1))
        >>> with tf.GradientTape() as tape:
        ...     loss = opt.get_scaled_loss(compute_loss())
        >>> grads = opt.get_unscaled_gradients(tape.gradient(loss, variables))
        >>> opt.apply_gradients(zip(grads, variables))
    """

    def __init__(self, inner_optimizer: Any, dynamic: bool = True,
                 initial_scale: float | None = None, dynamic_growth_steps: int | None = None
                 ) -> None:
        from corten.keras import optimizers

        if isinstance(inner_optimizer, LossScaleOptimizer):
            raise TypeError("LossScaleOptimizer cannot wrap another LossScaleOptimizer, but "
                            f"got: {inner_optimizer}")
        inner = optimizers.get(inner_optimizer)
        if not hasattr(inner, "apply_gradients"):
            raise TypeError("'inner_optimizer' must be an optimizer, but got: "
                            f"{inner_optimizer!r}")
        if not isinstance(dynamic, bool):
            raise TypeError(f'"dynamic" argument to LossScaleOptimizer.__init__ must be a bool, '
                            f"but got: {dynamic!r}")
        if dynamic:
            initial_scale = 2.0 ** 15 if initial_scale is None else float(initial_scale)
            dynamic_growth_steps = 2000 if dynamic_growth_steps is None \
                else int(dynamic_growth_steps)
            if dynamic_growth_steps < 1:
                raise ValueError(f"dynamic_growth_steps must be positive, but got: "
                                 f"{dynamic_growth_steps}")
        else:
            if initial_scale is None:
                raise ValueError('"initial_scale" must be specified if "dynamic" is False')
            if dynamic_growth_steps is not None:
                raise ValueError('"dynamic_growth_steps" must be None if "dynamic" is False, '
                                 f"but got: {dynamic_growth_steps}")
            initial_scale = float(initial_scale)
        if not (initial_scale >= 1 and math.isfinite(initial_scale)):
            raise ValueError(f"initial_scale must be finite and at least 1, but got: "
                             f"{initial_scale}")
        self._inner = inner
        self._dynamic = dynamic
        self._initial_scale = initial_scale
        self._growth_steps = dynamic_growth_steps
        self._scale = Variable(initial_scale, name="loss_scale", dtype=corten.float32,
                               trainable=False)
        self._good_steps = Variable(0, name="good_steps", dtype=corten.int64, trainable=False)

    # ------------------------------------------------------------------ properties
    @property
    def inner_optimizer(self) -> Any:
        """The wrapped optimizer."""
        return self._inner

    @property
    def dynamic(self) -> bool:
        """Whether the scale adapts."""
        return self._dynamic

    @property
    def loss_scale(self) -> Variable:
        """The current scale (a float32 Variable)."""
        return self._scale

    @property
    def initial_scale(self) -> float:
        """The scale the optimizer started with."""
        return self._initial_scale

    @property
    def dynamic_growth_steps(self) -> int | None:
        """Finite steps in a row after which a dynamic scale doubles."""
        return self._growth_steps

    @property
    def dynamic_counter(self) -> Variable | None:
        """Finite steps since the scale last changed (None when not dynamic)."""
        return self._good_steps if self._dynamic else None

    def __getattr__(self, name: str) -> Any:
        # The inner optimizer's hyperparameters and state (learning_rate, iterations...).
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    # ------------------------------------------------------------------ scaling
    def get_scaled_loss(self, loss: Any) -> Any:
        """``loss`` times the loss scale, in the loss's dtype (a callable is wrapped)."""
        if callable(loss):
            return lambda: self.get_scaled_loss(loss())
        loss = corten.convert_to_tensor(loss)
        return loss * corten.cast(self._scale, loss.dtype)

    def get_unscaled_gradients(self, grads: Any) -> list[Any]:
        """Each gradient divided by the loss scale, in its dtype (None stays None)."""
        inv = 1.0 / float(self._scale.numpy())
        return [None if g is None else g * corten.constant(inv, dtype=g.dtype) for g in grads]

    def compute_gradients(self, loss: Any, var_list: Any, tape: Any = None) -> list:
        """The unscaled gradients of the scaled loss, paired with ``var_list``."""
        if tape is None:
            raise ValueError("LossScaleOptimizer.compute_gradients needs the GradientTape that "
                             "recorded the loss (tape=...).")
        variables = list(var_list() if callable(var_list) else var_list)
        with tape:
            scaled = self.get_scaled_loss(loss() if callable(loss) else loss)
        grads = self.get_unscaled_gradients(tape.gradient(scaled, variables))
        return list(zip(grads, variables, strict=True))

    def minimize(self, loss: Any, var_list: Any, tape: Any = None) -> Any:
        """``apply_gradients(compute_gradients(loss, var_list, tape))``."""
        return self.apply_gradients(self.compute_gradients(loss, var_list, tape))

    def apply_gradients(self, grads_and_vars: Any, *args: Any, **kwargs: Any) -> Any:
        """Applies the (unscaled) gradients with the inner optimizer, unless one of them is not
        finite under a dynamic scale: then the step is skipped and the scale halves (never
        below 1); ``dynamic_growth_steps`` finite steps in a row double it.

        Returns:
            The inner optimizer's ``iterations``.
        """
        pairs = list(grads_and_vars)
        if not self._dynamic:
            return self._inner.apply_gradients(pairs, *args, **kwargs)
        finite = all(g is None or math.isfinite(_C.sum_of_squares(g)) for g, _ in pairs)
        if not finite:
            self._scale.assign(max(float(self._scale.numpy()) / 2.0, 1.0))
            self._good_steps.assign(0)
            return self._inner.iterations
        result = self._inner.apply_gradients(pairs, *args, **kwargs)
        good = int(self._good_steps.numpy()) + 1
        if good >= self._growth_steps:
            doubled = float(self._scale.numpy()) * 2.0
            if math.isfinite(doubled):
                self._scale.assign(doubled)
            good = 0
        self._good_steps.assign(good)
        return result

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        """The inner optimizer's serialization and the scaling arguments."""
        from corten.keras import optimizers

        return {"inner_optimizer": optimizers.serialize(self._inner), "dynamic": self._dynamic,
                "initial_scale": self._initial_scale,
                "dynamic_growth_steps": self._growth_steps}

    @classmethod
    def from_config(cls, config: dict, custom_objects: Any = None) -> LossScaleOptimizer:
        """The optimizer of ``get_config``'s dict."""
        from corten.keras import optimizers

        config = dict(config)
        config["inner_optimizer"] = optimizers.deserialize(config["inner_optimizer"],
                                                           custom_objects=custom_objects)
        return cls(**config)
