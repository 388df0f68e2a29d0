"""Image preprocessing layers: the harness for every layer; the deterministic layers and the
projective sampler against tf.keras 2 golden values (golden/image_preprocessing_golden.npz,
made by golden/make_image_preprocessing_golden.py); the random layers' identity at inference,
shapes, statistics and reproducibility at a fixed seed."""

import os
import subprocess

import corten as tf
import numpy as np
import pytest
from corten import keras
from corten.config import threading as cthreading
from corten.keras import layers
from corten.keras.layers import image_preprocessing as ip
from corten.ops.image import image_transform
from corten.testing import run_layer_test

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = np.load(os.path.join(HERE, "golden", "image_preprocessing_golden.npz"))
X = GOLDEN["x"]  # (2, 7, 9, 3), values in [0, 255]
TFKERAS = "/work/peers/tfkeras/bin/python"


def _keys(prefix):
    return sorted(k for k in GOLDEN.files if k.startswith(prefix))


# ---- the harness ---------------------------------------------------------------------------

HARNESS = [
    (layers.Rescaling, {"scale": 1 / 255.0, "offset": -0.5}, (2, 7, 9, 3)),
    (layers.Resizing, {"height": 4, "width": 5}, (2, 4, 5, 3)),
    (layers.Resizing, {"height": 12, "width": 6, "interpolation": "nearest",
                       "crop_to_aspect_ratio": True}, (2, 12, 6, 3)),
    (layers.CenterCrop, {"height": 4, "width": 5}, (2, 4, 5, 3)),
    (layers.RandomCrop, {"height": 4, "width": 5, "seed": 1}, (2, 4, 5, 3)),
    (layers.RandomFlip, {"mode": "horizontal", "seed": 1}, (2, 7, 9, 3)),
    (layers.RandomFlip, {"seed": 1}, (2, 7, 9, 3)),
    (layers.RandomRotation, {"factor": 0.2, "seed": 1}, (2, 7, 9, 3)),
    (layers.RandomRotation, {"factor": (-0.1, 0.3), "fill_mode": "constant",
                             "interpolation": "nearest", "fill_value": 1.0}, (2, 7, 9, 3)),
    (layers.RandomZoom, {"height_factor": 0.2, "seed": 1}, (2, 7, 9, 3)),
    (layers.RandomZoom, {"height_factor": (-0.3, 0.1), "width_factor": (0.1, 0.2),
                         "fill_mode": "wrap"}, (2, 7, 9, 3)),
    (layers.RandomTranslation, {"height_factor": 0.2, "width_factor": (-0.1, 0.3),
                                "fill_mode": "nearest", "seed": 2}, (2, 7, 9, 3)),
    (layers.RandomContrast, {"factor": 0.3, "seed": 1}, (2, 7, 9, 3)),
    (layers.RandomBrightness, {"factor": (-0.2, 0.4), "value_range": (0, 1), "seed": 1},
     (2, 7, 9, 3)),
]


@pytest.mark.parametrize(("cls", "kwargs", "out_shape"), HARNESS)
def test_run_layer_test(cls, kwargs, out_shape):
    x = X / 255.0 if cls is layers.RandomBrightness else X
    run_layer_test(cls, kwargs, input_data=x.astype("float32"),
                   expected_output_shape=out_shape, expected_output_dtype="float32",
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0)


def test_experimental_preprocessing_aliases():
    from corten.keras.layers.experimental import preprocessing as pre

    for name in ["Rescaling", "Resizing", "CenterCrop", "RandomCrop", "RandomFlip",
                 "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast"]:
        assert getattr(pre, name) is getattr(layers, name)


# ---- deterministic layers ------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rescaling_matches_numpy(dtype):
    x = np.arange(24).reshape(2, 3, 4).astype("int32")
    y = layers.Rescaling(1 / 127.5, offset=-1, dtype=dtype)(x)
    assert y.dtype.name == dtype
    np.testing.assert_allclose(y.numpy(), x.astype("float64") / 127.5 - 1, rtol=1e-6)
    per_channel = layers.Rescaling([1.0, 2.0, 3.0, 4.0])(x).numpy()
    np.testing.assert_allclose(per_channel, x * np.array([1, 2, 3, 4.0]))


