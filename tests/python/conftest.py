import sys
from pathlib import Path

import numpy as np
import pytest

# The op case table (tests/python/ops/cases.py) is shared by the op, gradient and fuzz tests.
sys.path.insert(0, str(Path(__file__).parent / "ops"))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
