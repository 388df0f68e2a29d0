#pragma once
// CPU elementwise kernels. Operands are raw pointers with element strides over a common shape
// (broadcast operands have stride 0); outputs are contiguous. Callers have validated dtypes.

#include <corten/dtype.h>
#include <corten/half.h>
#include <corten/ops/elementwise.h>
#include <corten/ops/linalg.h>
#include <corten/shape.h>

namespace corten::cpu {

void unary(UnaryOp op, DType dtype, const Shape& shape, const void* x, const Shape& x_strides,
           void* out, double alpha);
/// `dtype` is the input dtype; comparisons and logical ops write bool.
void binary(BinaryOp op, DType dtype, const Shape& shape, const void* a, const Shape& a_strides,
            const void* b, const Shape& b_strides, void* out);
void where(DType dtype, const Shape& shape, const bool* cond, const Shape& c_strides,
           const void* x, const Shape& x_strides, const void* y, const Shape& y_strides,
           void* out);
/// Strided copy with dtype conversion (`out` strided too, so it serves in-place assignment).
void cast(DType from, DType to, const Shape& shape, const void* x, const Shape& x_strides,
          void* out, const Shape& out_strides);

// Row kernels, one table per ISA. A row kernel processes n elements with the given element
// strides; the output of unary/binary rows is contiguous.
using UnaryRowFn = void (*)(const void* x, int64_t sx, void* out, int64_t n, double alpha);
using BinaryRowFn = void (*)(const void* a, int64_t sa, const void* b, int64_t sb, void* out,
                             int64_t n);
// n contiguous elements converted between float32 and bfloat16 (Note [Half conversions]).
using ConvertRowFn = void (*)(const void* x, void* out, int64_t n);
// Row columns: every dtype, of which String and Float16 have none (bfloat16's wrap the float32
// rows, Note [bfloat16 elementwise rows] in elementwise_kernels.inc).
constexpr int kRowDTypes = static_cast<int>(kLastDType) + 1;
struct ElementwiseTable {
  UnaryRowFn unary[static_cast<int>(UnaryOp::kCount)][kRowDTypes];
  BinaryRowFn binary[static_cast<int>(BinaryOp::kCount)][kRowDTypes];
  // The casts of mixed precision, vectorised by the ISA's compiler flags.
  ConvertRowFn bf16_to_f32;
  ConvertRowFn f32_to_bf16;
  // bfloat16 arithmetic rows for operands that are contiguous or one value (strides 0 or 1),
  // where the ISA has them (Note [Fused bfloat16 arithmetic rows]); null elsewhere. The
  // bfloat16 rows above hand those operands to them.
  BinaryRowFn bf16_contiguous[static_cast<int>(BinaryOp::kCount)];
};

namespace baseline {
const ElementwiseTable& elementwise_table();
}
namespace avx512_bf16 {
// The avx512 table's bfloat16 rows with VCVTNE2PS2BF16, where cpu_has_avx512_bf16(): f32_to_bf16
// with from_float's bits (Note [Exact bfloat16 rounding]) and bf16_contiguous's fused
// arithmetic rows (Note [Fused bfloat16 arithmetic rows]).
void specialize_bf16_rows(ElementwiseTable& t);
}
namespace avx2 {
const ElementwiseTable& elementwise_table();
}
namespace avx512 {
const ElementwiseTable& elementwise_table();
}
/// The table of the ISA in use (corten/cpu_features.h).
const ElementwiseTable& active_elementwise_table();
/// The row kernel (of the ISA in use) of an activation fused into an epilogue; null for the
/// identity.
UnaryRowFn activation_row(Activation act, DType dtype);

}  // namespace corten::cpu