@pytest.mark.parametrize("key", _keys("resizing/"))
def test_resizing_matches_tf_keras(key):
    _, hw, interpolation, crop = key.split("/")
    h, w = map(int, hw.split("x"))
    layer = layers.Resizing(h, w, interpolation=interpolation, crop_to_aspect_ratio=crop == "1")
    np.testing.assert_allclose(layer(X).numpy(), GOLDEN[key], rtol=1e-5, atol=1e-4)
    # one image
    np.testing.assert_allclose(layer(X[1]).numpy(), GOLDEN[key][1], rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("key", _keys("center_crop/") + _keys("random_crop_infer/"))
def test_center_crop_and_random_crop_at_inference_match_tf_keras(key):
    h, w = map(int, key.split("/")[1].split("x"))
    if key.startswith("center_crop/"):
        got = layers.CenterCrop(h, w)(X)
    else:
        got = layers.RandomCrop(h, w, seed=3)(X, training=False)
    np.testing.assert_allclose(got.numpy(), GOLDEN[key], rtol=1e-5, atol=1e-4)


def test_center_crop_of_integer_images_is_float():
    x = np.arange(2 * 6 * 6 * 1).reshape(2, 6, 6, 1).astype("uint8").astype("int32")
    y = layers.CenterCrop(2, 4)(x)
    assert y.dtype.name == "float32"
    np.testing.assert_array_equal(y.numpy(), x[:, 2:4, 1:5].astype("float32"))


# ---- the projective sampler ----------------------------------------------------------------

@pytest.mark.parametrize("key", _keys("transform/") + _keys("transform_shape/"))
def test_image_transform_matches_tf_image_projective_transform_v3(key):
    _, name, interpolation, mode = key.split("/")
    shape = [7, 9] if key.startswith("transform/") else [5, 11]
    t = GOLDEN[f"transforms/{name}"]
    got = image_transform(tf.constant(X), tf.constant(t), shape, interpolation, mode, 7.5)
    np.testing.assert_allclose(got.numpy(), GOLDEN[key], rtol=1e-6, atol=1e-5)
    got64 = image_transform(tf.constant(X.astype("float64")), tf.constant(t), shape,
                            interpolation, mode, 7.5)
    assert got64.dtype.name == "float64"
    np.testing.assert_allclose(got64.numpy(), GOLDEN[key], rtol=1e-5, atol=1e-4)


def test_transform_matrices_match_tf_keras():
    h, w = X.shape[1:3]
    np.testing.assert_allclose(
        ip.rotation_transforms(tf.constant(GOLDEN["rotation/angles"]), h, w).numpy(),
        GOLDEN["rotation/matrix"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        ip.zoom_transforms(tf.constant(GOLDEN["zoom/zooms"]), h, w).numpy(),
        GOLDEN["zoom/matrix"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        ip.translation_transforms(tf.constant(GOLDEN["translation/deltas"])).numpy(),
        GOLDEN["translation/matrix"], rtol=1e-6, atol=1e-6)


def _reference_transform(x, t, interpolation, mode, fill):
    """A float64 numpy reference of the sampler (scipy.ndimage's constant, nearest and
    reflect fill rules)."""
    n, h, w, c = x.shape
    out = np.empty_like(x, dtype="float64")

    def mapc(v, size):
        if mode == "constant":
            return v
        if mode == "nearest":
            return min(max(v, 0.0), size - 1.0)
        if size == 1:
            return 0.0
        period = 2 * size
        v = np.float32(v % period)
        v = v if v < size else np.float32(period - 1 - v)
        return min(max(float(v), 0.0), size - 1.0)

    def round_away(v):  # std::round: halves away from zero
        return np.sign(v) * np.floor(abs(v) + 0.5)

    def read(b, yy, xx, ch):
        if 0 <= yy < h and 0 <= xx < w:
            return x[b, int(yy), int(xx), ch]
        return fill

    f32 = np.float32
    for b in range(n):
        # coordinates in float32, as TensorFlow's (Note [Projective transform semantics])
        a0, a1, a2, b0, b1, b2, c0, c1 = (f32(v) for v in t[b])
        for oy_i in range(h):
            for ox_i in range(w):
                ox, oy = f32(ox_i), f32(oy_i)
                k = c0 * ox + c1 * oy + f32(1)
                ix, iy = (a0 * ox + a1 * oy + a2) / k, (b0 * ox + b1 * oy + b2) / k
                xx, yy = mapc(ix, w), mapc(iy, h)
                for ch in range(c):
                    if interpolation == "nearest":
                        out[b, oy_i, ox_i, ch] = read(b, round_away(yy), round_away(xx), ch)
                        continue
                    y0, x0 = np.floor(yy), np.floor(xx)
                    top = (x0 + 1 - xx) * read(b, y0, x0, ch) + (xx - x0) * read(b, y0, x0 + 1, ch)
                    bot = ((x0 + 1 - xx) * read(b, y0 + 1, x0, ch)
                           + (xx - x0) * read(b, y0 + 1, x0 + 1, ch))
                    out[b, oy_i, ox_i, ch] = (y0 + 1 - yy) * top + (yy - y0) * bot
    return out


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("mode", ["constant", "nearest", "reflect"])
def test_image_transform_against_a_numpy_reference(interpolation, mode):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 6, 5, 2))
    t = np.array([[1.1, 0.1, -0.7, 0.05, 0.9, 0.3, 0, 0],
                  [0.8, -0.3, 1.4, 0.3, 0.8, -1.1, 0, 0],
                  [1, 0, 2.25, 0, 1, -3.5, 0, 0]], "float32")
    got = image_transform(tf.constant(x), tf.constant(t), [6, 5], interpolation, mode, -2.0)
    want = _reference_transform(x, t, interpolation, mode, -2.0)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)


