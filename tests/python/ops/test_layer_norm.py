"""layer_norm: the fused C++ op against a float64 numpy reference, and its argument checks."""

import numpy as np
import pytest
from cases import LAYOUTS, as_layout, check_close

from corten.ops.nn import layer_norm


def _ref(x, g, b, eps):
    x = x.astype(np.float64)
    m = x.mean(-1, keepdims=True)
    v = x.var(-1, keepdims=True)
    y = (x - m) / np.sqrt(v + eps)
    if g is not None:
        y = y * g
    if b is not None:
        y = y + b
    return y


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 4), (2, 3, 5), (0, 4), (4, 1)], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_numpy(shape, dtype, layout, rng):
    x = rng.normal(size=shape).astype(dtype) * 3 + 1
    g = rng.normal(size=shape[-1:]).astype(dtype)
    b = rng.normal(size=shape[-1:]).astype(dtype)
    got = layer_norm(as_layout(x, layout), g, b, 1e-3)
    check_close(got, _ref(x, g, b, 1e-3), dtype, rtol=1e-5 if dtype == "float32" else 1e-10,
                atol=1e-5 if dtype == "float32" else 1e-12)
    check_close(layer_norm(x, None, None, 1e-5), _ref(x, None, None, 1e-5), dtype,
                rtol=1e-4 if dtype == "float32" else 1e-10,
                atol=1e-4 if dtype == "float32" else 1e-12)


def test_large_rows_are_stable():
    x = np.full((2, 1000), 1e4, np.float32) + np.arange(1000, dtype=np.float32)
    got = layer_norm(x, None, None, 1e-3).numpy()
    np.testing.assert_allclose(got, _ref(x, None, None, 1e-3), rtol=1e-4, atol=1e-4)


def test_errors_name_the_op_and_shapes():
    x = np.ones((2, 3), "float32")
    with pytest.raises(ValueError, match=r"layer_norm: gamma must have shape \(3,\) for x of "
                                         r"shape \(2, 3\); got gamma.shape=\(4,\)"):
        layer_norm(x, np.ones(4, "float32"))
    with pytest.raises(TypeError, match="layer_norm: expected a floating dtype"):
        layer_norm(np.ones((2, 3), "int32"))
    with pytest.raises(ValueError, match="epsilon must be a finite number"):
        layer_norm(x, None, None, float("nan"))
    with pytest.raises(ValueError, match="rank >= 1"):
        layer_norm(np.float32(1.0))
