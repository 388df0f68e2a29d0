// VDPBF16PS micro-kernels (Note [bfloat16 GEMM] in cpu/gemm/gemm_bf16.h). This file is compiled
// with the AVX-512 BF16 flags and only called when the CPU has them.
//
// MR rows x NV zmm vectors of 16 float32 columns in MR * NV accumulators; per pair step, NV
// loads of packed B (16 columns x 2 k each) and MR 32-bit broadcasts of packed A feed MR * NV
// VDPBF16PS. 6x64 (24 accumulators + 4 B vectors + 1 broadcast of 32 registers) is the float32
// kernel's layout (gemm_ukernel_avx512.cpp); 8x32 and 12x16 serve narrow products.

#include "cpu/avx512/intrinsics.h"

#include <cstdint>

#include "cpu/gemm/gemm_bf16.h"

namespace corten::cpu::gemm::avx512_bf16 {
namespace {

template <int MR, int NV>
void ukernel(int64_t kp, const uint32_t* a, const uint32_t* b, float* tile) {
  constexpr int NR = NV * 16;
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kp; ++p, a += MR, b += NR) {
    __m512bh bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = (__m512bh)_mm512_loadu_si512(b + j * 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[i]));
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], av, bv[j]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) _mm512_storeu_ps(tile + i * NR + j * 16, acc[i][j]);
}

}  // namespace

Bf16Ukernel ukernel_bf16(int nv) {
  if (nv == 1) return {&ukernel<12, 1>, 12, 16, "ukernel_avx512_bf16_12x16"};
  if (nv == 2) return {&ukernel<8, 2>, 8, 32, "ukernel_avx512_bf16_8x32"};
  return {&ukernel<6, 4>, 6, 64, "ukernel_avx512_bf16_6x64"};
}

}  // namespace corten::cpu::gemm::avx512_bf16
