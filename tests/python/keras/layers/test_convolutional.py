"""Conv1D/2D/3D and Conv1D/2D/3DTranspose: the harness over the argument grid, float64 numpy
references of the forward, finite differences of every gradient, Keras's output shapes and
errors, both data formats, thread-count invariance."""

from __future__ import annotations

import sys
from pathlib import Path

import corten as tf
import numpy as np
import pytest
from corten import keras
from corten.keras import layers
from corten.keras.layers import convolutional as conv_layers
from corten.testing import run_layer_test

sys.path.insert(0, str(Path(__file__).parents[2] / "autograd"))
import conv_reference as ref  # noqa: E402
from gradcheck import check_gradients  # noqa: E402

rng = np.random.default_rng(0)

# (class, kwargs, input shape channels_last)
GRID = [
    (layers.Conv1D, dict(filters=4, kernel_size=3), (2, 9, 3)),
    (layers.Conv1D, dict(filters=4, kernel_size=3, padding="causal", dilation_rate=2), (2, 9, 3)),
    (layers.Conv1D, dict(filters=4, kernel_size=2, strides=2, padding="same", groups=2),
     (2, 9, 4)),
    (layers.Conv2D, dict(filters=3, kernel_size=3, padding="same", activation="relu"),
     (2, 6, 5, 2)),
    (layers.Conv2D, dict(filters=4, kernel_size=(2, 3), strides=(2, 1), use_bias=False),
     (2, 7, 6, 2)),
    (layers.Conv2D, dict(filters=6, kernel_size=3, dilation_rate=(2, 1), groups=3,
                         activation="elu"), (1, 7, 6, 3)),
    (layers.Conv3D, dict(filters=2, kernel_size=2, padding="same"), (1, 4, 3, 5, 2)),
    (layers.Conv3D, dict(filters=2, kernel_size=(2, 1, 2), strides=2), (1, 5, 4, 5, 2)),
    (layers.Conv1DTranspose, dict(filters=3, kernel_size=3, strides=2), (2, 5, 2)),
    (layers.Conv2DTranspose, dict(filters=3, kernel_size=3, strides=2, padding="same",
                                  output_padding=1), (2, 4, 3, 2)),
    (layers.Conv2DTranspose, dict(filters=2, kernel_size=(2, 3), dilation_rate=2,
                                  activation="tanh"), (1, 4, 4, 3)),
    (layers.Conv3DTranspose, dict(filters=2, kernel_size=2, strides=(1, 2, 1),
                                  padding="same"), (1, 3, 2, 3, 2)),
]
IDS = [f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(GRID)]


def _expected_shape(cls, kw, shape):
    layer = cls(**kw)
    return tuple(layer.compute_output_shape(shape))


def _as_format(shape, data_format):
    return shape if data_format == "channels_last" else (shape[0], shape[-1], *shape[1:-1])


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(("cls", "kw", "shape"), GRID, ids=IDS)
def test_layers_through_the_harness(cls, kw, shape, data_format):
    shape = _as_format(shape, data_format)
    kw = dict(kw, data_format=data_format)
    run_layer_test(cls, kw, input_shape=shape,
                   expected_output_shape=_expected_shape(cls, kw, shape),
                   expected_num_trainable_weights=2 if kw.get("use_bias", True) else 1,
                   expected_num_non_trainable_weights=0,
                   # the harness's unknown dimensions are all but the last (channels_last)
                   run_mixed_shapes=data_format == "channels_last")


def _activation(name, z):
    return {None: z, "relu": np.maximum(z, 0), "tanh": np.tanh(z),
            "elu": np.where(z > 0, z, np.expm1(np.minimum(z, 0)))}[name]


