"""scaled_dot_product_attention: the fused tiled kernel against a float64 numpy reference and
the plain reference kernels, at every ISA level this CPU runs (conftest), with masks, causal,
fully masked rows, dropout, gradients and thread-count invariance."""

import corten
import corten as tf
import numpy as np
import pytest
from corten import _C
from corten.nn import scaled_dot_product_attention as sdpa


def _visible(b, h, tq, tk, mask, causal):
    vis = np.ones((b, h, tq, tk), bool)
    if mask is not None:
        vis &= np.broadcast_to(mask, (b, h, tq, tk))
    if causal:
        vis &= np.tril(np.ones((tq, tk), bool))
    return vis


def ref_forward(q, k, v, mask=None, causal=False, scale=None, keep=None):
    """float64: out (B, Tq, H, Dv) and P (B, H, Tq, Tk); rows with nothing visible attend every
    key uniformly (Keras's -1e9 adder in float32); keep: dropout factors (B, H, Tq, Tk)."""
    q, k, v = (np.asarray(t, np.float64) for t in (q, k, v))
    b, tq, h, d = q.shape
    tk = k.shape[1]
    scale = 1 / np.sqrt(d) if scale is None else scale
    s = np.einsum("bihd,bjhd->bhij", q, k) * scale
    vis = _visible(b, h, tq, tk, mask, causal)
    s = np.where(vis, s, -np.inf)
    none = ~vis.any(-1, keepdims=True)
    s = np.where(none, 0.0, s)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    pd = p if keep is None else p * keep
    return np.einsum("bhij,bjhc->bihc", pd, v), p


def ref_backward(q, k, v, dout, mask=None, causal=False, scale=None, keep=None):
    q, k, v, dout = (np.asarray(t, np.float64) for t in (q, k, v, dout))
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    _, p = ref_forward(q, k, v, mask, causal, scale, keep)
    kf = np.ones_like(p) if keep is None else keep
    dpd = np.einsum("bihc,bjhc->bhij", dout, v)
    dp = dpd * kf
    ds = p * (dp - (p * dp).sum(-1, keepdims=True))
    # Rows with no visible key have constant scores: no gradient to q and k.
    b, tq, h, _ = q.shape
    ds = np.where(_visible(b, h, tq, k.shape[1], mask, causal).any(-1, keepdims=True), ds, 0.0)
    dq = np.einsum("bhij,bjhd->bihd", ds, k) * scale
    dk = np.einsum("bhij,bihd->bjhd", ds, q) * scale
    dv = np.einsum("bhij,bihc->bjhc", p * kf, dout)
    return dq, dk, dv


def _inputs(rng, b, tq, tk, h, d, dv, dtype="float32"):
    return (rng.standard_normal((b, tq, h, d)).astype(dtype),
            rng.standard_normal((b, tk, h, d)).astype(dtype),
            rng.standard_normal((b, tk, h, dv)).astype(dtype))


def _mask(rng, kind, b, h, tq, tk):
    if kind is None:
        return None
    if kind == "padding":  # (B, 1, 1, Tk): each sequence's valid prefix
        lengths = rng.integers(1, tk + 1, size=b)
        return (np.arange(tk)[None, :] < lengths[:, None])[:, None, None, :]
    if kind == "full":  # (B, 1, Tq, Tk), MultiHeadAttention's attention_mask after expand_dims
        return rng.random((b, 1, tq, tk)) < 0.7
    if kind == "heads":
        return rng.random((b, h, tq, tk)) < 0.7
    if kind == "rank2":
        return rng.random((tq, tk)) < 0.7
    if kind == "empty_rows":  # some query rows see no key at all
        m = rng.random((b, 1, tq, tk)) < 0.6
        m[:, :, ::3, :] = False
        return m
    raise AssertionError(kind)


SIZES = [(1, 1, 1, 1, 1, 1), (2, 5, 7, 2, 3, 5), (2, 70, 130, 3, 8, 12), (1, 64, 64, 1, 16, 16),
         (1, 80, 81, 1, 16, 16),
         (2, 129, 65, 2, 32, 32), (1, 3, 200, 2, 17, 9)]
