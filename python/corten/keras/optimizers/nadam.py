"""keras.optimizers.Nadam."""

from __future__ import annotations

from typing import Any

import numpy as np

import corten
from corten import _C
from corten.keras.optimizers.optimizer import Optimizer

__all__ = ["Nadam"]


def _f32(x: float) -> float:
    return float(np.float32(x))


def _u(beta_1: float, t: float) -> float:
    # TensorFlow rounds beta_1 and 0.96 to float32 (tf.cast of a Python float); see
    # Note [Optimizer scalars] in csrc/cpu/optimizers.cpp.
    return _f32(beta_1) * (1.0 - 0.5 * _f32(0.96) ** t)


class Nadam(Optimizer):
    """Nadam (Adam with Nesterov momentum), as tf.keras 2's Nadam, t = iterations + 1:

        u_t = beta_1 * (1 - 0.5 * 0.96^t),  u_{t+1} likewise,  P_t = u_1 * ... * u_t
        m += (g - m) * (1 - beta_1);  v += (g^2 - v) * (1 - beta_2)
        m_hat = u_{t+1} * m / (1 - P_t * u_{t+1}) + (1 - u_t) * g / (1 - P_t)
        v_hat = v / (1 - beta_2^t)
        var -= m_hat * lr / (sqrt(v_hat) + epsilon)

    Slots: ``m`` and ``v`` per variable (interleaved). The running product P_t lives in two
    float64/int64 Variables outside ``variables`` (P and the step it belongs to), advanced by
    tensor ops in each update so that a compiled step advances it on every replay; eagerly,
    and when the optimizer state is restored (``set_weights``), it is recomputed from
    ``iterations`` whenever it does not belong to the previous step.

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
                 jit_compile: bool = True, name: str = "Nadam", **kwargs: Any) -> None:
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         jit_compile=jit_compile, **kwargs)
        self._resolve_learning_rate(learning_rate)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self._momentums: list = []
        self._velocities: list = []
        with corten.init_scope():
            self._u_product = corten.Variable(1.0, dtype=corten.float64, trainable=False,
                                              name="u_product")
            self._u_product_step = corten.Variable(0, dtype=corten.int64, trainable=False,
                                                   name="u_product_step")
        self._u_current: Any = 1.0  # P_t of the step being applied (a tensor when traced)

    def _build_slots(self, var_list):
        for var in var_list:
            self._momentums.append(self.add_variable_from_reference(var, "m"))
            self._velocities.append(self.add_variable_from_reference(var, "v"))

    def _prepare_step(self, step: Any) -> None:
        b1 = float(self.beta_1)
        if _C.trace_active():
            # P_t = P_{t-1} * u_t as ops on the Variables: replayed with every compiled step.
            t = corten.cast(step, corten.float64)
            u_t = _f32(b1) * (1.0 - 0.5 * corten.pow(corten.constant(_f32(0.96), corten.float64),
                                                     t))
            product = self._u_product * u_t
            self._u_product.assign(product)
            self._u_product_step.assign(corten.cast(step, corten.int64))
            self._u_current = product
            return
        step = int(step)
        last, product = int(self._u_product_step.numpy()), float(self._u_product.numpy())
        if last == step - 1:
            product *= _u(b1, step)
        elif last != step:
            product = self._product_up_to(step)
        self._u_product.assign(product)
        self._u_product_step.assign(step)
        self._u_current = product

    def _product_up_to(self, step: int) -> float:
        product = 1.0
        for t in range(1, step + 1):
            product *= _u(float(self.beta_1), t)
        return product

    def set_weights(self, weights: list[Any]) -> None:
        super().set_weights(weights)
        step = int(self.iterations.numpy())
        self._u_product.assign(self._product_up_to(step))
        self._u_product_step.assign(step)

    def _fused_update(self, gradient, variable, *, lr, step, weight_decay, grad_scale,
                      clip_value):
        i = self._var_index(variable)
        _C.nadam_update_(variable, gradient, self._momentums[i], self._velocities[i],
                         float(self.beta_1), float(self.beta_2), float(self.epsilon),
                         step, self._u_current, learning_rate=lr,
                         weight_decay=weight_decay, grad_scale=grad_scale,
                         clip_value=clip_value)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate),
                       "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
