#pragma once
/// Tensor creation.

#include <corten/tensor.h>

#include <cstdint>

namespace corten {

/// A tensor filled with `value` (converted to dtype as by cast). Errors name `op`.
Tensor full(const Shape& shape, double value, DType dtype, const char* op = "full");
Tensor zeros(const Shape& shape, DType dtype = DType::Float32);
Tensor ones(const Shape& shape, DType dtype = DType::Float32);
/// A tensor of the given shape filled with the 0-d tensor `value` (any dtype; the result has
/// value's dtype).
Tensor fill(const Shape& shape, const Tensor& value);
/// A tensor of x's shape filled with `value` in `dtype`, on x's device. Traced, its shape is
/// read from x when the plan runs, so a plan that makes zeros for its input's batch serves
/// every batch size (Note [Relaxed plans]).
Tensor full_like(const Tensor& x, double value, DType dtype);
/// start, start+delta, ... up to but excluding limit: ceil((limit - start) / delta) elements,
/// none when that is negative. start, limit and delta are first converted to dtype (integer
/// dtypes truncate). ValueError if delta is 0 or a value is not finite or does not fit dtype;
/// TypeError for bool.
Tensor range(double start, double limit, double delta, DType dtype);
/// num_rows x num_columns identity (ones on the main diagonal), optionally with leading batch
/// dimensions.
Tensor eye(int64_t num_rows, int64_t num_columns, const Shape& batch_shape, DType dtype);
/// one_hot(indices (int32/int64), depth): a new last axis (or `axis`) of size depth with
/// on_value at the index and off_value elsewhere; out-of-range indices give all off_value.
/// axis is -1 (last) or in [0, indices.ndim].
Tensor one_hot(const Tensor& indices, int64_t depth, double on_value, double off_value,
               int64_t axis, DType dtype);
/// A contiguous copy with its own storage.
Tensor clone(const Tensor& x);

}  // namespace corten
