"""Pooling layers: the harness over the argument grid, float64 numpy references, the global
poolings with keepdims and masks, shapes with None, configs and errors."""

import sys
from pathlib import Path

import corten as tf
import numpy as np
import pytest
from corten import keras
from corten.keras import layers
from corten.testing import run_layer_test
from window_refs import pool_ref

rng = np.random.default_rng(3)


def _gradcheck():
    """tests/python/autograd/gradcheck.py's check_gradients."""
    sys.path.insert(0, str(Path(__file__).parents[2] / "autograd"))
    from gradcheck import check_gradients

    return check_gradients

_SHAPES = {1: (2, 7, 3), 2: (2, 5, 6, 3), 3: (2, 4, 5, 3, 2)}
_CLASSES = {("max", 1): layers.MaxPooling1D, ("max", 2): layers.MaxPooling2D,
            ("max", 3): layers.MaxPooling3D, ("avg", 1): layers.AveragePooling1D,
            ("avg", 2): layers.AveragePooling2D, ("avg", 3): layers.AveragePooling3D}

GRID = [(kind, rank, pool, strides, padding, fmt)
        for kind in ("max", "avg") for rank in (1, 2, 3)
        for pool, strides in ((2, None), (3, 1), (2, 3))
        for padding in ("valid", "same")
        for fmt in ("channels_last", "channels_first")]


def _cf_shape(shape):
    return (shape[0], shape[-1], *shape[1:-1])


@pytest.mark.parametrize(("kind", "rank", "pool", "strides", "padding", "fmt"), GRID)
def test_pooling_layers_through_the_harness(kind, rank, pool, strides, padding, fmt):
    shape = _SHAPES[rank] if fmt == "channels_last" else _cf_shape(_SHAPES[rank])
    x = rng.standard_normal(shape).astype("float32")
    kwargs = {"pool_size": pool, "strides": strides, "padding": padding, "data_format": fmt}
    out = run_layer_test(_CLASSES[kind, rank], kwargs, input_data=x,
                         expected_num_trainable_weights=0, run_training_check=False,
                         run_mixed_shapes=fmt == "channels_last")
    s = pool if strides is None else strides
    want = pool_ref(x, [pool] * rank, [s] * rank, padding, kind, fmt == "channels_first")
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6, atol=1e-6)


def test_defaults_configs_and_aliases():
    assert layers.MaxPool2D is layers.MaxPooling2D
    assert layers.AvgPool3D is layers.AveragePooling3D
    cfg = layers.MaxPooling2D().get_config()
    assert (cfg["pool_size"], cfg["strides"], cfg["padding"], cfg["data_format"]) == (
        (2, 2), (2, 2), "valid", "channels_last")
    cfg = layers.AveragePooling1D(pool_size=3, strides=2, padding="same").get_config()
    assert (cfg["pool_size"], cfg["strides"], cfg["padding"]) == ((3,), (2,), "same")
    assert layers.MaxPooling3D().pool_size == (2, 2, 2)
    layer = layers.MaxPooling2D.from_config(layers.MaxPooling2D(3, 1, "same").get_config())
    assert layer.pool_size == (3, 3)
    assert layer.padding == "same"


def test_output_shapes_with_unknown_dimensions():
    assert tuple(layers.MaxPooling2D(3, 2).compute_output_shape((None, None, 9, 4))) == (
        None, None, 4, 4)
    assert tuple(layers.AveragePooling1D(2, padding="same").compute_output_shape(
        (None, 7, 4))) == (None, 4, 4)
    x = keras.Input((None, 10, 3))
    assert tuple(layers.MaxPooling2D(2)(x).shape) == (None, None, 5, 3)


