"""scaled_dot_product_attention on bfloat16 inputs (Note [bfloat16 attention] in
cpu/attention.h): the tiled kernels' bfloat16 products against a float64 reference within the
documented bound, at every ISA level (conftest: VDPBF16PS, the float32 path, the reference
micro-kernels) and with the AMX tiles where the CPU has them, with masks, causal, dropout and
depths that span several panels."""

import corten
import corten as tf
import numpy as np
import pytest
from corten import _C
from test_attention_kernel import _keep, _mask, ref_backward, ref_forward

ml_dtypes = pytest.importorskip("ml_dtypes", reason="bfloat16 numpy arrays need ml_dtypes")
BF16 = ml_dtypes.bfloat16
pytestmark = pytest.mark.usefixtures("amx")

# Documented bound (Note [bfloat16 attention]), relative to the largest value of each result:
# out within 4 units of 2^-8, the gradients within 10 (their D = rowsum(dO * O) is taken from
# the rounded out, as on the float32 path, and dS = P (dP - D) cancels).
OUT_BOUND, GRAD_BOUND = 4 * 2.0**-8, 10 * 2.0**-8

SIZES = [(2, 5, 7, 2, 3, 5), (2, 70, 130, 3, 8, 12), (1, 129, 65, 2, 32, 32),
         (1, 3, 200, 2, 17, 9), (1, 100, 90, 1, 33, 70), (2, 200, 200, 2, 32, 32)]


def _bf16_inputs(rng, b, tq, tk, h, d, dv):
    return [rng.standard_normal(s).astype(BF16)
            for s in ((b, tq, h, d), (b, tk, h, d), (b, tk, h, dv), (b, tq, h, dv))]


def _run(q, k, v, dy, m=None, causal=False, **kw):
    qs, ks, vs = (tf.constant(t) for t in (q, k, v))
    with tf.GradientTape() as tape:
        tape.watch([qs, ks, vs])
        y = _C.scaled_dot_product_attention(qs, ks, vs, m, causal, None, kernel="tiled", **kw)
    grads = tape.gradient(y, [qs, ks, vs], output_gradients=tf.constant(dy))
    assert y.dtype == tf.bfloat16 and all(g.dtype == tf.bfloat16 for g in grads)
    return [t.numpy().astype(np.float64) for t in [y, *grads]]


def _assert_within_bound(got, want):
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        bound = (OUT_BOUND if i == 0 else GRAD_BOUND) * np.abs(w).max()
        assert np.abs(g - w).max() <= bound, (i, np.abs(g - w).max() / np.abs(w).max())


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("kind", [None, "padding", "full", "empty_rows"])
@pytest.mark.parametrize("size", SIZES, ids=str)
def test_forward_and_gradients_within_the_bound_of_float64(size, kind, causal, rng):
    b, tq, tk, h, d, dv = size
    q, k, v, dy = _bf16_inputs(rng, *size)
    m = _mask(rng, kind, b, h, tq, tk)
    wide = [t.astype(np.float64) for t in (q, k, v, dy)]
    want = [ref_forward(*wide[:3], m, causal)[0], *ref_backward(*wide, m, causal)]
    _assert_within_bound(_run(q, k, v, dy, m, causal), want)


@pytest.mark.parametrize("size", [(2, 70, 130, 2, 8, 12), (1, 100, 90, 1, 33, 40)], ids=str)
def test_dropout_keeps_the_float32_kernels_mask(size, rng):
    b, tq, tk, h, d, dv = size
    q, k, v, dy = _bf16_inputs(rng, *size)
    m = _mask(rng, "padding", b, h, tq, tk)
    rate, key, offset = 0.3, 4321, 17
    keep = _keep(b, h, tq, tk, rate, key, offset)
    wide = [t.astype(np.float64) for t in (q, k, v, dy)]
    want = [ref_forward(*wide[:3], m, True, None, keep)[0],
            *ref_backward(*wide, m, True, None, keep)]
    got = _run(q, k, v, dy, m, True, dropout_rate=rate, seed_key=key, seed_offset=offset)
    _assert_within_bound(got, want)


