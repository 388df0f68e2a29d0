"""keras.utils.image_dataset_from_directory / text_dataset_from_directory and the image file
helpers (load_img, img_to_array, array_to_img, save_img, smart_resize), against numpy,
Pillow and tf.keras 2.21 (a committed golden file, and the live peer when installed)."""

import json
import os
import sys
from pathlib import Path

import corten
import numpy as np
import pytest
from corten import keras
from corten.config import threading as cthreading

sys.path.insert(0, str(Path(__file__).parent))
import dir_trees  # noqa: E402

try:
    from PIL import Image
except ImportError:
    Image = None
needs_pillow = pytest.mark.skipif(Image is None, reason="image files need Pillow (corten[image])")

GOLDEN = Path(__file__).parent / "golden" / "directory_golden.npz"
image_dataset_from_directory = keras.utils.image_dataset_from_directory


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    root = tmp_path_factory.mktemp("trees")
    roots = {"full": root / "full", "png": root / "png"}
    dir_trees.build_image_tree(roots["full"])
    dir_trees.build_image_tree(roots["png"], only_png=True)
    return roots


def _write_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


def _flat_tree(root, counts, size=(4, 6), seed=0):
    """root/<class>/<k>.png for counts = {class: n}; returns {relative path: pixels}."""
    rng = np.random.default_rng(seed)
    pixels = {}
    for name, n in counts.items():
        for k in range(n):
            rel = f"{name}/{k:02d}.png"
            pixels[rel] = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            _write_png(root / rel, pixels[rel])
    return pixels


def _collect(ds):
    """(images, labels) of an unbatched or batched dataset, as numpy."""
    xs, ys = [], []
    for item in ds:
        if isinstance(item, tuple):
            x, y = item
            ys.append(y.numpy())
        else:
            x = item
        xs.append(x.numpy())
    batched = xs[0].ndim == 4
    cat = np.concatenate if batched else np.stack
    return cat(xs), (cat(ys) if ys else None)


def _rel(ds, root):
    return [os.path.relpath(p, root) for p in ds.file_paths]


# ---- indexing: counts, classes, order, labels ----------------------------------------------


@needs_pillow
def test_inferred_classes_order_and_labels(tmp_path, capsys):
    pixels = _flat_tree(tmp_path, {"b_dogs": 3, "a_cats": 2, "c_birds": 1})
    (tmp_path / "a_cats" / "readme.txt").write_text("ignored")
    ds = image_dataset_from_directory(tmp_path, shuffle=False, image_size=(4, 6), batch_size=4)
    assert "Found 6 files belonging to 3 classes." in capsys.readouterr().out
    assert ds.class_names == ["a_cats", "b_dogs", "c_birds"]
    assert _rel(ds, tmp_path) == sorted(pixels)
    assert len(ds) == 2
    spec = ds.element_spec
    assert tuple(spec[0].shape) == (None, 4, 6, 3)
    assert spec[0].dtype == corten.float32
    assert tuple(spec[1].shape) == (None,)
    assert spec[1].dtype == corten.int32
    x, y = _collect(ds)
    np.testing.assert_array_equal(y, [0, 0, 1, 1, 1, 2])
    want = np.stack([pixels[k] for k in sorted(pixels)]).astype(np.float32)
    np.testing.assert_array_equal(x, want)
    assert x.dtype == np.float32


@needs_pillow
def test_label_modes(tmp_path):
    _flat_tree(tmp_path, {"x": 2, "y": 3})
    common = {"shuffle": False, "image_size": (4, 6), "batch_size": None}
    _, y = _collect(image_dataset_from_directory(tmp_path, label_mode="categorical", **common))
    np.testing.assert_array_equal(y, np.eye(2, dtype=np.float32)[[0, 0, 1, 1, 1]])
    assert y.dtype == np.float32
    _, y = _collect(image_dataset_from_directory(tmp_path, label_mode="binary", **common))
    np.testing.assert_array_equal(y, [[0.0], [0.0], [1.0], [1.0], [1.0]])
    assert y.dtype == np.float32
    ds = image_dataset_from_directory(tmp_path, label_mode=None, **common)
    x, y = _collect(ds)
    assert y is None
    assert x.shape == (5, 4, 6, 3)
    assert ds.class_names == [""]  # as tf.keras: no labels, so one unnamed class


@needs_pillow
def test_binary_needs_two_classes(tmp_path):
    _flat_tree(tmp_path, {"x": 1, "y": 1, "z": 1})
    with pytest.raises(ValueError, match=r"image_dataset_from_directory: .*exactly 2 "
                                         r"class_names. Received: class_names=\['x', 'y', 'z'\]"):
        image_dataset_from_directory(tmp_path, label_mode="binary")


