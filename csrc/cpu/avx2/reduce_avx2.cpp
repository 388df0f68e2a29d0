// AVX2+FMA row kernels of the float32 reductions and softmax (see cpu/reduce.h, Note [AVX2
// reduction rows]); compiled with -mavx2 -mfma and called only when cpu_isa() is avx2 or above.
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "cpu/avx2/vec_math.h"
#include "cpu/reduce.h"

namespace corten::cpu::avx2 {
namespace {

inline double hsum(__m256d v) {
  const __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

// Adds the 8 floats of v, widened to double, to (lo, hi).
inline void add_wide(__m256 v, __m256d& lo, __m256d& hi) {
  lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
  hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

// Lanes of v past the first k (0 <= k < 8) replaced by `fill`.
inline __m256 load_partial(const float* p, int64_t k, float fill) {
  alignas(32) float buf[8];
  for (int j = 0; j < 8; ++j) buf[j] = j < k ? p[j] : fill;
  return _mm256_load_ps(buf);
}

}  // namespace

double sum_f32(const float* p, int64_t n) {
  // 32 accumulators in float64 (8 vectors of 4), combined in a fixed order.
  __m256d acc[8];
  for (auto& a : acc) a = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    add_wide(_mm256_loadu_ps(p + i), acc[0], acc[1]);
    add_wide(_mm256_loadu_ps(p + i + 8), acc[2], acc[3]);
    add_wide(_mm256_loadu_ps(p + i + 16), acc[4], acc[5]);
    add_wide(_mm256_loadu_ps(p + i + 24), acc[6], acc[7]);
  }
  for (; i + 8 <= n; i += 8) add_wide(_mm256_loadu_ps(p + i), acc[0], acc[1]);
  if (i < n) add_wide(load_partial(p + i, n - i, 0.0f), acc[2], acc[3]);
  const __m256d s = _mm256_add_pd(
      _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3])),
      _mm256_add_pd(_mm256_add_pd(acc[4], acc[5]), _mm256_add_pd(acc[6], acc[7])));
  return hsum(s);
}

float extreme_f32(bool is_max, const float* p, int64_t n) {
  const float init = is_max ? -std::numeric_limits<float>::infinity()
                            : std::numeric_limits<float>::infinity();
  __m256 m[4];
  for (auto& v : m) v = _mm256_set1_ps(init);
  __m256 nan = _mm256_setzero_ps();
  int64_t i = 0;
  auto step = [&](__m256& acc, __m256 v) {
    acc = is_max ? _mm256_max_ps(acc, v) : _mm256_min_ps(acc, v);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  };
  if (is_max) {
    for (; i + 32 <= n; i += 32) {
      const __m256 a = _mm256_loadu_ps(p + i), b = _mm256_loadu_ps(p + i + 8);
      const __m256 c = _mm256_loadu_ps(p + i + 16), d = _mm256_loadu_ps(p + i + 24);
      m[0] = _mm256_max_ps(m[0], a);
      m[1] = _mm256_max_ps(m[1], b);
      m[2] = _mm256_max_ps(m[2], c);
      m[3] = _mm256_max_ps(m[3], d);
      nan = _mm256_or_ps(nan, _mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_UNORD_Q),
                                           _mm256_cmp_ps(c, d, _CMP_UNORD_Q)));
    }
  } else {
    for (; i + 32 <= n; i += 32) {
      const __m256 a = _mm256_loadu_ps(p + i), b = _mm256_loadu_ps(p + i + 8);
      const __m256 c = _mm256_loadu_ps(p + i + 16), d = _mm256_loadu_ps(p + i + 24);
      m[0] = _mm256_min_ps(m[0], a);
      m[1] = _mm256_min_ps(m[1], b);
      m[2] = _mm256_min_ps(m[2], c);
      m[3] = _mm256_min_ps(m[3], d);
      nan = _mm256_or_ps(nan, _mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_UNORD_Q),
                                           _mm256_cmp_ps(c, d, _CMP_UNORD_Q)));
    }
  }
  for (; i + 8 <= n; i += 8) step(m[0], _mm256_loadu_ps(p + i));
  if (i < n) step(m[1], load_partial(p + i, n - i, init));
  if (_mm256_movemask_ps(nan)) return std::numeric_limits<float>::quiet_NaN();
  __m256 r = is_max ? _mm256_max_ps(_mm256_max_ps(m[0], m[1]), _mm256_max_ps(m[2], m[3]))
                    : _mm256_min_ps(_mm256_min_ps(m[0], m[1]), _mm256_min_ps(m[2], m[3]));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, r);
  float best = lanes[0];
  for (int k = 1; k < 8; ++k) best = is_max ? std::fmax(best, lanes[k]) : std::fmin(best, lanes[k]);
  return best;
}

int64_t find_f32(const float* p, int64_t n, float v) {
  const bool want_nan = v != v;
  const __m256 vv = _mm256_set1_ps(v);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(p + i);
    const __m256 eq = want_nan ? _mm256_cmp_ps(x, x, _CMP_UNORD_Q) : _mm256_cmp_ps(x, vv, _CMP_EQ_OQ);
    const int mask = _mm256_movemask_ps(eq);
    if (mask) return i + __builtin_ctz(static_cast<unsigned>(mask));
  }
  for (; i < n; ++i) {
    if (want_nan ? p[i] != p[i] : p[i] == v) return i;
  }
  return n;
}

double exp_shift_f32(const float* p, int64_t n, float m, float* out) {
  // exp(x - m) with x <= m (m is the finite maximum), so every lane is in exp8's range or
  // underflows (recomputed by std::exp inside exp8).
  const __m256 mv = _mm256_set1_ps(m);
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  __m256d s2 = _mm256_setzero_pd(), s3 = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 e0 = exp8(_mm256_sub_ps(_mm256_loadu_ps(p + i), mv));
    const __m256 e1 = exp8(_mm256_sub_ps(_mm256_loadu_ps(p + i + 8), mv));
    if (out) {
      _mm256_storeu_ps(out + i, e0);
      _mm256_storeu_ps(out + i + 8, e1);
    }
    add_wide(e0, s0, s1);
    add_wide(e1, s2, s3);
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(p + i), mv));
    if (out) _mm256_storeu_ps(out + i, e);
    add_wide(e, s0, s1);
  }
  if (i < n) {
    // Padding lanes hold m (exp(0), inside exp8's fast range, where -inf would send the
    // whole vector to its slow path) and are zeroed before the sum.
    alignas(32) float buf[8];
    _mm256_store_ps(buf, exp8(_mm256_sub_ps(load_partial(p + i, n - i, m), mv)));
    for (int64_t j = n - i; j < 8; ++j) buf[j] = 0.0f;
    if (out) {
      for (int64_t j = i; j < n; ++j) out[j] = buf[j - i];
    }
    add_wide(_mm256_load_ps(buf), s2, s3);
  }
  return hsum(_mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3)));
}

}  // namespace corten::cpu::avx2
