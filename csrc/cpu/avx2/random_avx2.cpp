// AVX2 random kernels: Philox4x32-10 on 8 counters at once, and the reference maps
// (cpu/random_ref_kernels.inc) built with AVX2 and FMA, so that their explicit fused
// multiply-adds are single instructions rather than library calls; the same bits as the
// baseline build (Note [Reproducible random transforms]).
#include <immintrin.h>

#include "cpu/philox.h"
#include "cpu/random_kernels.h"
#include "cpu/random_transform.h"

#define CORTEN_ISA_NS avx2
#include "cpu/random_ref_kernels.inc"

namespace corten::cpu::avx2 {
namespace {

// Philox4x32-10 of 4 counters per vector, one 32-bit word per 64-bit lane (the upper halves carry
// garbage that nothing reads: _mm256_mul_epu32 reads the low halves only), as the AVX-512 kernel
// (cpu/avx512/random_avx512.cpp) does with 8.
void philox_words(uint64_t key, uint64_t counter, int64_t nblocks, uint32_t* out) {
  uint32_t k0[10], k1[10];
  k0[0] = static_cast<uint32_t>(key);
  k1[0] = static_cast<uint32_t>(key >> 32);
  for (int r = 1; r < 10; ++r) {
    k0[r] = k0[r - 1] + philox_detail::kWeyl0;
    k1[r] = k1[r - 1] + philox_detail::kWeyl1;
  }
  const __m256i m0 = _mm256_set1_epi64x(philox_detail::kMul0);
  const __m256i m1 = _mm256_set1_epi64x(philox_detail::kMul1);
  const __m256i step = _mm256_set_epi64x(3, 2, 1, 0);
  constexpr int kU = 2;
  int64_t b = 0;
  for (; b + 4 * kU <= nblocks; b += 4 * kU) {
    __m256i c0[kU], c1[kU], c2[kU], c3[kU];
    for (int u = 0; u < kU; ++u) {
      const __m256i ctr = _mm256_add_epi64(
          _mm256_set1_epi64x(static_cast<int64_t>(counter + static_cast<uint64_t>(b + 4 * u))),
          step);
      c0[u] = ctr;
      c1[u] = _mm256_srli_epi64(ctr, 32);
      c2[u] = _mm256_setzero_si256();
      c3[u] = _mm256_setzero_si256();
    }
    for (int r = 0; r < 10; ++r) {
      const __m256i kk0 = _mm256_set1_epi64x(k0[r]), kk1 = _mm256_set1_epi64x(k1[r]);
      for (int u = 0; u < kU; ++u) {
        const __m256i p0 = _mm256_mul_epu32(c0[u], m0);
        const __m256i p1 = _mm256_mul_epu32(c2[u], m1);
        c0[u] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), c1[u]), kk0);
        c2[u] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), c3[u]), kk1);
        c1[u] = p1;
        c3[u] = p0;
      }
    }
    for (int u = 0; u < kU; ++u) {
      // Lane j of a: (v0, v1) of block j; of c: (v2, v3). Interleave the 64-bit halves.
      const __m256i a = _mm256_blend_epi32(c0[u], _mm256_slli_epi64(c1[u], 32), 0xAA);
      const __m256i c = _mm256_blend_epi32(c2[u], _mm256_slli_epi64(c3[u], 32), 0xAA);
      const __m256i lo = _mm256_unpacklo_epi64(a, c);  // blocks 0 and 2
      const __m256i hi = _mm256_unpackhi_epi64(a, c);  // blocks 1 and 3
      auto* o = reinterpret_cast<__m256i*>(out + 4 * (b + 4 * u));
      _mm256_storeu_si256(o, _mm256_permute2x128_si256(lo, hi, 0x20));
      _mm256_storeu_si256(o + 1, _mm256_permute2x128_si256(lo, hi, 0x31));
    }
  }
  ref::philox_words(key, counter + static_cast<uint64_t>(b), nblocks - b, out + 4 * b);
}

}  // namespace

const RandomTable& random_table() {
  static const RandomTable t{&philox_words, &ref::normal_f32, &ref::uniform_f32,
                             &ref::normal_f64};
  return t;
}
}  // namespace corten::cpu::avx2
