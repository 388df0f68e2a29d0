"""Device placement: ``tf.device`` scopes, ``tf.DeviceSpec`` and ``Tensor.cpu()/gpu()``.

The rules (TensorFlow 2's eager placement, see docs/devices.md and Note [Device placement] in
csrc/core/devices.cpp): creation ops put their result on the device of the innermost
``tf.device`` scope; every other op runs where its inputs are; a scope naming a device this
machine lacks runs on the best available one while soft placement is on (the default).
Device names are parsed in C++ only (``corten._C.parse_device_spec``).
"""

from __future__ import annotations

from typing import Any

from corten import _C

Tensor = _C.Tensor

__all__ = ["DeviceSpec", "device"]


class DeviceSpec:
    """A (possibly partial) device specification, as ``tf.DeviceSpec``.

    Args:
        job: job name, e.g. ``"localhost"``.
        replica: replica index.
        task: task index.
        device_type: ``"CPU"`` or ``"GPU"`` (``"cuda"`` is read as ``"GPU"``).
        device_index: the device's ordinal.

    Example:
        >>> tf.DeviceSpec.from_string("/gpu:1").to_string()
        '/device:GPU:1'
    """

    __slots__ = ("_job", "_replica", "_task", "_device_type", "_device_index")

    def __init__(self, job: str | None = None, replica: int | None = None,
                 task: int | None = None, device_type: str | None = None,
                 device_index: int | None = None) -> None:
        parts = [f"/job:{job}" if job is not None else "",
                 f"/replica:{replica}" if replica is not None else "",
                 f"/task:{task}" if task is not None else ""]
        if device_type is not None:
            parts.append(f"/device:{device_type}:"
                         f"{'*' if device_index is None else device_index}")
        elif device_index is not None:
            raise ValueError("DeviceSpec: device_index needs a device_type. Received: "
                             f"device_index={device_index!r}")
        (self._job, self._replica, self._task, self._device_type,
         self._device_index) = _C.parse_device_spec("".join(parts))

    @classmethod
    def from_string(cls, spec: str) -> DeviceSpec:
        """Parses ``spec`` in any of TensorFlow's forms (``"/job:localhost/replica:0/task:0/
        device:GPU:0"``, ``"/GPU:0"``, ``"gpu:0"``, ``"CPU"``) or PyTorch's (``"cuda:1"``).

        Args:
            spec: the device name.

        Returns:
            A DeviceSpec with the parts ``spec`` names.

        Raises:
            ValueError: for a malformed name, quoted in the message.
        """
        if not isinstance(spec, str):
            raise TypeError(f"DeviceSpec.from_string expects a str. Received: spec={spec!r}")
        out = cls.__new__(cls)
        (out._job, out._replica, out._task, out._device_type,
         out._device_index) = _C.parse_device_spec(spec)
        return out

    job = property(lambda self: self._job, doc="The job name, or None.")
    replica = property(lambda self: self._replica, doc="The replica index, or None.")
    task = property(lambda self: self._task, doc="The task index, or None.")
    device_type = property(lambda self: self._device_type, doc="'CPU', 'GPU' or None.")
    device_index = property(lambda self: self._device_index, doc="The ordinal, or None.")

    def to_string(self) -> str:
        """The specification as a string, e.g. ``"/job:localhost/device:GPU:0"``.

        Returns:
            TensorFlow's DeviceSpec.to_string() of this spec ('' when it is empty).
        """
        out = ""
        if self._job is not None:
            out += f"/job:{self._job}"
        if self._replica is not None:
            out += f"/replica:{self._replica}"
        if self._task is not None:
            out += f"/task:{self._task}"
        if self._device_type is not None:
            index = "*" if self._device_index is None else self._device_index
            out += f"/device:{self._device_type}:{index}"
        return out

    def replace(self, **kwargs: Any) -> DeviceSpec:
        """A copy with the given parts replaced (``job=``, ``device_type=``, ...).

        Returns:
            The new DeviceSpec.
        """
        parts = {"job": self._job, "replica": self._replica, "task": self._task,
                 "device_type": self._device_type, "device_index": self._device_index}
        unknown = set(kwargs) - set(parts)
        if unknown:
            raise TypeError(f"DeviceSpec.replace: unknown arguments {sorted(unknown)}")
        parts.update(kwargs)
        return DeviceSpec(**parts)

    def make_merged_spec(self, dev: DeviceSpec) -> DeviceSpec:
        """This spec with every part ``dev`` sets taken from ``dev`` (how nested
        ``tf.device`` scopes combine).

        Returns:
            The merged DeviceSpec.
        """
        mine = (self._job, self._replica, self._task, self._device_type, self._device_index)
        theirs = (dev._job, dev._replica, dev._task, dev._device_type, dev._device_index)
        out = DeviceSpec.__new__(DeviceSpec)
        (out._job, out._replica, out._task, out._device_type, out._device_index) = tuple(
            t if t is not None else m for m, t in zip(mine, theirs, strict=True))
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DeviceSpec) and self.to_string() == other.to_string()

    def __hash__(self) -> int:
        return hash(self.to_string())

    def __repr__(self) -> str:
        return f"DeviceSpec({self.to_string()!r})"


