// AVX2 random kernels: Philox4x32-10 on 8 counters and Box-Muller on 8 pairs at once, and the
// reference maps for the rest (cpu/random_ref_kernels.inc) built with AVX2 and FMA, so that
// their explicit fused multiply-adds are single instructions rather than library calls; the
// same bits as the baseline build (Note [Reproducible random transforms]).
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

// 8 float32 lanes for the transforms of cpu/random_transform.h.
struct Lane8 {
  using F = __m256;
  using I = __m256i;
  static F fset(float v) { return _mm256_set1_ps(v); }
  static I iset(uint32_t v) { return _mm256_set1_epi32(static_cast<int>(v)); }
  static I srl(I a, int n) { return _mm256_srli_epi32(a, n); }
  static I sll(I a, int n) { return _mm256_slli_epi32(a, n); }
  static I iand(I a, I b) { return _mm256_and_si256(a, b); }
  static I ior(I a, I b) { return _mm256_or_si256(a, b); }
  static I ixor(I a, I b) { return _mm256_xor_si256(a, b); }
  static I iadd(I a, I b) { return _mm256_add_epi32(a, b); }
  static I isub(I a, I b) { return _mm256_sub_epi32(a, b); }
  static F cvt(I a) { return _mm256_cvtepi32_ps(a); }
  static F asf(I a) { return _mm256_castsi256_ps(a); }
  static I asi(F a) { return _mm256_castps_si256(a); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F sqrt(F a) { return _mm256_sqrt_ps(a); }
  static F select_lt(F a, F b, F t, F f) {
    return _mm256_blendv_ps(f, t, _mm256_cmp_ps(a, b, _CMP_LT_OQ));
  }
  static F select_odd(I m, F t, F f) {
    const I one = _mm256_set1_epi32(1);
    return _mm256_blendv_ps(f, t, _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(m, one),
                                                                          one)));
  }
};

void normal_f32(const uint32_t* w, int64_t npairs, float mean, float stddev, float* out) {
  const __m256 m = _mm256_set1_ps(mean), s = _mm256_set1_ps(stddev);
  int64_t p = 0;
  for (; p + 8 <= npairs; p += 8) {
    const __m256 a = _mm256_loadu_ps(reinterpret_cast<const float*>(w + 2 * p));
    const __m256 b = _mm256_loadu_ps(reinterpret_cast<const float*>(w + 2 * p + 8));
    // Even words (u1) and odd words (u2) of the 8 pairs, in pair order.
    const __m256i even = _mm256_permute4x64_epi64(
        _mm256_castps_si256(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))),
        _MM_SHUFFLE(3, 1, 2, 0));
    const __m256i odd = _mm256_permute4x64_epi64(
        _mm256_castps_si256(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))),
        _MM_SHUFFLE(3, 1, 2, 0));
    __m256 z0, z1;
    rng::normal_f32<Lane8>(even, odd, z0, z1);
    z0 = _mm256_add_ps(m, _mm256_mul_ps(s, z0));
    z1 = _mm256_add_ps(m, _mm256_mul_ps(s, z1));
    const __m256 lo = _mm256_unpacklo_ps(z0, z1);  // pairs 0, 1 | 4, 5
    const __m256 hi = _mm256_unpackhi_ps(z0, z1);  // pairs 2, 3 | 6, 7
    _mm256_storeu_ps(out + 2 * p, _mm256_permute2f128_ps(lo, hi, 0x20));
    _mm256_storeu_ps(out + 2 * p + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
  }
  ref::normal_f32(w + 2 * p, npairs - p, mean, stddev, out + 2 * p);
}

}  // namespace

const RandomTable& random_table() {
  static const RandomTable t{&philox_words, &normal_f32, &ref::uniform_f32,
                             &ref::normal_f64,
                             &ref::dropout_keep,    &ref::dropout_apply_f32, &ref::dropout_apply_f64,
                             &ref::dropout_apply_bf16};
  return t;
}
}  // namespace corten::cpu::avx2
