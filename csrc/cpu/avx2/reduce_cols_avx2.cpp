// AVX2 column sums (cpu/reduce_cols.h, Note [Vector column sums]); compiled with -mavx2 -mfma
// and called only when cpu_isa() is avx2 or above. No multiply-add appears, so no contraction
// can change a rounding.
#include <immintrin.h>

#include <cstdint>

#include "cpu/reduce_cols.h"

namespace corten::cpu::avx2 {

void sum_cols_f32(const float* p, int64_t row_stride, int64_t rows, int64_t w, double* acc) {
  int64_t v = 0;
  // 32 columns at a time: 8 float64 accumulators, independent adds.
  for (; v + 32 <= w; v += 32) {
    __m256d a[8];
    for (int k = 0; k < 8; ++k) a[k] = _mm256_loadu_pd(acc + v + 4 * k);
    const float* q = p + v;
    for (int64_t r = 0; r < rows; ++r, q += row_stride) {
      for (int k = 0; k < 4; ++k) {
        const __m256 x = _mm256_loadu_ps(q + 8 * k);
        a[2 * k] = _mm256_add_pd(a[2 * k], _mm256_cvtps_pd(_mm256_castps256_ps128(x)));
        a[2 * k + 1] = _mm256_add_pd(a[2 * k + 1], _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)));
      }
    }
    for (int k = 0; k < 8; ++k) _mm256_storeu_pd(acc + v + 4 * k, a[k]);
  }
  for (; v + 4 <= w; v += 4) {
    __m256d a = _mm256_loadu_pd(acc + v);
    const float* q = p + v;
    for (int64_t r = 0; r < rows; ++r, q += row_stride)
      a = _mm256_add_pd(a, _mm256_cvtps_pd(_mm_loadu_ps(q)));
    _mm256_storeu_pd(acc + v, a);
  }
  for (; v < w; ++v) {
    double a = acc[v];
    for (int64_t r = 0; r < rows; ++r) a += static_cast<double>(p[r * row_stride + v]);
    acc[v] = a;
  }
}

void sum_cols_f64(const double* p, int64_t row_stride, int64_t rows, int64_t w, double* acc) {
  int64_t v = 0;
  for (; v + 32 <= w; v += 32) {
    __m256d a[8];
    for (int k = 0; k < 8; ++k) a[k] = _mm256_loadu_pd(acc + v + 4 * k);
    const double* q = p + v;
    for (int64_t r = 0; r < rows; ++r, q += row_stride) {
      for (int k = 0; k < 8; ++k) a[k] = _mm256_add_pd(a[k], _mm256_loadu_pd(q + 4 * k));
    }
    for (int k = 0; k < 8; ++k) _mm256_storeu_pd(acc + v + 4 * k, a[k]);
  }
  for (; v + 4 <= w; v += 4) {
    __m256d a = _mm256_loadu_pd(acc + v);
    const double* q = p + v;
    for (int64_t r = 0; r < rows; ++r, q += row_stride) a = _mm256_add_pd(a, _mm256_loadu_pd(q));
    _mm256_storeu_pd(acc + v, a);
  }
  for (; v < w; ++v) {
    double a = acc[v];
    for (int64_t r = 0; r < rows; ++r) a += p[r * row_stride + v];
    acc[v] = a;
  }
}

}  // namespace corten::cpu::avx2
