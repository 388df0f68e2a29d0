// AVX-512 random kernels (cpu/random_kernels.h): Philox4x32-10 on 16 counters at once and the
// Box-Muller map on 16 pairs, bit-identical to the reference (cpu/random_ref.cpp; Note
// [Reproducible random transforms] in cpu/random_transform.h). Built with the avx512 flags and
// -ffp-contract=off; called only when the CPU supports AVX-512.
#include <cstdint>

#include "cpu/avx512/intrinsics.h"
#include "cpu/philox.h"
#include "cpu/random_kernels.h"
#include "cpu/random_transform.h"

#define CORTEN_ISA_NS avx512
#include "cpu/random_ref_kernels.inc"

namespace corten::cpu::avx512 {
namespace {

// 16 float32 lanes for the transforms of cpu/random_transform.h.
struct Lane16 {
  using F = __m512;
  using I = __m512i;
  static F fset(float v) { return _mm512_set1_ps(v); }
  static I iset(uint32_t v) { return _mm512_set1_epi32(static_cast<int>(v)); }
  static I srl(I a, int n) { return _mm512_srli_epi32(a, static_cast<unsigned>(n)); }
  static I sll(I a, int n) { return _mm512_slli_epi32(a, static_cast<unsigned>(n)); }
  static I iand(I a, I b) { return _mm512_and_si512(a, b); }
  static I ior(I a, I b) { return _mm512_or_si512(a, b); }
  static I ixor(I a, I b) { return _mm512_xor_si512(a, b); }
  static I iadd(I a, I b) { return _mm512_add_epi32(a, b); }
  static I isub(I a, I b) { return _mm512_sub_epi32(a, b); }
  static F cvt(I a) { return _mm512_cvtepi32_ps(a); }
  static F asf(I a) { return _mm512_castsi512_ps(a); }
  static I asi(F a) { return _mm512_castps_si512(a); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F sqrt(F a) { return _mm512_sqrt_ps(a); }
  static F select_lt(F a, F b, F t, F f) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), f, t);
  }
  static F select_odd(I m, F t, F f) {
    return _mm512_mask_blend_ps(_mm512_test_epi32_mask(m, _mm512_set1_epi32(1)), f, t);
  }
};

// Philox4x32-10 of 8 counters per vector, one 32-bit word per 64-bit lane (the upper halves
// carry garbage that nothing reads: _mm512_mul_epu32 reads the low halves only). Two vectors
// per step for the multiplier's latency.
void philox_words(uint64_t key, uint64_t counter, int64_t nblocks, uint32_t* out) {
  uint32_t k0[10], k1[10];
  k0[0] = static_cast<uint32_t>(key);
  k1[0] = static_cast<uint32_t>(key >> 32);
  for (int r = 1; r < 10; ++r) {
    k0[r] = k0[r - 1] + philox_detail::kWeyl0;
    k1[r] = k1[r - 1] + philox_detail::kWeyl1;
  }
  const __m512i m0 = _mm512_set1_epi64(philox_detail::kMul0);
  const __m512i m1 = _mm512_set1_epi64(philox_detail::kMul1);
  const __m512i step = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i lo_pairs = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
  const __m512i hi_pairs = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
  constexpr int kU = 2;
  int64_t b = 0;
  for (; b + 8 * kU <= nblocks; b += 8 * kU) {
    __m512i c0[kU], c1[kU], c2[kU], c3[kU];
    for (int u = 0; u < kU; ++u) {
      const __m512i ctr = _mm512_add_epi64(
          _mm512_set1_epi64(static_cast<int64_t>(counter + static_cast<uint64_t>(b + 8 * u))),
          step);
      c0[u] = ctr;
      c1[u] = _mm512_srli_epi64(ctr, 32);
      c2[u] = _mm512_setzero_si512();
      c3[u] = _mm512_setzero_si512();
    }
    for (int r = 0; r < 10; ++r) {
      const __m512i kk0 = _mm512_set1_epi64(k0[r]), kk1 = _mm512_set1_epi64(k1[r]);
      for (int u = 0; u < kU; ++u) {
        const __m512i p0 = _mm512_mul_epu32(c0[u], m0);
        const __m512i p1 = _mm512_mul_epu32(c2[u], m1);
        c0[u] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), c1[u], kk0, 0x96);
        c2[u] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), c3[u], kk1, 0x96);
        c1[u] = p1;
        c3[u] = p0;
      }
    }
    for (int u = 0; u < kU; ++u) {
      // Lane j of a: (v0, v1) of block j; of c: (v2, v3). Interleave the 64-bit halves.
      const __m512i a = _mm512_mask_blend_epi32(0xAAAA, c0[u], _mm512_slli_epi64(c1[u], 32));
      const __m512i c = _mm512_mask_blend_epi32(0xAAAA, c2[u], _mm512_slli_epi64(c3[u], 32));
      uint32_t* o = out + 4 * (b + 8 * u);
      _mm512_storeu_si512(o, _mm512_permutex2var_epi64(a, lo_pairs, c));
      _mm512_storeu_si512(o + 16, _mm512_permutex2var_epi64(a, hi_pairs, c));
    }
  }
  ref::philox_words(key, counter + static_cast<uint64_t>(b), nblocks - b, out + 4 * b);
}

