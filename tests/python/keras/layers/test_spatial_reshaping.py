"""UpSampling, ZeroPadding and Cropping layers: the harness, numpy references (bilinear
against TensorFlow's half-pixel rule), gradients, shapes with None, configs and errors."""

import sys
from pathlib import Path

import numpy as np
import pytest
from corten import keras
from corten.keras import layers
from corten.testing import run_layer_test
from window_refs import resize_ref

rng = np.random.default_rng(5)
_SHAPES = {1: (2, 4, 3), 2: (2, 3, 4, 2), 3: (2, 2, 3, 2, 2)}


def _cf(shape):
    return (shape[0], shape[-1], *shape[1:-1])


def _axes(rank, fmt):
    return list(range(2, rank + 2)) if fmt == "channels_first" else list(range(1, rank + 1))


def _repeat(x, sizes, axes):
    for a, s in zip(axes, sizes, strict=True):
        x = np.repeat(x, s, axis=a)
    return x


@pytest.mark.parametrize("size", [2, 3])
def test_upsampling1d(size):
    x = rng.standard_normal(_SHAPES[1]).astype("float32")
    out = run_layer_test(layers.UpSampling1D, {"size": size}, input_data=x,
                         expected_output_shape=(2, 4 * size, 3),
                         expected_num_trainable_weights=0, run_training_check=False)
    np.testing.assert_array_equal(out.numpy(), np.repeat(x, size, axis=1))
    assert layers.UpSampling1D(size).get_config()["size"] == size


@pytest.mark.parametrize("size", [2, (2, 3), (1, 2)])
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_upsampling2d(size, fmt, interpolation):
    shape = _SHAPES[2] if fmt == "channels_last" else _cf(_SHAPES[2])
    x = rng.standard_normal(shape).astype("float32")
    kwargs = {"size": size, "data_format": fmt, "interpolation": interpolation}
    out = run_layer_test(layers.UpSampling2D, kwargs, input_data=x,
                         expected_num_trainable_weights=0, run_training_check=False,
                         run_mixed_shapes=fmt == "channels_last")
    sizes = (size, size) if isinstance(size, int) else size
    axes = _axes(2, fmt)
    if interpolation == "nearest":
        np.testing.assert_array_equal(out.numpy(), _repeat(x, sizes, axes))
    else:
        target = [x.shape[a] * s for a, s in zip(axes, sizes, strict=True)]
        np.testing.assert_allclose(out.numpy(),
                                   resize_ref(x, target, "bilinear", fmt == "channels_first"),
                                   rtol=1e-5, atol=1e-5)
    cfg = layers.UpSampling2D(**kwargs).get_config()
    assert cfg["interpolation"] == interpolation
    assert cfg["size"] == sizes


def test_upsampling2d_bilinear_matches_tensorflow():
    # tf_keras UpSampling2D(interpolation="bilinear") calls tf.image.resize (half-pixel
    # centers): [[1, 2], [3, 4]] -> these 4x4 values.
    x = np.array([[1.0, 2.0], [3.0, 4.0]], "float32").reshape(1, 2, 2, 1)
    want = [[1.0, 1.25, 1.75, 2.0], [1.5, 1.75, 2.25, 2.5], [2.5, 2.75, 3.25, 3.5],
            [3.0, 3.25, 3.75, 4.0]]
    got = layers.UpSampling2D(interpolation="bilinear")(x).numpy()[0, :, :, 0]
    np.testing.assert_allclose(got, want)


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_upsampling3d(fmt):
    shape = _SHAPES[3] if fmt == "channels_last" else _cf(_SHAPES[3])
    x = rng.standard_normal(shape).astype("float32")
    out = run_layer_test(layers.UpSampling3D, {"size": (2, 1, 3), "data_format": fmt},
                         input_data=x, expected_num_trainable_weights=0,
                         run_training_check=False, run_mixed_shapes=fmt == "channels_last")
    np.testing.assert_array_equal(out.numpy(), _repeat(x, (2, 1, 3), _axes(3, fmt)))


PAD_CASES = [(layers.ZeroPadding1D, 1, 2), (layers.ZeroPadding1D, 1, (1, 3)),
             (layers.ZeroPadding2D, 2, 1), (layers.ZeroPadding2D, 2, (1, 2)),
             (layers.ZeroPadding2D, 2, ((1, 0), (2, 3))), (layers.ZeroPadding3D, 3, 1),
             (layers.ZeroPadding3D, 3, ((0, 1), (1, 1), (2, 0)))]


def _pairs(value, rank):
    if isinstance(value, int):
        return [(value, value)] * rank
    if rank == 1:
        return [tuple(value)]
    return [(v, v) if isinstance(v, int) else tuple(v) for v in value]


def _with_formats(cases):
    """Each case in both data formats, except the 1-D layers, which have no data_format."""
    return [(*case, fmt) for case in cases for fmt in ("channels_last", "channels_first")
            if case[1] > 1 or fmt == "channels_last"]