MASKS = [None, "padding", "full", "heads", "rank2", "empty_rows"]


# Both implementations (Note [Direct attention for few keys]), whatever the key length.
KERNELS = ["tiled", "direct"]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("kind", MASKS)
@pytest.mark.parametrize("size", SIZES, ids=str)
def test_forward_matches_numpy(size, kind, causal, kernel, rng):
    b, tq, tk, h, d, dv = size
    q, k, v = _inputs(rng, *size)
    m = _mask(rng, kind, b, h, tq, tk)
    want, _ = ref_forward(q, k, v, m, causal)
    got = sdpa(q, k, v, m, causal=causal, kernel=kernel).numpy()
    assert got.shape == (b, tq, h, dv)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6)
    got64 = sdpa(*(t.astype(np.float64) for t in (q, k, v)), m, causal=causal,
                 kernel=kernel).numpy()
    np.testing.assert_allclose(got64, want, rtol=1e-10, atol=1e-12)


def test_scale_and_large_scores(rng):
    q, k, v = _inputs(rng, 2, 33, 90, 2, 8, 8)
    for scale in (0.05, 3.0, 40.0):
        want, _ = ref_forward(q, k, v, None, False, scale)
        np.testing.assert_allclose(sdpa(q, k, v, scale=scale).numpy(), want, rtol=2e-5,
                                   atol=2e-5)


@pytest.mark.parametrize("kernel", KERNELS)
def test_fully_masked_rows_are_uniform_over_every_key(kernel, rng):
    q, k, v = _inputs(rng, 1, 4, 6, 1, 3, 2)
    m = np.zeros((4, 6), bool)
    m[1, 2] = m[2, 2] = True
    out = sdpa(q, k, v, m, causal=True, kernel=kernel).numpy()
    # Row 0: nothing visible -> the mean of all 6 values; row 1: only key 2 is in the mask but
    # causal hides it (2 > 1) -> uniform too; row 2: key 2 alone; row 3: nothing again.
    np.testing.assert_allclose(out[0, 0, 0], v[0, :, 0].mean(0), rtol=1e-6)
    np.testing.assert_allclose(out[0, 1, 0], v[0, :, 0].mean(0), rtol=1e-6)
    np.testing.assert_allclose(out[0, 2, 0], v[0, 2, 0], rtol=1e-6)
    np.testing.assert_allclose(out[0, 3, 0], v[0, :, 0].mean(0), rtol=1e-6)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("kind", [None, "padding", "empty_rows"])
@pytest.mark.parametrize("size", [(2, 5, 7, 2, 3, 5), (1, 70, 130, 2, 8, 12)], ids=str)
def test_fast_path_matches_reference_kernels(size, kind, causal, kernel, rng):
    b, tq, tk, h, d, dv = size
    q, k, v = _inputs(rng, *size)
    m = _mask(rng, kind, b, h, tq, tk)
    dy = rng.standard_normal((b, tq, h, dv)).astype(np.float32)
    runs = []
    for reference in (False, True):
        qs, ks, vs = (tf.constant(t) for t in (q, k, v))
        with tf.GradientTape() as tape:
            tape.watch([qs, ks, vs])
            y = sdpa(qs, ks, vs, m, causal=causal, dropout_rate=0.0, reference=reference,
                     kernel=kernel)
        grads = tape.gradient(y, [qs, ks, vs], output_gradients=tf.constant(dy))
        runs.append([y.numpy()] + [g.numpy() for g in grads])
    for fast, plain in zip(*runs, strict=True):
        np.testing.assert_allclose(fast, plain, rtol=1e-4, atol=2e-5)