def test_errors_name_the_layer_and_the_shapes():
    with pytest.raises(ValueError, match=r"expected ndim=4, found ndim=3"):
        layers.MaxPooling2D()(np.zeros((2, 4, 4), "float32"))
    with pytest.raises(ValueError, match=r"max_pool: the window .*x.shape=\(1, 2, 2, 1\)"):
        layers.MaxPooling2D(3)(np.zeros((1, 2, 2, 1), "float32"))
    with pytest.raises(ValueError, match=r"`pool_size` argument must be a tuple of 2"):
        layers.MaxPooling2D((2, 2, 2))
    with pytest.raises(ValueError, match=r"`padding` argument must be one of"):
        layers.AveragePooling1D(padding="causal")
    with pytest.raises(ValueError, match=r"`data_format` argument must be one of"):
        layers.AveragePooling2D(data_format="NHWC")


_GLOBAL = [(layers.GlobalMaxPooling1D, 1, "max"), (layers.GlobalMaxPooling2D, 2, "max"),
           (layers.GlobalMaxPooling3D, 3, "max"), (layers.GlobalAveragePooling1D, 1, "mean"),
           (layers.GlobalAveragePooling2D, 2, "mean"), (layers.GlobalAveragePooling3D, 3, "mean")]


@pytest.mark.parametrize(("cls", "rank", "op"), _GLOBAL)
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling(cls, rank, op, fmt, keepdims):
    shape = _SHAPES[rank] if fmt == "channels_last" else _cf_shape(_SHAPES[rank])
    x = rng.standard_normal(shape).astype("float32")
    out = run_layer_test(cls, {"data_format": fmt, "keepdims": keepdims}, input_data=x,
                         expected_num_trainable_weights=0, run_training_check=False,
                         run_mixed_shapes=fmt == "channels_last")
    axes = tuple(range(2, rank + 2)) if fmt == "channels_first" else tuple(range(1, rank + 1))
    want = getattr(x.astype(np.float64), op)(axis=axes, keepdims=keepdims)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6, atol=1e-6)
    assert cls(keepdims=keepdims).get_config()["keepdims"] is keepdims


def test_global_average_pooling_1d_masked_mean():
    x = rng.standard_normal((3, 5, 4))
    mask = np.array([[1, 1, 0, 0, 1], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]], bool)
    want = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    got = layers.GlobalAveragePooling1D()(tf.constant(x), mask=tf.constant(mask))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-7)
    got = layers.GlobalAveragePooling1D(keepdims=True)(tf.constant(x), mask=tf.constant(mask))
    np.testing.assert_allclose(got.numpy(), want[:, None], rtol=1e-6, atol=1e-7)
    xc = np.ascontiguousarray(np.moveaxis(x, 1, 2))
    got = layers.GlobalAveragePooling1D("channels_first")(tf.constant(xc), mask=tf.constant(mask))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-7)
    # From an Embedding with mask_zero, in a model, and no mask passed on.
    inp = keras.Input((4,), dtype="int32")
    emb = layers.Embedding(10, 3, mask_zero=True)(inp)
    pooled = layers.GlobalAveragePooling1D()(emb)
    model = keras.Model(inp, pooled)
    ids = np.array([[1, 2, 0, 0], [3, 0, 0, 0]], "int32")
    table = model.layers[1].embeddings.numpy()
    want = np.stack([table[[1, 2]].mean(0), table[3]])
    np.testing.assert_allclose(model(ids).numpy(), want, rtol=1e-6)
    assert getattr(pooled, "_keras_mask", None) is None


def test_gradients_of_pooling_layers_match_finite_differences():
    check_gradients = _gradcheck()
    for layer in (layers.MaxPooling2D(2, 1, "same", dtype="float64"),
                  layers.AveragePooling3D(2, 1, "same", dtype="float64"),
                  layers.GlobalAveragePooling2D(dtype="float64")):
        n = 2 * 4 * 4 * 2 * (3 if isinstance(layer, layers.AveragePooling3D) else 1)
        x = (rng.permutation(n) * 0.1).reshape((2, 4, 4, 2) + (
            (3,) if isinstance(layer, layers.AveragePooling3D) else ()))
        check_gradients(layer, [x])