@pytest.mark.parametrize(("cls", "rank", "padding", "fmt"), _with_formats(PAD_CASES))
def test_zero_padding(cls, rank, padding, fmt):
    shape = _SHAPES[rank] if fmt == "channels_last" else _cf(_SHAPES[rank])
    x = rng.standard_normal(shape).astype("float32")
    kwargs = {"padding": padding} if rank == 1 else {"padding": padding, "data_format": fmt}
    out = run_layer_test(cls, kwargs, input_data=x, expected_num_trainable_weights=0,
                         run_training_check=False, run_mixed_shapes=fmt == "channels_last")
    pads = [(0, 0)] * x.ndim
    for a, p in zip(_axes(rank, fmt), _pairs(padding, rank), strict=True):
        pads[a] = p
    np.testing.assert_array_equal(out.numpy(), np.pad(x, pads))


CROP_CASES = [(layers.Cropping1D, 1, (1, 1)), (layers.Cropping1D, 1, 2),
              (layers.Cropping2D, 2, ((1, 0), (1, 2))), (layers.Cropping2D, 2, 1),
              (layers.Cropping3D, 3, ((0, 1), (1, 1), (0, 0))), (layers.Cropping3D, 3, 0)]


@pytest.mark.parametrize(("cls", "rank", "cropping", "fmt"), _with_formats(CROP_CASES))
def test_cropping(cls, rank, cropping, fmt):
    base = {1: (2, 6, 3), 2: (2, 4, 5, 2), 3: (2, 3, 4, 2, 2)}[rank]
    shape = base if fmt == "channels_last" else _cf(base)
    x = rng.standard_normal(shape).astype("float32")
    kwargs = {"cropping": cropping} if rank == 1 else {"cropping": cropping, "data_format": fmt}
    out = run_layer_test(cls, kwargs, input_data=x, expected_num_trainable_weights=0,
                         run_training_check=False, run_mixed_shapes=fmt == "channels_last")
    index = [slice(None)] * x.ndim
    for a, (b, e) in zip(_axes(rank, fmt), _pairs(cropping, rank), strict=True):
        index[a] = slice(b, x.shape[a] - e)
    np.testing.assert_array_equal(out.numpy(), x[tuple(index)])


def test_configs_and_unknown_dimensions():
    assert layers.ZeroPadding2D().get_config()["padding"] == ((1, 1), (1, 1))
    assert layers.ZeroPadding1D(3).get_config()["padding"] == (3, 3)
    assert layers.Cropping2D(((1, 2), (3, 4))).get_config()["cropping"] == ((1, 2), (3, 4))
    assert layers.Cropping3D().get_config()["cropping"] == ((1, 1), (1, 1), (1, 1))
    assert layers.UpSampling3D().get_config()["size"] == (2, 2, 2)
    assert tuple(layers.UpSampling2D((2, 3)).compute_output_shape((None, None, 4, 1))) == (
        None, None, 12, 1)
    assert tuple(layers.ZeroPadding2D(2).compute_output_shape((None, None, 4, 1))) == (
        None, None, 8, 1)
    assert tuple(layers.Cropping1D((1, 2)).compute_output_shape((None, None, 3))) == (
        None, None, 3)
    x = keras.Input((None, 6, 3))
    assert tuple(layers.Cropping2D(((0, 0), (1, 2)))(x).shape) == (None, None, 3, 3)
    assert tuple(layers.ZeroPadding2D(1)(x).shape) == (None, None, 8, 3)


def test_gradients():
    sys.path.insert(0, str(Path(__file__).parents[2] / "autograd"))
    from gradcheck import check_gradients

    x = rng.standard_normal((2, 3, 4, 2))
    for layer in (layers.UpSampling2D((2, 3), interpolation="bilinear", dtype="float64"),
                  layers.UpSampling2D(2, dtype="float64"),
                  layers.ZeroPadding2D(((1, 0), (0, 2)), dtype="float64"),
                  layers.Cropping2D(((1, 0), (1, 1)), dtype="float64")):
        check_gradients(layer, [x])


def test_errors():
    with pytest.raises(ValueError, match=r"`interpolation` argument should be one of"):
        layers.UpSampling2D(interpolation="bicubic")
    with pytest.raises(ValueError, match=r"expected ndim=4, found ndim=3"):
        layers.UpSampling2D()(np.zeros((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match=r"Cropping2D: cropping .* too large .*\(2, 3, 4, 1\)"):
        layers.Cropping2D(((2, 1), (0, 0)))(np.zeros((2, 3, 4, 1), "float32"))
    with pytest.raises(ValueError, match=r"`padding` should have 2 elements"):
        layers.ZeroPadding2D((1, 2, 3))
    with pytest.raises(ValueError, match=r"`cropping` must be >= 0|>= 0"):
        layers.Cropping1D((-1, 1))
