"""The vector exp (csrc/cpu/vec_math.h) against the baseline ISA's std::exp: within 2 ulp in
range, and the edge lanes (overflow, underflow, infinities, NaN) exactly the scalar result, on
every ISA; sigmoid built on it within its 3 ulp."""

from __future__ import annotations

import corten as tf
import numpy as np
import pytest
from cases import SUPPORTED_ISAS

VECTOR_ISAS = [isa for isa in SUPPORTED_ISAS if isa != "baseline"]


@pytest.fixture
def restore_isa():
    isa = tf.config.get_cpu_isa()
    yield
    tf.config.set_cpu_isa(isa)


def _ulps(got, want):
    spacing = np.spacing(np.abs(want.astype(np.float32))).astype(np.float64)
    return np.abs(got.astype(np.float64) - want.astype(np.float64)) / spacing


EDGES = np.array([-np.inf, -1e30, -200.0, -104.0, -103.9, -88.0, -87.5, -87.34, -87.33, -1e-30,
                  -0.0, 0.0, 1e-30, 87.33, 87.34, 88.0, 88.37, 88.38, 88.4, 89.0, 200.0, 1e30,
                  np.inf, np.nan], np.float32)


@pytest.mark.usefixtures("restore_isa")
@pytest.mark.parametrize("isa", VECTOR_ISAS)
def test_exp_edges_match_scalar_reference(isa):
    # Each edge value in every lane position of a 16-lane vector, among in-range neighbours.
    x = np.tile(np.concatenate([EDGES, np.linspace(-3, 3, 9, dtype=np.float32)]), 17)
    tf.config.set_cpu_isa("baseline")
    want = tf.exp(x).numpy()
    tf.config.set_cpu_isa(isa)
    got = tf.exp(x).numpy()
    edge = ~(np.abs(x) <= 87.33)
    np.testing.assert_array_equal(got[edge], want[edge])
    assert _ulps(got[~edge], want[~edge]).max() <= 2.0


@pytest.mark.usefixtures("restore_isa")
@pytest.mark.parametrize("isa", VECTOR_ISAS)
def test_exp_and_sigmoid_random_inputs_against_float64(isa):
    tf.config.set_cpu_isa(isa)
    x = np.random.default_rng(1).uniform(-87.0, 88.0, 200_003).astype(np.float32)
    assert _ulps(tf.exp(x).numpy(), np.exp(x.astype(np.float64))).max() <= 2.0
    s = x / 3.0
    want = 1.0 / (1.0 + np.exp(-s.astype(np.float64)))
    assert _ulps(tf.sigmoid(s).numpy(), want).max() <= 3.0


@pytest.mark.usefixtures("restore_isa")
@pytest.mark.parametrize("isa", VECTOR_ISAS)
def test_whole_vectors_below_the_range_are_the_scalar_zeros(isa):
    # Lanes past the underflow bound are std::exp's result in the ops' flush-to-zero mode (0)
    # without the scalar calls: whole rows of them (masked softmax logits, a saturated
    # sigmoid), and rows mixing them with in-range lanes.
    rng = np.random.default_rng(2)
    below = rng.uniform(-300.0, -87.34, (4, 64)).astype(np.float32)
    below[0, :] = -1e9
    below[1, ::3] = -np.inf
    mixed = below.copy()
    mixed[2:, ::5] = rng.uniform(-5.0, 5.0, mixed[2:, ::5].shape).astype(np.float32)
    tf.config.set_cpu_isa("baseline")
    want = {name: (tf.exp(v).numpy(), tf.sigmoid(v).numpy(), tf.sigmoid(-v).numpy(),
                   tf.nn.softmax(v).numpy()) for name, v in (("below", below), ("mixed", mixed))}
    tf.config.set_cpu_isa(isa)
    for name, v in (("below", below), ("mixed", mixed)):
        got = (tf.exp(v).numpy(), tf.sigmoid(v).numpy(), tf.sigmoid(-v).numpy(),
               tf.nn.softmax(v).numpy())
        edge = ~(np.abs(v) <= 87.33)  # the in-range lanes are within 2-3 ulp (tests above)
        for g, w in zip(got[:3], want[name][:3]):
            np.testing.assert_array_equal(g[edge], w[edge], err_msg=name)
        np.testing.assert_allclose(got[3], want[name][3], rtol=1e-6, atol=0, err_msg=name)
    assert (tf.exp(below).numpy() == 0).all()
