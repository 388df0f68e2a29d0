"""Device semantics on a build (or machine) without a GPU: device lists, names, tf.device
scopes, placement of creation ops, soft placement, tensor.device, copies, the mixed-device
check and the memory helpers (docs/devices.md)."""

import re
import threading
from pathlib import Path

import corten as tf
import numpy as np
import pytest
from corten import _C, keras

CPU = "/job:localhost/replica:0/task:0/device:CPU:0"
GPU0 = "/job:localhost/replica:0/task:0/device:GPU:0"
GPU1 = "/job:localhost/replica:0/task:0/device:GPU:1"

pytestmark = pytest.mark.skipif(
    bool(tf.config.list_physical_devices("GPU")),
    reason="describes a machine without a usable GPU (the CUDA build tests its own placement)")


@pytest.fixture
def strict_placement():
    tf.config.set_soft_device_placement(False)
    try:
        yield
    finally:
        tf.config.set_soft_device_placement(True)


def gpu_tagged(shape=(2,), index=1):
    """A tensor that claims to live on GPU:index, without storage (never read its data)."""
    return _C._storageless_tensor_for_testing(shape, tf.float32, f"GPU:{index}")


# --- device lists ---------------------------------------------------------------------------


def test_list_physical_devices():
    cpu = tf.config.PhysicalDevice(name="/physical_device:CPU:0", device_type="CPU")
    assert tf.config.list_physical_devices() == [cpu]
    assert tf.config.list_physical_devices("CPU") == [cpu]
    assert tf.config.list_physical_devices("GPU") == []
    assert tf.config.list_physical_devices("gpu") == []  # exact match, as TensorFlow
    assert tf.config.experimental.list_physical_devices("CPU") == [cpu]
    assert tf.config.get_visible_devices() == [cpu]
    assert repr(cpu) == "PhysicalDevice(name='/physical_device:CPU:0', device_type='CPU')"


def test_list_logical_devices():
    assert tf.config.list_logical_devices() == [
        tf.config.LogicalDevice(name="/device:CPU:0", device_type="CPU")]
    assert tf.config.list_logical_devices("GPU") == []


def test_list_devices_rejects_non_string_type():
    with pytest.raises(TypeError, match="device_type"):
        tf.config.list_physical_devices(0)


def test_gpu_unavailable_reason():
    assert tf.config.experimental.gpu_unavailable_reason() == (
        "this build of corten has no CUDA support")
    assert _C.cuda_device_count() == 0


# --- device names ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    ("/job:localhost/replica:0/task:0/device:CPU:0", ("localhost", 0, 0, "CPU", 0)),
    ("/job:localhost/replica:0/task:0/device:GPU:1", ("localhost", 0, 0, "GPU", 1)),
    ("/device:GPU:0", (None, None, None, "GPU", 0)),
    ("/GPU:0", (None, None, None, "GPU", 0)),
    ("GPU:0", (None, None, None, "GPU", 0)),
    ("gpu:2", (None, None, None, "GPU", 2)),
    ("/cpu:0", (None, None, None, "CPU", 0)),
    ("CPU", (None, None, None, "CPU", None)),
    ("cuda:1", (None, None, None, "GPU", 1)),
    ("cuda", (None, None, None, "GPU", None)),
    ("/device:GPU:*", (None, None, None, "GPU", None)),
    ("/job:worker/task:3", ("worker", None, 3, None, None)),
    ("", (None, None, None, None, None)),
])
def test_parse_device_names(name, expected):
    spec = tf.DeviceSpec.from_string(name)
    assert (spec.job, spec.replica, spec.task, spec.device_type, spec.device_index) == expected


@pytest.mark.parametrize(("name", "match"), [
    ("/foo:0", r"Unknown attribute 'foo' .*'/foo:0'"),
    ("tpu:0", r"Unknown attribute 'tpu'"),
    ("/device:TPU:0", r"Unknown device type 'TPU' .*'/device:TPU:0'"),
    ("GPU:x", r"invalid device index 'x' .*'GPU:x'"),
    ("GPU:-1", r"invalid device index '-1'"),
    ("/GPU:0/CPU:0", r"Multiple device types .*'/GPU:0/CPU:0'"),
    ("GPU:0:1", r"Unknown attribute 'GPU'"),
    ("/replica:r", r"invalid replica 'r'"),
    ("/job:", r"empty job name .*'/job:'"),
])
def test_malformed_device_names_raise_quoting_them(name, match):
    with pytest.raises(ValueError, match=match):
        tf.DeviceSpec.from_string(name)
    with pytest.raises(ValueError, match=match):
        tf.device(name)


