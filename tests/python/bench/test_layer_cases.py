"""The bench's layer cases compute what they claim: corten's Keras build of every forward case
agrees with the case's numpy float64 reference (the check the bench makes before timing), and
every forward-and-backward case runs and returns a finite gradient."""

import numpy as np
import pytest

import corten
from corten.bench import cli
from corten.bench.peers import cases

LAYER_CASES = [c for c in cases.CASES if c.group == "layers"]


@pytest.mark.parametrize("case", LAYER_CASES, ids=[c.key for c in LAYER_CASES])
def test_corten_build_of_layer_case(case):
    arrays = cli._inputs(case)
    fn = cases.kernel_call(case, "corten", corten, [corten.constant(a) for a in arrays],
                           keras=corten.keras)
    got = np.asarray(fn().numpy())
    assert np.all(np.isfinite(got))
    if case.tol is not None:
        as64 = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays]
        want = case.calls["numpy"](np, *as64)
        np.testing.assert_allclose(got, want, rtol=case.tol[0], atol=case.tol[1])