def _reference(layer, x):
    """float64 numpy forward of a built layer on channels_last x."""
    w = layer.kernel.numpy().astype(np.float64)
    nd = layer.rank
    b = layer.bias.numpy() if layer.bias is not None else 0.0
    sizes = x.shape[1:-1]
    padding = layer.padding
    if isinstance(layer, conv_layers._ConvTranspose):
        out = layer._spatial_output_shape(list(sizes))
        pads = ([0] * (2 * nd) if padding == "valid" else
                ref.same_pads(out, layer.kernel_size, layer.strides, layer.dilation_rate))
        z = ref.conv_transpose(x, w, out, layer.strides,
                               layer.dilation_rate, pads)
    else:
        if padding == "valid":
            pads = [0] * (2 * nd)
        elif padding == "causal":
            pads = [(layer.kernel_size[0] - 1) * layer.dilation_rate[0], 0]
        else:
            pads = ref.same_pads(sizes, layer.kernel_size, layer.strides, layer.dilation_rate)
        z = ref.conv(x, w, layer.strides, layer.dilation_rate, pads, layer.groups)
    act = layer.get_config()["activation"]
    return _activation(None if act == "linear" else act, z + b)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(("cls", "kw", "shape"), GRID, ids=IDS)
def test_forward_matches_float64_numpy(cls, kw, shape, data_format):
    x = rng.standard_normal(shape)
    layer = cls(**kw, data_format=data_format, dtype="float64",
                bias_initializer="random_normal")
    xin = x if data_format == "channels_last" else ref.to_first(x)
    out = layer(xin).numpy()
    if data_format == "channels_first":
        out = ref.to_last(out)
    np.testing.assert_allclose(out, _reference(layer, x), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(("cls", "kw", "shape"), GRID, ids=IDS)
def test_every_gradient_matches_finite_differences(cls, kw, shape, data_format):
    kw = dict(kw)
    if kw.get("activation") == "relu":
        kw["activation"] = "sigmoid"  # smooth for finite differences
    layer = cls(**kw, data_format=data_format, dtype="float64")
    x = rng.uniform(-1, 1, _as_format(shape, data_format))
    layer.build(x.shape)
    weights = [v.numpy() for v in layer.trainable_weights]

    def fn_tensors(x, *ws):
        # Weights come in as tensors: the layer's variables are replaced for the call.
        saved = (layer.kernel, layer.bias)
        layer.kernel = ws[0]
        if layer.bias is not None:
            layer.bias = ws[1]
        try:
            return layer.call(x)
        finally:
            layer.kernel, layer.bias = saved

    check_gradients(fn_tensors, [x, *weights])


def test_output_shapes_with_none_dimensions():
    assert tuple(layers.Conv2D(8, 3, strides=2).compute_output_shape((None, None, 32, 3))) == (
        None, None, 15, 8)
    assert tuple(layers.Conv1D(4, 3, padding="causal").compute_output_shape((None, None, 2))) == (
        None, None, 4)
    assert tuple(layers.Conv2DTranspose(5, 3, strides=2).compute_output_shape(
        (None, 7, None, 2))) == (None, 15, None, 5)
    assert tuple(layers.Conv3D(2, 3, data_format="channels_first").compute_output_shape(
        (None, 4, 5, None, 6))) == (None, 2, 3, None, 4)
    inp = keras.Input((None, None, 3))
    out = layers.Conv2D(6, 3, padding="same")(inp)
    assert tuple(out.shape) == (None, None, None, 6)
    model = keras.Model(inp, out)
    assert model(np.zeros((2, 5, 7, 3), "float32")).shape == (2, 5, 7, 6)


def test_weight_names_shapes_and_config():
    layer = layers.Conv2D(8, (3, 2), groups=2)
    layer.build((None, 10, 10, 4))
    assert [v.name.split("/")[-1].split(":")[0] for v in layer.weights] == ["kernel", "bias"]
    assert layer.kernel.shape == (3, 2, 2, 8)
    t = layers.Conv2DTranspose(5, 3)
    t.build((None, 4, 4, 7))
    assert t.kernel.shape == (3, 3, 5, 7)
    assert t.bias.shape == (5,)
    config = layers.Conv2D(4, 3).get_config()
    assert {"filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
            "groups", "activation", "use_bias", "kernel_initializer", "bias_initializer",
            "kernel_regularizer", "bias_regularizer", "activity_regularizer",
            "kernel_constraint", "bias_constraint"} <= set(config)
    assert config["kernel_size"] == (3, 3)
    assert config["strides"] == (1, 1)
    assert config["padding"] == "valid"
    assert config["data_format"] == "channels_last"
    tconfig = layers.Conv2DTranspose(4, 3, strides=2, output_padding=1).get_config()
    assert tconfig["output_padding"] == (1, 1)
    assert tconfig["groups"] == 1
    assert layers.Convolution2D is layers.Conv2D
    assert layers.Convolution2DTranspose is layers.Conv2DTranspose


def test_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Input 0 of layer \"conv2d\w*\" is incompatible.*"
                                         r"expected min_ndim=4, found ndim=2. Full shape "
                                         r"received: \(None, 32\)"):
        layers.Conv2D(3, 3)(keras.Input((32,)))
    with pytest.raises(ValueError, match=r"Received input shape \(1, 3, 3, 2\) and kernel_size "
                                         r"\(5, 5\)"):
        layers.Conv2D(3, 5)(np.ones((1, 3, 3, 2), "float32"))
    with pytest.raises(ValueError, match=r"`strides > 1` not supported in conjunction with "
                                         r"`dilation_rate > 1`"):
        layers.Conv2D(3, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="Causal padding is only supported for `Conv1D`"):
        layers.Conv2D(3, 3, padding="causal")
    with pytest.raises(ValueError, match="number of filters must be evenly divisible"):
        layers.Conv2D(5, 3, groups=2)
    with pytest.raises(ValueError, match="input channels must be evenly divisible"):
        layers.Conv2D(4, 3, groups=2)(np.ones((1, 5, 5, 3), "float32"))
    built = layers.Conv2D(4, 3)
    built(np.ones((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match=r"expected axis -1 of input shape to have value 3, but "
                                         r"received input with shape \(1, 5, 5, 4\)"):
        built(np.ones((1, 5, 5, 4), "float32"))
    with pytest.raises(ValueError, match="Strides must be greater than output padding"):
        layers.Conv2DTranspose(3, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match=r"Inputs should have rank 4. Received "
                                         r"input_shape=\(None, 5, 3\)"):
        layers.Conv2DTranspose(3, 3)(keras.Input((5, 3)))
    with pytest.raises(ValueError, match="Invalid value for argument `filters`"):
        layers.Conv1D(0, 3)
    with pytest.raises(ValueError, match="`kernel_size` argument must be a tuple of 2 integers"):
        layers.Conv2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match="`padding` argument must be"):
        layers.Conv2D(2, 3, padding="full")
    with pytest.raises(ValueError, match="`data_format` argument must be one of"):
        layers.Conv2D(2, 3, data_format="NHWC")


def test_thread_count_invariance():
    cfg = tf.config.threading
    before = cfg.get_intra_op_parallelism_threads()
    x = rng.standard_normal((8, 12, 12, 8)).astype("float32")
    results = []
    try:
        for n in (1, 2):
            cfg.set_intra_op_parallelism_threads(n)
            conv = layers.Conv2D(16, 3, padding="same", activation="relu",
                                 kernel_initializer=keras.initializers.GlorotUniform(seed=1))
            deconv = layers.Conv2DTranspose(4, 3, strides=2, padding="same",
                                            kernel_initializer=keras.initializers.GlorotUniform(
                                                seed=2))
            xt = tf.constant(x)
            with tf.GradientTape() as tape:
                tape.watch(xt)
                y = deconv(conv(xt))
                loss = tf.reduce_sum(y * y)
            grads = tape.gradient(loss, [xt] + conv.trainable_weights + deconv.trainable_weights)
            results.append([y.numpy()] + [g.numpy() for g in grads])
    finally:
        cfg.set_intra_op_parallelism_threads(before)
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_small_convnet_trains():
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        layers.Conv2D(4, 3, activation="relu", padding="same"),
        layers.Conv2D(4, 3, strides=2, activation="relu"),
        layers.Flatten(),
        layers.Dense(2),
    ])
    x = rng.standard_normal((32, 8, 8, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0).astype("int32")
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(
        from_logits=True))
    history = model.fit(x, y, epochs=15, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