@pytest.mark.parametrize("rate", [0.0, 0.3])
def test_bit_identical_on_one_and_two_threads(rate, rng, threads):
    q, k, v, dy = _bf16_inputs(rng, 2, 150, 130, 3, 40, 24)
    m = _mask(rng, "empty_rows", 2, 3, 150, 130)
    results = []
    for n in (1, 2):
        threads(n)
        results.append(_run(q, k, v, dy, m, True, dropout_rate=rate, seed_key=8, seed_offset=1))
    for a, c in zip(*results, strict=True):
        np.testing.assert_array_equal(a, c)


def test_runs_in_bfloat16_without_casts_and_near_the_float32_kernels(rng):
    q, k, v, _ = _bf16_inputs(rng, 1, 70, 80, 2, 16, 16)
    qs, ks, vs = (tf.constant(t) for t in (q, k, v))

    @tf.function
    def attend(a, b, c):
        return _C.scaled_dot_product_attention(a, b, c, None, False, None, kernel="tiled")

    ops = [name for name, _ in attend.profile(qs, ks, vs, runs=1)]
    assert "scaled_dot_product_attention" in ops and "cast" not in ops, ops
    y = attend(qs, ks, vs)
    wide = [tf.constant(t.astype(np.float32)) for t in (q, k, v)]
    y32 = _C.scaled_dot_product_attention(*wide, None, False, None, kernel="tiled").numpy()
    assert np.abs(y.numpy().astype(np.float32) - y32).max() <= OUT_BOUND * np.abs(y32).max()


def test_multi_head_attention_under_mixed_bfloat16_follows_float32(rng):
    x = rng.standard_normal((4, 130, 32)).astype(np.float32)
    outs = []
    for policy in ("float32", "mixed_bfloat16"):
        corten.keras.mixed_precision.set_global_policy(policy)
        try:
            tf.random.set_seed(5)
            layer = corten.keras.layers.MultiHeadAttention(num_heads=2, key_dim=32)
            with tf.GradientTape() as tape:
                y = layer(x, x)
                loss = tf.reduce_sum(tf.cast(y, tf.float32) ** 2)
            grads = tape.gradient(loss, layer.trainable_weights)
            outs.append([y.numpy().astype(np.float64)]
                        + [g.numpy().astype(np.float64) for g in grads])
        finally:
            corten.keras.mixed_precision.set_global_policy("float32")
    # The key projection's bias gets no gradient in exact arithmetic (the softmax ignores a
    # shift of every score of a row): both are rounding noise, so it is held to the scale of
    # the other gradients.
    largest = max(np.abs(g).max() for g in outs[0][1:])
    for a, b in zip(*outs, strict=True):
        assert np.abs(a - b).max() <= 0.05 * max(np.abs(a).max(), 1e-3 * largest)


@pytest.mark.parametrize("size", [(0, 3, 70, 2, 5, 6), (2, 0, 70, 2, 5, 6), (2, 3, 0, 2, 5, 6),
                                  (2, 70, 70, 0, 5, 6), (2, 70, 70, 2, 0, 6),
                                  (2, 70, 70, 2, 5, 0)], ids=str)
def test_empty_sizes(size):
    b, tq, tk, h, d, dv = size
    q, k, v = (tf.constant(np.ones(s, BF16)) for s in ((b, tq, h, d), (b, tk, h, d),
                                                       (b, tk, h, dv)))
    with tf.GradientTape() as tape:
        tape.watch([q, k, v])
        y = _C.scaled_dot_product_attention(q, k, v, None, True, None, 0.5, 1, 0,
                                            kernel="tiled")
    grads = tape.gradient(y, [q, k, v])
    assert y.shape == (b, tq, h, dv) and y.dtype == tf.bfloat16
    if tk == 0:  # no keys: zeros, as an empty weighted sum
        np.testing.assert_array_equal(y.numpy().astype(np.float32), 0)
    for g, t in zip(grads, (q, k, v), strict=True):
        assert g.shape == t.shape and g.dtype == tf.bfloat16


def test_non_contiguous_inputs(rng):
    # (B, H, T, D) data seen through a transposed view in the (B, T, H, D) layout.
    x = tf.constant(rng.standard_normal((2, 3, 70, 8)).astype(BF16))
    xt = tf.transpose(x, [0, 2, 1, 3])
    got = _C.scaled_dot_product_attention(xt, xt, xt, None, True, None, kernel="tiled")
    wide = xt.numpy().astype(np.float64)
    want, _ = ref_forward(wide, wide, wide, None, True)
    assert np.abs(got.numpy().astype(np.float64) - want).max() <= OUT_BOUND * np.abs(want).max()
