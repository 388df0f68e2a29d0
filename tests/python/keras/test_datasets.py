import gzip
import hashlib
import http.server
import io
import os
import pickle
import struct
import tarfile
import threading

import numpy as np
import pytest
from corten.keras.datasets import cifar10, fashion_mnist, mnist, mnist_small


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    return tmp_path / "keras_home" / "datasets"


@pytest.fixture
def server():
    """A local HTTP server on 127.0.0.1 serving the bytes in ``files`` (path -> bytes)."""
    files = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    httpd.timeout = 5
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", files
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def fake_mnist_bytes(n_train=20, n_test=10):
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    np.savez_compressed(buf, x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
                        y_train=rng.integers(0, 10, n_train, dtype=np.uint8),
                        x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
                        y_test=rng.integers(0, 10, n_test, dtype=np.uint8))
    return buf.getvalue()


def test_mnist_small_is_bundled_real_and_balanced():
    (x_train, y_train), (x_test, y_test) = mnist_small.load_data()
    assert x_train.shape == (20000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (20000,) and x_test.shape == (2000, 28, 28) and y_test.shape == (2000,)
    assert np.bincount(y_train).tolist() == [2000] * 10
    assert np.bincount(y_test).tolist() == [200] * 10
    # real MNIST statistics: mean pixel about 33, mostly background, full 0..255 range
    assert 30 < x_train.mean() < 37 and x_train.max() == 255 and (x_train == 0).mean() > 0.75
    assert os.path.getsize(mnist_small.DATA_PATH) < 4 * 1024 * 1024
    readme = os.path.join(os.path.dirname(mnist_small.DATA_PATH), "README.md")
    with open(readme, encoding="utf-8") as f:
        assert "CC BY-SA 3.0" in f.read()


def test_mnist_downloads_checks_hash_and_caches(keras_home, server, monkeypatch):
    url, files = server
    body = fake_mnist_bytes()
    files["/mnist.npz"] = body
    monkeypatch.setenv("CORTEN_DATASETS_ORIGIN", url)
    monkeypatch.setattr(mnist, "FILE_HASH", hashlib.sha256(body).hexdigest())
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (20, 28, 28) and y_test.shape == (10,)
    assert (keras_home / "mnist.npz").read_bytes() == body
    assert sorted(os.listdir(keras_home)) == ["mnist.npz"]  # no temporary left behind
    del files["/mnist.npz"]  # a second call reads the cache, no download
    (x2, _), _ = mnist.load_data()
    np.testing.assert_array_equal(x2, x_train)


def test_mnist_rejects_corrupted_download(keras_home, server, monkeypatch):
    url, files = server
    files["/mnist.npz"] = fake_mnist_bytes()  # does not match Keras's sha256
    monkeypatch.setenv("CORTEN_DATASETS_ORIGIN", url)
    with pytest.raises(ValueError, match="sha256"):
        mnist.load_data()
    assert not keras_home.exists() or os.listdir(keras_home) == []


def test_mnist_offline_error_says_how_to_get_the_file(keras_home, server, monkeypatch):
    url, _ = server  # serves nothing: 404
    monkeypatch.setenv("CORTEN_DATASETS_ORIGIN", url)
    with pytest.raises(OSError, match="fetch_mnist") as info:
        mnist.load_data()
    assert str(keras_home / "mnist.npz") in str(info.value)
    assert "mnist_small" in str(info.value)


def test_mnist_uses_a_cached_keras_layout_file(keras_home):
    keras_home.mkdir(parents=True)
    (keras_home / "mnist.npz").write_bytes(fake_mnist_bytes(5, 3))
    (x_train, _), (x_test, _) = mnist.load_data()
    assert x_train.shape == (5, 28, 28) and x_test.shape == (3, 28, 28)
    np.savez(keras_home / "other.npz", x_train=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="missing"):
        mnist.load_data("other.npz")


def _cifar_archive(n=4):
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            d = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"labels": rng.integers(0, 10, n).tolist(), b"batch_label": name.encode()}
            blob = pickle.dumps(d)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return buf.getvalue()


