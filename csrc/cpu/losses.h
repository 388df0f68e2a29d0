#pragma once
// CPU cross-entropy kernels. Inputs are raw pointers with element strides; outputs are
// contiguous. Callers have validated dtypes, shapes and the class axis.

#include <corten/dtype.h>
#include <corten/shape.h>

#include <cstdint>

namespace corten::cpu {

// labels, logits: `shape` (strided, same floating dtype) -> out: `shape` without `axis`
// (contiguous). Per line along `axis`: sum(y) * logsumexp(z) - sum(y * z), i.e.
// -sum(y * log_softmax(z)). Sums accumulate in float64.
void softmax_cross_entropy(DType dtype, const Shape& shape, const void* labels,
                           const Shape& labels_strides, const void* logits,
                           const Shape& logits_strides, int64_t axis, void* out);

// labels: `shape` without `axis` (int32/int64, strided), logits: `shape` (strided, floating)
// -> out: labels' shape (contiguous). Per line: logsumexp(z) - z[label]. A label outside
// [0, shape[axis]) makes that line NaN; the return value is the flat index (in labels' shape)
// of the first such label, or -1 when all are valid.
int64_t sparse_softmax_cross_entropy(DType label_dtype, DType dtype, const Shape& shape,
                                     const void* labels, const Shape& labels_strides,
                                     const void* logits, const Shape& logits_strides,
                                     int64_t axis, void* out);

// The gradient of sparse_softmax_cross_entropy with respect to the logits, in place: `out`
// (`shape`, contiguous) holds softmax(z) along `axis` on entry and g * (softmax(z) -
// one_hot(label)) on return. labels (int32/int64) and g (the loss gradient, `dtype`): `shape`
// without `axis`, contiguous. The same products as the composite gradient, so the same bits.
void sparse_softmax_cross_entropy_grad(DType label_dtype, DType dtype, const Shape& shape,
                                       const void* labels, const void* g, int64_t axis, void* out);

// labels, logits: `shape` (strided, same floating dtype) -> out: `shape` (contiguous).
// max(z, 0) - z * y + log1p(exp(-|z|)), finite for any finite z.
void sigmoid_cross_entropy(DType dtype, const Shape& shape, const void* labels,
                           const Shape& labels_strides, const void* logits,
                           const Shape& logits_strides, void* out);

}  // namespace corten::cpu
