"""EinsumDense: tf-keras 2.21's weight/bias/output shape table (einsum_dense_test.py), its
layer-API numbers and error messages, the harness, and a numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
from corten import keras
from corten.keras import layers
from corten.testing import run_layer_test

# (equation, bias_axes, input_shape, output_shape, kernel shape, bias shape, output shape),
# tf-keras's parameterized cases.
SHAPE_CASES = [
    ("ab,b->a", None, (None, 32), [], [32], None, (None,)),
    ("ab,bc->ac", None, (None, 32), 64, [32, 64], None, (None, 64)),
    ("abc,cde->abde", None, (None, 1, 2), (1, 3, 4), [2, 3, 4], None, (None, 1, 3, 4)),
    ("abc,cde->abde", "e", (None, 1, 2), (1, 3, 4), [2, 3, 4], [4], (None, 1, 3, 4)),
    ("abc,cde->abde", "d", (None, 1, 2), (1, 3, 4), [2, 3, 4], [3, 1], (None, 1, 3, 4)),
    ("abc,cde->abde", "be", (None, 7, 2), (7, 3, 4), [2, 3, 4], [7, 1, 4], (None, 7, 3, 4)),
    ("BFNH,NHD->BFD", None, (None, 1, 2, 3), (1, 4), [2, 3, 4], None, (None, 1, 4)),
    ("abc,cd->abd", None, (None, 1, 2), (1, 4), [2, 4], None, (None, 1, 4)),
    ("i,d->id", None, (None,), 2, [2], None, (None, 2)),
    ("ibd,nd->ibn", None, (None, None, 1), (None, 2), [2, 1], None, (None, None, 2)),
    ("...b,bc->...c", None, (None, 32), 64, [32, 64], None, (None, 64)),
    ("...bc,bc->...b", None, (None, 32, 64), 32, [32, 64], None, (None, 32)),
    ("...b,bc->...c", None, (None, None, 32), 64, [32, 64], None, (None, None, 64)),
    ("...c,cde->...de", None, (None, 1, 2), (3, 4), [2, 3, 4], None, (None, 1, 3, 4)),
    ("...c,cde->...de", "e", (None, 1, 2), (3, 4), [2, 3, 4], [4], (None, 1, 3, 4)),
    ("...c,cde->...de", "d", (None, 1, 2), (3, 4), [2, 3, 4], [3, 1], (None, 1, 3, 4)),
    ("...c,cde->...de", "de", (None, 1, 2), (3, 4), [2, 3, 4], [3, 4], (None, 1, 3, 4)),
    ("bc...,cd->bd...", None, (None, 1, 2, 3), 4, [1, 4], None, (None, 4, 2, 3)),
    ("bc...,cde->bde...", None, (None, 1, 2), (3, 4), [1, 3, 4], None, (None, 3, 4, 2)),
    ("bc...,cde->bde...", "d", (None, 1, 2), (3, 4), [1, 3, 4], [3, 1, 1], (None, 3, 4, 2)),
    ("bc...,cde->bde...", "e", (None, 1, 2), (3, 4), [1, 3, 4], [4, 1], (None, 3, 4, 2)),
    ("bc...,cde->bde...", "de", (None, 1, 2), (3, 4), [1, 3, 4], [3, 4, 1],
     (None, 3, 4, 2)),
]


@pytest.mark.parametrize(("equation", "bias_axes", "input_shape", "output_shape", "kernel",
                          "bias", "expected"), SHAPE_CASES,
                         ids=[f"{c[0]}|{c[1]}" for c in SHAPE_CASES])
def test_weight_and_output_shapes(equation, bias_axes, input_shape, output_shape, kernel, bias,
                                  expected, rng):
    layer = layers.EinsumDense(equation, output_shape=output_shape, bias_axes=bias_axes)
    out = layer(keras.Input(shape=input_shape[1:]))
    assert tuple(layer.kernel.shape) == tuple(kernel)
    if bias is None:
        assert layer.bias is None
    else:
        assert tuple(layer.bias.shape) == tuple(bias)
    assert tuple(out.shape) == expected
    # the numbers: einsum with the kernel, plus the broadcast bias
    shape = tuple(2 if d is None else d for d in input_shape)
    x = rng.standard_normal(shape).astype("float32")
    layer.set_weights([rng.standard_normal(w.shape).astype("float32") for w in layer.weights])
    want = np.einsum(equation, x, layer.kernel.numpy())
    if bias is not None:
        want = want + layer.bias.numpy()
    got = layer(x)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)
    assert tuple(layer.compute_output_shape(shape)) == tuple(got.shape)


def test_layer_api_numbers_of_tf_keras():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    out = run_layer_test(layers.EinsumDense,
                         {"equation": "...b,bc->...c", "bias_axes": "c", "output_shape": 4,
                          "bias_initializer": keras.initializers.Constant(0.03),
                          "kernel_initializer": keras.initializers.Constant(0.5),
                          "dtype": "float64"},
                         input_data=x, input_dtype="float64", expected_output_shape=(2, 4),
                         expected_num_trainable_weights=2, expected_num_non_trainable_weights=0)
    np.testing.assert_allclose(out.numpy(), [[1.53] * 4, [3.53] * 4])


@pytest.mark.parametrize(("kwargs", "shape", "out", "mixed"), [
    ({"equation": "abc,cde->abde", "output_shape": (None, 3, 4), "bias_axes": "de",
      "activation": "relu"}, (2, 5, 6), (2, 5, 3, 4), True),
    # the kernel takes axes 2 and 3 of the input: they must be known (no mixed shapes)
    ({"equation": "abcd,cde->abe", "output_shape": (None, 7), "bias_axes": "e"},
     (2, 5, 3, 4), (2, 5, 7), False),
    ({"equation": "ab,bc->ac", "output_shape": 3, "kernel_regularizer": "l2",
      "activity_regularizer": "l1", "kernel_constraint": "non_neg"}, (4, 6), (4, 3), True),
])
def test_through_the_harness(kwargs, shape, out, mixed):
    run_layer_test(layers.EinsumDense, kwargs, input_shape=shape, expected_output_shape=out,
                   expected_num_trainable_weights=1 + ("bias_axes" in kwargs),
                   expected_num_non_trainable_weights=0, supports_masking=False,
                   run_mixed_shapes=mixed)


def test_config_has_tf_keras_keys_in_order():
    layer = layers.EinsumDense("ab,bc->ac", output_shape=4, bias_axes="c", name="ed")
    assert list(layer.get_config()) == [
        "name", "trainable", "dtype", "output_shape", "equation", "activation", "bias_axes",
        "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
        "activity_regularizer", "kernel_constraint", "bias_constraint"]
    assert layer.get_config()["output_shape"] == [4]
    layer(np.ones((2, 3), "float32"))
    assert [w.name for w in layer.weights] == ["ed/kernel:0", "ed/bias:0"]


def test_experimental_alias():
    assert keras.layers.experimental.EinsumDense is layers.EinsumDense


@pytest.mark.parametrize(("equation", "output_shape", "bias_axes", "shape", "message"), [
    ("ab,bc->ac", 64, "y", (32,), ".*is not part of the output spec.*"),
    ("abc,cd->abd", (10, 96), None, (32, 64),
     "Input shape and output shape do not match at shared dimension 'b'"),
    ("ab,bc->cd", 64, None, (32,),
     "Dimension 'd' was specified in the output 'cd' but has no corresponding dim"),
    ("ab,zd->ad", 64, None, (32,), "Weight dimension 'z' did not have a match "),
    ("ab,bc,cd->ad", 4, None, (32,), "Invalid einsum equation 'ab,bc,cd->ad'"),
    ("abc,cd->abd", (None, 4), None, (3,), r"takes inputs of rank 3. Received: "
                                           r"input_shape=\(None, 3\)"),
])
def test_errors_as_tf_keras(equation, output_shape, bias_axes, shape, message):
    layer = layers.EinsumDense(equation=equation, output_shape=output_shape, bias_axes=bias_axes)
    with pytest.raises(ValueError, match=message):
        layer(keras.Input(shape=shape))
