"""bfloat16 max pooling (Note [bfloat16 max pooling] in cpu/pooling.h): the forward, and the
gradient where no input element lies in two windows, run on bfloat16 and equal the float32
kernels' results rounded to bfloat16 bit for bit (NaNs, infinities, ties, -0 gradients,
padding, channels first and 3-D included); overlapping windows take the float32 path."""

import corten as tf
import numpy as np
import pytest
from corten import _C

ml_dtypes = pytest.importorskip("ml_dtypes", reason="bfloat16 numpy arrays need ml_dtypes")
BF16 = ml_dtypes.bfloat16

# (x shape, pool size, strides, padding, channels_first)
CASES = [
    ((2, 28, 28, 64), [3, 3], [3, 3], "valid", False),  # the toy ResNet's pool
    ((2, 9, 10, 5), [2, 2], [2, 2], "same", False),  # odd channels, a partial edge window
    ((3, 7, 6), [4], [4], "same", False),  # 1-D
    ((1, 4, 5, 6, 3), [2, 2, 3], [2, 3, 3], "valid", False),  # 3-D, stride beyond the window
    ((2, 3, 8, 8), [2, 2], [2, 2], "valid", True),  # channels first
    ((2, 9, 9, 4), [3, 3], [2, 2], "same", False),  # overlapping: the gradient widens
]


def _bits(t):
    return np.asarray(t.numpy()).view(np.uint16)


def _data(rng, shape):
    x = rng.standard_normal(shape).astype(BF16)
    flat = x.reshape(-1)
    flat[::7] = flat[1::7][: len(flat[::7])]  # ties inside windows
    flat[5::97] = np.nan
    flat[11::89] = -np.inf
    flat[13::83] = -0.0
    return x


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward_and_gradient_equal_the_float32_kernels(case, rng):
    shape, k, s, pad, cf = case
    x = _data(rng, shape)
    y = _C.max_pool(x, k, s, pad, cf)
    assert y.dtype == tf.bfloat16
    y32 = _C.max_pool(x.astype(np.float32), k, s, pad, cf)
    np.testing.assert_array_equal(_bits(y), np.asarray(y32.numpy().astype(BF16)).view(np.uint16))
    dy = rng.standard_normal(tuple(y.shape)).astype(BF16)
    dy.reshape(-1)[3::50] = -0.0
    dy.reshape(-1)[7::61] = np.nan
    dx = _C.pool_grad(True, x, dy, k, s, pad, cf)
    assert dx.dtype == tf.bfloat16
    dx32 = _C.pool_grad(True, x.astype(np.float32), dy.astype(np.float32), k, s, pad, cf)
    np.testing.assert_array_equal(_bits(dx),
                                  np.asarray(dx32.numpy().astype(BF16)).view(np.uint16))


def test_gradient_through_the_tape_on_one_and_two_threads(rng, threads):
    x = tf.constant(_data(rng, (4, 12, 12, 16)))
    weights = np.linspace(-1, 1, 4 * 6 * 6 * 16).reshape(4, 6, 6, 16).astype(np.float32)
    results = []
    for n in (1, 2):
        threads(n)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.nn.max_pool2d(x, 2, 2, "VALID")
            loss = tf.reduce_sum(tf.cast(y, tf.float32) * weights)
        g = tape.gradient(loss, x)
        assert g.dtype == tf.bfloat16
        results.append((_bits(y), _bits(g)))
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("strides", "native"), [(2, True), (1, False)])
def test_only_overlapping_gradients_widen(strides, native, rng):
    x = tf.constant(_data(rng, (2, 8, 8, 16)))

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.nn.max_pool2d(x, 2, strides, "VALID")
        return tape.gradient(y, x)

    # The plan keeps the gradient alone (the forward's output is not returned).
    ops = [name for name, _ in step.profile(x, runs=1)]
    assert "max_pool_grad" in ops, ops
    assert ("cast" not in ops) == native, ops
