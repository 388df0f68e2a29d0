"""Every op test runs under each CPU kernel set this CPU supports: AVX-512, AVX2+FMA and the
portable baseline."""

import corten
import pytest
from cases import SUPPORTED_ISAS


@pytest.fixture(autouse=True, params=list(reversed(SUPPORTED_ISAS)))
def cpu_isa(request):
    previous = corten.config.get_cpu_isa()
    corten.config.set_cpu_isa(request.param)
    yield request.param
    corten.config.set_cpu_isa(previous)


@pytest.fixture(params=[False, True] if corten.config.cpu_has_amx() else [False],
                ids=lambda on: "amx" if on else "no-amx")
def amx(request):
    """Runs a bfloat16 test with the AMX kernels off, and on where the CPU has them."""
    before = corten.config.amx_enabled()
    corten.config.set_amx(request.param)
    yield request.param
    corten.config.set_amx(before)


@pytest.fixture
def threads():
    """Sets the intra-op thread count (the setter is the value), restored after the test."""
    cfg = corten.config.threading
    before = cfg.get_intra_op_parallelism_threads()
    yield cfg.set_intra_op_parallelism_threads
    cfg.set_intra_op_parallelism_threads(before)


@pytest.fixture
def restore_config():
    """Restores the kernel set and the thread count that a test changes."""
    isa = corten.config.get_cpu_isa()
    before = corten.config.threading.get_intra_op_parallelism_threads()
    yield
    corten.config.set_cpu_isa(isa)
    corten.config.threading.set_intra_op_parallelism_threads(before)