def _grads(q, k, v, dy, m=None, causal=False, kernel="auto", **kw):
    qs, ks, vs = (tf.constant(t) for t in (q, k, v))
    with tf.GradientTape() as tape:
        tape.watch([qs, ks, vs])
        y = _C.scaled_dot_product_attention(qs, ks, vs, m, causal, None, kernel=kernel, **kw)
    return [y.numpy()] + [g.numpy() for g in tape.gradient(y, [qs, ks, vs],
                                                            output_gradients=tf.constant(dy))]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("kind", [None, "padding", "full", "empty_rows"])
@pytest.mark.parametrize("size", [(2, 5, 7, 2, 3, 5), (1, 70, 130, 2, 8, 12),
                                  (1, 129, 65, 1, 16, 16)], ids=str)
def test_gradients_match_numpy(size, kind, causal, kernel, rng):
    b, tq, tk, h, d, dv = size
    q, k, v = _inputs(rng, *size)
    m = _mask(rng, kind, b, h, tq, tk)
    dy = rng.standard_normal((b, tq, h, dv)).astype(np.float32)
    _, *got = _grads(q, k, v, dy, m, causal, kernel)
    for g, w in zip(got, ref_backward(q, k, v, dy, m, causal), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=3e-5)


def _fd_check(q, k, v, dy, fn, eps=1e-6):
    """Central differences of sum(fn(q, k, v) * dy) against the tape's gradients (float64)."""
    qs, ks, vs = (tf.constant(t) for t in (q, k, v))
    with tf.GradientTape() as tape:
        tape.watch([qs, ks, vs])
        y = fn(qs, ks, vs)
    grads = [g.numpy() for g in tape.gradient(y, [qs, ks, vs], output_gradients=tf.constant(dy))]
    arrays = [q, k, v]
    for which, g in enumerate(grads):
        num = np.zeros_like(g)
        for idx in np.ndindex(*g.shape):
            plus = [a.copy() for a in arrays]
            minus = [a.copy() for a in arrays]
            plus[which][idx] += eps
            minus[which][idx] -= eps
            num[idx] = ((fn(*plus).numpy() - fn(*minus).numpy()) * dy).sum() / (2 * eps)
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("causal", [False, True])
def test_finite_differences_float64(causal, kernel, rng):
    q, k, v = _inputs(rng, 1, 4, 5, 2, 3, 2, "float64")
    m = _mask(rng, "empty_rows", 1, 2, 4, 5)
    dy = rng.standard_normal((1, 4, 2, 2))
    _fd_check(q, k, v, dy, lambda a, b, c: sdpa(a, b, c, m, causal=causal, kernel=kernel))


@pytest.mark.parametrize("kernel", KERNELS)
def test_finite_differences_with_dropout_at_a_fixed_seed(kernel, rng):
    q, k, v = _inputs(rng, 1, 4, 5, 2, 3, 2, "float64")
    dy = rng.standard_normal((1, 4, 2, 2))
    _fd_check(q, k, v, dy, lambda a, b, c: _C.scaled_dot_product_attention(
        a, b, c, None, True, None, 0.3, 77, 5, kernel=kernel))


def _keep(b, h, tq, tk, rate, key, offset):
    """The dropout factors of a (B, H, Tq, Tk) mask at (key, offset), as dropout() draws it."""
    ones = np.ones((b, h, tq, tk), np.float64)
    return _C.dropout(ones, rate, None, key, offset).numpy().astype(np.float64)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("size", [(2, 5, 7, 2, 3, 5), (1, 70, 130, 2, 8, 12)], ids=str)
def test_dropout_mask_is_dropouts_and_backward_regenerates_it(size, dtype, kernel, rng):
    b, tq, tk, h, d, dv = size
    q, k, v = _inputs(rng, *size, dtype)
    m = _mask(rng, "padding", b, h, tq, tk)
    dy = rng.standard_normal((b, tq, h, dv)).astype(dtype)
    rate, key, offset = 0.4, 1234, 99
    keep = _keep(b, h, tq, tk, rate, key, offset)
    y, *got = _grads(q, k, v, dy, m, True, kernel, dropout_rate=rate, seed_key=key,
                     seed_offset=offset)
    want = ref_forward(q, k, v, m, True, None, keep)[0]
    tol = dict(rtol=1e-4, atol=3e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y, want, **tol)
    for g, w in zip(got, ref_backward(q, k, v, dy, m, True, None, keep), strict=True):
        np.testing.assert_allclose(g, w, **tol)


