#pragma once
// The CUDA GEMM (Note [CUDA GEMM] in cuda/matmul.cu) as a building block of other kernel
// families (the recurrent layers' per-step products): device pointers, element strides, an
// output row stride and an accumulate mode, on current_stream().

#include <cstdint>

namespace corten::cuda {

/// For b in [0, batch): c + b * m * ldc (m x n, rows ldc apart) = (or += when accumulate)
/// a[b] @ b[b] (+ bias (n,) when not null), a[b] = a + b * a_bstride with rows a_rs and columns
/// a_cs apart, likewise b[b]. T is float or double.
template <class T>
struct GemmCall {
  int64_t batch = 1, m = 0, n = 0, k = 0;
  const T* a = nullptr;
  int64_t a_bstride = 0, a_rs = 0, a_cs = 0;
  const T* b = nullptr;
  int64_t b_bstride = 0, b_rs = 0, b_cs = 0;
  T* c = nullptr;
  int64_t ldc = 0;
  bool accumulate = false;
  const T* bias = nullptr;
};

template <class T>
void gemm(const char* op, const GemmCall<T>& call);

}  // namespace corten::cuda
