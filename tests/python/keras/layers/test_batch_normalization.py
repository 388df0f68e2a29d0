"""BatchNormalization: the harness, numpy references, training against inference, moving
statistics over several steps, the trainable=False freeze, Keras's Bessel rule, and errors."""

import corten
import numpy as np
import pytest
from corten import keras
from corten.keras import layers
from corten.testing import run_layer_test

rng = np.random.default_rng(0)


def _ref(x, mean, var, axes, gamma=None, beta=None, eps=1e-3):
    shape = [1] * x.ndim
    for a in axes:
        shape[a] = x.shape[a]
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    if gamma is not None:
        y = y * gamma.reshape(shape) + beta.reshape(shape)
    return y


@pytest.mark.parametrize(("kwargs", "shape"), [
    ({}, (4, 5)),
    ({"axis": 1}, (3, 4, 5)),
    ({"axis": -1}, (2, 3, 3, 4)),
    ({"axis": 1, "center": False}, (2, 3, 3, 4)),
    ({"axis": [1, 2], "scale": False}, (3, 2, 4, 2)),
    ({"momentum": 0.5, "epsilon": 1e-2, "fused": False}, (2, 3, 4, 5, 6)),
], ids=str)
def test_through_the_harness(kwargs, shape):
    trainable = int(kwargs.get("center", True)) + int(kwargs.get("scale", True))
    # The channel axes must be known: shapes with unknown inner dimensions only for axis=-1.
    last = kwargs.get("axis", -1) == -1
    run_layer_test(layers.BatchNormalization, kwargs, input_shape=shape,
                   expected_output_shape=shape, expected_num_trainable_weights=trainable,
                   expected_num_non_trainable_weights=2, supports_masking=True,
                   run_mixed_shapes=last)


def test_weights_in_keras_order():
    layer = layers.BatchNormalization(name="bn")
    layer.build((None, 3))
    assert [w.name for w in layer.weights] == ["bn/gamma:0", "bn/beta:0", "bn/moving_mean:0",
                                               "bn/moving_variance:0"]
    assert [w.trainable for w in layer.weights] == [True, True, False, False]


@pytest.mark.parametrize("axis", [-1, 1, [1, 3], [2, 1]])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_and_inference_match_numpy(axis, dtype):
    x = (rng.normal(size=(4, 3, 5, 2)) * 2 + 1).astype(dtype)
    layer = layers.BatchNormalization(axis=axis, gamma_initializer="random_normal",
                                      beta_initializer="random_normal",
                                      moving_mean_initializer="random_normal",
                                      moving_variance_initializer="ones", dtype=dtype)
    layer.build(x.shape)
    axes = sorted(a % 4 for a in (axis if isinstance(axis, list) else [axis]))
    red = tuple(d for d in range(4) if d not in axes)
    g, b = layer.gamma.numpy(), layer.beta.numpy()
    mm, mv = layer.moving_mean.numpy().copy(), layer.moving_variance.numpy().copy()
    tol = 1e-5 if dtype == "float32" else 1e-10
    x64 = x.astype(np.float64)
    inference = layer(x, training=False).numpy()
    np.testing.assert_allclose(inference, _ref(x64, mm, mv, axes, g, b), rtol=tol, atol=tol)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), mm)
    np.testing.assert_allclose(layer(x).numpy(), inference)  # training=None: inference
    training = layer(x, training=True).numpy()
    m, v = x64.mean(red, keepdims=True), x64.var(red, keepdims=True)
    np.testing.assert_allclose(training, _ref(x64, m, v, axes, g, b), rtol=tol, atol=tol)
    assert not np.allclose(training, inference)
    assert not np.allclose(layer.moving_mean.numpy(), mm)


@pytest.mark.parametrize(("shape", "axis", "fused"), [
    ((8, 2, 2, 3), -1, True), ((8, 3, 2, 2), 1, True), ((4, 2, 2, 2, 3), -1, True),
    ((8, 3), -1, False), ((8, 2, 3), -1, False), ((8, 2, 3, 2), 2, False),
    ((4, 2, 2, 3, 2), 3, False)], ids=str)
def test_moving_statistics_after_steps_equal_numpy(shape, axis, fused):
    layer = layers.BatchNormalization(axis=axis, momentum=0.7)
    mm, mv = None, None
    for step in range(5):
        x = (rng.normal(size=shape) * (step + 1) + step).astype("float32")
        layer(x, training=True)
        if mm is None:
            mm, mv = np.zeros(shape[axis]), np.ones(shape[axis])
        red = tuple(d for d in range(len(shape)) if d != axis % len(shape))
        n = x.size // shape[axis]
        var = x.astype(np.float64).var(red) * (n / (n - 1) if fused else 1.0)
        mm = mm * 0.7 + x.astype(np.float64).mean(red) * 0.3
        mv = mv * 0.7 + var * 0.3
    assert layer.fused is fused
    np.testing.assert_allclose(layer.moving_mean.numpy(), mm, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), mv, rtol=1e-5, atol=1e-5)


