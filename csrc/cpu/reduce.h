#pragma once
// CPU reduction kernels. Inputs are raw pointers with element strides; outputs are contiguous.
// Callers have validated dtypes, axes and sizes.

#include <corten/dtype.h>
#include <corten/ops/reduce.h>
#include <corten/shape.h>

#include <cstdint>
#include <vector>

namespace corten::cpu {

// x: `shape` (strided) -> out: contiguous, `shape` without the dimensions d where
// reduced[d] != 0 (keepdims does not change the layout). Empty reductions give the op's
// identity (sum 0, prod 1, max lowest/-inf, min highest/+inf, any false, all true,
// logsumexp -inf), mean of nothing NaN (0 for integers).
//
// Note [Deterministic reductions]
// The order in which elements are combined depends only on the shape and strides, never on
// the thread count: long reductions are cut into blocks of a fixed size, each block is reduced
// sequentially (possibly on different threads), and the block partials are merged in block
// order. Sums are therefore bit-identical for any number of threads.
void reduce(ReduceOp op, DType dtype, const Shape& shape, const void* x, const Shape& x_strides,
            const std::vector<uint8_t>& reduced, void* out);

/// `rows` contiguous rows of n elements (float32 or float64, 2 <= n <= kRowReductionMax) ->
/// out[rows]: their sums or means (op Sum or Mean), bit for bit what reduce() gives for the
/// last axis of a contiguous (rows, n) tensor; on the calling thread (a fused node's tile,
/// Note [Row reductions in fused nodes] in trace/fusion.cpp).
void reduce_last_axis_rows(ReduceOp op, DType dtype, const void* x, int64_t rows, int64_t n,
                           void* out);
/// The longest row reduce_last_axis_rows takes: reduce() reads a longer one in blocks.
constexpr int64_t kRowReductionMax = 65536;

// x: `shape` (strided) -> out: contiguous, `shape` without `axis`, dtype `index_dtype` (int32
// or int64). Index of the first maximum (minimum); NaN counts as the extreme. shape[axis] > 0.
void arg_reduce(bool is_max, DType dtype, const Shape& shape, const void* x,
                const Shape& x_strides, int64_t axis, DType index_dtype, void* out);

// Note [AVX2 reduction rows]
// Contiguous float32 rows of sum/mean, max/min, argmax/argmin, logsumexp and softmax run these
// kernels when cpu_isa() is avx2 or avx512 (csrc/cpu/avx2/reduce_avx2.cpp; only sum_f32 has a
// 512-bit version, bit-identical to it: cpu/reduce_cols.h); other rows and
// the baseline ISA use the generic loops. They only change how one row (at most one block of Note
// [Deterministic reductions]) is reduced, so results still do not depend on the thread count.
// sum_f32 uses 32 float64 accumulators in a fixed order (the baseline loop uses 8: the two ISAs
// may differ in the last bits, each is deterministic).
#if defined(__x86_64__) || defined(_M_X64)
#define CORTEN_HAVE_AVX2_ROWS 1
namespace avx2 {
/// Sum of p[0..n) in float64.
double sum_f32(const float* p, int64_t n);
/// Maximum (minimum) of p[0..n): NaN if any element is NaN, -inf (+inf) when n == 0.
float extreme_f32(bool is_max, const float* p, int64_t n);
/// Index of the first element equal to v (the first NaN when v is NaN), n if none.
int64_t find_f32(const float* p, int64_t n, float v);
/// Sum in float64 of exp(p[i] - m) (float32 exponentials, m the finite maximum of the row);
/// stores the exponentials in out[0..n) when out is not null.
double exp_shift_f32(const float* p, int64_t n, float m, float* out);
}  // namespace avx2
#endif

}  // namespace corten::cpu
