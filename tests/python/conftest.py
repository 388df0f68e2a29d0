import sys
from pathlib import Path

import numpy as np
import pytest

# The op case table (tests/python/ops/cases.py) is shared by the op, gradient and fuzz tests.
sys.path.insert(0, str(Path(__file__).parent / "ops"))


def pytest_configure(config):
    # Every test runs with freed buffers poisoned (corten.config.experimental
    # .enable_buffer_poisoning): a compiled plan or op that reads a buffer after releasing it
    # computes NaN and fails the test's comparison.
    import corten

    corten.config.experimental.enable_buffer_poisoning(True)


@pytest.fixture(autouse=True)
def _functions_traced():
    # Every test starts and ends with corten.function tracing (a test may switch it off).
    import corten

    corten.config.run_functions_eagerly(False)
    yield
    corten.config.run_functions_eagerly(False)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