def test_device_spec_api():
    spec = tf.DeviceSpec(job="localhost", replica=0, task=0, device_type="GPU", device_index=1)
    assert spec.to_string() == "/job:localhost/replica:0/task:0/device:GPU:1"
    assert tf.DeviceSpec.from_string("/gpu:1").to_string() == "/device:GPU:1"
    assert tf.DeviceSpec.from_string("cuda").to_string() == "/device:GPU:*"
    assert spec.replace(device_type="CPU", device_index=0).to_string() == CPU
    merged = tf.DeviceSpec.from_string(CPU).make_merged_spec(tf.DeviceSpec.from_string("GPU"))
    assert merged.to_string() == "/job:localhost/replica:0/task:0/device:GPU:0"
    assert tf.DeviceSpec.from_string("/GPU:0") == tf.DeviceSpec.from_string("gpu:0")
    assert len({tf.DeviceSpec.from_string("/GPU:0"), tf.DeviceSpec.from_string("GPU:0")}) == 1
    with pytest.raises(ValueError, match="device_index needs a device_type"):
        tf.DeviceSpec(device_index=0)
    with pytest.raises(TypeError, match="unknown arguments"):
        spec.replace(name="x")
    with pytest.raises(TypeError, match="expects a str"):
        tf.DeviceSpec.from_string(0)


# --- scopes ---------------------------------------------------------------------------------


def test_scopes_nest_merge_and_restore():
    assert _C.current_device_spec() == ""
    with tf.device("/GPU:1"):
        assert _C.current_device_spec() == "/job:localhost/replica:0/task:0/device:GPU:1"
        with tf.device("CPU"):  # only the type changes
            assert _C.current_device_spec() == "/job:localhost/replica:0/task:0/device:CPU:1"
        with tf.device(None):  # back to the default placement
            assert _C.current_device_spec() == ""
        with tf.device(""):
            assert _C.current_device_spec() == ""
            with tf.device("gpu:0"):
                assert _C.current_device_spec() == GPU0
        with tf.device(tf.DeviceSpec(device_type="CPU", device_index=0)):
            assert _C.current_device_spec() == CPU
        assert _C.current_device_spec() == "/job:localhost/replica:0/task:0/device:GPU:1"
    assert _C.current_device_spec() == ""


def test_scope_restored_on_exception():
    with pytest.raises(KeyError), tf.device("/GPU:0"), tf.device("/CPU:0"):
        raise KeyError("boom")
    assert _C.current_device_spec() == ""


def test_scopes_are_per_thread():
    seen = []
    with tf.device("/GPU:0"):
        t = threading.Thread(target=lambda: seen.append(_C.current_device_spec()))
        t.start()
        t.join()
        assert _C.current_device_spec() == GPU0
    assert seen == [""]


def test_device_rejects_functions_and_other_types():
    with pytest.raises(RuntimeError, match="does not support functions"):
        tf.device(lambda op: "/CPU:0")
    with pytest.raises(TypeError, match="device_name"):
        tf.device(0)


def test_scope_cannot_be_entered_twice():
    scope = tf.device("/CPU:0")
    with scope, pytest.raises(ValueError, match="already entered"), scope:
        pass


# --- placement ------------------------------------------------------------------------------

def seeded(fn, shape):
    tf.random.set_seed(7)
    return fn(shape, seed=1)


CREATORS = {
    "constant": lambda: tf.constant([1.0, 2.0]),
    "convert_to_tensor": lambda: tf.convert_to_tensor(np.ones(3)),
    "zeros": lambda: tf.zeros((2, 3)),
    "ones": lambda: tf.ones((2,)),
    "fill": lambda: tf.fill((2, 2), 3.0),
    "range": lambda: tf.range(4),
    "eye": lambda: tf.eye(2),
    "random.normal": lambda: seeded(tf.random.normal, (3,)),
    "random.uniform": lambda: seeded(tf.random.uniform, (3,)),
    "Variable": lambda: tf.Variable([1.0, 2.0]),
}


