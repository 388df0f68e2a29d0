"""LayerNormalization: the harness, numpy references over every axis choice, training."""

import numpy as np
import pytest
from corten.keras import layers
from corten.testing import run_layer_test

rng = np.random.default_rng(0)
X = (rng.normal(size=(3, 4, 5)) * 2 + 1).astype("float32")


def _ref(x, axes, eps=1e-3):
    m = x.mean(axes, keepdims=True)
    v = x.var(axes, keepdims=True)
    return (x - m) / np.sqrt(v + eps)


def test_layer_normalization_through_the_harness():
    out = run_layer_test(layers.LayerNormalization, {}, input_data=X,
                         expected_output_shape=(3, 4, 5), expected_num_trainable_weights=2,
                         expected_num_non_trainable_weights=0, supports_masking=True)
    np.testing.assert_allclose(out.numpy(), _ref(X, -1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("axis", [-1, 1, [1, 2], [0, 2], (2, 1)])
def test_every_axis_choice_matches_numpy(axis):
    layer = layers.LayerNormalization(axis=axis, gamma_initializer="random_normal",
                                      beta_initializer="random_normal")
    got = layer(X).numpy()
    axes = tuple(a % 3 for a in (axis if isinstance(axis, (list, tuple)) else [axis]))
    shape = [1, 1, 1]
    for a in axes:
        shape[a] = X.shape[a]
    gamma = layer.gamma.numpy().reshape(shape)
    beta = layer.beta.numpy().reshape(shape)
    np.testing.assert_allclose(got, _ref(X, axes) * gamma + beta, rtol=1e-5, atol=1e-5)


def test_without_center_and_scale_there_are_no_weights():
    layer = layers.LayerNormalization(center=False, scale=False, epsilon=1e-6)
    np.testing.assert_allclose(layer(X).numpy(), _ref(X, -1, 1e-6), rtol=1e-4, atol=1e-4)
    assert layer.weights == []


def test_argument_errors():
    with pytest.raises(TypeError, match="Expected an int or a list/tuple of ints"):
        layers.LayerNormalization(axis="last")
    with pytest.raises(ValueError, match="Invalid axis: 3"):
        layers.LayerNormalization(axis=3)(X)


# ---------------------------------------------------------------------- GroupNormalization


def _group_ref(x, groups, axis, gamma, beta, eps=1e-3):
    axis %= x.ndim
    shape = list(x.shape)
    c = shape[axis]
    shape[axis:axis + 1] = [groups, c // groups]
    xr = x.astype(np.float64).reshape(shape)
    red = tuple(d for d in range(1, len(shape)) if d != axis)
    y = ((xr - xr.mean(red, keepdims=True)) / np.sqrt(xr.var(red, keepdims=True) + eps))
    bshape = [1] * x.ndim
    bshape[axis] = c
    return y.reshape(x.shape) * gamma.reshape(bshape) + beta.reshape(bshape)


@pytest.mark.parametrize(("kwargs", "shape"), [
    ({"groups": 2}, (3, 4)),
    ({"groups": 4, "axis": 1}, (2, 8, 3)),
    ({"groups": -1, "center": False}, (2, 3, 4)),
    ({"groups": 1, "epsilon": 1e-2}, (2, 2, 2, 6)),
], ids=str)
def test_group_normalization_through_the_harness(kwargs, shape):
    trainable = int(kwargs.get("center", True)) + int(kwargs.get("scale", True))
    run_layer_test(layers.GroupNormalization, kwargs, input_shape=shape,
                   expected_output_shape=shape, expected_num_trainable_weights=trainable,
                   expected_num_non_trainable_weights=0, supports_masking=True,
                   run_mixed_shapes=kwargs.get("axis", -1) == -1)


@pytest.mark.parametrize(("groups", "axis", "shape"), [(2, -1, (3, 4, 6)), (3, 1, (2, 6, 5)),
                                                       (32, -1, (2, 3, 3, 64))])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_group_normalization_matches_numpy(groups, axis, shape, dtype):
    x = (rng.normal(size=shape) * 2 + 1).astype(dtype)
    layer = layers.GroupNormalization(groups=groups, axis=axis, dtype=dtype,
                                      gamma_initializer="random_normal",
                                      beta_initializer="random_normal")
    got = layer(x).numpy()
    tol = 1e-5 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(got, _group_ref(x, groups, axis, layer.gamma.numpy(),
                                               layer.beta.numpy()), rtol=tol, atol=tol)


def test_group_normalization_errors():
    with pytest.raises(ValueError, match=r"Number of groups \(4\) must be a multiple"):
        layers.GroupNormalization(groups=4)(np.ones((2, 6), "float32"))
    with pytest.raises(ValueError, match=r"Number of groups \(8\) cannot be more"):
        layers.GroupNormalization(groups=8)(np.ones((2, 6), "float32"))
    with pytest.raises(ValueError, match="Invalid axis: 2"):
        layers.GroupNormalization(groups=1, axis=2)(np.ones((2, 6), "float32"))
    import corten

    with pytest.raises(ValueError, match=r"masked statistics .*\(2, 3, 4\)"):
        layers.GroupNormalization(groups=2)(np.ones((2, 3, 4), "float32"),
                                            mask=corten.constant(np.ones((2, 3), bool)))


def test_group_normalization_config():
    layer = layers.GroupNormalization(groups=4, axis=1, epsilon=1e-4, scale=False)
    clone = layers.GroupNormalization.from_config(layer.get_config())
    assert (clone.groups, clone.axis, clone.epsilon, clone.scale) == (4, 1, 1e-4, False)


# ----------------------------------------------------------------------- UnitNormalization


@pytest.mark.parametrize("axis", [-1, 1, [1, 2], [0, 2]])
def test_unit_normalization_matches_numpy(axis):
    layer = layers.UnitNormalization(axis=axis)
    got = layer(X).numpy()
    axes = tuple(a % 3 for a in (axis if isinstance(axis, list) else [axis]))
    x = X.astype(np.float64)
    want = x / np.sqrt(np.maximum((x * x).sum(axes, keepdims=True), 1e-12))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_unit_normalization_through_the_harness():
    out = run_layer_test(layers.UnitNormalization, {"axis": -1}, input_data=X,
                         expected_output_shape=(3, 4, 5), expected_num_trainable_weights=0,
                         expected_num_non_trainable_weights=0, supports_masking=True,
                         run_training_check=False)
    np.testing.assert_allclose((out.numpy() ** 2).sum(-1), 1.0, rtol=1e-5)


def test_unit_normalization_errors():
    with pytest.raises(TypeError, match="expected an int or a list/tuple of ints"):
        layers.UnitNormalization(axis="x")
    with pytest.raises(ValueError, match="Invalid axis: 3"):
        layers.UnitNormalization(axis=3)(X)