@needs_pillow
def test_explicit_labels_and_no_labels(tmp_path, capsys):
    pixels = _flat_tree(tmp_path, {"x": 2, "y": 2})
    _write_png(tmp_path / "top.png", np.zeros((4, 6, 3)))
    # Every file below the root, directory by directory: the root's own files first.
    order = ["top.png", *sorted(pixels)]
    labels = [3, 1, 3, 0, 1]
    ds = image_dataset_from_directory(tmp_path, labels=labels, shuffle=False,
                                      image_size=(4, 6), batch_size=None)
    assert "Found 5 files belonging to 3 classes." in capsys.readouterr().out
    assert ds.class_names == [0, 1, 3]
    assert _rel(ds, tmp_path) == order
    _, y = _collect(ds)
    np.testing.assert_array_equal(y, labels)
    assert y.dtype == np.int32
    _, y = _collect(image_dataset_from_directory(tmp_path, labels=labels, shuffle=False,
                                                 label_mode="categorical", image_size=(4, 6)))
    # As tf.one_hot with depth len(class_names): the label 3 is out of range, a zero row.
    np.testing.assert_array_equal(y, [[0, 0, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0], [0, 1, 0]])
    ds = image_dataset_from_directory(tmp_path, labels=None, shuffle=False, image_size=(4, 6))
    assert ds.class_names == [""]
    x, y = _collect(ds)
    assert y is None
    assert x.shape == (5, 4, 6, 3)


@needs_pillow
def test_class_names_order(tmp_path):
    _flat_tree(tmp_path, {"x": 1, "y": 2})
    ds = image_dataset_from_directory(tmp_path, class_names=["y", "x"], shuffle=False,
                                      image_size=(4, 6))
    assert ds.class_names == ["y", "x"]
    _, y = _collect(ds)
    np.testing.assert_array_equal(y, [1, 0, 0])
    with pytest.raises(ValueError, match=r"did not match the names of the subdirectories.*"
                                         r"Expected: \['x', 'y'\], but received: \['x', 'z'\]"):
        image_dataset_from_directory(tmp_path, class_names=["x", "z"])


@needs_pillow
def test_shuffle_is_tf_keras_permutation(tmp_path):
    pixels = _flat_tree(tmp_path, {"x": 4, "y": 5})
    ds = image_dataset_from_directory(tmp_path, seed=42, image_size=(4, 6), batch_size=None)
    order = [os.path.join(str(tmp_path), k) for k in sorted(pixels)]
    np.random.RandomState(42).shuffle(order)
    assert ds.file_paths == order
    again = image_dataset_from_directory(tmp_path, seed=42, image_size=(4, 6), batch_size=3)
    assert again.file_paths == order
    # The per-pass shuffle keeps every image with its label.
    x, y = _collect(again)
    assert sorted(y.tolist()) == [0] * 4 + [1] * 5
    by_pixels = {pixels[k].tobytes(): int(k.startswith("y")) for k in pixels}
    for image, label in zip(x, y, strict=True):
        assert by_pixels[image.astype(np.uint8).tobytes()] == label


@needs_pillow
@pytest.mark.parametrize("shuffle", [True, False])
def test_validation_split_partitions(tmp_path, shuffle):
    pixels = _flat_tree(tmp_path, {"x": 6, "y": 4})
    kw = {"validation_split": 0.3, "seed": 5, "shuffle": shuffle, "image_size": (4, 6)}
    train = image_dataset_from_directory(tmp_path, subset="training", **kw)
    val = image_dataset_from_directory(tmp_path, subset="validation", **kw)
    assert len(train.file_paths) == 7
    assert len(val.file_paths) == 3
    assert set(train.file_paths).isdisjoint(val.file_paths)
    assert sorted(_rel(train, tmp_path) + _rel(val, tmp_path)) == sorted(pixels)
    both = image_dataset_from_directory(tmp_path, subset="both", **kw)
    assert isinstance(both, list)
    assert len(both) == 2
    assert both[0].file_paths == train.file_paths
    assert both[1].file_paths == val.file_paths
    assert both[0].class_names == both[1].class_names == ["x", "y"]
    assert _collect(both[1])[0].shape == (3, 4, 6, 3)