def test_bessels_correction():
    # tf_keras's test_bessels_correction, and its unfused counterpart.
    for shape in ((2, 1, 1, 1), (2, 1, 1, 1, 1)):
        x = np.array([0.0, 2.0], np.float32).reshape(shape)
        layer = layers.BatchNormalization(momentum=0.5, moving_variance_initializer="zeros")
        layer(x, training=True)
        assert layer.fused
        assert layer.moving_variance.numpy().tolist() == [1.0]
    for kwargs, shape in (({}, (2, 1)), ({"fused": False}, (2, 1, 1, 1)),
                          ({"dtype": "float64"}, (2, 1, 1, 1))):
        x = np.array([0.0, 2.0]).reshape(shape)
        layer = layers.BatchNormalization(momentum=0.5, moving_variance_initializer="zeros",
                                          **kwargs)
        layer(x, training=True)
        assert not layer.fused
        assert layer.moving_variance.numpy().tolist() == [0.5]


def _model(trainable_bn=True):
    inputs = keras.Input((4,))
    h = layers.Dense(6, kernel_initializer="glorot_uniform")(inputs)
    bn = layers.BatchNormalization(trainable=trainable_bn)
    outputs = layers.Dense(1)(bn(h))
    return keras.Model(inputs, outputs), bn


def test_fit_updates_the_moving_statistics_and_predict_uses_them():
    model, bn = _model()
    model.compile("sgd", "mse")
    x = rng.normal(size=(32, 4)).astype("float32")
    y = rng.normal(size=(32, 1)).astype("float32")
    before = [w.numpy().copy() for w in bn.weights]
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    after = [w.numpy() for w in bn.weights]
    for b, a in zip(before, after, strict=True):
        assert not np.allclose(a, b)
    mm, mv = bn.moving_mean.numpy().copy(), bn.moving_variance.numpy().copy()
    model.predict(x, verbose=0)
    model.evaluate(x, y, verbose=0)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), mm)
    np.testing.assert_array_equal(bn.moving_variance.numpy(), mv)


def test_trainable_false_freezes_weights_and_statistics_inside_fit():
    model, bn = _model()
    bn.trainable = False
    model.compile("sgd", "mse")
    x = rng.normal(size=(32, 4)).astype("float32")
    y = rng.normal(size=(32, 1)).astype("float32")
    before = [w.numpy().copy() for w in bn.weights]
    dense_before = model.layers[1].kernel.numpy().copy()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    for b, w in zip(before, bn.weights, strict=True):
        np.testing.assert_array_equal(w.numpy(), b)
    assert not np.allclose(model.layers[1].kernel.numpy(), dense_before)
    # training=True is overridden: the frozen layer normalises with the moving statistics.
    h = corten.constant(rng.normal(size=(5, 6)).astype("float32"))
    np.testing.assert_allclose(bn(h, training=True).numpy(), bn(h, training=False).numpy())
    np.testing.assert_array_equal(bn.moving_mean.numpy(), before[2])


def test_config_round_trip():
    layer = layers.BatchNormalization(axis=[1, 2], momentum=0.9, epsilon=1e-4, center=False,
                                      gamma_regularizer="l2", beta_constraint="non_neg")
    config = layer.get_config()
    for key in ("axis", "momentum", "epsilon", "center", "scale", "beta_initializer",
                "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer",
                "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"):
        assert key in config
    clone = layers.BatchNormalization.from_config(config)
    assert clone.momentum == 0.9
    assert clone.axis == [1, 2]
    assert not clone.center


def test_gradient_flows_in_training_and_inference():
    layer = layers.BatchNormalization(axis=1, dtype="float64")
    x = corten.constant(rng.normal(size=(4, 3, 2)))
    for training in (True, False):
        with corten.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=training)
            loss = corten.reduce_sum(y * y)
        gx, gg, gb = tape.gradient(loss, [x, layer.gamma, layer.beta])
        assert gx.shape == (4, 3, 2)
        assert gg.shape == (3,)
        assert gb.shape == (3,)


