"""corten: a deep-learning framework with a C++ tensor core and a tf.keras-compatible API.

Use it as you would TensorFlow::

    import corten as tf
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    y = tf.nn.relu(x @ x - 5.0)
"""

from corten import _C
from corten import _cuda_libraries as _cuda_libraries
from corten import _tensor as _tensor  # attaches the Python-side Tensor methods
from corten._paths import get_cmake_dir, get_include, get_library_dir
from corten.dtypes import (  # noqa: A004
    DType, as_dtype, bfloat16, bool, float16, float32, float64, half, int32, int64, string)
from corten.ops.array import *  # noqa: F403
from corten.ops.autograd import *  # noqa: F403
from corten.ops.control_flow import *  # noqa: F403
from corten.ops.creation import *  # noqa: F403
from corten.ops.devices import DeviceSpec, device
from corten.ops.einsum import einsum
from corten.ops.function import Function, function, init_scope
from corten.ops.init_ops import *  # noqa: F403
from corten.ops.interop import from_dlpack
from corten.ops.linalg import *  # noqa: F403
from corten.ops.math import *  # noqa: F403
from corten.ops.reduction import *  # noqa: F403
from corten.ops.ragged import RaggedTensor
from corten.ops.variables import Variable
from corten.tensor_shape import TensorShape

Tensor = _C.Tensor

if _C.built_with_cuda():  # cuBLASLt from the `cuda` extra's wheel before the system's
    for _dir in _cuda_libraries.wheel_library_dirs():
        _C.cuda_add_library_dir(_dir)

from corten.data.structure import TensorSpec  # noqa: E402
from corten import (  # noqa: E402
    config,
    data,
    distribute,
    keras,  # noqa: E402
    linalg,
    math,
    nest,
    nn,
    random,
    saved_model,
    strings,
    test,
)

__version__ = "0.1.0"
