"""keras.optimizers.Adamax."""

from __future__ import annotations

from typing import Any

from corten import _C
from corten.keras.optimizers.optimizer import Optimizer

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax (Adam with the infinity norm), as tf.keras 2's Adamax, t = iterations + 1:

        m += (g - m) * (1 - beta_1)
        u = max(beta_2 * u, |g|)
        var -= lr * m / ((1 - beta_1^t) * (u + epsilon))

    Slots: ``m`` and ``u`` per variable (interleaved).

    Args:
        learning_rate: default 0.001.
        beta_1, beta_2: default 0.9, 0.999.
        epsilon: default 1e-7.
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 jit_compile: bool = True, name: str = "Adamax", **kwargs: Any) -> None:
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         jit_compile=jit_compile, **kwargs)
        self._resolve_learning_rate(learning_rate)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self._m: list = []
        self._u: list = []

    def _build_slots(self, var_list):
        for var in var_list:
            self._m.append(self.add_variable_from_reference(var, "m"))
            self._u.append(self.add_variable_from_reference(var, "u"))

    def _fused_update(self, gradient, variable, *, lr, step, weight_decay, grad_scale,
                      clip_value):
        i = self._var_index(variable)
        _C.adamax_update_(variable, gradient, self._m[i], self._u[i], float(self.beta_1),
                          float(self.beta_2), float(self.epsilon), step,
                          learning_rate=lr, weight_decay=weight_decay, grad_scale=grad_scale,
                          clip_value=clip_value)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate),
                       "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