@needs_pillow
def test_unbatched_and_resized_shapes(tmp_path):
    _flat_tree(tmp_path, {"x": 3}, size=(9, 5))
    ds = image_dataset_from_directory(tmp_path, batch_size=None, image_size=(7, 3),
                                      shuffle=False)
    x, y = _collect(ds)
    assert x.shape == (3, 7, 3, 3)
    assert y.shape == (3,)
    assert tuple(ds.element_spec[0].shape) == (7, 3, 3)
    ds = image_dataset_from_directory(tmp_path, batch_size=2, image_size=(4, 4),
                                      crop_to_aspect_ratio=True, shuffle=False)
    assert _collect(ds)[0].shape == (3, 4, 4, 3)
    legacy = image_dataset_from_directory(tmp_path, batch_size=2, image_size=(4, 4),
                                          smart_resize=True, shuffle=False)
    np.testing.assert_array_equal(_collect(legacy)[0], _collect(ds)[0])


@needs_pillow
def test_resize_matches_corten_resizing_layer(tmp_path):
    pixels = _flat_tree(tmp_path, {"x": 2}, size=(9, 5))
    for interpolation in ("bilinear", "nearest"):
        for crop in (False, True):
            x, _ = _collect(image_dataset_from_directory(
                tmp_path, image_size=(4, 6), interpolation=interpolation,
                crop_to_aspect_ratio=crop, shuffle=False))
            layer = keras.layers.Resizing(4, 6, interpolation=interpolation,
                                          crop_to_aspect_ratio=crop)
            src = np.stack([pixels[k] for k in sorted(pixels)]).astype(np.float32)
            np.testing.assert_array_equal(x, layer(src).numpy())


@needs_pillow
def test_color_modes_against_pillow(tmp_path):
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 256, (5, 7, 4), dtype=np.uint8)
    gray = rng.integers(0, 256, (5, 7), dtype=np.uint8)
    (tmp_path / "c").mkdir()
    Image.fromarray(rgba, "RGBA").save(tmp_path / "c" / "a.png")
    Image.fromarray(gray, "L").save(tmp_path / "c" / "b.png")
    paths = [tmp_path / "c" / "a.png", tmp_path / "c" / "b.png"]
    for mode, pil_mode, channels in (("grayscale", "L", 1), ("rgb", "RGB", 3),
                                     ("rgba", "RGBA", 4)):
        x, _ = _collect(image_dataset_from_directory(tmp_path, color_mode=mode, shuffle=False,
                                                     image_size=(5, 7)))
        assert x.shape == (2, 5, 7, channels)
        want = np.stack([np.asarray(Image.open(p).convert(pil_mode), dtype=np.float32)
                         .reshape(5, 7, channels) for p in paths])
        np.testing.assert_array_equal(x, want)
    x, _ = _collect(image_dataset_from_directory(tmp_path, color_mode="rgb", shuffle=False,
                                                 image_size=(5, 7)))
    np.testing.assert_array_equal(x[0], rgba[..., :3])  # alpha dropped, not blended
    np.testing.assert_array_equal(x[1], np.repeat(gray[..., None], 3, axis=-1))


@needs_pillow
def test_sixteen_bit_png_keeps_the_high_byte(tmp_path):
    values = (np.arange(20).reshape(4, 5) * 3271).astype(np.uint16)
    (tmp_path / "c").mkdir()
    Image.fromarray(values).save(tmp_path / "c" / "a.png")
    x, _ = _collect(image_dataset_from_directory(tmp_path, color_mode="grayscale",
                                                 shuffle=False, image_size=(4, 5)))
    np.testing.assert_array_equal(x[0, ..., 0], values >> 8)


@needs_pillow
def test_formats_and_hidden_directories(trees, capsys):
    ds = image_dataset_from_directory(trees["full"], shuffle=False, image_size=(6, 8))
    assert "Found 11 files belonging to 3 classes." in capsys.readouterr().out
    rel = _rel(ds, trees["full"])
    assert "cats/e.PNG" in rel
    assert "cats/c.jpg" in rel
    assert "dogs/g.gif" in rel
    assert "dogs/f.bmp" in rel
    assert "cats/nested/d.png" in rel
    assert not any(p.startswith(".hidden") or p.endswith(".txt") or p == "top.png"
                   for p in rel)


@needs_pillow
@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symlinks are not available")
def test_follow_links(tmp_path):
    _flat_tree(tmp_path / "data", {"x": 1})
    _flat_tree(tmp_path / "outside", {"extra": 2})
    os.symlink(tmp_path / "outside" / "extra", tmp_path / "data" / "x" / "linked")
    kw = {"shuffle": False, "image_size": (4, 6)}
    assert len(image_dataset_from_directory(tmp_path / "data", **kw).file_paths) == 1
    ds = image_dataset_from_directory(tmp_path / "data", follow_links=True, **kw)
    assert _rel(ds, tmp_path / "data") == ["x/00.png", "x/linked/00.png", "x/linked/01.png"]