def test_image_transform_one_transform_for_all_and_identity():
    x = np.random.default_rng(1).standard_normal((3, 4, 5, 2)).astype("float32")
    ident = np.array([1, 0, 0, 0, 1, 0, 0, 0], "float32")
    for mode in ["reflect", "wrap", "constant", "nearest"]:
        for interpolation in ["nearest", "bilinear"]:
            y = image_transform(tf.constant(x), ident, None, interpolation, mode)
            np.testing.assert_array_equal(y.numpy(), x)


def test_image_transform_zero_projection_gives_the_fill_value():
    x = np.ones((1, 3, 3, 1), "float32")
    t = np.array([[1, 0, 0, 0, 1, 0, -1.0, 0]], "float32")  # k = 0 at output x = 1
    y = image_transform(tf.constant(x), tf.constant(t), [3, 3], "bilinear", "constant", 5.0)
    assert (y.numpy()[0, :, 1, 0] == 5.0).all()


def test_image_transform_is_thread_count_invariant():
    x = np.random.default_rng(2).standard_normal((4, 33, 31, 3)).astype("float32")
    t = ip.rotation_transforms(tf.constant([0.3, -1.0, 2.0, 0.1]), 33, 31)
    before = cthreading.get_intra_op_parallelism_threads()
    try:
        cthreading.set_intra_op_parallelism_threads(1)
        a = image_transform(tf.constant(x), t, [33, 31], "bilinear", "reflect").numpy()
        cthreading.set_intra_op_parallelism_threads(2)
        b = image_transform(tf.constant(x), t, [33, 31], "bilinear", "reflect").numpy()
    finally:
        cthreading.set_intra_op_parallelism_threads(before)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_image_transform_fast_kernel_equals_the_reference_bit_for_bit(dtype):
    # The reference kernel runs at ISA level 'baseline', the default kernel above it.
    rng = np.random.default_rng(4)
    x = tf.constant((rng.random((6, 13, 11, 3)) * 9).astype(dtype))
    t = np.concatenate([GOLDEN["transforms/projective"], GOLDEN["transforms/far"],
                        ip.rotation_transforms(tf.constant([0.5, -2.0]), 13, 11).numpy()])
    cases = [(shape, i, m) for shape in ([13, 11], [7, 16]) for i in ("nearest", "bilinear")
             for m in ("reflect", "wrap", "constant", "nearest")]
    previous = tf.config.get_cpu_isa()
    try:
        tf.config.set_cpu_isa("baseline")
        ref = [image_transform(x, t, *c, 2.5).numpy() for c in cases]
        tf.config.set_cpu_isa(previous)
        fast = [image_transform(x, t, *c, 2.5).numpy() for c in cases]
    finally:
        tf.config.set_cpu_isa(previous)
    for c, a, b in zip(cases, ref, fast, strict=True):
        np.testing.assert_array_equal(b, a, err_msg=str(c))