void normal_f32(const uint32_t* w, int64_t npairs, float mean, float stddev, float* out) {
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i hi =
      _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
  const __m512 m = _mm512_set1_ps(mean), s = _mm512_set1_ps(stddev);
  int64_t p = 0;
  for (; p + 16 <= npairs; p += 16) {
    const __m512i a = _mm512_loadu_si512(w + 2 * p);
    const __m512i b = _mm512_loadu_si512(w + 2 * p + 16);
    __m512 z0, z1;
    rng::normal_f32<Lane16>(_mm512_permutex2var_epi32(a, even, b),
                            _mm512_permutex2var_epi32(a, odd, b), z0, z1);
    z0 = _mm512_add_ps(m, _mm512_mul_ps(s, z0));
    z1 = _mm512_add_ps(m, _mm512_mul_ps(s, z1));
    _mm512_storeu_ps(out + 2 * p, _mm512_permutex2var_ps(z0, lo, z1));
    _mm512_storeu_ps(out + 2 * p + 16, _mm512_permutex2var_ps(z0, hi, z1));
  }
  ref::normal_f32(w + 2 * p, npairs - p, mean, stddev, out + 2 * p);
}

void uniform_f32(const uint32_t* w, int64_t n, double minval, double range, float hi,
                 float below_hi, bool clamp, float* out) {
  const __m512d lo = _mm512_set1_pd(minval), rg = _mm512_set1_pd(range);
  const __m512d scale = _mm512_set1_pd(0x1p-24);
  const __m256 h = _mm256_set1_ps(hi), bh = _mm256_set1_ps(below_hi);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i k = _mm256_srli_epi32(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i)), 8);
    const __m512d u = _mm512_mul_pd(_mm512_cvtepu32_pd(k), scale);
    __m256 x = _mm512_cvtpd_ps(_mm512_add_pd(lo, _mm512_mul_pd(u, rg)));
    if (clamp) x = _mm256_mask_blend_ps(_mm256_cmp_ps_mask(x, h, _CMP_GE_OQ), x, bh);
    _mm256_storeu_ps(out + i, x);
  }
  ref::uniform_f32(w + i, n - i, minval, range, hi, below_hi, clamp, out + i);
}

}  // namespace

const RandomTable& random_table() {
  static const RandomTable t{&philox_words, &normal_f32, &uniform_f32, &ref::normal_f64,
                             &ref::dropout_keep,    &ref::dropout_apply_f32, &ref::dropout_apply_f64,
                             &ref::dropout_apply_bf16};
  return t;
}

}  // namespace corten::cpu::avx512