# ---- errors -------------------------------------------------------------------------------


@needs_pillow
def test_argument_errors(tmp_path):
    _flat_tree(tmp_path, {"x": 2, "y": 2})
    f = image_dataset_from_directory
    with pytest.raises(ValueError, match=r'`subset` must be either "training", "validation" '
                                         r'or "both", received: train'):
        f(tmp_path, validation_split=0.5, subset="train", seed=1)
    with pytest.raises(ValueError, match=r"must provide a `seed` argument"):
        f(tmp_path, validation_split=0.5, subset="training")
    with pytest.raises(ValueError, match=r"`validation_split` must be set, and inversely"):
        f(tmp_path, subset="training")
    with pytest.raises(ValueError, match=r"`validation_split` must be set, and inversely"):
        f(tmp_path, validation_split=0.2, seed=1)
    with pytest.raises(ValueError, match=r"`validation_split` must be between 0 and 1, "
                                         r"received: 1.5"):
        f(tmp_path, validation_split=1.5, subset="training", seed=1)
    with pytest.raises(ValueError, match=r"`label_mode` argument must be one of.*"
                                         r"Received: label_mode=sparse"):
        f(tmp_path, label_mode="sparse")
    with pytest.raises(ValueError, match=r"`labels` argument should be a list/tuple.*"
                                         r"Received: labels=infer"):
        f(tmp_path, labels="infer")
    with pytest.raises(ValueError, match=r"You can only pass `class_names` if "
                                         r'`labels="inferred"`'):
        f(tmp_path, labels=[0, 1, 0, 1], class_names=["x", "y"])
    with pytest.raises(ValueError, match=r"Expected the lengths of `labels` to match the number "
                                         r"of files.*len\(labels\) is 3 while we found 4 files"):
        f(tmp_path, labels=[0, 1, 0])
    with pytest.raises(ValueError, match=r'`color_mode` must be one of.*color_mode=cmyk'):
        f(tmp_path, color_mode="cmyk")
    with pytest.raises(ValueError, match=r"`image_size` must be a tuple of two positive "
                                         r"integers.*image_size=\(0, 4\)"):
        f(tmp_path, image_size=(0, 4))
    with pytest.raises(ValueError, match=r"image_size=64"):
        f(tmp_path, image_size=64)
    with pytest.raises(NotImplementedError, match=r"Value not recognized for `interpolation`: "
                                                  r"cubic"):
        f(tmp_path, interpolation="cubic")
    with pytest.raises(NotImplementedError, match=r"interpolation 'bicubic' is not implemented"):
        f(tmp_path, interpolation="bicubic")
    with pytest.raises(TypeError, match=r"Unknown keywords argument\(s\): \('colour',\)"):
        f(tmp_path, colour="rgb")
    with pytest.raises(ValueError, match=r"`batch_size` must be a positive integer or None. "
                                         r"Received: batch_size=0"):
        f(tmp_path, batch_size=0)


@needs_pillow
def test_no_files_errors(tmp_path):
    (tmp_path / "empty" / "x").mkdir(parents=True)
    (tmp_path / "empty" / "x" / "a.txt").write_text("text")
    with pytest.raises(ValueError, match=r"image_dataset_from_directory: No images found in "
                                         r"directory .*empty. Allowed formats: \('.bmp'"):
        image_dataset_from_directory(tmp_path / "empty")
    with pytest.raises(ValueError, match=r"`directory` must be an existing directory.*missing"):
        image_dataset_from_directory(tmp_path / "missing")
    _flat_tree(tmp_path / "few", {"x": 3})
    # As tf.keras: a split that rounds to no validation file leaves no training file.
    with pytest.raises(ValueError, match=r"No training images found in directory"):
        image_dataset_from_directory(tmp_path / "few", validation_split=0.2, subset="both",
                                     seed=1)
    with pytest.raises(ValueError, match=r"No images found in directory"):
        image_dataset_from_directory(tmp_path / "few", validation_split=0.2, subset="training",
                                     seed=1)


