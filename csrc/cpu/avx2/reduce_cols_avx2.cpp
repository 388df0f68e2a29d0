// AVX2 column sums (cpu/reduce_cols.h, Note [Vector column sums]); compiled with -mavx2 -mfma
// and called only when cpu_isa() is avx2 or above. No multiply-add appears, so no contraction
// can change a rounding.
#include <immintrin.h>

#include <cstdint>

#include "cpu/reduce_cols.h"

namespace corten::cpu::avx2 {

namespace {

// 8 and 4 values as float32: loaded, or bfloat16 widened (exact: its bits are float32's high half).
inline __m256 load8(const float* q) { return _mm256_loadu_ps(q); }
inline __m256 load8(const bfloat16* q) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
inline __m128 load4(const float* q) { return _mm_loadu_ps(q); }
inline __m128 load4(const bfloat16* q) {
  const __m128i h = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(q));
  return _mm_castsi128_ps(_mm_slli_epi32(_mm_cvtepu16_epi32(h), 16));
}
inline double scalar(float x) { return static_cast<double>(x); }
inline double scalar(bfloat16 x) { return static_cast<double>(x.to_float()); }

template <class T>
void sum_cols(const T* p, int64_t row_stride, int64_t rows, int64_t w, double* acc) {
  int64_t v = 0;
  // 32 columns at a time: 8 float64 accumulators, independent adds.
  for (; v + 32 <= w; v += 32) {
    __m256d a[8];
    for (int k = 0; k < 8; ++k) a[k] = _mm256_loadu_pd(acc + v + 4 * k);
    const T* q = p + v;
    for (int64_t r = 0; r < rows; ++r, q += row_stride) {
      for (int k = 0; k < 4; ++k) {
        const __m256 x = load8(q + 8 * k);
        a[2 * k] = _mm256_add_pd(a[2 * k], _mm256_cvtps_pd(_mm256_castps256_ps128(x)));
        a[2 * k + 1] = _mm256_add_pd(a[2 * k + 1], _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)));
      }
    }
    for (int k = 0; k < 8; ++k) _mm256_storeu_pd(acc + v + 4 * k, a[k]);
  }
  for (; v + 4 <= w; v += 4) {
    __m256d a = _mm256_loadu_pd(acc + v);
    const T* q = p + v;
    for (int64_t r = 0; r < rows; ++r, q += row_stride)
      a = _mm256_add_pd(a, _mm256_cvtps_pd(load4(q)));
    _mm256_storeu_pd(acc + v, a);
  }
  for (; v < w; ++v) {
    double a = acc[v];
    for (int64_t r = 0; r < rows; ++r) a += scalar(p[r * row_stride + v]);
    acc[v] = a;
  }
}

}  // namespace

void sum_cols_f32(const float* p, int64_t row_stride, int64_t rows, int64_t w, double* acc) {
  sum_cols(p, row_stride, rows, w, acc);
}

void sum_cols_bf16(const bfloat16* p, int64_t row_stride, int64_t rows, int64_t w, double* acc) {
  sum_cols(p, row_stride, rows, w, acc);
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