def test_dropout_rate_zero_is_no_dropout_and_keep_fraction(rng):
    q, k, v = _inputs(rng, 2, 64, 96, 2, 8, 8)
    np.testing.assert_array_equal(sdpa(q, k, v, dropout_rate=0.0, seed=3).numpy(),
                                  sdpa(q, k, v).numpy())
    # value = one-hot rows of the keys: out[b, i, h, j] = P_ij * keep_ij.
    tk = 96
    ones_q = np.zeros((1, 200, 1, 4), np.float32)
    eye = np.eye(tk, dtype=np.float32)[None, :, None, :]
    for rate in (0.1, 0.5):
        out = sdpa(ones_q, np.zeros((1, tk, 1, 4), np.float32), eye, dropout_rate=rate,
                   seed=5).numpy()
        kept = out > 0
        assert abs(kept.mean() - (1 - rate)) < 0.02
        np.testing.assert_allclose(out[kept], 1 / tk / (1 - rate), rtol=1e-6)


def test_dropout_streams_advance_and_reset_with_the_seed(rng):
    q, k, v = _inputs(rng, 1, 8, 8, 1, 4, 4)
    tf.random.set_seed(11)
    a, b = (sdpa(q, k, v, dropout_rate=0.5).numpy() for _ in range(2))
    assert not np.array_equal(a, b)
    tf.random.set_seed(11)
    np.testing.assert_array_equal(sdpa(q, k, v, dropout_rate=0.5).numpy(), a)


def test_traced_replays_draw_new_masks_and_match_eager(rng):
    q, k, v = (tf.constant(t) for t in _inputs(rng, 2, 9, 11, 2, 4, 3))

    def step(q, k, v):
        with tf.GradientTape() as tape:
            tape.watch([q, k, v])
            y = sdpa(q, k, v, causal=True, dropout_rate=0.5, seed=4)
            loss = tf.reduce_sum(y * y)
        return [y] + tape.gradient(loss, [q, k, v])

    traced = tf.function(step)
    tf.random.set_seed(9)
    eager = [step(q, k, v) for _ in range(3)]
    tf.random.set_seed(9)
    runs = [traced(q, k, v) for _ in range(3)]
    for e, t in zip(eager, runs, strict=True):
        for a, c in zip(e, t, strict=True):
            np.testing.assert_array_equal(c.numpy(), a.numpy())
    assert not np.array_equal(runs[0][0].numpy(), runs[1][0].numpy())


@pytest.mark.parametrize("rate", [0.0, 0.3])
def test_bit_identical_on_one_and_two_threads(rate, rng, restore_config):
    size = (2, 150, 130, 3, 16, 8)
    q, k, v = _inputs(rng, *size)
    m = _mask(rng, "empty_rows", 2, 3, 150, 130)
    dy = rng.standard_normal((2, 150, 3, 8)).astype(np.float32)
    cfg = corten.config.threading
    results = []
    for n in (1, 2):
        cfg.set_intra_op_parallelism_threads(n)
        results.append(_grads(q, k, v, dy, m, True, dropout_rate=rate, seed_key=8,
                              seed_offset=1))
    for a, c in zip(*results, strict=True):
        np.testing.assert_array_equal(a, c)


