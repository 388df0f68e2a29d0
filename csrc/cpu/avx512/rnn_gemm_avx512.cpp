// AVX-512 two-operand tile of the fused LSTM forward (cpu/rnn_gemm.h). Compiled with the avx512
// flags and only called when the CPU supports them.
//
// The same register tiling as the GEMM's 8x32 micro-kernel (cpu/avx512/gemm_ukernel_avx512.cpp:
// 16 accumulators, two B vectors and one broadcast per k step), run over two products in
// turn: h_{t-1} @ U, then x_t @ W summed into the same accumulators. Two calls of the plain
// micro-kernel (the second reloading, adding and storing the tile) cost a call's set-up and
// the tile's round trip more per tile; x_t @ W alone has only k = F (64 in the benchmarks)
// steps to hide them in.

#include "cpu/avx512/intrinsics.h"
#include "cpu/rnn_gemm.h"

namespace corten::cpu::avx512 {
namespace {

constexpr int kRows = 8;

// acc[i][0..1] += a[i * lda + p] * b[p * 32 + 0..31] for p < k.
inline void accumulate(__m512 (&acc)[kRows][2], int64_t k, const float* a, int64_t lda,
                       const float* b) {
  auto step = [&]() __attribute__((always_inline)) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 8
    for (int i = 0; i < kRows; ++i) {
      const __m512 av = _mm512_set1_ps(a[i * lda]);
      acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
    }
    a += 1;
    b += 32;
  };
  int64_t p = 0;
  for (; p + 4 <= k; p += 4) {
    step();
    step();
    step();
    step();
  }
  for (; p < k; ++p) step();
}

void tile_8x32(int64_t k1, const float* a1, int64_t lda1, const float* b1, int64_t k2,
               const float* a2, int64_t lda2, const float* b2, float* c, int64_t ldc, int nr) {
  __m512 acc[kRows][2];
#pragma GCC unroll 8
  for (int i = 0; i < kRows; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  accumulate(acc, k1, a1, lda1, b1);
  accumulate(acc, k2, a2, lda2, b2);
  if (nr == 32) {
#pragma GCC unroll 8
    for (int i = 0; i < kRows; ++i) {
      _mm512_storeu_ps(c + i * ldc, acc[i][0]);
      _mm512_storeu_ps(c + i * ldc + 16, acc[i][1]);
    }
    return;
  }
  const __mmask16 m0 = static_cast<__mmask16>(nr >= 16 ? 0xFFFFu : (1u << nr) - 1u);
  const __mmask16 m1 = static_cast<__mmask16>(nr <= 16 ? 0u : (1u << (nr - 16)) - 1u);
  for (int i = 0; i < kRows; ++i) {
    _mm512_mask_storeu_ps(c + i * ldc, m0, acc[i][0]);
    _mm512_mask_storeu_ps(c + i * ldc + 16, m1, acc[i][1]);
  }
}

}  // namespace

RnnDualKernels rnn_dual_kernels() { return {&tile_8x32}; }

}  // namespace corten::cpu::avx512