def _adjoint_reference(dy, t, in_hw, interpolation, mode):
    """The gradient of sum(y * dy) for the images, column by column of the linear map."""
    n, h, w, c = dy.shape[0], in_hw[0], in_hw[1], dy.shape[3]
    dx = np.zeros((n, h, w, c))
    for i in range(h * w * c):
        e = np.zeros(h * w * c)
        e[i] = 1.0
        basis = np.broadcast_to(e.reshape(1, h, w, c), (n, h, w, c)).copy()
        y = image_transform(tf.constant(basis), tf.constant(t), dy.shape[1:3], interpolation,
                            mode, 0.0).numpy()
        dx.reshape(n, -1)[:, i] = (y * dy).reshape(n, -1).sum(axis=1)
    return dx


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("mode", ["reflect", "wrap", "constant", "nearest"])
def test_image_transform_gradient_is_the_adjoint(interpolation, mode):
    rng = np.random.default_rng(5)
    x = tf.constant(rng.standard_normal((2, 4, 5, 2)))
    t = np.array([[1.1, 0.2, -0.6, -0.15, 0.9, 0.4, 0.02, -0.01],
                  [0.6, -0.5, 3.0, 0.5, 0.6, -1.5, 0, 0]], "float32")
    dy = rng.standard_normal((2, 6, 3, 2))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = image_transform(x, t, [6, 3], interpolation, mode, 0.5)
        loss = tf.reduce_sum(y * tf.constant(dy))
    got = tape.gradient(loss, x).numpy()
    np.testing.assert_allclose(got, _adjoint_reference(dy, t, [4, 5], interpolation, mode),
                               rtol=1e-12, atol=1e-12)


def test_gradients_flow_through_the_random_layers():
    x = tf.constant(np.random.default_rng(6).random((3, 8, 8, 2)).astype("float32"))
    conv = layers.Conv2D(2, 3, padding="same")
    aug = keras.Sequential([layers.RandomFlip(seed=1), layers.RandomRotation(0.2, seed=2),
                            layers.RandomZoom(0.2, seed=3), layers.RandomContrast(0.2, seed=4)])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(aug(conv(x), training=True)))
    grads = tape.gradient(loss, conv.trainable_weights)
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in grads)
    assert np.abs(grads[0].numpy()).sum() > 0


def test_image_transform_gradient_is_thread_count_invariant():
    rng = np.random.default_rng(7)
    dy = tf.constant(rng.standard_normal((3, 21, 17, 3)).astype("float32"))
    t = ip.rotation_transforms(tf.constant([0.3, -1.0, 2.0]), 21, 17)
    before = cthreading.get_intra_op_parallelism_threads()
    try:
        out = []
        for threads in (1, 2):
            cthreading.set_intra_op_parallelism_threads(threads)
            out.append(tf._C.image_transform_grad(dy, t, [21, 17], "bilinear", "reflect").numpy())
    finally:
        cthreading.set_intra_op_parallelism_threads(before)
    np.testing.assert_array_equal(out[0], out[1])