@needs_pillow
def test_corrupted_image_names_the_file(tmp_path):
    _flat_tree(tmp_path, {"x": 2})
    bad = tmp_path / "x" / "zz_broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    ds = image_dataset_from_directory(tmp_path, shuffle=False, image_size=(4, 6),
                                      batch_size=None)
    with pytest.raises(ValueError, match=r"image_dataset_from_directory: cannot decode the "
                                         r"image file '.*zz_broken.png'"):
        list(ds)
    truncated = tmp_path / "x" / "00.png"
    truncated.write_bytes(truncated.read_bytes()[:40])
    with pytest.raises(ValueError, match=r"cannot decode the image file '.*00.png'"):
        next(iter(ds))


def test_missing_pillow_names_the_extra(tmp_path, monkeypatch):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "00.png").write_bytes(b"never decoded")
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"pip install corten\[image\]"):
        image_dataset_from_directory(tmp_path)
    with pytest.raises(ImportError, match=r"load_img requires Pillow.*corten\[image\]"):
        keras.utils.load_img(tmp_path / "x" / "00.png")


# ---- threads, training --------------------------------------------------------------------


@needs_pillow
def test_thread_count_invariance(tmp_path):
    _flat_tree(tmp_path, {"x": 3}, size=(17, 23))
    before = cthreading.get_intra_op_parallelism_threads()
    out = []
    try:
        for n in (1, 2):
            cthreading.set_intra_op_parallelism_threads(n)
            out.append(_collect(image_dataset_from_directory(
                tmp_path, image_size=(11, 9), shuffle=False, crop_to_aspect_ratio=True))[0])
    finally:
        cthreading.set_intra_op_parallelism_threads(before)
    assert out[0].tobytes() == out[1].tobytes()