def test_mask_gives_the_moments_of_the_unmasked_positions():
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    keep = np.array([[1, 1, 0], [1, 0, 0]], bool)
    mask = corten.constant(keep)
    layer = layers.BatchNormalization(momentum=0.5)
    np.testing.assert_allclose(layer(x, training=False, mask=mask).numpy(),
                               x / np.sqrt(1 + 1e-3), rtol=1e-5)  # inference: moving stats
    got = layer(x, training=True, mask=mask).numpy()
    sel = x[keep].astype(np.float64)
    m, v = sel.mean(0), sel.var(0)
    np.testing.assert_allclose(got, (x - m) / np.sqrt(v + 1e-3), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean.numpy(), m * 0.5, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.5 + v * 0.5, rtol=1e-5)
    # After Embedding(mask_zero=True), the padding does not enter the statistics.
    inputs = keras.Input((3,), dtype="int32")
    h = layers.Embedding(5, 4, mask_zero=True)(inputs)
    model = keras.Model(inputs, layers.BatchNormalization()(h))
    ids = np.array([[1, 2, 0], [3, 0, 0]], "int32")
    out = model(ids, training=True).numpy()
    emb = model.layers[1].embeddings.numpy()[ids][ids > 0].astype(np.float64)
    np.testing.assert_allclose(out[ids > 0], (emb - emb.mean(0)) / np.sqrt(emb.var(0) + 1e-3),
                               rtol=1e-4, atol=1e-4)
    fused = layers.BatchNormalization()
    with pytest.warns(UserWarning, match="Masking is not supported with `fused=True`"):
        fused(x.reshape(2, 3, 4, 1), training=True, mask=corten.constant(np.ones((2, 3, 4),
                                                                                 bool)))
    with pytest.raises(ValueError, match=r"a mask needs a single channel axis.*\(2, 3, 4\)"):
        layers.BatchNormalization(axis=[1, 2])(x, training=True, mask=mask)
    with pytest.raises(ValueError, match=r"a mask needs the channel axis last.*axis=1"):
        layers.BatchNormalization(axis=1)(x, training=True, mask=mask)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_masked_training_uses_the_unmasked_positions(dtype):
    # Keras's weighted moments: only the unmasked steps count, in the output, the moving
    # statistics (biased variance) and the gradients.
    x = rng.normal(size=(2, 4, 3)).astype(dtype)
    m = np.array([[1, 1, 0, 1], [0, 1, 0, 0]], bool)
    layer = layers.BatchNormalization(momentum=0.5, dtype=dtype)
    layer.build(x.shape)
    gamma = rng.uniform(0.5, 1.5, size=3).astype(dtype)
    beta = rng.uniform(-0.5, 0.5, size=3).astype(dtype)
    layer.set_weights([gamma, beta, np.zeros(3, dtype), np.ones(3, dtype)])
    xt = corten.constant(x)
    with corten.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt, training=True, mask=corten.constant(m))
        loss = corten.reduce_sum(y * y)
    sel = x[m]
    mean, var = sel.mean(0), sel.var(0)
    want = (x - mean) / np.sqrt(var + 1e-3) * gamma + beta
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.5 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.5 + 0.5 * var, rtol=1e-5)
    gx = tape.gradient(loss, xt).numpy()
    if dtype == "float64":
        def f(v):
            s = v[m]
            mu, sd = s.mean(0), s.var(0)
            return np.sum(((v - mu) / np.sqrt(sd + 1e-3) * gamma + beta) ** 2)
        num = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            e = np.zeros_like(x)
            e[idx] = 1e-6
            num[idx] = (f(x + e) - f(x - e)) / 2e-6
        np.testing.assert_allclose(gx, num, rtol=1e-5, atol=1e-6)


def test_argument_errors():
    with pytest.raises(TypeError, match="Expected an int or a list/tuple of ints"):
        layers.BatchNormalization(axis="last")
    with pytest.raises(ValueError, match="Invalid value for `axis`"):
        layers.BatchNormalization(axis=3)(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="renorm=True"):
        layers.BatchNormalization(renorm=True)
    with pytest.raises(ValueError, match="virtual_batch_size=4"):
        layers.BatchNormalization(virtual_batch_size=4)
    with pytest.raises(ValueError, match="only supported when axis is 1 or 3"):
        layers.BatchNormalization(axis=2, fused=True)
    with pytest.raises(ValueError, match="compute dtype is float16, bfloat16, or float32"):
        layers.BatchNormalization(fused=True, dtype="float64")
    with pytest.raises(ValueError, match=r"only support 4D or 5D input tensors.*\(2, 3\)"):
        layers.BatchNormalization(fused=True)(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="not supported when `synchronized=True`"):
        layers.BatchNormalization(fused=True, synchronized=True)
    layer = layers.BatchNormalization()
    layer(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"expected axis -1 of input shape to have value 3, "
                                         r"but received input with shape \(2, 4\)"):
        layer(np.ones((2, 4), "float32"))
