#pragma once
// The fused LSTM forward's per-step product as one micro-kernel pass (Note [Recurrent kernel]
// in cpu/rnn.cpp): c = a1 @ B1 + a2 @ B2 for an 8-row, 32-column tile, B1 and B2 panels of
// the AVX-512 8x32 micro-kernel's packing (gemm::PackedB), A1 and A2 read in place.

#include <cstdint>

namespace corten::cpu {

struct RnnDualKernels {
  // c[i * ldc + j] = sum_p a1[i * lda1 + p] * b1[p * 32 + j] + sum_p a2[i * lda2 + p] *
  // b2[p * 32 + j] for i < 8 and j < nr (nr <= 32; the columns past nr are not stored), one
  // running sum per element: the k1 products of a1, then the k2 products of a2.
  void (*tile_8x32)(int64_t k1, const float* a1, int64_t lda1, const float* b1, int64_t k2,
                    const float* a2, int64_t lda2, const float* b2, float* c, int64_t ldc,
                    int nr);
  // The backward's block products (Note [Input projection in the sequence]): for every panel
  // q < npanels, c[(8q + i) * ldc + j] (+)= sum_p a[q * a_stride + p * 8 + i] * b[p * ldb + j]
  // for i < min(8, m - 8q), j < nr (nr <= 32): A packed 8-row panels, B read in place (its
  // columns past nr are not read). The same sums, in the same order, as one call of the 8x32
  // micro-kernel per panel, without a call's set-up per tile.
  void (*panels_8x32)(int64_t k, int64_t npanels, const float* a, int64_t a_stride,
                      const float* b, int64_t ldb, float* c, int64_t ldc, int64_t m, int nr,
                      bool accumulate);
};

// The kernels for the running CPU, or null where its ISA has none.
const RnnDualKernels* rnn_dual_kernels();

namespace avx512 {
RnnDualKernels rnn_dual_kernels();
}  // namespace avx512

}  // namespace corten::cpu