def test_image_transform_grad_errors():
    dy = tf.constant(np.zeros((2, 3, 3, 1), "float32"))
    with pytest.raises(ValueError, match=r"image_transform_grad: input_size.*\[3\]"):
        tf._C.image_transform_grad(dy, tf.constant(np.zeros((2, 8), "float32")), [3], "bilinear",
                                   "reflect")
    with pytest.raises(ValueError, match=r"image_transform_grad.*1 or n rows.*\(3, 8\)"):
        tf._C.image_transform_grad(dy, tf.constant(np.zeros((3, 8), "float32")), [3, 3],
                                   "bilinear", "reflect")


@pytest.mark.parametrize(("args", "err", "match"), [
    (dict(images=np.zeros((2, 3, 3), "float32")), ValueError,
     r"image_transform.*rank 4.*\(2, 3, 3\)"),
    (dict(transforms=np.zeros((3, 8), "float32")), ValueError,
     r"image_transform.*1 or n rows.*\(3, 8\)"),
    (dict(transforms=np.zeros((2, 6), "float32")), ValueError, r"image_transform.*\(2, 6\)"),
    (dict(fill_mode="mirror"), ValueError, r"image_transform: fill_mode.*'mirror'"),
    (dict(interpolation="bicubic"), ValueError, r"image_transform: interpolation.*'bicubic'"),
    (dict(output_shape=[0, 3]), ValueError, r"image_transform: output_shape.*\[0, 3\]"),
    (dict(images=np.zeros((2, 3, 3, 1), "int32")), TypeError, r"image_transform.*int32"),
    (dict(transforms=np.zeros((2, 8), "float64")), TypeError, r"image_transform.*float64"),
])
def test_image_transform_errors(args, err, match):
    kw = dict(images=np.zeros((2, 3, 3, 1), "float32"), transforms=np.zeros((2, 8), "float32"),
              output_shape=[3, 3], interpolation="bilinear", fill_mode="reflect")
    kw.update(args)
    with pytest.raises(err, match=match):
        tf._C.image_transform(tf.constant(kw["images"]), tf.constant(kw["transforms"]),
                              kw["output_shape"], kw["interpolation"], kw["fill_mode"], 0.0)


# ---- random layers -------------------------------------------------------------------------

RANDOM = [
    (layers.RandomFlip, {}),
    (layers.RandomRotation, {"factor": 0.3}),
    (layers.RandomZoom, {"height_factor": 0.3}),
    (layers.RandomTranslation, {"height_factor": 0.3, "width_factor": 0.3}),
    (layers.RandomContrast, {"factor": 0.5}),
    (layers.RandomBrightness, {"factor": 0.3}),
]


@pytest.mark.parametrize(("cls", "kwargs"), RANDOM)
def test_random_layers_identity_at_inference_and_augment_when_training(cls, kwargs):
    layer = cls(seed=4, **kwargs)
    np.testing.assert_array_equal(layer(X, training=False).numpy(), X)
    model = keras.Sequential([keras.Input((7, 9, 3)), cls(seed=4, **kwargs)])
    np.testing.assert_array_equal(model.predict(X, verbose=0), X)
    x = np.tile(X, (4, 1, 1, 1))
    y = layer(x, training=True).numpy()
    assert y.shape == x.shape
    assert not np.array_equal(y, x)
    # Keras 2's call defaults training to True: a direct call augments too
    assert not np.array_equal(layer(x).numpy(), x)
    # one image
    assert layer(X[0], training=True).shape == (7, 9, 3)


@pytest.mark.parametrize(("cls", "kwargs"), RANDOM + [(layers.RandomCrop, {"height": 4,
                                                                           "width": 6})])
def test_random_layers_reproducible_at_a_fixed_seed(cls, kwargs):
    def run():
        tf.random.set_seed(11)
        layer = cls(seed=5, **kwargs)
        return [layer(X, training=True).numpy() for _ in range(4)]

    a, b = run(), run()
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not all(np.array_equal(a[0], u) for u in a[1:])  # successive calls draw anew


