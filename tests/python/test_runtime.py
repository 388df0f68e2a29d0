"""The runtime: caching allocator statistics, allocation failures, thread pool settings and
CPU kernel selection."""

import gc
import os
import subprocess
import sys

import numpy as np
import pytest

import corten
from corten import _C

# A float32 tensor of 1000 elements takes 4000 bytes, rounded up to the 4032-byte size class.
_N = 1000
_CLASS_BYTES = 4032


def _stats():
    gc.collect()
    return _C.memory_stats()


def test_memory_stats_keys():
    s = _C.memory_stats()
    assert set(s) == {"live_bytes", "peak_bytes", "cached_bytes", "num_allocs",
                      "num_system_allocs"}
    assert all(isinstance(v, int) and v >= 0 for v in s.values())
    assert s["peak_bytes"] >= s["live_bytes"]


def test_live_bytes_follow_tensor_lifetime():
    base = _stats()
    t = corten.zeros((_N,))
    s1 = _stats()
    assert s1["live_bytes"] == base["live_bytes"] + _CLASS_BYTES
    assert s1["num_allocs"] == base["num_allocs"] + 1
    u = corten.ones((_N,))
    assert _stats()["live_bytes"] == base["live_bytes"] + 2 * _CLASS_BYTES
    del t
    assert _stats()["live_bytes"] == base["live_bytes"] + _CLASS_BYTES
    del u
    assert _stats()["live_bytes"] == base["live_bytes"]


def test_views_do_not_allocate():
    t = corten.zeros((10, 100))
    base = _stats()
    v = corten.transpose(t)[::2]
    w = corten.reshape(t, (1000,))
    s = _stats()
    assert s["live_bytes"] == base["live_bytes"]
    assert s["num_allocs"] == base["num_allocs"]
    del v, w, t


def test_borrowed_numpy_memory_is_not_counted():
    a = np.zeros(100_000)
    base = _stats()
    t = corten.convert_to_tensor(a)
    assert _stats()["live_bytes"] == base["live_bytes"]
    del t


def test_peak_and_reset():
    _C.reset_peak_memory()
    base = _stats()
    assert base["peak_bytes"] == base["live_bytes"]
    big = corten.zeros((256, 1024))  # 1 MiB
    del big
    s = _stats()
    assert s["live_bytes"] == base["live_bytes"]
    assert s["peak_bytes"] >= base["live_bytes"] + 256 * 1024 * 4
    _C.reset_peak_memory()
    assert _C.memory_stats()["peak_bytes"] == _C.memory_stats()["live_bytes"]


def test_cache_reuse_and_empty_cache():
    _C.empty_cache()
    assert _stats()["cached_bytes"] == 0
    t = corten.zeros((3, 1000))
    del t
    s = _stats()
    assert s["cached_bytes"] >= 12000
    before = s["num_system_allocs"]
    u = corten.ones((3, 1000))  # same size class: served from the cache
    s2 = _stats()
    assert s2["num_system_allocs"] == before
    assert s2["cached_bytes"] < s["cached_bytes"]
    del u
    _C.empty_cache()
    assert _stats()["cached_bytes"] == 0


def test_cache_limit():
    try:
        _C.set_cache_limit(0)
        t = corten.zeros((_N,))
        del t
        assert _stats()["cached_bytes"] == 0
        with pytest.raises(ValueError, match="bytes"):
            _C.set_cache_limit(-1)
    finally:
        _C.set_cache_limit(1 << 30)


@pytest.mark.parametrize(
    "shape",
    [(2**40, 2**40), (2**62,), (2**40,), (2**31, 2**31, 4), (2**21,) * 3],
    ids=["overflow_2d", "overflow_bytes", "4TiB", "overflow_3d", "32PiB"],
)
@pytest.mark.parametrize("make", [corten.zeros, corten.ones])
def test_impossible_allocation_raises_memory_error(shape, make):
    base = _stats()
    with pytest.raises(MemoryError, match=r"float32|bytes|memory"):
        make(shape)
    # Nothing leaked, and the process is still usable.
    s = _stats()
    assert s["live_bytes"] == base["live_bytes"]
    np.testing.assert_array_equal(np.asarray(corten.ones((3,)) + 1.0), [2.0, 2.0, 2.0])


