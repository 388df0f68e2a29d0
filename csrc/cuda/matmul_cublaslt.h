#pragma once
// The cuBLASLt engine of the CUDA GEMM (Note [CUDA GEMM] in cuda/matmul.cu). CUDA build only:
// the test shim runs the tiled kernel.

#include <corten/dtype.h>
#include <corten/ops/linalg.h>

#include <cstdint>

namespace corten::cuda {

/// What cublaslt_gemm did: nothing (the caller runs its own kernel), or the product, with or
/// without the bias and the activation (what is left is the caller's epilogue).
struct LtOutcome {
  bool ran = false;
  bool bias_done = false;
  bool act_done = false;
};

/// c[b] (m, n, rows ldc apart, at c + b * m * ldc) = (or += when accumulate) a[b] @ b[b]
/// (+ bias, act where cuBLASLt fuses them) for b in [0, batch), float32 or float64, on
/// current_stream(). a[b] starts at a + b * a_bstride, rows and columns a_rs and a_cs apart
/// (the same for b); bias (n,) or null. Returns ran == false, having done nothing, when
/// cuBLASLt is not loaded or does not take these layouts.
LtOutcome cublaslt_gemm(DType dtype, int64_t batch, int64_t m, int64_t n, int64_t k, const void* a,
                        int64_t a_bstride, int64_t a_rs, int64_t a_cs, const void* b,
                        int64_t b_bstride, int64_t b_rs, int64_t b_cs, void* c, int64_t ldc,
                        bool accumulate, const void* bias, Activation act);

}  // namespace corten::cuda
