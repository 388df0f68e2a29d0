"""Generate image_preprocessing_golden.npz: tf.keras 2 reference outputs of the deterministic
image preprocessing layers and of TensorFlow's ImageProjectiveTransformV3 sampler.

Run with an interpreter that has tensorflow and tf_keras installed (corten never imports them):

    TF_USE_LEGACY_KERAS=1 TF_CPP_MIN_LOG_LEVEL=3 /path/to/tfkeras/bin/python \
        make_image_preprocessing_golden.py

Keys: `x` (2, 7, 9, 3) and `x1` (1, 5, 4, 2) float32 images with values in [0, 255];
`resizing/<h>x<w>/<interpolation>/<crop>`, `center_crop/<h>x<w>`, `random_crop_infer/<h>x<w>`:
tf_keras layer outputs on `x`; `transforms/<name>`: (n, 8) float32 transforms (for `x`'s two
images); `transform/<name>/<interpolation>/<fill_mode>`: ImageProjectiveTransformV3 of `x`
(fill_value 7.5); `transform_shape/...`: the same with output shape (5, 11);
`rotation/angles`, `rotation/matrix`, `zoom/zooms`, `zoom/matrix`, `translation/deltas`,
`translation/matrix`: tf_keras's get_*_matrix on `x`'s size.
"""

import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tensorflow as tf  # noqa: E402
from tf_keras import layers  # noqa: E402
from tf_keras.src.layers.preprocessing import image_preprocessing as ip  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "image_preprocessing_golden.npz")


def main():
    rng = np.random.default_rng(15)
    x = (rng.random((2, 7, 9, 3)) * 255).astype("float32")
    x1 = (rng.random((1, 5, 4, 2)) * 255).astype("float32")
    out = {"x": x, "x1": x1}
    for h, w in [(4, 5), (14, 9), (3, 17), (7, 9), (1, 1)]:
        for interp in ["bilinear", "nearest"]:
            for crop in [False, True]:
                y = layers.Resizing(h, w, interpolation=interp, crop_to_aspect_ratio=crop)(x)
                out[f"resizing/{h}x{w}/{interp}/{int(crop)}"] = y.numpy()
    for h, w in [(4, 5), (3, 8), (6, 9), (9, 12), (5, 11), (10, 4)]:
        out[f"center_crop/{h}x{w}"] = layers.CenterCrop(h, w)(x).numpy()
        out[f"random_crop_infer/{h}x{w}"] = layers.RandomCrop(h, w)(x, training=False).numpy()
    H, W = x.shape[1:3]
    angles = np.array([0.7, -2.1], "float32")
    zooms = np.array([[1.3, 0.8], [0.6, 0.6]], "float32")
    deltas = np.array([[2.5, -1.25], [-4.0, 3.0]], "float32")
    rot = ip.get_rotation_matrix(tf.constant(angles), tf.cast(H, "float32"),
                                 tf.cast(W, "float32")).numpy()
    zoom = ip.get_zoom_matrix(tf.constant(zooms), tf.cast(H, "float32"),
                              tf.cast(W, "float32")).numpy()
    trans = ip.get_translation_matrix(tf.constant(deltas)).numpy()
    out.update({"rotation/angles": angles, "rotation/matrix": rot, "zoom/zooms": zooms,
                "zoom/matrix": zoom, "translation/deltas": deltas, "translation/matrix": trans})
    projective = np.array([[0.9, 0.2, -1.0, -0.1, 1.1, 0.5, 0.05, -0.03],
                           [1.2, -0.3, 2.0, 0.4, 0.8, -3.0, -0.02, 0.04]], "float32")
    big = np.array([[1, 0, -30.0, 0, 1, 25.0, 0, 0], [-1, 0, 8, 0, -1, 6, 0, 0]], "float32")
    transforms = {"rotation": rot, "zoom": zoom, "translation": trans,
                  "projective": projective, "far": big}
    for name, t in transforms.items():
        out[f"transforms/{name}"] = t
        for interp in ["nearest", "bilinear"]:
            for mode in ["reflect", "wrap", "constant", "nearest"]:
                y = tf.raw_ops.ImageProjectiveTransformV3(
                    images=x, transforms=t, output_shape=[H, W], fill_value=7.5,
                    fill_mode=mode.upper(), interpolation=interp.upper())
                out[f"transform/{name}/{interp}/{mode}"] = y.numpy()
                y = tf.raw_ops.ImageProjectiveTransformV3(
                    images=x, transforms=t, output_shape=[5, 11], fill_value=7.5,
                    fill_mode=mode.upper(), interpolation=interp.upper())
                out[f"transform_shape/{name}/{interp}/{mode}"] = y.numpy()
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT}: {len(out)} arrays")


if __name__ == "__main__":
    main()
