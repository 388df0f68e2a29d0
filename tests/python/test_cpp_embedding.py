"""The C++ embedding story: the installed package's CMake config, headers and library serve a
native program (examples/cpp) and the C++ tests (tests/cpp), without Python at run time."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import corten
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _cxx_compiler() -> str | None:
    cxx = os.environ.get("CXX")
    if cxx and shutil.which(cxx):
        return cxx
    for name in ("c++", "g++", "clang++"):
        if shutil.which(name):
            return name
    return None


@pytest.fixture(scope="module")
def cmake_build():
    """Configures and builds a CMake project against the installed corten; returns its build
    directory."""
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    cxx = _cxx_compiler()
    if cxx is None:
        pytest.skip("no C++ compiler found (c++, g++, clang++ or $CXX)")
    cmake_dir = pathlib.Path(corten.get_cmake_dir())
    assert (cmake_dir / "cortenConfig.cmake").is_file(), (
        f"corten's CMake package is not installed in {cmake_dir}; build with tools/dev_build.sh"
    )
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    # The programs run with this process's environment (under tools/sanitize.sh that includes
    # the LD_PRELOAD of libasan, which a sanitized libcorten needs); the compiler runs without
    # the preload.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CMAKE_", "CTEST_"))}
    build_env = {k: v for k, v in env.items() if k != "LD_PRELOAD"}

    def build(source: pathlib.Path, build_dir: pathlib.Path) -> pathlib.Path:
        configure = [
            "cmake", "-S", str(source), "-B", str(build_dir), *generator,
            f"-DCMAKE_CXX_COMPILER={cxx}", f"-Dcorten_DIR={cmake_dir}",
            "-DCMAKE_BUILD_TYPE=Release",
        ]
        for cmd in (configure, ["cmake", "--build", str(build_dir), "-j2"]):
            proc = subprocess.run(cmd, capture_output=True, text=True, env=build_env, timeout=300)
            assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
        return build_dir

    build.env = env
    return build


def _run(cmd, env, cwd=None):
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_example_app_builds_and_runs(cmake_build, tmp_path):
    build_dir = cmake_build(ROOT / "examples" / "cpp", tmp_path / "example")
    app = build_dir / "app"
    # Found through the RPATH that CMake records from the imported target's location: no
    # LD_LIBRARY_PATH needed.
    env = {k: v for k, v in cmake_build.env.items() if k != "LD_LIBRARY_PATH"}
    proc = _run([str(app)], env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "a + b = (2, 3) [11, 18, 33, 6, 25, 24]" in out
    assert "a @ w = (2, 2) [4, 1, -10, -1]" in out
    assert "relu(a) = (2, 3) [1, 0, 3, 0, 5, 0]" in out
    assert "a[:, ::2] = (2, 2) [1, 3, -4, -6]" in out
    assert "views share storage: yes" in out
    assert "caught ValueError: add: shapes (2, 3) and (4,) cannot be broadcast together" in out
    assert "all results correct" in out


def test_cpp_tests_pass_with_ctest(cmake_build, tmp_path):
    build_dir = cmake_build(ROOT / "tests" / "cpp", tmp_path / "cpptests")
    proc = _run(["ctest", "--output-on-failure"], cmake_build.env, cwd=build_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "100% tests passed" in proc.stdout


def test_installed_layout():
    include = pathlib.Path(corten.get_include())
    for header in ("tensor.h", "ops.h", "errors.h", "dlpack.h", "parallel.h", "allocator.h",
                   "weights_file.h"):
        assert (include / "corten" / header).is_file(), header
    libdir = pathlib.Path(corten.get_library_dir())
    assert any(p.name.startswith("libcorten.so") for p in libdir.iterdir())
    targets = (pathlib.Path(corten.get_cmake_dir()) / "cortenTargets.cmake").read_text()
    # Relocatable: paths relative to the package, never the build machine's absolute paths.
    assert "${_IMPORT_PREFIX}" in targets
    assert str(ROOT / "csrc") not in targets


def _parse_dump(stdout: str) -> dict:
    """``tensor NAME DTYPE SHAPE v0 v1 ...`` lines of corten_test_weights_file --dump."""
    out = {}
    for line in stdout.splitlines():
        if line.startswith("tensor "):
            _, name, dtype, rest = line.split(" ", 3)
            shape_text, _, values = rest.partition(")")
            out[name] = (dtype, shape_text + ")", values.split())
    return out


def test_cpp_reads_weights_written_from_python(cmake_build, tmp_path):
    import numpy as np
    from corten import keras

    build_dir = cmake_build(ROOT / "tests" / "cpp", tmp_path / "cpptests")
    exe = build_dir / "corten_test_weights_file"

    class Tiny(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = keras.layers.Dense(3)

        def call(self, x):
            return self.dense(x)

    keras.backend.clear_session()
    model = Tiny()
    model.compile(optimizer="adam", loss="mse")
    x = np.arange(8, dtype="float32").reshape(2, 4) / 7
    model.fit(x, np.ones((2, 3), "float32"), verbose=0)
    model.save_weights(tmp_path / "tiny.weights.safetensors")
    model.save(tmp_path / "tiny.keras")
    expected = {w.name.removesuffix(":0"): np.asarray(w) for w in model.weights}
    for path, with_optimizer in ((tmp_path / "tiny.weights.safetensors", False),
                                 (tmp_path / "tiny.keras", True)):
        proc = _run([str(exe), str(path), "--dump"], cmake_build.env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        dumped = _parse_dump(proc.stdout)
        for name, value in expected.items():
            dtype, shape, values = dumped[name]
            assert dtype == "float32"
            assert shape == str(tuple(value.shape))
            np.testing.assert_array_equal(np.array(values, dtype=np.float32), value.ravel())
        if with_optimizer:
            slots = [np.asarray(v) for v in model.optimizer.variables]
            assert dumped["__optimizer__/0"][2] == [str(int(slots[0]))]
            for i, slot in enumerate(slots[1:], start=1):
                np.testing.assert_array_equal(
                    np.array(dumped[f"__optimizer__/{i}"][2], dtype=np.float32), slot.ravel())
        else:
            assert not any(n.startswith("__optimizer__") for n in dumped)
    # A truncated file is a clean error, not a crash.
    data = (tmp_path / "tiny.keras").read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    proc = _run([str(exe), str(tmp_path / "cut.keras")], cmake_build.env)
    assert proc.returncode == 1 and "Cannot read model file" in proc.stdout


def _saved_mlp(path):
    from corten import keras
    from corten.keras import layers

    inputs = keras.Input(shape=(6,))
    x = layers.Dense(8, activation="relu")(inputs)
    x = layers.Dense(8, activation="tanh")(x)
    model = keras.Model(inputs, layers.Dense(3)(x))
    model.save(path)
    return model


def test_predict_examples_match_python_bit_for_bit_and_link_no_python(cmake_build, tmp_path):
    import numpy as np

    model = _saved_mlp(str(tmp_path / "m.keras"))
    build_dir = cmake_build(ROOT / "examples" / "cpp" / "predict", tmp_path / "predict")
    row = np.random.default_rng(5).standard_normal(6).astype("float32")
    args = [repr(float(v)) for v in row]
    before = corten.config.threading.get_intra_op_parallelism_threads()
    try:
        corten.config.threading.set_intra_op_parallelism_threads(1)
        want = model.predict(row[None], verbose=0)[0]
    finally:
        corten.config.threading.set_intra_op_parallelism_threads(before)
    for exe in ("predict", "predict_c"):
        proc = _run([str(build_dir / exe), str(tmp_path / "m.keras"), "1", "--", *args],
                    cmake_build.env)
        assert proc.returncode == 0, proc.stderr
        got = np.array([float(v) for v in proc.stdout.split()], dtype="float32")
        np.testing.assert_array_equal(got, want)
        bad = _run([str(build_dir / exe), str(tmp_path / "nope.keras"), "1", "--", "1"],
                   cmake_build.env)
        assert bad.returncode == 1
        assert "nope.keras': no such file or directory" in bad.stderr
        if shutil.which("ldd"):
            linked = _run(["ldd", str(build_dir / exe)], cmake_build.env).stdout
            assert "libcorten" in linked
            assert "libpython" not in linked
