"""The fused updates give the same bits with every kernel set (baseline, AVX2, AVX-512): they
are compiled per ISA without contracted multiply-adds."""

from __future__ import annotations

import numpy as np
import pytest

import corten
from corten import keras

_ISAS = ["baseline"] + [isa for isa, has in (("avx2", corten._C.cpu_has_avx2()),
                                             ("avx512", corten._C.cpu_has_avx512())) if has]

CONFIGS = {
    "sgd_nesterov": lambda: keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
    "adam_amsgrad": lambda: keras.optimizers.Adam(amsgrad=True),
    "adamw": lambda: keras.optimizers.AdamW(weight_decay=0.01),
    "rmsprop_centered": lambda: keras.optimizers.RMSprop(momentum=0.5, centered=True),
    "adagrad": lambda: keras.optimizers.Adagrad(),
    "adadelta": lambda: keras.optimizers.Adadelta(1.0),
    "adamax": lambda: keras.optimizers.Adamax(clipvalue=0.5),
    "nadam": lambda: keras.optimizers.Nadam(clipnorm=1.0),
}


def _run(make, dtype: str, isa: str) -> np.ndarray:
    previous = corten.config.get_cpu_isa()
    corten.config.set_cpu_isa(isa)
    try:
        rng = np.random.default_rng(0)
        # odd sizes: vector tails; 20011 elements: more than one chunk on the thread pool
        var = corten.Variable(rng.standard_normal(20011).astype(dtype))
        small = corten.Variable(rng.standard_normal(7).astype(dtype))
        opt = make()
        for _ in range(4):
            grads = [corten.constant(rng.standard_normal(20011).astype(dtype)),
                     corten.constant(rng.standard_normal(7).astype(dtype))]
            opt.apply_gradients(zip(grads, [var, small]))
        return np.concatenate([var.numpy(), small.numpy()])
    finally:
        corten.config.set_cpu_isa(previous)


@pytest.mark.skipif(len(_ISAS) < 2, reason="this CPU has only the baseline kernels")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_updates_are_bit_identical_across_isas(name, dtype):
    results = {isa: _run(CONFIGS[name], dtype, isa) for isa in _ISAS}
    reference = results["baseline"]
    for isa, got in results.items():
        np.testing.assert_array_equal(got.view(np.uint8), reference.view(np.uint8),
                                      err_msg=f"{name} {dtype}: {isa} differs from baseline")