@pytest.mark.parametrize("name", sorted(CREATORS))
@pytest.mark.parametrize("scope", ["/GPU:0", "GPU:3", "cuda", "/CPU:0", "CPU:1", None])
def test_creation_ops_soft_placed_on_cpu(name, scope):
    reference = CREATORS[name]()
    with tf.device(scope):
        got = CREATORS[name]()
    assert got.device == CPU
    np.testing.assert_array_equal(np.asarray(got), np.asarray(reference))


@pytest.mark.parametrize("name", sorted(CREATORS))
@pytest.mark.usefixtures("strict_placement")
def test_creation_ops_without_soft_placement_raise(name):
    with tf.device("/GPU:0"), pytest.raises(ValueError, match="Could not satisfy") as err:
        CREATORS[name]()
    msg = str(err.value)
    assert f"Could not satisfy device specification '{GPU0}'" in msg
    assert "enable_soft_placement=0" in msg
    assert f"All available devices [{CPU}]" in msg
    assert "this build of corten has no CUDA support" in msg
    with tf.device("/CPU:0"):
        assert CREATORS[name]().device == CPU


@pytest.mark.usefixtures("strict_placement")
def test_strict_placement_checks_index_and_job():
    with tf.device("CPU:1"), pytest.raises(ValueError, match=r"device:CPU:1'"):
        tf.zeros((1,))
    tf.config.set_soft_device_placement(True)
    with tf.device("/job:worker/device:CPU:0"), pytest.raises(ValueError, match="job:worker"):
        tf.zeros((1,))  # soft placement changes the device, never the job


def test_soft_placement_setting():
    assert tf.config.get_soft_device_placement() is True
    tf.config.set_soft_device_placement(False)
    try:
        assert tf.config.get_soft_device_placement() is False
    finally:
        tf.config.set_soft_device_placement(True)


@pytest.mark.usefixtures("strict_placement")
def test_other_ops_run_where_their_inputs_are():
    x = tf.constant([1.0, 2.0])
    w = tf.Variable([[1.0], [2.0]])
    with tf.device("/GPU:0"):
        y = tf.matmul(x[None, :], w) + 1.0
        z = tf.reduce_sum(tf.nn.relu(x))
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.matmul(x[None, :], w))
        (g,) = tape.gradient(loss, [w])
    assert y.device == z.device == g.device == CPU
    np.testing.assert_allclose(np.asarray(y), [[6.0]])


def test_keras_model_under_gpu_scope_runs_on_cpu():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 4)).astype("float32")
    y = rng.standard_normal((16, 1)).astype("float32")
    with tf.device("/GPU:0"):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"),
                                  keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        pred = model(x)
    assert np.isfinite(history.history["loss"][0])
    assert all(w.device == CPU for w in model.weights)
    assert pred.device == CPU


# --- tensor.device, copies ------------------------------------------------------------------


def test_tensor_device_strings():
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    assert x.device == CPU
    assert x[0].device == CPU  # a view
    assert tf.transpose(x).device == CPU
    assert (x * 2).device == CPU
    assert tf.Variable(x).device == CPU
    assert tf.constant(np.arange(3)).device == CPU
    assert _C.empty_meta([None, 2], tf.float32).device == "meta"
    assert keras.Input((3,)).device == "meta"
    assert gpu_tagged(index=2).device == "/job:localhost/replica:0/task:0/device:GPU:2"


def test_cpu_returns_a_differentiable_copy():
    x = tf.Variable([1.0, -2.0])
    with tf.GradientTape() as tape:
        y = x.cpu()
        loss = tf.reduce_sum(y * y)
    assert y.device == CPU
    assert not y._is_variable
    np.testing.assert_array_equal(np.asarray(y), [1.0, -2.0])
    np.testing.assert_array_equal(np.asarray(tape.gradient(loss, x)), [2.0, -4.0])


