"""Dtype policies (``keras.mixed_precision.Policy``), as tf.keras 2.

A policy names a layer's compute dtype and variable dtype. ``"mixed_bfloat16"`` and
``"mixed_float16"`` keep variables in float32 and compute in the 16-bit float: a layer casts
its floating inputs, and reads its floating variables, in the compute dtype inside ``call``
(Note [Autocast variables] in corten/keras/layers/base_layer.py).
"""

from __future__ import annotations

from typing import Any

import corten
from corten.keras import backend

_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


class Policy:
    """A dtype policy: ``Policy("mixed_bfloat16")``, ``Policy("float32")``...

    Args:
        name: ``"mixed_float16"``, ``"mixed_bfloat16"`` (float32 variables, 16-bit compute),
            or a dtype name (``"float32"``, ``"float64"``, ``"bfloat16"``, ``"float16"``,
            ``"int32"``...) for both.

    Raises:
        TypeError: if ``name`` is not a string.
        ValueError: if it names no policy.
    """

    def __init__(self, name: str) -> None:
        if isinstance(name, corten.DType):
            raise TypeError("'name' must be a string, not a DType. Instead, pass "
                            f"DType.name. Got: {name.name}")
        if not isinstance(name, str):
            raise TypeError(f"'name' must be a string, but got: {name}")
        self._name = name
        self._compute_dtype, self._variable_dtype = self._parse_name(name)

    @staticmethod
    def _parse_name(name: str) -> tuple[str, str]:
        if name.endswith("_float32_vars"):
            raise ValueError(f"Policies ending in '_float32_vars' have been removed from "
                             f"TensorFlow. Please use the 'mixed_float16' or 'mixed_bfloat16' "
                             f"policy instead. Got policy name: '{name}'")
        if name in _MIXED:
            return _MIXED[name], "float32"
        if name == "_infer":
            return None, None  # type: ignore[return-value]
        try:
            dtype = corten.as_dtype(name).name
        except TypeError:
            raise ValueError(f"Cannot convert value {name} to a mixed precision Policy. Valid "
                             "policies include 'mixed_float16', 'mixed_bfloat16', and the name "
                             "of any dtype such as 'float32'.") from None
        return dtype, dtype

    @property
    def variable_dtype(self) -> str | None:
        """The dtype of the layer's variables (float32 under the mixed policies)."""
        return self._variable_dtype

    @property
    def compute_dtype(self) -> str | None:
        """The dtype of the layer's computations and outputs."""
        return self._compute_dtype

    @property
    def name(self) -> str:
        """The policy's name."""
        return self._name

    def __repr__(self) -> str:
        return f'<Policy "{self._name}">'

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and other._name == self._name

    def __hash__(self) -> int:
        return hash(self._name)

    def get_config(self) -> dict:
        """``{"name": name}``."""
        return {"name": self._name}

    @classmethod
    def from_config(cls, config: dict, custom_objects: Any = None) -> Policy:
        """The policy of ``get_config``'s dict."""
        return cls(**config)


_global_policy: Policy | None = None


def global_policy() -> Policy:
    """The policy of layers made without a ``dtype``: the one set by ``set_global_policy``,
    else ``Policy(keras.backend.floatx())``."""
    if _global_policy is None:
        return Policy(backend.floatx())
    return _global_policy


def set_global_policy(policy: Policy | str | None) -> None:
    """Sets the policy of the layers made from now on without a ``dtype``.

    Args:
        policy: a Policy, a policy name (``"mixed_bfloat16"``...), or None for the default
            (``Policy(floatx())``).

    Raises:
        ValueError: if the policy does not compute in a floating dtype.
    """
    global _global_policy
    if policy is not None and not isinstance(policy, Policy):
        policy = Policy(policy)
    if policy is not None and not (policy.compute_dtype is not None and
                                   corten.as_dtype(policy.compute_dtype).is_floating):
        raise ValueError("set_global_policy can only be used to set the global policy to "
                         "floating-point policies, such as \"float32\" and \"mixed_float16\", "
                         f"but got policy: {policy.name}")
    _global_policy = policy


def get(dtype: Any) -> Policy:
    """The policy of a layer's ``dtype`` argument: None (the global policy), a Policy, a
    policy or dtype name, a DType, or a serialized Policy (``{"class_name": "Policy", ...}``).
    """
    if dtype is None:
        return global_policy()
    if isinstance(dtype, Policy):
        return dtype
    if isinstance(dtype, dict):
        return deserialize(dtype)
    if isinstance(dtype, str) and (dtype in _MIXED or dtype == "_infer"):
        return Policy(dtype)
    try:  # a dtype by any of its names ("float", np.float32...): the policy of its name
        name = corten.as_dtype(dtype).name
    except TypeError:
        return Policy(dtype)  # the policy's own error
    return Policy(name)


def serialize(policy: Policy) -> Any:
    """As tf.keras 2: the dtype name when the policy is one dtype, else the Policy's config."""
    if policy.compute_dtype == policy.variable_dtype and policy.name == policy.compute_dtype:
        return policy.name
    return {"class_name": "Policy", "config": policy.get_config()}


def deserialize(config: Any) -> Policy:
    """The policy of ``serialize``'s result."""
    if isinstance(config, str):
        return Policy(config)
    if isinstance(config, dict) and config.get("class_name") in ("Policy", "DTypePolicy"):
        return Policy.from_config(config.get("config") or {})
    raise ValueError(f"Cannot deserialize a dtype policy from {config!r}")
