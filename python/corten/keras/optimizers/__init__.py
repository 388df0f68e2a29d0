"""keras.optimizers: Keras 2 (TF 2.11+) optimizers updating Variables with fused C++ kernels.

    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    optimizer.apply_gradients(zip(grads, model.trainable_weights))
"""

from __future__ import annotations

import inspect
from typing import Any

from corten.keras.optimizers import schedules
from corten.keras.optimizers.adadelta import Adadelta
from corten.keras.optimizers.adagrad import Adagrad
from corten.keras.optimizers.adam import Adam, AdamW
from corten.keras.optimizers.adamax import Adamax
from corten.keras.optimizers.nadam import Nadam
from corten.keras.optimizers.optimizer import MissingGradientWarning, Optimizer
from corten.keras.optimizers.rmsprop import RMSprop
from corten.keras.optimizers.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
           "Nadam", "MissingGradientWarning", "schedules", "get", "serialize", "deserialize"]

# Lower-case class names, as Keras's deserialize matches them case-insensitively.
_ALL_CLASSES = {cls.__name__.lower(): cls for cls in (
    SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam)}
_ALL_CLASSES["experimental.adamw"] = AdamW


def serialize(optimizer: Optimizer) -> dict:
    """``{"class_name": ..., "config": ...}`` for an optimizer.

    Raises:
        ValueError: if ``optimizer`` is not an Optimizer.
    """
    from corten.keras.mixed_precision.loss_scale_optimizer import LossScaleOptimizer

    if isinstance(optimizer, LossScaleOptimizer):
        return {"module": "keras.mixed_precision", "class_name": "LossScaleOptimizer",
                "config": optimizer.get_config(), "registered_name": None}
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"serialize expects an Optimizer. Received: optimizer={optimizer!r}")
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def deserialize(config: dict, custom_objects: dict | None = None, **kwargs: Any) -> Optimizer:
    """An optimizer from ``serialize``'s output; class names match case-insensitively.

    Raises:
        ValueError: for an unknown class name.
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret serialized optimizer: {config!r}")
    name = config["class_name"]
    if name in ("LossScaleOptimizer", "LossScaleOptimizerV3"):
        from corten.keras.mixed_precision.loss_scale_optimizer import LossScaleOptimizer

        return LossScaleOptimizer.from_config(dict(config.get("config", {})),
                                              custom_objects=custom_objects)
    cls = (custom_objects or {}).get(name) or _ALL_CLASSES.get(str(name).lower())
    if cls is None:
        raise ValueError(f"Unknown optimizer: {name!r}. Please ensure you are using a "
                         "supported optimizer name or pass the class in `custom_objects`.")
    inner = dict(config.get("config", {}))
    if "custom_objects" in inspect.signature(cls.from_config).parameters:
        return cls.from_config(inner, custom_objects=custom_objects)
    return cls.from_config(inner)


def get(identifier: Any, **kwargs: Any) -> Optimizer:
    """An optimizer from a name ("adam", "RMSprop", ...; case-insensitive), a config dict or
    an Optimizer instance (returned as is).

    Raises:
        ValueError: for anything else.
    """
    from corten.keras.mixed_precision.loss_scale_optimizer import LossScaleOptimizer

    if isinstance(identifier, (Optimizer, LossScaleOptimizer)):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier, **kwargs)
    if isinstance(identifier, str):
        return deserialize({"class_name": identifier, "config": {}}, **kwargs)
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
