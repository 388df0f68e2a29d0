// AVX-512 float32 row sum (cpu/reduce_cols.h): the 32 float64 accumulators of avx2::sum_f32
// (cpu/avx2/reduce_avx2.cpp) held in 4 registers of 8, each element added to the same
// accumulator lane and the lanes combined in the same order, so that both give the same bits;
// this one widens 16 floats per instruction instead of 4. Called only when cpu_isa() is avx512.
#include <cstdint>
#include <type_traits>

#include "cpu/avx512/intrinsics.h"
#include "cpu/reduce_cols.h"

namespace corten::cpu::avx512 {
namespace {

// Lanes 0-7 of `z` widened to float64, and lanes 8-15. The upper half is moved down with a
// shuffle: GCC 12 reports the extract intrinsics' undefined pass-through operand as used
// uninitialized (GCC bug 105593, cpu/avx512/intrinsics.h); so it does for the 512-bit double
// shuffles, and the final combination below runs on stored lanes.
inline __m512d wide_lo(__m512 z) { return _mm512_cvtps_pd(_mm512_castps512_ps256(z)); }
inline __m512d wide_hi(__m512 z) {
  return _mm512_cvtps_pd(_mm512_castps512_ps256(_mm512_shuffle_f32x4(z, z, 0xEE)));
}

}  // namespace

double sum_f32(const float* p, int64_t n) {
  // a[q] lane l accumulates the elements i + 8q + l of every 32-element step, as avx2's
  // acc[2q] (lanes 0-3) and acc[2q + 1] (lanes 4-7) do.
  __m512d a[4];
  for (auto& v : a) v = _mm512_setzero_pd();
  int64_t i = 0;
  // Each group of 8 floats widened straight from memory: widening a 512-bit load's upper half
  // took a lane shuffle on the port that the widening itself uses.
  for (; i + 32 <= n; i += 32) {
    for (int q = 0; q < 4; ++q)
      a[q] = _mm512_add_pd(a[q], _mm512_cvtps_pd(_mm256_loadu_ps(p + i + 8 * q)));
  }
  for (; i + 8 <= n; i += 8) a[0] = _mm512_add_pd(a[0], _mm512_cvtps_pd(_mm256_loadu_ps(p + i)));
  if (i < n) {
    const auto k = static_cast<__mmask8>((1u << (n - i)) - 1u);
    a[1] = _mm512_add_pd(a[1], _mm512_cvtps_pd(_mm256_maskz_loadu_ps(k, p + i)));
  }
  // avx2's combination: per lane l < 4, s[l] = ((acc0 + acc1) + (acc2 + acc3)) + ((acc4 + acc5)
  // + (acc6 + acc7)) with acc(2q)[l] = a[q][l] and acc(2q + 1)[l] = a[q][4 + l]; then
  // (s0 + s2) + (s1 + s3).
  alignas(64) double v[4][8];
  for (int q = 0; q < 4; ++q) _mm512_store_pd(v[q], a[q]);
  double s[4];
  for (int l = 0; l < 4; ++l) {
    s[l] = ((v[0][l] + v[0][4 + l]) + (v[1][l] + v[1][4 + l])) +
           ((v[2][l] + v[2][4 + l]) + (v[3][l] + v[3][4 + l]));
  }
  return (s[0] + s[2]) + (s[1] + s[3]);
}

namespace {

// 16 values, and the first m < 8 of 8, as float32: loaded, or bfloat16 widened (exact: its bits
// are float32's high half).
inline __m512 load16(const bfloat16* q) {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
inline __m256 load_first(__mmask8 k, const float* q) { return _mm256_maskz_loadu_ps(k, q); }
inline __m256 load_first(__mmask8 k, const bfloat16* q) {
  const __m128i h = _mm_maskz_loadu_epi16(k, q);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

// Up to 8 values of a row from q as float64 lanes (masked: no read past the row's end).
template <class T>
inline __m512d load_wide(__mmask8 k, const T* q) { return _mm512_cvtps_pd(load_first(k, q)); }
inline __m512d load_wide(__mmask8 k, const double* q) { return _mm512_maskz_loadu_pd(k, q); }

// The last w < 64 columns: G <= 8 groups of up to 8, each its own accumulator, in one pass
// over the rows. One pass per group made each group's adds a single dependency chain (4
// cycles a row) and read the rows G times: (6400, 32) float32 summed over its rows (a Dense
// bias gradient over 32 x 200 tokens), 32.8 -> 20.9 us at 1 thread, 23.8 -> 15.4 at 2
// (medians of 3 alternated runs). Every column is still summed over the rows in order (Note
// [Vector column sums]).
template <int G, class T>
void tail_groups(const T* p, int64_t row_stride, int64_t rows, int64_t w, double* acc) {
  __m512d a[G];
  __mmask8 k[G];
  for (int g = 0; g < G; ++g) {
    const int64_t m = w - 8 * g < 8 ? w - 8 * g : 8;
    k[g] = static_cast<__mmask8>((1u << m) - 1u);
    a[g] = _mm512_maskz_loadu_pd(k[g], acc + 8 * g);
  }
  for (int64_t r = 0; r < rows; ++r, p += row_stride) {
    for (int g = 0; g < G; ++g) a[g] = _mm512_add_pd(a[g], load_wide(k[g], p + 8 * g));
  }
  for (int g = 0; g < G; ++g) _mm512_mask_storeu_pd(acc + 8 * g, k[g], a[g]);
}

template <class T>
void tail_cols(const T* p, int64_t row_stride, int64_t rows, int64_t w, double* acc) {
  switch ((w + 7) / 8) {
    case 0: return;
    case 1: return tail_groups<1>(p, row_stride, rows, w, acc);
    case 2: return tail_groups<2>(p, row_stride, rows, w, acc);
    case 3: return tail_groups<3>(p, row_stride, rows, w, acc);
    case 4: return tail_groups<4>(p, row_stride, rows, w, acc);
    case 5: return tail_groups<5>(p, row_stride, rows, w, acc);
    case 6: return tail_groups<6>(p, row_stride, rows, w, acc);
    case 7: return tail_groups<7>(p, row_stride, rows, w, acc);
    default: return tail_groups<8>(p, row_stride, rows, w, acc);  // w < 64: at most 8
  }
}

template <class T>
void sum_cols(const T* p, int64_t row_stride, int64_t rows, int64_t w, double* acc) {
  int64_t v = 0;
  // 64 columns at a time: 8 float64 accumulators of 8 (Note [Vector column sums]).
  for (; v + 64 <= w; v += 64) {
    __m512d a[8];
    for (int k = 0; k < 8; ++k) a[k] = _mm512_loadu_pd(acc + v + 8 * k);
    const T* q = p + v;
    for (int64_t r = 0; r < rows; ++r, q += row_stride) {
      if constexpr (std::is_same_v<T, float>) {  // widened from memory, as in sum_f32
        for (int k = 0; k < 8; ++k)
          a[k] = _mm512_add_pd(a[k], _mm512_cvtps_pd(_mm256_loadu_ps(q + 8 * k)));
      } else {
        for (int k = 0; k < 4; ++k) {
          const __m512 x = load16(q + 16 * k);
          a[2 * k] = _mm512_add_pd(a[2 * k], wide_lo(x));
          a[2 * k + 1] = _mm512_add_pd(a[2 * k + 1], wide_hi(x));
        }
      }
    }
    for (int k = 0; k < 8; ++k) _mm512_storeu_pd(acc + v + 8 * k, a[k]);
  }
  tail_cols(p + v, row_stride, rows, w - v, acc + v);
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
  for (; v + 64 <= w; v += 64) {
    __m512d a[8];
    for (int k = 0; k < 8; ++k) a[k] = _mm512_loadu_pd(acc + v + 8 * k);
    const double* q = p + v;
    for (int64_t r = 0; r < rows; ++r, q += row_stride) {
      for (int k = 0; k < 8; ++k) a[k] = _mm512_add_pd(a[k], _mm512_loadu_pd(q + 8 * k));
    }
    for (int k = 0; k < 8; ++k) _mm512_storeu_pd(acc + v + 8 * k, a[k]);
  }
  tail_cols(p + v, row_stride, rows, w - v, acc + v);
}

}  // namespace corten::cpu::avx512
