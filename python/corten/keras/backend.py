"""keras.backend: session-level state (names, learning phase) and a few tensor helpers."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

import corten
from corten import _C
from corten.ops import _seed

__all__ = ["clear_session", "image_data_format", "set_image_data_format", "floatx",
           "set_floatx", "epsilon", "set_epsilon", "random_normal", "random_uniform", "get_uid",
           "learning_phase", "set_learning_phase", "int_shape", "is_keras_tensor"]

_state = threading.local()
_name_uids: dict[str, int] = defaultdict(int)
_floatx = "float32"
_epsilon = 1e-7


def get_uid(prefix: str = "") -> int:
    """1, 2, 3, ... per prefix since the last clear_session()."""
    _name_uids[prefix] += 1
    return _name_uids[prefix]


_WEIGHT_STREAMS = "__weights__/"


def reset_weight_streams() -> None:
    """Restarts the occurrence counts of the initial-weight streams (Note [Weight streams]):
    setting the seed again makes the same model code draw the same initial weights, as in
    tf.keras 2."""
    for key in [k for k in _name_uids if k.startswith(_WEIGHT_STREAMS)]:
        del _name_uids[key]


def weight_stream_id(base: str) -> int:
    """0, 1, 2, ... for each layer of stream name `base` since the seed was last set."""
    return get_uid(_WEIGHT_STREAMS + base) - 1


def clear_session() -> None:
    """Resets the global state: layer names start again from `dense`, `dense_1`, ..."""
    _name_uids.clear()


def floatx() -> str:
    """The default float type, "float32"."""
    return _floatx


def set_floatx(value: str) -> None:
    global _floatx
    if value not in ("float32", "float64"):
        raise ValueError(f"set_floatx: expected 'float32' or 'float64'. Received: value={value!r}")
    _floatx = value


def epsilon() -> float:
    """The fuzz factor used by losses and metrics (1e-7)."""
    return _epsilon


def set_epsilon(value: float) -> None:
    global _epsilon
    _epsilon = float(value)


_image_data_format = "channels_last"


def image_data_format() -> str:
    """The default data format of image layers: "channels_last" (NHWC) or "channels_first"."""
    return _image_data_format


def set_image_data_format(data_format: str) -> None:
    """Sets the default data format of image layers and datasets."""
    global _image_data_format
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("set_image_data_format: expected 'channels_last' or 'channels_first'. "
                         f"Received: data_format={data_format!r}")
    _image_data_format = data_format


def learning_phase() -> int:
    return getattr(_state, "learning_phase", 0)


def set_learning_phase(value: int) -> None:
    _state.learning_phase = int(value)


def random_normal(shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = None,
                  seed: int | None = None) -> corten.Tensor:
    """Normal random values (draws from corten's Philox generator)."""
    return corten.random.normal(shape, mean=mean, stddev=stddev, dtype=dtype or floatx(), seed=seed)


def random_uniform(shape: Any, minval: float = 0.0, maxval: float = 1.0, dtype: Any = None,
                   seed: int | None = None) -> corten.Tensor:
    return corten.random.uniform(shape, minval=minval, maxval=maxval, dtype=dtype or floatx(),
                                 seed=seed)


def int_shape(x: Any) -> tuple:
    return tuple(x.shape)


def is_keras_tensor(x: Any) -> bool:
    return isinstance(x, _C.Tensor) and x.device == "meta"


_seed.on_set_seed(reset_weight_streams)