@needs_pillow
def test_fit_on_directory_dataset(tmp_path):
    _flat_tree(tmp_path, {"x": 4, "y": 4})
    train, val = image_dataset_from_directory(tmp_path, image_size=(4, 6), batch_size=3,
                                              validation_split=0.25, subset="both", seed=3)
    model = keras.Sequential([keras.Input((4, 6, 3)), keras.layers.Rescaling(1 / 255.0),
                              keras.layers.Flatten(), keras.layers.Dense(2)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(train, validation_data=val, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert "val_loss" in history.history


def test_preprocessing_aliases():
    assert keras.preprocessing.image_dataset_from_directory is image_dataset_from_directory
    assert keras.preprocessing.image.load_img is keras.utils.load_img


# ---- tf.keras 2.21 -------------------------------------------------------------------------


def _check_against_tfkeras(reference, trees):
    meta = json.loads(str(reference["__meta__"]))
    for name, tree, kwargs in dir_trees.IMAGE_CASES:
        kwargs = dict(kwargs)
        kwargs.setdefault("shuffle", False)
        result = image_dataset_from_directory(trees[tree], batch_size=None, **kwargs)
        parts = result if isinstance(result, list) else [result]
        assert parts[0].class_names == meta[name]["class_names"], name
        assert [_rel(ds, trees[tree]) for ds in parts] == meta[name]["file_paths"], name
        for k, ds in enumerate(parts):
            if f"{name}/{k}/x" not in reference.files:
                continue
            x, y = _collect(ds)
            want = reference[f"{name}/{k}/x"]
            if y is not None:
                np.testing.assert_array_equal(y, reference[f"{name}/{k}/y"], err_msg=name)
                assert y.dtype == reference[f"{name}/{k}/y"].dtype
            for path, got, ref in zip(_rel(ds, trees[tree]), x, want, strict=True):
                if path.endswith(".jpg"):
                    # TensorFlow decodes JPEG with libjpeg's fast integer DCT, Pillow with the
                    # accurate one: a few levels apart on this noisy image.
                    tol = 12.0
                elif kwargs.get("color_mode") == "grayscale" and path != "cats/e.PNG":
                    tol = 1.0  # RGB to luma: libpng's and Pillow's roundings differ by one
                else:
                    tol = 1e-4
                np.testing.assert_allclose(got, ref.astype(np.float32), rtol=0, atol=tol,
                                           err_msg=f"{name}: {path}")


@needs_pillow
def test_against_tfkeras_golden(trees):
    _check_against_tfkeras(np.load(GOLDEN), trees)


@needs_pillow
@pytest.mark.skipif(not os.path.exists(dir_trees.TFKERAS),
                    reason="the tf.keras 2 peer (TensorFlow) is not installed")
def test_against_live_tfkeras(trees, tmp_path):
    _check_against_tfkeras(dir_trees.run_tfkeras(trees, tmp_path / "tf.npz"), trees)


# ---- load_img, img_to_array, array_to_img, save_img, smart_resize ---------------------------


@needs_pillow
def test_image_file_helpers_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (5, 7, 3)).astype(np.float32)
    keras.utils.save_img(tmp_path / "a.png", x, scale=False)
    img = keras.utils.load_img(tmp_path / "a.png")
    assert img.size == (7, 5)
    assert img.mode == "RGB"
    arr = keras.utils.img_to_array(img)
    assert arr.dtype == np.float32
    np.testing.assert_array_equal(arr, x)
    np.testing.assert_array_equal(keras.utils.img_to_array(img, data_format="channels_first"),
                                  x.transpose(2, 0, 1))
    gray = keras.utils.load_img(str(tmp_path / "a.png"), color_mode="grayscale")
    assert keras.utils.img_to_array(gray).shape == (5, 7, 1)
    assert keras.utils.load_img(tmp_path / "a.png", color_mode="rgba").mode == "RGBA"
    small = keras.utils.load_img(tmp_path / "a.png", target_size=(3, 4),
                                 interpolation="bilinear")
    assert small.size == (4, 3)
    kept = keras.utils.load_img(tmp_path / "a.png", target_size=(3, 3), keep_aspect_ratio=True)
    assert kept.size == (3, 3)
    scaled = keras.utils.img_to_array(keras.utils.array_to_img(x / 255.0))
    want = (x - x.min()) / (x.max() - x.min()) * 255
    np.testing.assert_allclose(scaled, want.astype(np.uint8), atol=0)
    assert keras.utils.array_to_img(np.full((2, 2, 1), 1000.0), scale=False).mode == "I"
    assert keras.utils.array_to_img(np.zeros((3, 2, 2)), data_format="channels_first").size \
        == (2, 2)


@needs_pillow
def test_image_file_helper_errors(tmp_path):
    with pytest.raises(ValueError, match=r"array_to_img: Expected image array to have rank 3.*"
                                         r"shape: \(2, 2\)"):
        keras.utils.array_to_img(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"Unsupported channel number: 2"):
        keras.utils.array_to_img(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match=r"Invalid data_format: nhwc"):
        keras.utils.img_to_array(Image.new("RGB", (2, 2)), data_format="nhwc")
    keras.utils.save_img(tmp_path / "a.png", np.zeros((3, 4, 3)))
    with pytest.raises(ValueError, match=r"color_mode must be"):
        keras.utils.load_img(tmp_path / "a.png", color_mode="bgr")
    with pytest.raises(ValueError, match=r"Invalid interpolation method cubic"):
        keras.utils.load_img(tmp_path / "a.png", target_size=(2, 2), interpolation="cubic")
    with pytest.raises(TypeError, match=r"path should be path-like or io.BytesIO"):
        keras.utils.load_img(3)
    (tmp_path / "b.jpg").write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"load_img: cannot decode the image file '.*b.jpg'"):
        keras.utils.load_img(tmp_path / "b.jpg")
    with pytest.warns(UserWarning, match="JPG format does not support RGBA"):
        keras.utils.save_img(tmp_path / "c.jpg", np.zeros((3, 4, 4)), file_format="jpeg")


@needs_pillow
def test_smart_resize():
    rng = np.random.default_rng(4)
    x = rng.random((9, 5, 2)).astype(np.float32)
    out = keras.preprocessing.image.smart_resize(x, (4, 4))
    assert isinstance(out, np.ndarray)
    assert out.shape == (4, 4, 2)
    layer = keras.layers.Resizing(4, 4, crop_to_aspect_ratio=True)
    np.testing.assert_array_equal(out, layer(x).numpy())
    batch = keras.preprocessing.image.smart_resize(corten.constant(x[None]), (3, 6),
                                                   interpolation="nearest")
    assert isinstance(batch, corten.Tensor)
    assert tuple(batch.shape) == (1, 3, 6, 2)
    with pytest.raises(ValueError, match=r"smart_resize: Expected an image array.*\(4, 4\)"):
        keras.preprocessing.image.smart_resize(np.zeros((4, 4)), (2, 2))
    with pytest.raises(ValueError, match=r"Expected `size` to be a tuple of 2 integers"):
        keras.preprocessing.image.smart_resize(x, (2,))


# ---- text_dataset_from_directory ------------------------------------------------------------

text_dataset_from_directory = keras.utils.text_dataset_from_directory
TEXT_GOLDEN = Path(__file__).parent / "golden" / "text_golden.json"


def _texts(value):
    """The bytes of a yielded text or batch of texts, as a flat list."""
    if isinstance(value, corten.Tensor):
        value = value.numpy()
    return [bytes(v) for v in np.asarray(value, dtype=object).reshape(-1)]


def _collect_texts(ds):
    texts, labels = [], []
    for item in ds:
        text, label = item if isinstance(item, tuple) else (item, None)
        texts += _texts(text)
        if label is not None:
            labels += label.numpy().reshape(len(_texts(text)), -1).tolist()
    return texts, labels


@pytest.fixture(scope="module")
def text_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("texts")
    dir_trees.build_text_tree(root)
    return root


def _file_bytes(root, rels):
    return [(root / rel).read_bytes() for rel in rels]


def test_text_contents_order_and_labels(text_tree, capsys):
    ds = text_dataset_from_directory(text_tree, shuffle=False, batch_size=None)
    assert "Found 6 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["neg", "pos"]
    assert len(ds) == 6
    assert ds.element_spec[0].dtype == corten.string
    assert tuple(ds.element_spec[0].shape) == ()
    texts, labels = _collect_texts(ds)
    rels = ["neg/01.txt", "neg/02.txt", "neg/03.TXT", "pos/a.txt", "pos/c.txt",
            "pos/deep/b.txt"]
    assert texts == _file_bytes(text_tree, rels)
    assert labels == [[0], [0], [0], [1], [1], [1]]
    first = next(iter(ds))[0]
    assert isinstance(first, corten.Tensor)
    assert first.dtype == corten.string


def test_text_batches_and_max_length(text_tree):
    ds = text_dataset_from_directory(text_tree, shuffle=False, batch_size=4, max_length=5)
    shapes = [tuple(x.shape) for x, _ in ds]
    assert shapes == [(4,), (2,)]
    texts, _ = _collect_texts(ds)
    full = _file_bytes(text_tree, ["neg/01.txt", "neg/02.txt", "neg/03.TXT", "pos/a.txt",
                                   "pos/c.txt", "pos/deep/b.txt"])
    # max_length counts bytes, as tf.strings.substr: a UTF-8 character may be cut.
    assert texts == [t[:5] for t in full]
    assert texts[4] == "\u65e5".encode() + "\u672c".encode()[:2]
    empty, _ = _collect_texts(text_dataset_from_directory(text_tree, shuffle=False,
                                                          max_length=0))
    assert empty == [b""] * 6


def test_text_label_modes_and_explicit_labels(text_tree):
    common = {"shuffle": False, "batch_size": 2}
    _, y = _collect_texts(text_dataset_from_directory(text_tree, label_mode="categorical",
                                                      **common))
    assert y == [[1.0, 0.0]] * 3 + [[0.0, 1.0]] * 3
    _, y = _collect_texts(text_dataset_from_directory(text_tree, label_mode="binary", **common))
    assert y == [[0.0]] * 3 + [[1.0]] * 3
    texts, y = _collect_texts(text_dataset_from_directory(text_tree, labels=None, **common))
    assert y == []
    assert texts[0] == b"no class"  # the root's own file comes first
    labels = [1, 0, 1, 0, 1, 0, 1]
    ds = text_dataset_from_directory(text_tree, labels=labels, **common)
    assert ds.class_names == [0, 1]
    assert _collect_texts(ds)[1] == [[v] for v in labels]


@pytest.mark.parametrize("shuffle", [True, False])
def test_text_validation_split_partitions(text_tree, shuffle):
    kw = {"validation_split": 0.4, "seed": 3, "shuffle": shuffle}
    train, val = text_dataset_from_directory(text_tree, subset="both", **kw)
    t_texts, _ = _collect_texts(train)
    v_texts, _ = _collect_texts(val)
    assert len(t_texts) == 4
    assert len(v_texts) == 2
    everything, _ = _collect_texts(text_dataset_from_directory(text_tree, shuffle=False))
    assert sorted(t_texts + v_texts) == sorted(everything)
    alone, _ = _collect_texts(text_dataset_from_directory(text_tree, subset="validation", **kw))
    assert sorted(alone) == sorted(v_texts)


def test_text_argument_errors(tmp_path, text_tree):
    f = text_dataset_from_directory
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "a.md").write_text("no")
    with pytest.raises(ValueError, match=r"text_dataset_from_directory: No text files found in "
                                         r"directory .*Allowed format: .txt"):
        f(tmp_path)
    with pytest.raises(ValueError, match=r"`max_length` must be a non-negative integer or None. "
                                         r"Received: max_length=-1"):
        f(text_tree, max_length=-1)
    with pytest.raises(ValueError, match=r"`batch_size` must be a positive integer or None"):
        f(text_tree, batch_size=0)
    with pytest.raises(ValueError, match=r'`subset` must be either "training"'):
        f(text_tree, validation_split=0.5, subset="valid", seed=1)
    with pytest.raises(ValueError, match=r"must provide a `seed` argument"):
        f(text_tree, validation_split=0.5, subset="both")
    with pytest.raises(ValueError, match=r"`labels` argument should be a list/tuple of integer "
                                         r"labels, of the same size as the number of text files"):
        f(text_tree, labels="folders")
    with pytest.raises(ValueError, match=r"exactly 2 class_names"):
        f(text_tree, labels=[0, 1, 2, 0, 1, 2, 0], label_mode="binary")
    # As tf.keras: a split that rounds to no validation file leaves no training file.
    with pytest.raises(ValueError, match=r"No training text files found in directory"):
        f(text_tree, validation_split=0.1, subset="both", seed=1)


