// VDPBF16PS micro-kernels (Note [bfloat16 GEMM] in cpu/gemm/gemm_bf16.h). This file is compiled
// with the AVX-512 BF16 flags and only called when the CPU has them.
//
// MR rows x NV zmm vectors of 16 float32 columns in MR * NV accumulators; per pair step, NV
// loads of packed B (16 columns x 2 k each) and MR 32-bit broadcasts of packed A feed MR * NV
// VDPBF16PS. 6x64 (24 accumulators + 4 B vectors + 1 broadcast of 32 registers) is the float32
// kernel's layout (gemm_ukernel_avx512.cpp); 8x32 and 12x16 serve narrow products.

#include <cstdint>
#include <cstring>

#include "cpu/avx512/intrinsics.h"
#include "cpu/gemm/gemm_bf16.h"

namespace corten::cpu::gemm::avx512_bf16 {
namespace {

// One pair of row i's bfloat16 values as a 32-bit word broadcast to every lane.
inline __m512bh pair_broadcast(const uint16_t* p) {
  uint32_t w;
  std::memcpy(&w, p, sizeof w);
  return (__m512bh)_mm512_set1_epi32(static_cast<int>(w));
}

// kPackedA: a packed panel, its strides (2, 2 * MR) known at compile time.
template <int MR, int NV, bool kPackedA>
void ukernel_impl(int64_t kp, const uint16_t* a, int64_t a_rs_rt, int64_t a_step_rt,
                  const uint32_t* b, float* tile, bool accumulate) {
  constexpr int NR = NV * 16;
  const int64_t a_rs = kPackedA ? 2 : a_rs_rt, a_step = kPackedA ? 2 * MR : a_step_rt;
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j)
      acc[i][j] = accumulate ? _mm512_loadu_ps(tile + i * NR + j * 16) : _mm512_setzero_ps();
  for (int64_t p = 0; p < kp; ++p, a += a_step, b += NR) {
    __m512bh bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = (__m512bh)_mm512_loadu_si512(b + j * 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512bh av = pair_broadcast(a + i * a_rs);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], av, bv[j]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) _mm512_storeu_ps(tile + i * NR + j * 16, acc[i][j]);
}

template <int MR, int NV>
void ukernel(int64_t kp, const uint16_t* a, int64_t a_rs, int64_t a_step, const uint32_t* b,
             float* tile, bool accumulate) {
  if (a_rs == 2 && a_step == 2 * MR) {
    ukernel_impl<MR, NV, true>(kp, a, a_rs, a_step, b, tile, accumulate);
  } else {
    ukernel_impl<MR, NV, false>(kp, a, a_rs, a_step, b, tile, accumulate);
  }
}

// The first n (< 16 when partial) of 16 lanes.
inline __mmask16 first_lanes(int64_t n) {
  return n >= 16 ? __mmask16{0xffff} : n <= 0 ? __mmask16{0} : static_cast<__mmask16>((1u << n) - 1u);
}

// PackRowsFn: each pair of rows interleaved 16 columns at a time (zero-extend the even row's
// values, shift the odd row's into the high halves). Masked loads read nothing past nr, and
// masked stores write nothing past NR (an A panel's MR is not a multiple of 16).
void pack_b_rows(int NR, int64_t nr, int64_t k, const uint16_t* b, int64_t rs, uint32_t* dst) {
  for (int64_t p = 0; 2 * p < k; ++p, dst += NR) {
    const uint16_t* even = b + 2 * p * rs;
    const bool has_odd = 2 * p + 1 < k;
    for (int j = 0; j < NR; j += 16) {
      const __mmask16 m = first_lanes(nr - j);
      const __m512i e = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, even + j));
      const __m512i o = has_odd ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, even + rs + j))
                                : _mm512_setzero_si512();
      _mm512_mask_storeu_epi32(dst + j, first_lanes(NR - j),
                               _mm512_or_si512(e, _mm512_slli_epi32(o, 16)));
    }
  }
}

// RoundOperandsFn: VCVTNE2PS2BF16, 32 values per instruction (it flushes results below the
// normal range to zero, which the kernels read as zero anyway).
void round_operands(const float* x, uint16_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512bh r = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
    _mm512_storeu_si512(out + i, (__m512i)r);
  }
  for (; i < n; i += 16) {
    const int64_t left = n - i;
    const __mmask16 m =
        left >= 16 ? __mmask16{0xffff} : static_cast<__mmask16>((1u << left) - 1u);
    const __m256bh r = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + i));
    _mm256_mask_storeu_epi16(out + i, m, (__m256i)r);
  }
}

}  // namespace

Bf16Ukernel ukernel_bf16(int nv) {
  if (nv == 1) {
    return {&ukernel<12, 1>, 12, 16, "ukernel_avx512_bf16_12x16", &pack_b_rows, &round_operands};
  }
  if (nv == 2) {
    return {&ukernel<8, 2>, 8, 32, "ukernel_avx512_bf16_8x32", &pack_b_rows, &round_operands};
  }
  return {&ukernel<6, 4>, 6, 64, "ukernel_avx512_bf16_6x64", &pack_b_rows, &round_operands};
}

}  // namespace corten::cpu::gemm::avx512_bf16