def test_random_flip_flips_each_image_with_probability_one_half():
    x = np.tile(X[:1], (400, 1, 1, 1))
    y = layers.RandomFlip("horizontal", seed=2)(x, training=True).numpy()
    flipped = np.array([np.array_equal(im, X[0, :, ::-1]) for im in y])
    same = np.array([np.array_equal(im, X[0]) for im in y])
    assert (flipped | same).all()
    assert 0.4 < flipped.mean() < 0.6
    y = layers.RandomFlip(seed=2)(x, training=True).numpy()
    kinds = [X[0], X[0, :, ::-1], X[0, ::-1], X[0, ::-1, ::-1]]
    counts = [sum(np.array_equal(im, k) for im in y) for k in kinds]
    assert sum(counts) == 400
    assert min(counts) > 60
    y = layers.RandomFlip("vertical", seed=2)(x, training=True).numpy()
    assert all(np.array_equal(im, X[0]) or np.array_equal(im, X[0, ::-1]) for im in y)


def test_random_crop_takes_one_window_for_the_batch():
    x = np.arange(3 * 8 * 10 * 1, dtype="float32").reshape(3, 8, 10, 1)
    tops, lefts = set(), set()
    layer = layers.RandomCrop(3, 4, seed=7)
    for _ in range(40):
        y = layer(x, training=True).numpy()
        top, left = divmod(int(y[0, 0, 0, 0]), 10)
        np.testing.assert_array_equal(y, x[:, top:top + 3, left:left + 4])
        tops.add(top)
        lefts.add(left)
    assert tops == set(range(6))
    assert lefts == set(range(7))
    # smaller images are resized even when training
    np.testing.assert_allclose(layers.RandomCrop(9, 9)(x, training=True).numpy(),
                               layers.CenterCrop(9, 9)(x).numpy())


def test_random_rotation_statistics():
    layer = layers.RandomRotation((0.0, 0.0), seed=1)
    np.testing.assert_allclose(layer(X, training=True).numpy(), X, atol=1e-3)
    # a half turn (factor 0.5) is a flip of both axes
    half = layers.RandomRotation((0.5, 0.5), seed=1, interpolation="nearest")
    np.testing.assert_allclose(half(X, training=True).numpy(), X[:, ::-1, ::-1], atol=1e-3)
    # constant fill: rotated images have fill pixels in their corners, the centre stays
    x = np.ones((64, 15, 15, 1), "float32")
    y = layers.RandomRotation(0.2, fill_mode="constant", seed=3)(x, training=True).numpy()
    assert (y[:, 7, 7] == 1).all()
    assert 0.0 < (y[:, 0, 0] == 0).mean() < 1.0


def test_random_zoom_and_translation_statistics():
    layer = layers.RandomZoom((0.0, 0.0), seed=1)
    np.testing.assert_allclose(layer(X, training=True).numpy(), X, atol=1e-3)
    # zoom-out with constant fill leaves a border of fill values
    x = np.ones((8, 21, 21, 1), "float32")
    y = layers.RandomZoom((0.5, 0.5), fill_mode="constant", seed=1)(x, training=True).numpy()
    assert (y[:, 0] == 0).all()
    assert (y[:, 10, 10] == 1).all()
    # translation by whole fractions of the size shifts the pixels
    x = np.arange(2 * 10 * 10, dtype="float32").reshape(2, 10, 10, 1)
    y = layers.RandomTranslation((0.2, 0.2), (-0.3, -0.3), fill_mode="constant",
                                 interpolation="nearest")(x, training=True).numpy()
    np.testing.assert_array_equal(y[:, 2:, :7], x[:, :8, 3:])
    assert (y[:, :2] == 0).all()
    assert (y[:, :, 7:] == 0).all()
    # random shifts: the mean of a constant image with reflect fill stays
    y = layers.RandomTranslation(0.4, 0.4, seed=5)(np.full((16, 9, 9, 2), 3.0, "float32"),
                                                   training=True).numpy()
    np.testing.assert_allclose(y, 3.0, rtol=1e-6)


