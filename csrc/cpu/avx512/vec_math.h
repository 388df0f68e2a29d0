#pragma once
// The 16-lane (AVX-512) binding of cpu/vec_math.h, for the avx512 translation units only
// (compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma).
#include <cstdint>

#include "cpu/avx512/intrinsics.h"
#include "cpu/vec_math.h"

namespace corten::cpu::avx512 {
namespace {

struct Vec16 {
  using F = __m512;
  using M = __mmask16;
  static constexpr int kLanes = 16;
  static constexpr unsigned kAll = 0xffff;
  static F set1(float v) { return _mm512_set1_ps(v); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  // Masked loads and stores never touch the lanes past n (no fault past the end of the row).
  static M first_n(int64_t n) { return static_cast<M>((1u << n) - 1u); }
  static F load_n(const float* p, int64_t n) { return _mm512_maskz_loadu_ps(first_n(n), p); }
  static void store_n(float* p, F v, int64_t n) { _mm512_mask_storeu_ps(p, first_n(n), v); }
  static float first(F v) { return _mm512_cvtss_f32(v); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F min(F a, F b) { return _mm512_min_ps(a, b); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F fnmadd(F a, F b, F c) { return _mm512_fnmadd_ps(a, b, c); }
  static F floor(F a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
  static F abs(F a) { return _mm512_abs_ps(a); }
  static F sign(F a) { return _mm512_and_ps(a, _mm512_set1_ps(-0.0f)); }
  static F or_(F a, F b) { return _mm512_or_ps(a, b); }
  // t | (x & sign bit) in one instruction.
  static F or_sign(F t, F x) {
    return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(
        _mm512_castps_si512(t), _mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN), 0xF8));
  }
  // Exact for integral n in [-126, 127], like building the exponent field.
  static F pow2i(F n) { return _mm512_scalef_ps(_mm512_set1_ps(1.0f), n); }
  static F ldexp(F c, F n) { return _mm512_scalef_ps(c, n); }
  static M lt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static M le(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
  static M ge(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static M unord(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q); }
  static M and_(M a, M b) { return static_cast<M>(a & b); }
  static F select(M m, F t, F f) { return _mm512_mask_blend_ps(m, f, t); }
  static unsigned bits(M m) { return m; }
};

inline __m512 exp16(__m512 x) { return vec::exp<Vec16>(x); }

}  // namespace
}  // namespace corten::cpu::avx512
