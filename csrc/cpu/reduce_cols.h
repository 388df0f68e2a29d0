#pragma once
// Column sums for the lane layout of cpu/reduce.cpp, and the AVX-512 float32 row sum (a reduction over axes outer to a kept
// contiguous axis, e.g. the bias gradient of Dense: sum over axis 0 of (batch, units)).
//
// Note [Vector column sums]
// acc[v] += p[r * row_stride + v] for r = 0, 1, ... in order, in float64: every column is summed
// in the order of the generic loop, so the results are those of the baseline bit for bit, on
// every thread count; only the columns are processed 32 at a time, widened and added in vector
// registers (the generic loop compiles to 2-lane SSE2 with the accumulators in memory).
#include <corten/half.h>

#include <cstdint>

namespace corten::cpu {
#if defined(__x86_64__) || defined(_M_X64)
#define CORTEN_HAVE_AVX2_COLS 1
namespace avx2 {
/// acc: (w,) float64; p: rows x w float32 with `row_stride` elements between rows.
void sum_cols_f32(const float* p, int64_t row_stride, int64_t rows, int64_t w, double* acc);
/// The same for float64 input, and for bfloat16 input (exactly widened to float32 first).
void sum_cols_f64(const double* p, int64_t row_stride, int64_t rows, int64_t w, double* acc);
void sum_cols_bf16(const bfloat16* p, int64_t row_stride, int64_t rows, int64_t w, double* acc);
}  // namespace avx2
namespace avx512 {
/// avx2::sum_f32 with 512-bit vectors, bit-identical to it (cpu/avx512/reduce_avx512.cpp).
double sum_f32(const float* p, int64_t n);
/// avx2::sum_cols_f32 / sum_cols_f64 with 512-bit vectors (64 columns per step), same bits.
void sum_cols_f32(const float* p, int64_t row_stride, int64_t rows, int64_t w, double* acc);
void sum_cols_f64(const double* p, int64_t row_stride, int64_t rows, int64_t w, double* acc);
void sum_cols_bf16(const bfloat16* p, int64_t row_stride, int64_t rows, int64_t w, double* acc);
}  // namespace avx512
#endif
}  // namespace corten::cpu