def test_impossible_allocation_in_an_op_raises_memory_error():
    x = corten.broadcast_to(corten.constant(1.0), (2**20, 2**20, 2**10))  # a view: no data
    with pytest.raises(MemoryError):
        x + 1.0
    assert float(corten.constant(2.0) * 3.0) == 6.0


def test_memory_error_message_names_the_shape():
    with pytest.raises(MemoryError, match=r"\(1099511627776, 1099511627776\)"):
        corten.zeros((2**40, 2**40))


# --- threads ----------------------------------------------------------------------------------


@pytest.fixture
def restore_threads():
    previous = corten.config.threading.get_intra_op_parallelism_threads()
    yield
    corten.config.threading.set_intra_op_parallelism_threads(previous)


@pytest.mark.usefixtures("restore_threads")
@pytest.mark.parametrize("n", [1, 2, 3])
def test_thread_count_round_trip(n):
    corten.config.threading.set_intra_op_parallelism_threads(n)
    assert corten.config.threading.get_intra_op_parallelism_threads() == n
    assert _C.get_num_threads() == n


@pytest.mark.usefixtures("restore_threads")
def test_thread_count_zero_restores_default():
    corten.config.threading.set_intra_op_parallelism_threads(1)
    corten.config.threading.set_intra_op_parallelism_threads(0)
    assert corten.config.threading.get_intra_op_parallelism_threads() >= 1


@pytest.mark.usefixtures("restore_threads")
def test_negative_thread_count_raises_value_error():
    before = corten.config.threading.get_intra_op_parallelism_threads()
    with pytest.raises(ValueError, match="-1"):
        corten.config.threading.set_intra_op_parallelism_threads(-1)
    assert corten.config.threading.get_intra_op_parallelism_threads() == before


@pytest.mark.usefixtures("restore_threads")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_results_identical_across_thread_counts(dtype, rng):
    n = 1 << 20
    a = rng.standard_normal(n).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    x = corten.constant(a)
    y = corten.constant(b)

    def run():
        out = corten.tanh(x * y + corten.exp(-corten.abs(x))) - y / (1.0 + x * x)
        v = corten.reshape(x, (1024, 1024))
        strided = corten.transpose(v) + v  # non-contiguous operand
        return np.array(out), np.array(strided)

    results = []
    for threads in (1, 2):
        corten.config.threading.set_intra_op_parallelism_threads(threads)
        results.append(run())
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    np.testing.assert_allclose(results[0][1], a.reshape(1024, 1024).T + a.reshape(1024, 1024))


@pytest.mark.usefixtures("restore_threads")
def test_op_errors_propagate_from_threaded_runs():
    corten.config.threading.set_intra_op_parallelism_threads(2)
    with pytest.raises(ValueError, match="shape"):
        corten.zeros((1 << 20,)) + corten.zeros((3,))
    np.testing.assert_array_equal(np.asarray(corten.ones((1 << 16,)) * 2.0)[:3], [2.0] * 3)


# --- CPU kernel selection ---------------------------------------------------------------------


def test_cpu_isa_round_trip():
    previous = corten.config.get_cpu_isa()
    assert previous in ("avx512", "avx2", "baseline")
    try:
        corten.config.set_cpu_isa("baseline")
        assert corten.config.get_cpu_isa() == "baseline"
        if _C.cpu_has_avx2():
            corten.config.set_cpu_isa("avx2")
            assert corten.config.get_cpu_isa() == "avx2"
        if _C.cpu_has_avx512():
            corten.config.set_cpu_isa("avx512")
            assert corten.config.get_cpu_isa() == "avx512"
    finally:
        corten.config.set_cpu_isa(previous)


