"""tf.test's build and GPU questions (corten.test)."""

from __future__ import annotations

import corten as tf
import numpy as np
import pytest


@pytest.fixture
def pretend_gpus():
    """Makes the device model report `count` GPUs, restored afterwards."""
    yield tf._C._set_cuda_device_count_for_testing
    tf._C._set_cuda_device_count_for_testing(-1)


@pytest.mark.skipif(tf.test.is_built_with_cuda(), reason="describes the CPU-only build")
def test_the_cpu_build_says_it_has_no_cuda():
    assert tf.test.is_built_with_cuda() is False
    assert tf.test.is_gpu_available() is False
    assert tf.test.is_gpu_available(cuda_only=True, min_cuda_compute_capability=(8, 0)) is False
    assert tf.test.gpu_device_name() == ""


def test_gpu_questions_follow_the_device_model(pretend_gpus):
    pretend_gpus(2)
    assert tf.test.is_gpu_available() is True
    assert tf.test.gpu_device_name() == "/device:GPU:0"
    with pytest.raises(NotImplementedError, match="compute capability"):
        tf.test.is_gpu_available(min_cuda_compute_capability=(8, 0))
    pretend_gpus(0)
    assert tf.test.gpu_device_name() == ""


def test_sync_devices_returns_after_queued_work():
    x = tf.random.normal((64, 64), seed=1)
    y = x @ x
    assert tf.test.experimental.sync_devices() is None
    np.testing.assert_allclose(y.numpy(), x.numpy() @ x.numpy(), rtol=1e-4, atol=1e-4)