class device:  # noqa: N801 - tf.device is a lower-case context manager
    """Places the creation ops of its ``with`` block on a device, as ``tf.device``.

    Tensors created inside (constants, ``convert_to_tensor`` of Python or numpy data, zeros,
    ones, fill, range, eye, random values, Variables) land on the named device; other ops run
    where their inputs are. Scopes nest (the inner one's parts override the outer's) and are
    per thread; the previous scope is restored on exit, exceptions included. Without a GPU a
    GPU scope places on the CPU while soft placement is on (the default); with
    ``tf.config.set_soft_device_placement(False)`` creating a tensor there raises ValueError.

    Args:
        device_name: a device name (``"/GPU:0"``, ``"/device:CPU:0"``, ``"gpu:1"``,
            ``"cuda:0"``, ``"CPU"``), a DeviceSpec, or None (or ``""``) to clear the
            placement.

    Raises:
        ValueError: for a malformed name (when the scope is created).
        RuntimeError: for a function, which only graph-mode TensorFlow accepts.

    Example:
        >>> with tf.device("/CPU:0"):
        ...     x = tf.constant([1.0, 2.0])
        >>> x.device
        '/job:localhost/replica:0/task:0/device:CPU:0'
    """

    __slots__ = ("_scope", "_name")

    def __init__(self, device_name: str | DeviceSpec | None) -> None:
        if callable(device_name):
            raise RuntimeError("tf.device does not support functions when eager execution is "
                               "enabled.")
        if isinstance(device_name, DeviceSpec):
            device_name = device_name.to_string()
        if device_name is not None and not isinstance(device_name, str):
            raise TypeError("tf.device expects a device name (str), a DeviceSpec or None. "
                            f"Received: device_name={device_name!r}")
        self._name = device_name
        # "" clears the placement as None does (TensorFlow's eager context treats both alike).
        self._scope = _C.DeviceScope(device_name or None)

    def __enter__(self) -> None:
        self._scope.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._scope.__exit__(*exc)

    def __repr__(self) -> str:
        return f"tf.device({self._name!r})"


def _cpu(self: Tensor) -> Tensor:
    """A copy of the tensor on the CPU (TensorFlow's ``EagerTensor.cpu()``).

    Returns:
        The new tensor; gradients flow through it.
    """
    if self.device == "meta":
        return _C.identity(self)
    if self.device.endswith("/device:CPU:0"):
        return _C.identity(self)
    return _C.copy_to_device(self, "CPU:0", "cpu")


def _gpu(self: Tensor, gpu_index: int = 0) -> Tensor:
    """A copy of the tensor on GPU ``gpu_index`` (TensorFlow's ``EagerTensor.gpu()``).

    Args:
        gpu_index: the GPU's ordinal.

    Returns:
        The new tensor.

    Raises:
        ValueError: when there is no such GPU (the message says why there is none:
            ``tf.config.experimental.gpu_unavailable_reason()``).
    """
    if isinstance(gpu_index, bool) or not isinstance(gpu_index, int) or gpu_index < 0:
        raise ValueError(f"gpu: gpu_index must be an int >= 0. Received: gpu_index={gpu_index!r}")
    return _C.copy_to_device(self, f"GPU:{gpu_index}", "gpu")


Tensor.cpu = _cpu
Tensor.gpu = _gpu
