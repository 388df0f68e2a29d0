"""corten on a GPU: placement, copies, ops, gradients, training, random streams, memory and
DLPack against the same work on the CPU. Runs on a CUDA build with a GPU (bench/gpu_check.sh
runs it on the device machine); elsewhere the module is skipped with the reason the device
model gives. The device semantics that need no GPU are in test_devices.py."""

from __future__ import annotations

import corten as tf
import numpy as np
import pytest
from corten import keras
from corten.keras import layers

pytestmark = pytest.mark.skipif(
    not tf.config.list_physical_devices("GPU"),
    reason=f"no GPU: {tf.config.experimental.gpu_unavailable_reason()}")

RNG = np.random.default_rng(0)


def both(fn):
    """fn() under /CPU:0 and under /GPU:0, as numpy (the GPU result checked to be on the GPU)."""
    with tf.device("/CPU:0"):
        cpu = fn()
    with tf.device("/GPU:0"):
        gpu = fn()
    outs = []
    for c, g in zip(tf.nest.flatten(cpu), tf.nest.flatten(gpu), strict=True):
        assert c.device.endswith("CPU:0")
        assert g.device.endswith("GPU:0"), g.device
        outs.append((c.numpy(), g.numpy()))
    return outs


def test_default_placement_is_the_first_gpu():
    x = tf.constant([1.0, 2.0])
    assert x.device.endswith("/device:GPU:0")
    with tf.device("/CPU:0"):
        assert tf.constant([1.0]).device.endswith("/device:CPU:0")
    v = tf.Variable(tf.zeros((3,)))
    assert v.device.endswith("/device:GPU:0")


def test_copies_round_trip_and_numpy_reads_the_host_copy():
    a = RNG.standard_normal((17, 33)).astype(np.float32)
    g = tf.constant(a)
    np.testing.assert_array_equal(g.numpy(), a)
    np.testing.assert_array_equal(np.asarray(g), a)
    c = g.cpu()
    assert c.device.endswith("CPU:0")
    assert c.gpu().device.endswith("GPU:0")
    np.testing.assert_array_equal(c.gpu().numpy(), a)
    t = tf.transpose(g)  # a strided view copies densely
    np.testing.assert_array_equal(t.cpu().numpy(), a.T)


OPS = {
    "matmul": lambda x, w: tf.matmul(x, w),
    "add broadcast": lambda x, w: x[:, :8] + w[0, :8],
    "softmax": lambda x, w: tf.nn.softmax(x),
    "log_softmax": lambda x, w: tf.nn.log_softmax(x),
    "reduce_sum": lambda x, w: tf.reduce_sum(x, axis=0),
    "reduce_mean all": lambda x, w: tf.reduce_mean(x),
    "argmax": lambda x, w: tf.argmax(x, axis=-1),
    "cast": lambda x, w: tf.cast(x * 10, tf.int32),
    "gather": lambda x, w: tf.gather(x, [3, 0, 3, 7]),
    "one_hot": lambda x, w: tf.one_hot(tf.argmax(x, -1), 5),
    "pad": lambda x, w: tf.pad(x, [[1, 2], [0, 3]]),
    "tile": lambda x, w: tf.tile(x[:2], [2, 3]),
    "where": lambda x, w: tf.where(x > 0, x, -x),
    "concat": lambda x, w: tf.concat([x, x * 2], axis=1),
    "sparse ce": lambda x, w: keras.losses.sparse_categorical_crossentropy(
        tf.constant(np.arange(16) % 24), x, from_logits=True),
    "sigmoid ce": lambda x, w: keras.losses.binary_crossentropy(tf.sigmoid(x), x,
                                                                from_logits=True),
    "layer norm": lambda x, w: layers.LayerNormalization()(x),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_ops_match_the_cpu(name):
    x = RNG.standard_normal((16, 24)).astype(np.float32)
    w = RNG.standard_normal((24, 12)).astype(np.float32)
    for c, g in both(lambda: OPS[name](tf.constant(x), tf.constant(w))):
        np.testing.assert_allclose(g, c, rtol=2e-5, atol=2e-5)


def test_convolution_pooling_and_batch_norm_match_the_cpu():
    x = RNG.standard_normal((2, 9, 9, 3)).astype(np.float32)

    def net():
        keras.utils.set_random_seed(3)
        model = keras.Sequential([
            layers.Conv2D(8, 3, padding="same", activation="relu"),
            layers.DepthwiseConv2D(3),
            layers.BatchNormalization(),
            layers.MaxPooling2D(2),
            layers.GlobalAveragePooling2D(),
        ])
        return model(tf.constant(x), training=True)

    for c, g in both(net):
        np.testing.assert_allclose(g, c, rtol=1e-4, atol=1e-5)


def test_gradients_match_the_cpu():
    x = RNG.standard_normal((8, 5, 5, 2)).astype(np.float32)

    def grads():
        keras.utils.set_random_seed(4)
        model = keras.Sequential([layers.Conv2D(4, 3, activation="tanh"), layers.Flatten(),
                                  layers.Dense(3)])
        inp = tf.constant(x)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(inp)))
        return tape.gradient(loss, model.trainable_variables)

    for c, g in both(grads):
        np.testing.assert_allclose(g, c, rtol=1e-4, atol=1e-6)