def test_gpu_raises_without_a_gpu():
    x = tf.constant([1.0])
    with pytest.raises(ValueError, match=r"gpu: no device .*device:GPU:0 \(no GPU: this build "
                                         r"of corten has no CUDA support\)"):
        x.gpu()
    with pytest.raises(ValueError, match=r"device:GPU:3"):
        x.gpu(3)
    with pytest.raises(ValueError, match="gpu_index must be an int >= 0"):
        x.gpu(-1)
    with pytest.raises(ValueError, match="gpu_index"):
        x.gpu(True)


def test_identity_under_a_device_scope():
    x = tf.constant([1.0, 2.0])
    with tf.device("/CPU:0"):
        y = tf.identity(x)
    with tf.device("/GPU:0"):
        z = tf.identity(x)
    assert y.device == z.device == CPU
    np.testing.assert_array_equal(np.asarray(z), [1.0, 2.0])
    w = tf.Variable([3.0])
    with tf.GradientTape() as tape, tf.device("/CPU:0"):
        loss = tf.reduce_sum(tf.identity(w) * 2.0)
    np.testing.assert_array_equal(np.asarray(tape.gradient(loss, w)), [2.0])


# --- the mixed-device check -----------------------------------------------------------------


@pytest.mark.parametrize(("op", "fn"), [
    ("add", lambda c, g: c + g),
    ("multiply", lambda c, g: g * c),
    ("matmul", lambda c, g: tf.matmul(c[None, :], g[:, None])),
    ("concat", lambda c, g: tf.concat([c, g], 0)),
    ("where", lambda c, g: tf.where(c > 0, c, g)),
])
def test_mixed_devices_raise_naming_both(op, fn):
    cpu = tf.constant([1.0, 2.0])
    gpu = gpu_tagged()
    with pytest.raises(ValueError, match="operands are on different devices") as err:
        fn(cpu, gpu)
    msg = str(err.value)
    assert msg.startswith(f"{op}: operands are on different devices")
    assert CPU in msg
    assert "/job:localhost/replica:0/task:0/device:GPU:1" in msg


def test_mixed_gpu_ordinals_raise():
    with pytest.raises(ValueError, match=r"device:GPU:0 and .*device:GPU:1"):
        gpu_tagged(index=0) + gpu_tagged(index=1)


def test_scalar_constant_operand_is_copied_to_the_other_device():
    # The 0-d cpu operand is copied to GPU:1 (which this machine lacks), not refused.
    with pytest.raises(ValueError, match=r"add: no device .*device:GPU:1 \(no GPU:"):
        gpu_tagged() + 2.0
    with pytest.raises(ValueError, match=r"multiply: no device .*device:GPU:1"):
        tf.constant(3.0) * gpu_tagged()
    # A non-scalar cpu operand, or a scalar Variable, is not copied.
    with pytest.raises(ValueError, match="operands are on different devices"):
        gpu_tagged() + tf.constant([2.0, 3.0])
    with pytest.raises(ValueError, match="operands are on different devices"):
        gpu_tagged() + tf.Variable(2.0)


def test_meta_operands_combine_with_any_device():
    m = _C.empty_meta([None, 2], tf.float32)
    assert (m + gpu_tagged()).device == "meta"


# --- memory ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["CPU:0", "/device:CPU:0", "cpu:0", "CPU", CPU])
def test_get_memory_info_cpu(name):
    keep = tf.zeros((64, 64))
    info = tf.config.experimental.get_memory_info(name)
    assert set(info) == {"current", "peak"}
    assert info["peak"] >= info["current"] >= 64 * 64 * 4
    big = tf.zeros((256, 256))
    del big
    assert tf.config.experimental.get_memory_info(name)["peak"] > info["current"]
    tf.config.experimental.reset_memory_stats(name)
    after = tf.config.experimental.get_memory_info(name)
    assert after["peak"] == after["current"]
    del keep


def test_get_memory_info_accepts_device_objects():
    (dev,) = tf.config.list_logical_devices("CPU")
    assert tf.config.experimental.get_memory_info(dev)["current"] >= 0
    (phys,) = tf.config.list_physical_devices("CPU")
    assert tf.config.experimental.get_memory_info(phys)["current"] >= 0


