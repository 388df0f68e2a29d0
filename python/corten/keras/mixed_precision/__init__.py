"""keras.mixed_precision: dtype policies (tf.keras 2).

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
"""

from corten.keras.mixed_precision.loss_scale_optimizer import LossScaleOptimizer
from corten.keras.mixed_precision.policy import Policy, global_policy, set_global_policy

__all__ = ["LossScaleOptimizer", "Policy", "global_policy", "set_global_policy"]
