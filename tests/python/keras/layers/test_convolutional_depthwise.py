"""DepthwiseConv1D/2D and SeparableConv1D/2D: the harness over strides x dilation x padding x
data_format x depth_multiplier, float64 numpy references, gradients, weights, configs and
errors."""

import sys
from pathlib import Path

import numpy as np
import pytest
from corten import keras
from corten.keras import layers
from corten.testing import run_layer_test
from window_refs import depthwise_ref

rng = np.random.default_rng(11)
_SHAPES = {1: (2, 9, 3), 2: (2, 7, 6, 3)}


def _cf(shape):
    return (shape[0], shape[-1], *shape[1:-1])


GRID = [(rank, k, s, d, m, padding, fmt)
        for rank in (1, 2)
        for k, s, d in ((3, 1, 1), (3, 2, 1), (2, 1, 2))
        for m in (1, 2)
        for padding in ("valid", "same")
        for fmt in ("channels_last", "channels_first")]


@pytest.mark.parametrize(("rank", "k", "s", "d", "m", "padding", "fmt"), GRID)
def test_depthwise_conv(rank, k, s, d, m, padding, fmt):
    cls = layers.DepthwiseConv1D if rank == 1 else layers.DepthwiseConv2D
    shape = _SHAPES[rank] if fmt == "channels_last" else _cf(_SHAPES[rank])
    x = rng.standard_normal(shape).astype("float32")
    kwargs = {"kernel_size": k, "strides": s, "dilation_rate": d, "depth_multiplier": m,
              "padding": padding, "data_format": fmt, "bias_initializer": "random_normal"}
    out = run_layer_test(cls, kwargs, input_data=x, expected_num_trainable_weights=2,
                         expected_num_non_trainable_weights=0,
                         run_mixed_shapes=fmt == "channels_last")
    layer = cls(**kwargs)
    y = layer(x)
    kernel, bias = layer.depthwise_kernel.numpy(), layer.bias.numpy()
    assert kernel.shape == (*([k] * rank), 3, m)
    assert bias.shape == (3 * m,)
    want = depthwise_ref(x, kernel, bias, [s] * rank, [d] * rank, padding,
                         fmt == "channels_first")
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-5, atol=1e-5)
    assert out.shape == y.shape


@pytest.mark.parametrize(("rank", "k", "s", "d", "m", "padding", "fmt"), GRID[::3])
@pytest.mark.parametrize("activation", [None, "relu"])
def test_separable_conv(rank, k, s, d, m, padding, fmt, activation):
    cls = layers.SeparableConv1D if rank == 1 else layers.SeparableConv2D
    shape = _SHAPES[rank] if fmt == "channels_last" else _cf(_SHAPES[rank])
    x = rng.standard_normal(shape).astype("float32")
    kwargs = {"filters": 4, "kernel_size": k, "strides": s, "dilation_rate": d,
              "depth_multiplier": m, "padding": padding, "data_format": fmt,
              "activation": activation, "bias_initializer": "random_normal"}
    run_layer_test(cls, kwargs, input_data=x, expected_num_trainable_weights=3,
                   run_mixed_shapes=fmt == "channels_last")
    layer = cls(**kwargs)
    y = layer(x)
    assert [w.name.split("/")[-1].split(":")[0] for w in layer.weights] == [
        "depthwise_kernel", "pointwise_kernel", "bias"]
    dk, pk, b = (w.numpy() for w in layer.weights)
    assert pk.shape == (*([1] * rank), 3 * m, 4)
    cf = fmt == "channels_first"
    dw = depthwise_ref(x, dk, None, [s] * rank, [d] * rank, padding, cf)
    dw_last = np.moveaxis(dw, 1, -1) if cf else dw
    want = dw_last @ pk.reshape(3 * m, 4) + b
    if activation == "relu":
        want = np.maximum(want, 0)
    if cf:
        want = np.moveaxis(want, -1, 1)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-5, atol=1e-5)


def test_configs_defaults_and_shapes():
    layer = layers.DepthwiseConv2D(3)
    cfg = layer.get_config()
    for key in ("kernel_size", "strides", "padding", "data_format", "dilation_rate",
                "depth_multiplier", "activation", "use_bias", "depthwise_initializer",
                "bias_initializer", "depthwise_regularizer", "bias_regularizer",
                "activity_regularizer", "depthwise_constraint", "bias_constraint"):
        assert key in cfg
    assert "filters" not in cfg
    assert "kernel_initializer" not in cfg
    assert (cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"]) == ((3, 3), (1, 1), (1, 1))
    cfg = layers.SeparableConv2D(8, 3, depth_multiplier=2).get_config()
    for key in ("filters", "pointwise_initializer", "pointwise_regularizer",
                "pointwise_constraint", "depthwise_initializer"):
        assert key in cfg
    rebuilt = layers.SeparableConv2D.from_config(cfg)
    assert (rebuilt.filters, rebuilt.depth_multiplier) == (8, 2)
    assert tuple(layers.DepthwiseConv2D(3, 2, depth_multiplier=3).compute_output_shape(
        (None, None, 9, 4))) == (None, None, 4, 12)
    assert tuple(layers.SeparableConv1D(5, 3, padding="same").compute_output_shape(
        (None, None, 4))) == (None, None, 5)
    x = keras.Input((None, 9, 4))
    assert tuple(layers.SeparableConv2D(5, 3)(x).shape) == (None, None, 7, 5)
    model = keras.Sequential([keras.Input((8, 8, 3)), layers.DepthwiseConv2D(3),
                              layers.SeparableConv2D(4, 3)])
    # depthwise 3*3*3 + 3; separable 3*3*3 + 3*4 + 4
    assert model.count_params() == 30 + 43


def test_use_bias_false_and_no_bias_weight():
    layer = layers.DepthwiseConv2D(3, use_bias=False)
    layer(np.zeros((1, 4, 4, 2), "float32"))
    assert [w.name.split("/")[-1].split(":")[0] for w in layer.weights] == ["depthwise_kernel"]


def test_gradients():
    sys.path.insert(0, str(Path(__file__).parents[2] / "autograd"))
    from gradcheck import check_gradients

    for layer, shape in (
            (layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, dtype="float64",
                                    bias_initializer="random_normal"), (2, 4, 5, 2)),
            (layers.SeparableConv1D(3, 2, strides=2, dtype="float64"), (2, 7, 2)),
            (layers.SeparableConv2D(3, 2, data_format="channels_first", dtype="float64"),
             (2, 2, 4, 4))):
        check_gradients(layer, [rng.standard_normal(shape)])


