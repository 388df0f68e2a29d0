#pragma once
// The 8-lane (AVX2+FMA) binding of cpu/vec_math.h, for the avx2 translation units only (compiled
// with -mavx2 -mfma).
#include <immintrin.h>

#include <cstdint>

#include "cpu/vec_math.h"

namespace corten::cpu::avx2 {
namespace {

struct Vec8 {
  using F = __m256;
  using M = __m256;  // all-ones lanes where true
  static constexpr int kLanes = 8;
  static constexpr unsigned kAll = 0xff;
  static F set1(float v) { return _mm256_set1_ps(v); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static F load_n(const float* p, int64_t n) {
    alignas(32) float buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t j = 0; j < n; ++j) buf[j] = p[j];
    return _mm256_load_ps(buf);
  }
  static void store_n(float* p, F v, int64_t n) {
    alignas(32) float buf[8];
    _mm256_store_ps(buf, v);
    for (int64_t j = 0; j < n; ++j) p[j] = buf[j];
  }
  static float first(F v) { return _mm256_cvtss_f32(v); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F min(F a, F b) { return _mm256_min_ps(a, b); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F fnmadd(F a, F b, F c) { return _mm256_fnmadd_ps(a, b, c); }
  static F floor(F a) { return _mm256_floor_ps(a); }
  static F abs(F a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static F sign(F a) { return _mm256_and_ps(a, _mm256_set1_ps(-0.0f)); }
  static F or_(F a, F b) { return _mm256_or_ps(a, b); }
  static F or_sign(F t, F x) { return _mm256_or_ps(t, sign(x)); }
  static F pow2i(F n) {
    return _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
  }
  static F ldexp(F c, F n) { return _mm256_mul_ps(c, pow2i(n)); }
  static M lt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static M le(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
  static M ge(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  static M unord(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_UNORD_Q); }
  static M and_(M a, M b) { return _mm256_and_ps(a, b); }
  static F select(M m, F t, F f) { return _mm256_blendv_ps(f, t, m); }
  static unsigned bits(M m) { return static_cast<unsigned>(_mm256_movemask_ps(m)); }
};

inline __m256 exp8(__m256 x) { return vec::exp<Vec8>(x); }

}  // namespace
}  // namespace corten::cpu::avx2