@pytest.mark.parametrize("name", ["GPU:0", "/device:GPU:1", "cuda:0"])
def test_get_memory_info_without_gpu_raises(name):
    with pytest.raises(ValueError, match=r"No matching devices found for .*device:GPU.*no CUDA"):
        tf.config.experimental.get_memory_info(name)
    with pytest.raises(ValueError, match="No matching devices found"):
        tf.config.experimental.reset_memory_stats(name)


def test_get_memory_info_bad_names():
    with pytest.raises(ValueError, match=r"'/foo:0'"):
        tf.config.experimental.get_memory_info("/foo:0")
    with pytest.raises(ValueError, match="must include a device type"):
        tf.config.experimental.get_memory_info("/job:localhost")
    with pytest.raises(ValueError, match="No matching devices found for .*CPU:1"):
        tf.config.experimental.get_memory_info("CPU:1")
    with pytest.raises(TypeError, match="device must be a device name"):
        tf.config.experimental.get_memory_info(0)


def test_set_memory_growth_validates_the_device():
    (cpu,) = tf.config.list_physical_devices("CPU")
    with pytest.raises(ValueError, match="Cannot set memory growth on non-GPU"):
        tf.config.experimental.set_memory_growth(cpu, True)
    fake = tf.config.PhysicalDevice(name="/physical_device:GPU:0", device_type="GPU")
    with pytest.raises(ValueError, match="Unrecognized device: PhysicalDevice"):
        tf.config.experimental.set_memory_growth(fake, True)
    with pytest.raises(ValueError, match="Unrecognized device"):
        tf.config.experimental.get_memory_growth(fake)
    assert tf.config.experimental.get_memory_growth(cpu) is False
    # The usual idiom is a no-op without GPUs.
    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)


# --- the guide --------------------------------------------------------------------------------