def test_errors_name_the_op_and_shapes(rng):
    q, k, v = _inputs(rng, 2, 3, 4, 2, 5, 6)
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: .*rank 4.*\(2, 3, 10\)"):
        sdpa(q.reshape(2, 3, 10), k, v)
    with pytest.raises(ValueError, match=r"equal B, H, D.*key.shape=\(2, 4, 2, 4\)"):
        sdpa(q, k[..., :4], v)
    with pytest.raises(ValueError, match=r"equal B, H, D.*value.shape=\(2, 5, 2, 6\)"):
        sdpa(q, k, np.concatenate([v, v[:, :1]], 1))
    with pytest.raises(ValueError, match=r"attention_mask.shape=\(4, 3\) does not broadcast"):
        sdpa(q, k, v, np.ones((4, 3), bool))
    with pytest.raises(ValueError, match=r"dropout_rate must be in \[0, 1\)"):
        sdpa(q, k, v, dropout_rate=1.0)
    with pytest.raises(ValueError, match=r"dropout_rate must be in \[0, 1\)"):
        sdpa(q, k, v, dropout_rate=-0.1)
    with pytest.raises(TypeError, match="query must be float32, float64, bfloat16 or float16; got dtype int32"):
        sdpa(q.astype(np.int32), k, v)
    with pytest.raises(TypeError, match="one dtype"):
        sdpa(q, k.astype(np.float64), v)
    with pytest.raises(TypeError, match="attention_mask must be bool"):
        sdpa(q, k, v, np.ones((3, 4), np.float32))


@pytest.mark.parametrize("kernel", KERNELS)
def test_traced_function_without_dropout_matches_eager_and_saves_as_a_plan(kernel, rng):
    import json

    q, k, v = (tf.constant(t) for t in _inputs(rng, 2, 9, 11, 2, 4, 3))
    m = _mask(rng, "padding", 2, 2, 9, 11)
    fn = tf.function(lambda q, k, v: sdpa(q, k, v, m, causal=True, kernel=kernel))
    for _ in range(2):
        np.testing.assert_array_equal(fn(q, k, v).numpy(),
                                      sdpa(q, k, v, m, causal=True, kernel=kernel).numpy())
    plan = fn._last_plan.plan
    # The direct path is its ops (Note [Direct attention for few keys]).
    assert ("scaled_dot_product_attention" if kernel == "tiled" else "softmax") in plan.ops
    text = plan.to_json([f"c{i}" for i in range(len(plan.captures))])
    assert json.loads(text)["format"] == "corten.plan"
    loaded = _C.plan_from_json(text, "attention",
                               {f"c{i}": c for i, c in enumerate(plan.captures)})
    np.testing.assert_array_equal(loaded.run([q, k, v])[0].numpy(), fn(q, k, v).numpy())


def test_non_contiguous_inputs(rng):
    # (B, H, T, D) data seen through a transposed view in the (B, T, H, D) layout.
    x = tf.constant(rng.standard_normal((2, 3, 70, 8)).astype(np.float32))
    xt = tf.transpose(x, [0, 2, 1, 3])
    want, _ = ref_forward(xt.numpy(), xt.numpy(), xt.numpy(), None, True)
    np.testing.assert_allclose(sdpa(xt, xt, xt, causal=True).numpy(), want, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("size", [(0, 3, 4, 2, 5, 6), (2, 0, 4, 2, 5, 6), (2, 3, 0, 2, 5, 6),
                                  (2, 3, 4, 0, 5, 6), (2, 3, 4, 2, 0, 6), (2, 3, 4, 2, 5, 0)],
                         ids=str)
def test_empty_sizes(size, dtype):
    b, tq, tk, h, d, dv = size
    q, k, v = (tf.constant(np.ones(s, dtype)) for s in ((b, tq, h, d), (b, tk, h, d),
                                                         (b, tk, h, dv)))
    with tf.GradientTape() as tape:
        tape.watch([q, k, v])
        y = sdpa(q, k, v, causal=True, dropout_rate=0.5, seed=1)
    grads = tape.gradient(y, [q, k, v])
    assert y.shape == (b, tq, h, dv)
    if tk == 0:  # no keys: zeros, as an empty weighted sum
        np.testing.assert_array_equal(y.numpy(), 0)
    for g, t in zip(grads, (q, k, v), strict=True):
        assert g.shape == t.shape