def test_cifar10_download_extract_and_layout(keras_home, server, monkeypatch):
    url, files = server
    body = _cifar_archive()
    files["/cifar-10-python.tar.gz"] = body
    monkeypatch.setenv("CORTEN_DATASETS_ORIGIN", url)
    monkeypatch.setattr(cifar10, "FILE_HASH", hashlib.sha256(body).hexdigest())
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (20, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (20, 1) and x_test.shape == (4, 32, 32, 3) and y_test.shape == (4, 1)
    assert (keras_home / "cifar-10-batches-py" / "test_batch").exists()


def test_cifar10_offline_and_corrupted(keras_home, server, monkeypatch):
    url, files = server
    monkeypatch.setenv("CORTEN_DATASETS_ORIGIN", url)
    with pytest.raises(OSError, match="no offline source"):
        cifar10.load_data()
    files["/cifar-10-python.tar.gz"] = _cifar_archive()
    with pytest.raises(ValueError, match="sha256"):
        cifar10.load_data()
    assert not keras_home.exists() or os.listdir(keras_home) == []


def test_cifar_load_batch_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    path = tmp_path / "evil"
    path.write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        cifar10.load_batch(str(path))


def _idx_gz(array, magic):
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def _fashion_files(n_train=6, n_test=4):
    rng = np.random.default_rng(2)
    arrays = {"train-labels-idx1-ubyte.gz": (rng.integers(0, 10, n_train), 2049),
              "train-images-idx3-ubyte.gz": (rng.integers(0, 256, (n_train, 28, 28)), 2051),
              "t10k-labels-idx1-ubyte.gz": (rng.integers(0, 10, n_test), 2049),
              "t10k-images-idx3-ubyte.gz": (rng.integers(0, 256, (n_test, 28, 28)), 2051)}
    return {name: (a.astype(np.uint8), _idx_gz(a, magic)) for name, (a, magic) in arrays.items()}


def test_fashion_mnist_downloads_into_its_cache_folder(keras_home, server, monkeypatch):
    url, files = server
    made = _fashion_files()
    for name, (_, body) in made.items():
        files["/" + name] = body
    monkeypatch.setenv("CORTEN_DATASETS_ORIGIN", url)
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    np.testing.assert_array_equal(x_train, made["train-images-idx3-ubyte.gz"][0])
    np.testing.assert_array_equal(y_test, made["t10k-labels-idx1-ubyte.gz"][0])
    assert x_train.dtype == np.uint8
    assert x_test.shape == (4, 28, 28)
    assert y_train.shape == (6,)
    assert sorted(os.listdir(keras_home / "fashion-mnist")) == sorted(made)


def test_fashion_mnist_offline_and_corrupted(keras_home, server, monkeypatch):
    url, _ = server
    monkeypatch.setenv("CORTEN_DATASETS_ORIGIN", url)
    with pytest.raises(OSError, match="Place the Fashion-MNIST files") as info:
        fashion_mnist.load_data()
    assert str(keras_home / "fashion-mnist") in str(info.value)
    folder = keras_home / "fashion-mnist"
    folder.mkdir(parents=True, exist_ok=True)
    made = _fashion_files()
    for name, (_, body) in made.items():
        (folder / name).write_bytes(body)
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz is not a readable gzip"):
        fashion_mnist.load_data()
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(
        _idx_gz(np.zeros((3, 28, 28)), 2051))  # 3 images, 4 labels
    with pytest.raises(ValueError, match=r"\(3, 28, 28\) do not match labels of shape \(4,\)"):
        fashion_mnist.load_data()
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(_idx_gz(np.zeros((4, 28, 28)), 2049))
    with pytest.raises(ValueError, match="magic number 2049, expected 2051"):
        fashion_mnist.load_data()