def test_docs_devices_code_runs(capsys):
    text = (Path(__file__).resolve().parents[2] / "docs" / "devices.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 3
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"devices.md[block {i}]", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert "this build of corten has no CUDA support" in out
    assert f"{CPU}\n" in out
    assert "constant: Could not satisfy device specification" in out
    assert tf.config.get_soft_device_placement()


def test_device_tensors_never_reach_numpy_as_host_memory():
    g = gpu_tagged()
    assert "device='/job:localhost/replica:0/task:0/device:GPU:1'" in repr(g)
    assert str(g) == repr(g)
    with pytest.raises(BufferError):
        memoryview(g)
    # numpy interop copies to the host, which this build cannot reach.
    with pytest.raises(NotImplementedError, match=r"cpu: cannot copy .*GPU:1 .*no CUDA support"):
        g.numpy()
    with pytest.raises(NotImplementedError, match="no CUDA support"):
        np.asarray(g)
    with pytest.raises(NotImplementedError, match="no CUDA support"):
        g.cpu()
    assert g.__dlpack_device__() == (2, 1)  # kDLCUDA, ordinal 1


# --- placement rules with GPUs present (the device count faked; nothing reaches a GPU) -------


@pytest.fixture
def two_fake_gpus():
    _C._set_cuda_device_count_for_testing(2)
    try:
        yield
    finally:
        _C._set_cuda_device_count_for_testing(-1)
        tf.config.set_soft_device_placement(True)


@pytest.mark.usefixtures("two_fake_gpus")
def test_device_lists_with_gpus():
    assert [d.name for d in tf.config.list_physical_devices()] == [
        "/physical_device:CPU:0", "/physical_device:GPU:0", "/physical_device:GPU:1"]
    assert tf.config.list_logical_devices("GPU") == [
        tf.config.LogicalDevice("/device:GPU:0", "GPU"),
        tf.config.LogicalDevice("/device:GPU:1", "GPU")]
    assert tf.config.experimental.gpu_unavailable_reason() is None


@pytest.mark.usefixtures("two_fake_gpus")
@pytest.mark.parametrize(("name", "soft", "strict"), [
    ("", GPU0, GPU0),                 # the default placement prefers GPU:0, as TensorFlow
    ("/GPU:1", GPU1, GPU1),
    ("cuda", GPU0, GPU0),
    ("GPU:7", GPU0, None),            # a missing ordinal: the first device
    ("CPU", CPU, CPU),
    ("CPU:1", GPU0, None),            # soft placement drops type and index
    ("/job:localhost/device:CPU:0", CPU, CPU),
])
def test_resolution_with_gpus(name, soft, strict):
    assert _C.resolve_device(name, "op") == soft
    if strict is None:
        with pytest.raises(ValueError, match=r"op: Could not satisfy device specification .*"
                                             r"Supported device types \[GPU, CPU\]"):
            _C.resolve_device(name, "op", allow_soft=False)
    else:
        assert _C.resolve_device(name, "op", allow_soft=False) == strict


@pytest.mark.usefixtures("two_fake_gpus")
def test_creation_targets_the_gpu_when_there_is_one():
    # The copy to the (fake) GPU is attempted, and only the build's lack of CUDA stops it.
    with pytest.raises(NotImplementedError, match=r"constant: cannot copy .*CPU:0 to .*GPU:0"):
        tf.constant(1.0)
    with tf.device("/GPU:1"), pytest.raises(NotImplementedError, match=r"zeros: .* to .*GPU:1"):
        tf.zeros((2,))
    with tf.device("/CPU:0"):
        assert tf.zeros((2,)).device == CPU
        assert tf.Variable([1.0]).device == CPU
    with tf.device("CPU"):
        x = tf.constant([1.0])
    with pytest.raises(NotImplementedError, match=r"gpu: cannot copy .* to .*GPU:1"):
        x.gpu(1)
    with pytest.raises(ValueError, match=r"gpu: no device .*GPU:2 \(this machine has 2 GPUs\)"):
        x.gpu(2)
    with pytest.raises(NotImplementedError, match=r"add: cannot copy .* to .*GPU:1"):
        gpu_tagged(index=1) + 2.0


@pytest.mark.usefixtures("two_fake_gpus")
def test_memory_settings_with_gpus():
    gpu0, gpu1 = tf.config.list_physical_devices("GPU")
    tf.config.experimental.set_memory_growth(gpu1, True)
    assert tf.config.experimental.get_memory_growth(gpu1) is True
    assert tf.config.experimental.get_memory_growth(gpu0) is False
    with pytest.raises(ValueError, match="No matching devices found for .*GPU:2"):
        tf.config.experimental.get_memory_info("GPU:2")


def test_tensor_float_32_switch_defaults_off_and_round_trips():
    exp = tf.config.experimental
    assert exp.tensor_float_32_execution_enabled() is False
    try:
        exp.enable_tensor_float_32_execution(True)
        assert exp.tensor_float_32_execution_enabled() is True
    finally:
        exp.enable_tensor_float_32_execution(False)
    assert exp.tensor_float_32_execution_enabled() is False


def test_get_device_details():
    (cpu,) = tf.config.list_physical_devices("CPU")
    assert tf.config.experimental.get_device_details(cpu) == {}
    with pytest.raises(ValueError, match="Unrecognized device"):
        tf.config.experimental.get_device_details(
            tf.config.PhysicalDevice("/physical_device:GPU:7", "GPU"))


def test_cuda_wheel_library_dirs_come_from_the_installed_file_list(monkeypatch, tmp_path):
    import importlib.metadata

    from corten import _cuda_libraries

    lib = tmp_path / "nvidia" / "cu13" / "lib"
    lib.mkdir(parents=True)

    class _File:
        def __init__(self, path):
            self.path = path
            self.name = path.name

        def locate(self):
            return self.path

    files = [_File(lib / "libcublasLt.so.13"), _File(lib / "libcublas.so.13"),
             _File(tmp_path / "nvidia" / "__init__.py")]

    def fake_files(name):
        if name != "nvidia-cublas":
            raise importlib.metadata.PackageNotFoundError(name)
        return files

    monkeypatch.setattr(importlib.metadata, "files", fake_files)
    assert _cuda_libraries.wheel_library_dirs() == [str(lib)]
    monkeypatch.setattr(importlib.metadata, "files",
                        lambda name: (_ for _ in ()).throw(
                            importlib.metadata.PackageNotFoundError(name)))
    assert _cuda_libraries.wheel_library_dirs() == []


def test_cuda_library_status_says_why_without_cuda():
    if tf.test.is_built_with_cuda():
        pytest.skip("describes the CPU-only build")
    assert tf._C.cuda_library_status() == "this build of corten has no CUDA support"
