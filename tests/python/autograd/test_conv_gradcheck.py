"""Finite-difference gradient checks (float64) of conv and conv_transpose over a grid of
spatial ranks, strides, dilations, paddings, groups and data formats, with and without the
fused bias and activation."""

from __future__ import annotations

import corten as tf
import numpy as np
import pytest
from corten.ops import conv as conv_ops
from gradcheck import check_gradients

# (x shape channels_last, kernel shape, strides, dilations, padding, groups)
GRID = [
    ((2, 7, 3), (3, 3, 2), 1, 1, "valid", 1),
    ((1, 8, 4), (2, 2, 4), 2, 1, "same", 2),
    ((1, 7, 2), (2, 2, 3), 1, 2, "causal", 1),
    ((1, 5, 4, 2), (3, 3, 2, 3), 1, 1, "same", 1),
    ((2, 5, 6, 2), (2, 3, 2, 2), (2, 1), 1, "same", 1),
    ((1, 6, 5, 4), (2, 2, 2, 4), 1, (2, 1), "valid", 2),
    ((1, 5, 5, 3), (1, 1, 3, 2), 1, 1, "valid", 1),
    ((1, 4, 5, 2), (3, 2, 2, 2), (1, 2), 1, [[1, 0], [0, 2]], 1),
    ((1, 3, 4, 3, 2), (2, 2, 2, 2, 2), 1, 1, "same", 1),
    ((1, 4, 3, 3, 2), (2, 1, 2, 1, 2), (2, 1, 1), 1, "valid", 2),
]
IDS = [f"{len(g[0]) - 2}d-{i}" for i, g in enumerate(GRID)]

_rng = np.random.default_rng(7)


def _first(a):
    return np.ascontiguousarray(np.moveaxis(a, -1, 1))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("g", GRID, ids=IDS)
def test_conv_gradients(g, data_format):
    xs, ws, strides, dils, padding, groups = g
    x = _rng.uniform(-1, 1, xs)
    if data_format == "channels_first":
        x = _first(x)
    w = _rng.uniform(-1, 1, ws)
    b = _rng.uniform(-1, 1, ws[-1])

    def fn(x, w, b):
        return conv_ops.conv(x, w, b, strides, padding, dils, groups, data_format,
                             activation="tanh")

    check_gradients(fn, [x, w, b])


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("g", GRID, ids=IDS)
def test_conv_transpose_gradients(g, data_format):
    xs, ws, strides, dils, padding, groups = g
    if padding == "causal":
        padding = "valid"
    nd = len(xs) - 2
    sizes = list(xs[1:-1])
    y = conv_ops.conv(np.zeros(xs), np.zeros(ws), None, strides, padding, dils, groups)
    dy = _rng.uniform(-1, 1, y.shape)
    w = _rng.uniform(-1, 1, ws)
    b = _rng.uniform(-1, 1, ws[-2] * groups)
    if data_format == "channels_first":
        dy = _first(dy)
    assert len(sizes) == nd

    def fn(dy, w, b):
        return conv_ops.conv_transpose(dy, w, b, sizes, strides, padding, dils, groups,
                                       data_format, activation="sigmoid")

    check_gradients(fn, [dy, w, b])


def test_second_derivative_through_the_input_gradient():
    # The input gradient of conv is conv_transpose (recorded): its own gradient in the
    # output gradient is checked here.
    x = _rng.uniform(-1, 1, (1, 5, 4, 2))
    w = _rng.uniform(-1, 1, (3, 3, 2, 3))

    def fn(x, g):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = conv_ops.conv(x, tf.constant(w), None, 2, "same")
        return tape.gradient(y, x, output_gradients=g)

    check_gradients(fn, [x, _rng.uniform(-1, 1, (1, 3, 2, 3))])
