#include "cpu/matmul.h"

#include <corten/parallel.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "cpu/gemm/gemm.h"
#include "cpu/gemm/gemm_bf16.h"

namespace corten::cpu {
namespace {

// c (m x n, contiguous) = a (m x k, strides a_rs, a_cs) @ b (k x n, strides b_rs, b_cs), rows
// [r0, r1). Accumulates each output row in a contiguous buffer, streaming rows of b.
template <class T>
void matmul_rows(int64_t r0, int64_t r1, int64_t n, int64_t k, const T* a, int64_t a_rs,
                 int64_t a_cs, const T* b, int64_t b_rs, int64_t b_cs, T* c) {
  // Integers accumulate in the unsigned type: they wrap as in TensorFlow, without the undefined
  // behaviour of signed overflow.
  using Acc = typename std::conditional_t<std::is_integral_v<T>, std::make_unsigned<T>,
                                          TypeTag<T>>::type;
  std::vector<Acc> acc(static_cast<size_t>(n));
  for (int64_t i = r0; i < r1; ++i) {
    std::fill(acc.begin(), acc.end(), Acc(0));
    for (int64_t p = 0; p < k; ++p) {
      const Acc av = static_cast<Acc>(a[i * a_rs + p * a_cs]);
      const T* brow = b + p * b_rs;
      if (b_cs == 1) {
        for (int64_t j = 0; j < n; ++j) acc[j] += av * static_cast<Acc>(brow[j]);
      } else {
        for (int64_t j = 0; j < n; ++j) acc[j] += av * static_cast<Acc>(brow[j * b_cs]);
      }
    }
    for (int64_t j = 0; j < n; ++j) c[i * n + j] = static_cast<T>(acc[j]);
  }
}

}  // namespace

void matmul(DType dtype, int64_t batch, int64_t m, int64_t n, int64_t k, const void* a,
            const int64_t* a_off, int64_t a_rs, int64_t a_cs, const void* b,
            const int64_t* b_off, int64_t b_rs, int64_t b_cs, void* c) {
  if (is_floating(dtype) || dtype == DType::BFloat16) {
    matmul_bias_act(dtype, batch, m, n, k, a, a_off, a_rs, a_cs, b, b_off, b_rs, b_cs, c,
                    nullptr, Activation::Identity);
    return;
  }
  visit_numeric(dtype, "matmul", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* ap = static_cast<const T*>(a);
    const T* bp = static_cast<const T*>(b);
    T* cp = static_cast<T*>(c);
    const int64_t rows = batch * m;
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, n * k));
    parallel_for(0, rows, grain, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1;) {
        const int64_t bi = r / m;
        const int64_t i0 = r % m;
        const int64_t i1 = std::min(m, i0 + (r1 - r));
        matmul_rows<T>(i0, i1, n, k, ap + a_off[bi], a_rs, a_cs, bp + b_off[bi], b_rs, b_cs,
                       cp + bi * m * n);
        r += i1 - i0;
      }
    });
  });
}

void matmul_bias_act(DType dtype, int64_t batch, int64_t m, int64_t n, int64_t k, const void* a,
                     const int64_t* a_off, int64_t a_rs, int64_t a_cs, const void* b,
                     const int64_t* b_off, int64_t b_rs, int64_t b_cs, void* c,
                     const void* bias, Activation act) {
  if (dtype == DType::BFloat16) {
    gemm::gemm_bf16(batch, m, n, k, static_cast<const bfloat16*>(a), a_off, a_rs, a_cs,
                    static_cast<const bfloat16*>(b), b_off, b_rs, b_cs, static_cast<bfloat16*>(c),
                    static_cast<const bfloat16*>(bias), act);
    return;
  }
  visit_floating(dtype, "matmul", [&](auto tag) {
    using T = typename decltype(tag)::type;
    gemm::gemm<T>(batch, m, n, k, static_cast<const T*>(a), a_off, a_rs, a_cs,
                  static_cast<const T*>(b), b_off, b_rs, b_cs, static_cast<T*>(c),
                  static_cast<const T*>(bias), act);
  });
}

GemmInfo gemm_info(DType dtype) {
  if (dtype != DType::BFloat16) return gemm::info(dtype);
  GemmInfo g = gemm::info(DType::Float32);
  const gemm::Bf16Ukernel* uk = gemm::gemm_bf16_kernel();
  if (uk == nullptr) {  // the float32 path: the float32 kernel, widened operands
    g.kernel = "float32 path: " + g.kernel;
    return g;
  }
  // The pair kernels sum the whole depth per tile (Note [bfloat16 GEMM]): no cache blocks.
  g.kernel = uk->name;
  g.mr = uk->mr;
  g.nr = uk->nr;
  g.kc = g.mc = g.nc = 0;
  return g;
}

}  // namespace corten::cpu