def test_fit_matches_the_cpu():
    x = RNG.random((256, 20)).astype(np.float32)
    y = (x.sum(1) > 10).astype(np.int64)

    def train():
        keras.utils.set_random_seed(5)
        model = keras.Sequential([keras.Input((20,)), layers.Dense(32, activation="relu"),
                                  layers.Dropout(0.2), layers.Dense(2)])
        model.compile(keras.optimizers.Adam(1e-2),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False)
        return model.trainable_variables

    for c, g in both(train):
        np.testing.assert_allclose(g, c, rtol=1e-4, atol=1e-5)


def test_random_streams_are_the_same_on_both_devices():
    def draws():
        tf.random.set_seed(1)
        return [tf.random.normal((1001,), seed=7), tf.random.uniform((33, 3), seed=8),
                tf.random.truncated_normal((257,), seed=9),
                tf.nn.dropout(tf.ones((64, 64)), 0.3, seed=10)]

    for c, g in both(draws):
        np.testing.assert_array_equal(g, c)  # bit for bit


def test_mixing_devices_raises_naming_both():
    g = tf.constant(np.ones((3, 3), np.float32))
    with tf.device("/CPU:0"):
        c = tf.constant(np.ones((3, 3), np.float32))
    with pytest.raises(ValueError, match=r"GPU:0.*CPU:0|CPU:0.*GPU:0"):
        tf.matmul(g, c)
    np.testing.assert_array_equal((g + 2.0).numpy(), np.full((3, 3), 3.0))  # a Python scalar


def test_memory_info_counts_device_bytes():
    tf.config.experimental.reset_memory_stats("GPU:0")
    before = tf.config.experimental.get_memory_info("GPU:0")
    big = tf.zeros((1024, 1024, 16))
    during = tf.config.experimental.get_memory_info("GPU:0")
    assert during["current"] >= before["current"] + 64 * 2**20
    del big
    after = tf.config.experimental.get_memory_info("GPU:0")
    assert after["current"] == before["current"]
    assert after["peak"] >= during["current"]
    tf.config.experimental.reset_memory_stats("GPU:0")
    assert tf.config.experimental.get_memory_info("GPU:0")["peak"] == after["current"]


def test_device_details():
    (gpu,) = tf.config.list_physical_devices("GPU")[:1]
    details = tf.config.experimental.get_device_details(gpu)
    assert details["device_name"]
    assert details["compute_capability"] >= (8, 0)


def test_dlpack_shares_gpu_memory_with_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is an optional peer")
    if not torch.cuda.is_available():
        pytest.skip("this PyTorch has no CUDA")
    t = torch.arange(12, dtype=torch.float32, device="cuda").reshape(3, 4)
    c = tf.from_dlpack(t)
    assert c.device.endswith("GPU:0")
    np.testing.assert_array_equal(c.numpy(), t.cpu().numpy())
    back = torch.from_dlpack(c * 2)
    assert back.device.type == "cuda"
    np.testing.assert_array_equal(back.cpu().numpy(), t.cpu().numpy() * 2)
    t.add_(1)  # written by torch, read by corten: the same memory
    np.testing.assert_array_equal(c.numpy(), t.cpu().numpy())


def test_tensor_float_32_switch():
    a = RNG.standard_normal((512, 512)).astype(np.float32)
    exact = a.astype(np.float64) @ a.astype(np.float64)
    x = tf.constant(a)
    np.testing.assert_allclose((x @ x).numpy(), exact, rtol=1e-4, atol=1e-3)
    try:
        tf.config.experimental.enable_tensor_float_32_execution(True)
        np.testing.assert_allclose((x @ x).numpy(), exact, rtol=5e-2, atol=0.5)
    finally:
        tf.config.experimental.enable_tensor_float_32_execution(False)
