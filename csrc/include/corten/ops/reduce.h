#pragma once
/// Reductions over a set of axes. `axes` empty with `all_axes_if_empty` true (the default)
/// reduces everything; with it false, nothing is reduced (TensorFlow's `axis=[]`).
/// Axes may be negative; duplicates raise ValueError. float32 sums accumulate in float64, and
/// results do not depend on the thread count.

#include <corten/tensor.h>

#include <cstdint>
#include <vector>

namespace corten {

enum class ReduceOp : uint8_t { Sum, Mean, Max, Min, Prod, Any, All, LogSumExp, kCount };

/// reduce_sum / reduce_mean / ... . `axes` empty means all axes (see above). dtypes: Sum, Mean,
/// Max, Min, Prod numeric (integer mean truncates); Any, All bool; LogSumExp floating. Empty
/// reductions give sum 0, prod 1, max lowest (-inf), min highest (+inf), mean NaN (0 for
/// integers), any false, all true, logsumexp -inf. NaN propagates through max and min.
Tensor reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes, bool keepdims,
              bool all_axes_if_empty = true);
/// "reduce_sum", "reduce_mean", ... .
const char* reduce_op_name(ReduceOp op);
/// The gradient of reduce(op, x, ...) for op Sum or Mean from the gradient g of its result:
/// g spread over x's shape (a broadcast view), divided by the number of elements each result
/// reduced for Mean. `reduced` marks x's reduced axes; g has the result's shape (reduced axes
/// of size 1 with keepdims). The sizes come from x on every call, so a traced plan of it
/// serves any size (Note [Relaxed plans]).
Tensor reduce_grad(ReduceOp op, const Tensor& g, const Tensor& x,
                   const std::vector<uint8_t>& reduced, bool keepdims);
/// Index of the largest (smallest) element along `axis`; first occurrence wins; NaN counts as
/// the largest (smallest). ValueError for an empty axis; `output_type` int32 or int64.
Tensor argmax(const Tensor& x, int64_t axis, DType output_type = DType::Int64);
Tensor argmin(const Tensor& x, int64_t axis, DType output_type = DType::Int64);

}  // namespace corten