def test_weight_gradients_match_finite_differences():
    import corten as tf

    layer = layers.DepthwiseConv2D(2, strides=2, depth_multiplier=2, dtype="float64",
                                   bias_initializer="random_normal")
    x = tf.constant(rng.standard_normal((2, 5, 5, 3)))
    layer(x)
    g = rng.standard_normal(tuple(layer(x).shape))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) * g)
    grads = tape.gradient(loss, layer.trainable_weights)
    eps = 1e-6
    for v, grad in zip(layer.trainable_weights, grads, strict=True):
        base = v.numpy()
        num = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            for sign in (1, -1):
                w = base.copy()
                w[idx] += sign * eps
                v.assign(w)
                num[idx] += sign * float(tf.reduce_sum(layer(x) * g).numpy()) / (2 * eps)
        v.assign(base)
        np.testing.assert_allclose(grad.numpy(), num, rtol=1e-6, atol=1e-8)


def test_errors_name_the_layer_and_the_shapes():
    with pytest.raises(ValueError, match=r"`strides > 1` not supported in conjunction with "
                                         r"`dilation_rate > 1`"):
        layers.DepthwiseConv2D(3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match=r"expected ndim=4, found ndim=2"):
        layers.DepthwiseConv2D(3)(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"depthwise_conv: the window .* larger .*"
                                         r"x.shape=\(1, 2, 2, 3\)"):
        layers.DepthwiseConv2D(3)(np.zeros((1, 2, 2, 3), "float32"))
    with pytest.raises(ValueError, match=r"channel dimension of the inputs to DepthwiseConv2D"):
        layers.DepthwiseConv2D(3)(keras.Input((5, 5, None)))
    layer = layers.DepthwiseConv2D(1)
    layer(np.zeros((1, 2, 2, 3), "float32"))
    with pytest.raises(ValueError, match=r"expected axis 3 of input shape to have value 3"):
        layer(np.zeros((1, 2, 2, 4), "float32"))
    with pytest.raises(ValueError, match=r"Invalid value for argument `filters`"):
        layers.SeparableConv2D(0, 3)
    with pytest.raises(ValueError, match=r"depth_multiplier must be a positive integer"):
        layers.DepthwiseConv1D(3, depth_multiplier=0)


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize(("s", "d"), [(1, 1), (2, 1), (1, 2)])
def test_causal_padding_1d(fmt, s, d):
    shape = (2, 9, 3) if fmt == "channels_last" else (2, 3, 9)
    x = rng.standard_normal(shape).astype("float32")
    kwargs = {"kernel_size": 3, "strides": s, "dilation_rate": d, "padding": "causal",
              "data_format": fmt, "bias_initializer": "random_normal"}
    run_layer_test(layers.DepthwiseConv1D, kwargs, input_data=x,
                   run_mixed_shapes=fmt == "channels_last")
    run_layer_test(layers.SeparableConv1D, {"filters": 2, **kwargs}, input_data=x,
                   run_mixed_shapes=fmt == "channels_last")
    layer = layers.DepthwiseConv1D(**kwargs)
    y = layer(x).numpy()
    axis = 1 if fmt == "channels_last" else 2
    pads = [(0, 0)] * 3
    pads[axis] = (2 * d, 0)
    want = depthwise_ref(np.pad(x, pads), layer.depthwise_kernel.numpy(), layer.bias.numpy(),
                         [s], [d], "valid", fmt == "channels_first")
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    assert y.shape[axis] == -(-9 // s)
    assert layer.get_config()["padding"] == "causal"


def test_causal_padding_is_1d_only():
    with pytest.raises(ValueError, match=r"DepthwiseConv2D: `causal` padding is only supported"):
        layers.DepthwiseConv2D(3, padding="causal")


def test_tf_nn_functions_in_a_functional_model():
    import corten as tf

    inp = keras.Input((8, 8, 3))
    y = tf.nn.max_pool2d(inp, 2, 2, "SAME")
    y = tf.nn.depthwise_conv2d(y, np.ones((3, 3, 3, 2), "float32"), [1, 1, 1, 1], "SAME")
    model = keras.Model(inp, y)
    x = rng.standard_normal((2, 8, 8, 3)).astype("float32")
    pooled = x.reshape(2, 4, 2, 4, 2, 3).max((2, 4))
    want = depthwise_ref(pooled, np.ones((3, 3, 3, 2)), None, [1, 1], [1, 1], "same")
    np.testing.assert_allclose(model(x).numpy(), want, rtol=1e-5, atol=1e-5)