@pytest.mark.parametrize("name", ["bogus", "", "AVX2 ", "sse", "avx512f"])
def test_set_cpu_isa_rejects_unknown_names(name):
    previous = corten.config.get_cpu_isa()
    with pytest.raises(ValueError, match="set_cpu_isa"):
        corten.config.set_cpu_isa(name)
    assert corten.config.get_cpu_isa() == previous


def _best_isa():
    return "avx512" if _C.cpu_has_avx512() else "avx2" if _C.cpu_has_avx2() else "baseline"


@pytest.mark.parametrize("env", [None, "baseline", "avx2", "avx512", "bogus"])
def test_cpu_isa_environment_variable_caps_the_level(env):
    # The level is read when the library loads: a fresh interpreter per value. A level this CPU
    # lacks (or an unknown name) gives the highest supported one.
    levels = ["baseline", "avx2", "avx512"]
    best = _best_isa()
    want = best if env not in levels else levels[min(levels.index(env), levels.index(best))]
    assert _fresh_interpreter("CORTEN_CPU_ISA", env, "corten.config.get_cpu_isa()") == want


def _fresh_interpreter(variable, value, expression):
    """What `expression` prints in a new interpreter with the environment variable set to
    `value` (unset for None): kernel selection is read when the library loads."""
    child_env = {k: v for k, v in os.environ.items() if k != variable}
    if value is not None:
        child_env[variable] = value
    child_env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(corten.__file__))] + sys.path)
    out = subprocess.run([sys.executable, "-c", f"import corten; print({expression})"],
                         capture_output=True, text=True, env=child_env, timeout=120, check=True)
    return out.stdout.strip()


def test_unsupported_isa_is_a_value_error_naming_it():
    for name, has in (("avx512", _C.cpu_has_avx512()), ("avx2", _C.cpu_has_avx2())):
        if not has:
            message = f"set_cpu_isa: this CPU does not support '{name}'"
            with pytest.raises(ValueError, match=message):
                corten.config.set_cpu_isa(name)


def test_amx_switch_round_trip_or_value_error():
    # On by default where the CPU has the tiles; turning them on elsewhere names the op.
    before = corten.config.amx_enabled()
    assert before == corten.config.cpu_has_amx()
    try:
        corten.config.set_amx(False)
        assert not corten.config.amx_enabled()
        if corten.config.cpu_has_amx():
            corten.config.set_amx(True)
            assert corten.config.amx_enabled()
        else:
            with pytest.raises(ValueError, match="set_cpu_amx: this CPU"):
                corten.config.set_amx(True)
            assert not corten.config.amx_enabled()
    finally:
        corten.config.set_amx(before)


@pytest.mark.parametrize("env", [None, "0", "1"])
def test_amx_environment_variable_turns_the_tiles_off(env):
    want = str(env != "0" and corten.config.cpu_has_amx())
    assert _fresh_interpreter("CORTEN_CPU_AMX", env, "corten.config.amx_enabled()") == want


def test_public_memory_api_tracks_tensors():
    corten.config.experimental.reset_memory_stats("CPU:0")
    before = corten.config.experimental.get_memory_info("CPU:0")
    t = corten.zeros((256, 1024))  # 1 MiB
    during = corten.config.experimental.get_memory_info()
    assert during["current"] >= before["current"] + 2**20
    assert during["peak"] >= during["current"]
    del t
    gc.collect()
    assert corten.config.memory_stats()["live_bytes"] == before["current"]
    corten.config.reset_peak_memory()
    assert corten.config.memory_stats()["peak_bytes"] == before["current"]
    corten.config.empty_cache()
    assert corten.config.memory_stats()["cached_bytes"] == 0
    with pytest.raises(ValueError, match="No matching devices found"):
        corten.config.experimental.get_memory_info("GPU:0")
