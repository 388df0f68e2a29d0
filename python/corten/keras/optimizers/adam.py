"""keras.optimizers.Adam and AdamW."""

from __future__ import annotations

from typing import Any

from corten import _C
from corten.keras.optimizers.optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam, as tf.keras 2's (TF 2.11+) Adam, with t = iterations + 1:

        m += (g - m) * (1 - beta_1)
        v += (g^2 - v) * (1 - beta_2)
        vhat = max(vhat, v)                   (amsgrad only; then v := vhat below)
        alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        var -= m * alpha / (sqrt(v) + epsilon)

    Slots: ``m`` and ``v`` per variable (interleaved), then ``vhat`` with amsgrad.

    Args:
        learning_rate: a float, schedule or callable (default 0.001).
        beta_1, beta_2: moment decay rates (0.9, 0.999).
        epsilon: added to sqrt(v) (1e-7).
        amsgrad: use the maximum of past second moments (False).
        Plus the base arguments (name, weight_decay, clipnorm, clipvalue, global_clipnorm).
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 jit_compile: bool = True, name: str = "Adam", **kwargs: Any) -> None:
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         jit_compile=jit_compile, **kwargs)
        self._resolve_learning_rate(learning_rate)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad
        self._momentums: list = []
        self._velocities: list = []
        self._velocity_hats: list = []

    def _build_slots(self, var_list):
        for var in var_list:
            self._momentums.append(self.add_variable_from_reference(var, "m"))
            self._velocities.append(self.add_variable_from_reference(var, "v"))
        if self.amsgrad:
            for var in var_list:
                self._velocity_hats.append(self.add_variable_from_reference(var, "vhat"))

    def _fused_update(self, gradient, variable, *, lr, step, weight_decay, grad_scale,
                      clip_value):
        i = self._var_index(variable)
        _C.adam_update_(variable, gradient, self._momentums[i], self._velocities[i],
                        self._velocity_hats[i] if self.amsgrad else None, float(self.beta_1),
                        float(self.beta_2), float(self.epsilon), step, bool(self.amsgrad),
                        learning_rate=lr, weight_decay=weight_decay, grad_scale=grad_scale,
                        clip_value=clip_value)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate),
                       "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as tf.keras 2's AdamW: each
    step first does ``var -= var * weight_decay * lr``, then the Adam update.

    Args:
        learning_rate: default 0.001.
        weight_decay: default 0.004 (required).
        beta_1, beta_2, epsilon, amsgrad: as Adam.

    Raises:
        ValueError: if weight_decay is None.
    """

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, jit_compile: bool = True,
                 name: str = "AdamW", **kwargs: Any) -> None:
        if weight_decay is None:
            raise ValueError("Missing value of `weight_decay` which is required and must be a "
                             "float value.")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm,
                         use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         jit_compile=jit_compile, name=name, **kwargs)