def test_random_contrast_is_one_factor_per_call_clipped():
    rng = np.random.default_rng(0)
    x = rng.random((6, 8, 8, 3)).astype("float32") * 100 + 50
    layer = layers.RandomContrast((0.3, 0.6), seed=2)
    for _ in range(5):
        y = layer(x, training=True).numpy()
        mean = x.mean(axis=(1, 2), keepdims=True)
        f = ((y - mean) / (x - mean)).ravel()
        assert np.ptp(f) < 1e-3
        assert 0.7 - 1e-4 <= f[0] <= 1.6 + 1e-4
        np.testing.assert_allclose(y, np.clip((x - mean) * f[0] + mean, 0, 255), rtol=1e-4,
                                   atol=1e-3)
    y = layers.RandomContrast((0.0, 1.0), seed=3)(np.array([[[0.0], [255.0]]] * 2, "float32"),
                                                  training=True).numpy()
    assert y.min() >= 0
    assert y.max() <= 255


def test_random_brightness_per_image_delta_and_clipping():
    x = np.full((200, 4, 4, 3), 0.5, "float32")
    layer = layers.RandomBrightness((-0.2, 0.1), value_range=[0.0, 1.0], seed=9)
    y = layer(x, training=True).numpy()
    delta = y[:, 0, 0, 0] - 0.5
    assert (np.ptp(y.reshape(200, -1), axis=1) == 0).all()  # one delta per image
    assert delta.min() >= -0.2 - 1e-6
    assert delta.max() <= 0.1 + 1e-6
    assert abs(delta.mean() - (-0.05)) < 0.02
    y = layers.RandomBrightness(1.0, seed=1)(np.full((50, 2, 2, 1), 200.0), training=True)
    assert y.numpy().min() >= 0
    assert y.numpy().max() <= 255
    assert layers.RandomBrightness(0.1)(np.ones((2, 2, 3)) * 9, training=True).shape == (2, 2, 3)


def test_augmentation_inside_fit():
    rng = np.random.default_rng(0)
    x = rng.random((16, 12, 12, 3)).astype("float32")
    y = rng.random((16, 1)).astype("float32")
    model = keras.Sequential([
        keras.Input((12, 12, 3)),
        layers.Rescaling(2.0, offset=-1.0),
        layers.RandomFlip(seed=1),
        layers.RandomRotation(0.1, seed=2),
        layers.RandomZoom(0.1, seed=3),
        layers.RandomTranslation(0.1, 0.1, seed=4),
        layers.RandomContrast(0.1, seed=5),
        layers.Flatten(),
        layers.Dense(1),
    ])
    model.compile("sgd", "mse")
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    # predict runs at inference: the same output twice
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize(("make", "match"), [
    (lambda: layers.RandomFlip("diagonal"), "unknown mode"),
    (lambda: layers.RandomRotation(0.1, fill_mode="mirror"), None),
    (lambda: layers.RandomZoom(0.1, interpolation="bicubic"), None),
    (lambda: layers.RandomRotation((0.3, 0.1)), "factor"),
    (lambda: layers.RandomZoom(1.5), "height_factor"),
    (lambda: layers.RandomZoom(0.1, width_factor=(-1.5, 0.1)), "width_factor"),
    (lambda: layers.RandomTranslation(0.1, 1.2), "width_factor"),
    (lambda: layers.RandomTranslation((0.3, 0.1), 0.1), "height_factor"),
    (lambda: layers.RandomContrast(-0.1), "factor"),
    (lambda: layers.RandomContrast(1.5), "factor"),
    (lambda: layers.RandomBrightness(1.2), "factor"),
    (lambda: layers.RandomBrightness("x"), "factor"),
    (lambda: layers.RandomBrightness(0.1, value_range=[0, 1, 2]), "value_range"),
    (lambda: layers.Resizing(4, 4, interpolation="area"), None),
    (lambda: layers.CenterCrop(0, 3), "height"),
    (lambda: layers.RandomCrop(3, 2.5), "width"),
])
def test_constructor_errors(make, match):
    if match is None:
        with pytest.raises(NotImplementedError):
            make()
    else:
        with pytest.raises(ValueError, match=match):
            make()


