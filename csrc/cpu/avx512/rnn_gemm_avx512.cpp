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

#include <cstddef>
#include <cstdint>

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

// Prefetches `bytes` past p; computed on integers, as the address may lie past the buffer.
inline void prefetch_at(const void* p, size_t bytes) {
  _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(p) + bytes),
               _MM_HINT_T0);
}

// The kRows x 32 tile at c (its rows may lie past the matrix's last: prefetches never fault).
inline void prefetch_tile(const float* c, int64_t ldc) {
  for (int i = 0; i < kRows; ++i) {
    const size_t row = static_cast<size_t>(i * ldc) * sizeof(float);
    prefetch_at(c, row);
    prefetch_at(c, row + 64);
  }
}

template <bool kMaskB>
void panels_impl(int64_t k, int64_t npanels, const float* a, int64_t a_stride, const float* b,
                 int64_t ldb, float* c, int64_t ldc, int64_t m, int nr, bool accumulate) {
  const __mmask16 m0 = static_cast<__mmask16>(nr >= 16 ? 0xFFFFu : (1u << nr) - 1u);
  const __mmask16 m1 = static_cast<__mmask16>(nr >= 32 ? 0xFFFFu
                                              : nr <= 16 ? 0u
                                                         : (1u << (nr - 16)) - 1u);
  // A panel's C tile is read or written at its end: fetch it during the panel before (the
  // first one's at once).
  prefetch_tile(c, ldc);
  for (int64_t q = 0; q < npanels; ++q, a += a_stride, c += kRows * ldc) {
    if (q + 1 < npanels) prefetch_tile(c + kRows * ldc, ldc);
    __m512 acc[kRows][2];
#pragma GCC unroll 8
    for (int i = 0; i < kRows; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    const float* ap = a;
    const float* bp = b;
    auto step = [&]() __attribute__((always_inline)) {
      const __m512 b0 = kMaskB ? _mm512_maskz_loadu_ps(m0, bp) : _mm512_loadu_ps(bp);
      const __m512 b1 = kMaskB ? _mm512_maskz_loadu_ps(m1, bp + 16) : _mm512_loadu_ps(bp + 16);
#pragma GCC unroll 8
      for (int i = 0; i < kRows; ++i) {
        const __m512 av = _mm512_set1_ps(ap[i]);
        acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
        acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
      }
      ap += kRows;
      bp += ldb;
    };
    int64_t p = 0;
    for (; p + 4 <= k; p += 4) {
      prefetch_at(ap, (4 * kRows) * sizeof(float) + 256);
      step();
      step();
      step();
      step();
    }
    for (; p < k; ++p) step();
    const int64_t rows = m - q * kRows < kRows ? m - q * kRows : kRows;
    for (int i = 0; i < kRows; ++i) {
      if (i >= rows) break;
      float* ci = c + i * ldc;
      __m512 v0 = acc[i][0], v1 = acc[i][1];
      if (accumulate) {
        v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, ci), v0);
        v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, ci + 16), v1);
      }
      _mm512_mask_storeu_ps(ci, m0, v0);
      _mm512_mask_storeu_ps(ci + 16, m1, v1);
    }
  }
}

void panels_8x32(int64_t k, int64_t npanels, const float* a, int64_t a_stride, const float* b,
                 int64_t ldb, float* c, int64_t ldc, int64_t m, int nr, bool accumulate) {
  if (nr < 32) panels_impl<true>(k, npanels, a, a_stride, b, ldb, c, ldc, m, nr, accumulate);
  else panels_impl<false>(k, npanels, a, a_stride, b, ldb, c, ldc, m, nr, accumulate);
}

}  // namespace

RnnDualKernels rnn_dual_kernels() { return {&tile_8x32, &panels_8x32}; }

}  // namespace corten::cpu::avx512
