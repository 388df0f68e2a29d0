"""Directory trees of image and text files for the dataset-from-directory tests, and the
tf.keras 2 side of their comparison (run by a separate interpreter with TensorFlow).

Shared by test_dataset_from_directory.py and golden/make_directory_golden.py.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np

TFKERAS = os.environ.get("CORTEN_TFKERAS_PYTHON", "/work/peers/tfkeras/bin/python")


def _pixels(rng, h, w, c):
    """Smooth gradients plus a little noise: JPEG keeps them close to the original."""
    y, x = np.mgrid[0:h, 0:w]
    base = (y[..., None] * 17 + x[..., None] * 11 + np.arange(c) * 40) % 200
    return (base + rng.integers(0, 50, (h, w, c))).astype(np.uint8)


def build_image_tree(root, only_png=False):
    """Writes a small class tree under `root` with Pillow; returns its file list.

    Classes birds/cats/dogs; sizes 6x8 (most), 9x5 and 10x12; modes RGB, RGBA, L, LA and P;
    a nested directory, an upper-case extension, a hidden directory, a top-level image and a
    non-image file (the last three are never class members)."""
    from PIL import Image

    rng = np.random.default_rng(20261206)
    root = Path(root)
    files = {
        "cats/a.png": ("RGB", 6, 8), "cats/b.png": ("RGBA", 6, 8),
        "cats/nested/d.png": ("RGB", 9, 5), "cats/e.PNG": ("L", 6, 8),
        "dogs/h.png": ("RGB", 10, 12), "dogs/p.png": ("P", 6, 8), "birds/i.png": ("LA", 6, 8),
        "birds/j.png": ("RGB", 6, 8), ".hidden/k.png": ("RGB", 6, 8), "top.png": ("RGB", 6, 8),
    }
    if not only_png:
        files.update({"cats/c.jpg": ("RGB", 6, 8), "dogs/f.bmp": ("RGB", 6, 8),
                      "dogs/g.gif": ("P", 6, 8)})
    for rel, (mode, h, w) in sorted(files.items()):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if mode in ("RGB", "RGBA"):
            img = Image.fromarray(_pixels(rng, h, w, len(mode)), mode)
        elif mode == "L":
            img = Image.fromarray(_pixels(rng, h, w, 1)[..., 0], "L")
        elif mode == "LA":
            img = Image.fromarray(_pixels(rng, h, w, 2), "LA")
        else:  # a palette image of up to 64 colours
            img = Image.fromarray(_pixels(rng, h, w, 3), "RGB").quantize(64)
        img.save(path, quality=95) if rel.endswith(".jpg") else img.save(path)
    (root / "cats" / "notes.txt").write_text("not an image")
    return sorted(files)


# name, tree ("full" or "png"), keyword arguments of image_dataset_from_directory.
IMAGE_CASES = [
    ("rgb_native", "full", {"image_size": (6, 8)}),
    ("rgb_bilinear", "full", {"image_size": (4, 5)}),
    ("rgb_nearest", "full", {"image_size": (5, 4), "interpolation": "nearest"}),
    ("rgb_crop", "full", {"image_size": (4, 4), "crop_to_aspect_ratio": True}),
    ("gray", "png", {"image_size": (6, 8), "color_mode": "grayscale"}),
    ("rgba", "png", {"image_size": (6, 8), "color_mode": "rgba"}),
    ("no_labels", "full", {"image_size": (6, 8), "labels": None}),
    ("class_names", "full", {"image_size": (6, 8), "class_names": ["dogs", "birds", "cats"]}),
    ("categorical", "png", {"image_size": (6, 8), "label_mode": "categorical"}),
    ("shuffled", "full", {"image_size": (6, 8), "shuffle": True, "seed": 7}),
    ("split", "full", {"image_size": (6, 8), "shuffle": True, "seed": 1337,
                       "validation_split": 0.3, "subset": "both"}),
]

_PEER_SCRIPT = r'''
import json, os, sys
import numpy as np
import tensorflow as tf
roots, cases, out = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
arrays, meta = {}, {}
for name, tree, kwargs in cases:
    root = roots[tree]
    kwargs = dict(kwargs)
    if "image_size" in kwargs:
        kwargs["image_size"] = tuple(kwargs["image_size"])
    kwargs.setdefault("shuffle", False)
    result = tf.keras.utils.image_dataset_from_directory(root, batch_size=None, **kwargs)
    parts = result if isinstance(result, list) else [result]
    entry = {"class_names": list(parts[0].class_names), "file_paths": []}
    for k, ds in enumerate(parts):
        entry["file_paths"].append([os.path.relpath(p, root) for p in ds.file_paths])
        if not kwargs["shuffle"]:
            items = list(ds.as_numpy_iterator())
            if isinstance(items[0], tuple):
                arrays[f"{name}/{k}/x"] = np.stack([x for x, _ in items])
                arrays[f"{name}/{k}/y"] = np.stack([y for _, y in items])
            else:
                arrays[f"{name}/{k}/x"] = np.stack(items)
    meta[name] = entry
arrays["__meta__"] = np.array(json.dumps(meta))
np.savez_compressed(out, **arrays)
'''


def run_tfkeras(roots, out, cases=IMAGE_CASES, python=TFKERAS):
    """Runs tf.keras 2's image_dataset_from_directory on each case (unbatched, unshuffled
    unless the case shuffles) and saves the results to the npz file `out`."""
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3",
               CUDA_VISIBLE_DEVICES="")
    subprocess.run([python, "-c", _PEER_SCRIPT, json.dumps({k: str(v) for k, v in roots.items()}),
                    json.dumps(cases), str(out)], check=True, env=env, capture_output=True)
    return np.load(out)


def build_text_tree(root):
    """Writes a small class tree of .txt files under `root` (UTF-8 with multi-byte
    characters, an empty file, a nested directory, a file that is not .txt)."""
    root = Path(root)
    files = {
        "neg/01.txt": "bad movie, would not watch again", "neg/02.txt": "awful\n",
        "neg/03.TXT": "", "pos/a.txt": "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e: great",
        "pos/deep/b.txt": "nice\r\nsecond line", "pos/c.txt": "\u65e5\u672c\u8a9e text",
        "top.txt": "no class",
    }
    for rel, text in sorted(files.items()):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    (root / "pos" / "skip.md").write_text("not a text file")
    return sorted(files)


# name, keyword arguments of text_dataset_from_directory.
TEXT_CASES = [
    ("plain", {}),
    ("max_length", {"max_length": 5}),
    ("categorical", {"label_mode": "categorical"}),
    ("no_labels", {"labels": None}),
    ("split", {"shuffle": True, "seed": 11, "validation_split": 0.4, "subset": "both"}),
]

_TEXT_PEER_SCRIPT = r'''
import json, sys
import numpy as np
import tensorflow as tf
root, cases = sys.argv[1], json.loads(sys.argv[2])
out = {}
for name, kwargs in cases:
    kwargs = dict(kwargs)
    kwargs.setdefault("shuffle", False)
    result = tf.keras.utils.text_dataset_from_directory(root, batch_size=None, **kwargs)
    parts = result if isinstance(result, list) else [result]
    entry = {"class_names": list(parts[0].class_names), "texts": [], "labels": []}
    for ds in parts:
        texts, labels = [], []
        for item in ds.as_numpy_iterator():
            text, label = item if isinstance(item, tuple) else (item, None)
            texts.append(text.decode("latin-1"))
            labels.append(None if label is None else np.asarray(label).tolist())
        entry["texts"].append(texts)
        entry["labels"].append(labels)
    out[name] = entry
print(json.dumps(out))
'''


def run_tfkeras_text(root, cases=TEXT_CASES, python=TFKERAS):
    """tf.keras 2's text_dataset_from_directory on each case (unbatched): per case the class
    names, and per dataset the texts (bytes as latin-1 strings) and labels in order."""
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3",
               CUDA_VISIBLE_DEVICES="")
    done = subprocess.run([python, "-c", _TEXT_PEER_SCRIPT, str(root), json.dumps(cases)],
                          check=True, env=env, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])