@pytest.mark.parametrize("cls", [layers.RandomFlip, layers.RandomBrightness])
def test_wrong_rank_names_the_layer_and_shape(cls):
    layer = cls(0.1) if cls is layers.RandomBrightness else cls()
    with pytest.raises(ValueError, match=r"rank 3.*\(2, 3\)"):
        layer(np.zeros((2, 3), "float32"), training=True)
    with pytest.raises(ValueError, match=r"Resizing.*\(5, 2, 3, 4, 1\)"):
        layers.Resizing(2, 2)(np.zeros((5, 2, 3, 4, 1), "float32"))


def test_get_config_keys_match_tf_keras():
    want = {
        layers.RandomRotation(0.2): {"factor", "fill_mode", "fill_value", "interpolation", "seed"},
        layers.RandomZoom(0.2): {"height_factor", "width_factor", "fill_mode", "fill_value",
                                 "interpolation", "seed"},
        layers.RandomTranslation(0.2, 0.1): {"height_factor", "width_factor", "fill_mode",
                                             "fill_value", "interpolation", "seed"},
        layers.RandomContrast(0.2): {"factor", "seed"},
        layers.RandomBrightness(0.2): {"factor", "value_range", "seed"},
        layers.RandomFlip(): {"mode", "seed"},
        layers.RandomCrop(2, 3): {"height", "width", "seed"},
        layers.CenterCrop(2, 3): {"height", "width"},
        layers.Resizing(2, 3): {"height", "width", "interpolation", "crop_to_aspect_ratio"},
        layers.Rescaling(0.5): {"scale", "offset"},
    }
    for layer, keys in want.items():
        assert keys <= set(layer.get_config()), type(layer).__name__
    assert layers.RandomBrightness(0.2).get_config()["factor"] == [-0.2, 0.2]
    assert layers.RandomBrightness(0.2).get_config()["value_range"] == [0, 255]


@pytest.mark.skipif(not os.path.exists(TFKERAS), reason="the tf.keras 2 peer is not installed")
def test_image_transform_against_live_tensorflow(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 10, 13, 2)).astype("float32")
    t = np.concatenate([ip.rotation_transforms(tf.constant([0.4, -1.3, 2.8]), 10, 13).numpy()],
                       axis=0)
    np.savez(tmp_path / "in.npz", x=x, t=t)
    script = (
        "import numpy as np, tensorflow as tf\n"
        f"d = np.load({str(tmp_path / 'in.npz')!r})\n"
        "out = {}\n"
        "for m in ['REFLECT', 'WRAP', 'CONSTANT', 'NEAREST']:\n"
        "  for i in ['NEAREST', 'BILINEAR']:\n"
        "    out[m + i] = tf.raw_ops.ImageProjectiveTransformV3(images=d['x'],"
        " transforms=d['t'], output_shape=[10, 13], fill_value=-1.0, fill_mode=m,"
        " interpolation=i).numpy()\n"
        f"np.savez({str(tmp_path / 'out.npz')!r}, **out)\n")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_USE_LEGACY_KERAS="1")
    subprocess.run([TFKERAS, "-c", script], check=True, env=env, capture_output=True)
    want = np.load(tmp_path / "out.npz")
    for m in ["reflect", "wrap", "constant", "nearest"]:
        for i in ["nearest", "bilinear"]:
            got = image_transform(tf.constant(x), tf.constant(t), [10, 13], i, m, -1.0)
            np.testing.assert_allclose(got.numpy(), want[m.upper() + i.upper()], atol=1e-5)