def test_text_keeps_every_byte(tmp_path):
    (tmp_path / "x").mkdir()
    raw = [b"ab\x00\x00", b"\xff\xfe not utf-8 \x00", b"\x00"]
    for i, data in enumerate(raw):
        (tmp_path / "x" / f"{i}.txt").write_bytes(data)
    for batch_size in (None, 2):
        texts, _ = _collect_texts(text_dataset_from_directory(tmp_path, shuffle=False,
                                                              batch_size=batch_size))
        assert texts == raw
    texts, _ = _collect_texts(text_dataset_from_directory(tmp_path, shuffle=False, max_length=3))
    assert texts == [d[:3] for d in raw]


def test_text_dataset_trains_with_text_vectorization(text_tree):
    train = text_dataset_from_directory(text_tree, batch_size=2, seed=1)
    vectorize = keras.layers.TextVectorization(max_tokens=30, output_sequence_length=6)
    vectorize.adapt(train.map(lambda x, y: x))
    assert "movie" in vectorize.get_vocabulary()
    model = keras.Sequential([keras.layers.Embedding(30, 4), keras.layers.GlobalAveragePooling1D(),
                              keras.layers.Dense(1)])
    model.compile("adam", keras.losses.BinaryCrossentropy(from_logits=True))
    history = model.fit(train.map(lambda x, y: (vectorize(x), y)), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_text_unreadable_file_names_it(tmp_path):
    (tmp_path / "x").mkdir()
    for name in ("a.txt", "b.txt"):
        (tmp_path / "x" / name).write_text(name)
    ds = text_dataset_from_directory(tmp_path, shuffle=False, batch_size=None)
    (tmp_path / "x" / "b.txt").unlink()
    with pytest.raises(ValueError, match=r"text_dataset_from_directory: cannot read the text "
                                         r"file '.*b.txt'"):
        list(ds)


def test_text_preprocessing_alias():
    assert keras.preprocessing.text_dataset_from_directory is text_dataset_from_directory


def _check_texts_against_tfkeras(reference, root):
    for name, kwargs in dir_trees.TEXT_CASES:
        kwargs = dict(kwargs)
        kwargs.setdefault("shuffle", False)
        result = text_dataset_from_directory(root, batch_size=None, **kwargs)
        parts = result if isinstance(result, list) else [result]
        want = reference[name]
        assert parts[0].class_names == want["class_names"], name
        for ds, texts, labels in zip(parts, want["texts"], want["labels"], strict=True):
            got_texts, got_labels = _collect_texts(ds)
            expected = [t.encode("latin-1") for t in texts]
            if None in labels:
                got = [(t, None) for t in got_texts]
                ref = [(t, None) for t in expected]
            else:
                got = list(zip(got_texts, [v if len(v) > 1 else v[0] for v in got_labels],
                               strict=True))
                ref = list(zip(expected, labels, strict=True))
            if kwargs["shuffle"]:  # the per-pass shuffles differ; the subsets must not
                got, ref = sorted(got, key=repr), sorted(ref, key=repr)
            assert got == ref, name


def test_text_against_tfkeras_golden(text_tree):
    _check_texts_against_tfkeras(json.loads(TEXT_GOLDEN.read_text()), text_tree)


@pytest.mark.skipif(not os.path.exists(dir_trees.TFKERAS),
                    reason="the tf.keras 2 peer (TensorFlow) is not installed")
def test_text_against_live_tfkeras(text_tree):
    _check_texts_against_tfkeras(dir_trees.run_tfkeras_text(text_tree), text_tree)
