#pragma once
/// Shape manipulation. Ops documented as views share the input's storage.

#include <corten/tensor.h>

#include <cstdint>
#include <vector>

namespace corten {

/// One item of a basic index: an integer, a slice, `...` or `newaxis`.
struct IndexItem {
  enum Kind : uint8_t { Int, Slice, Ellipsis, NewAxis } kind = Int;
  int64_t index = 0;            ///< for Int
  bool has_start = false, has_stop = false;
  int64_t start = 0, stop = 0, step = 1;  ///< for Slice (step != 0)
};

/// Basic indexing (numpy rules); always a view. IndexError for out-of-range integers,
/// ValueError for a zero step or too many indices.
Tensor index(const Tensor& x, const std::vector<IndexItem>& items);
/// The adjoint of index(): zeros of `input_shape` (dtype of grad) with grad written into the
/// elements that index(zeros, items) views. grad must have that view's shape (ValueError
/// otherwise). Used by index's backward; its own backward is index(gg, items).
Tensor index_grad(const Tensor& grad, const Shape& input_shape,
                  const std::vector<IndexItem>& items);
/// Reshape; one entry may be -1 (inferred). A view when strides allow, else a copy.
Tensor reshape(const Tensor& x, const Shape& shape);
/// Permutes axes: axis i of the result is axis perm[i] of x (perm has one entry per axis). View.
Tensor transpose(const Tensor& x, const std::vector<int64_t>& perm);
/// Reverses the axes. View.
Tensor transpose(const Tensor& x);
/// Inserts a size-1 axis at `axis` (in [-ndim-1, ndim]). View.
Tensor expand_dims(const Tensor& x, int64_t axis);
/// Removes the given size-1 axes (all size-1 axes if empty). View. ValueError for a non-1 axis.
Tensor squeeze(const Tensor& x, const std::vector<int64_t>& axes);
/// A view with broadcast (zero) strides.
Tensor broadcast_to(const Tensor& x, const Shape& shape);
/// Joins tensors of equal rank and dtype along an existing axis (sizes may differ only along
/// `axis`). A new tensor, even for a single input. ValueError for 0-d inputs or mismatched
/// shapes, TypeError for mixed dtypes.
Tensor concat(const std::vector<Tensor>& xs, int64_t axis);
/// Joins tensors of equal shape and dtype along a new axis `axis` (in [-ndim-1, ndim]).
Tensor stack(const std::vector<Tensor>& xs, int64_t axis);
/// Splits along `axis` into pieces of the given sizes (one may be -1: the rest). Views.
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis);
/// Splits along `axis` into `num_splits` equal pieces (ValueError if the size is not
/// divisible). Views.
std::vector<Tensor> split(const Tensor& x, int64_t num_splits, int64_t axis);
/// The slices x[..., i, ...] along `axis`, i = 0 .. shape[axis]-1. Views.
std::vector<Tensor> unstack(const Tensor& x, int64_t axis);
/// Repeats x multiples[d] times along each axis d (multiples >= 0, one per axis).
Tensor tile(const Tensor& x, const std::vector<int64_t>& multiples);
/// gather(params, indices, axis, batch_dims): output shape params.shape[:axis] +
/// indices.shape[batch_dims:] + params.shape[axis+1:]; indices int32/int64 (any shape), the
/// first batch_dims dimensions of params and indices must be equal, batch_dims <= axis and a
/// negative batch_dims counts from indices' rank. IndexError naming the first index outside
/// [0, params.shape[axis]).
Tensor gather(const Tensor& params, const Tensor& indices, int64_t axis, int64_t batch_dims = 0);
/// The adjoint of gather(): zeros of `params_shape` (dtype of grad, floating) to which each
/// slice of grad is added at its index; duplicate indices accumulate, in index order (the
/// result does not depend on the thread count). grad must have gather's output shape for
/// these arguments. Same argument rules and errors as gather.
Tensor gather_grad(const Tensor& grad, const Tensor& indices, const Shape& params_shape,
                   int64_t axis, int64_t batch_dims = 0);
enum class PadMode : uint8_t { Constant, Reflect, Symmetric, kCount };
/// paddings: ndim pairs (before, after), all >= 0. Reflect (mirror without the edge) needs
/// paddings < shape[d], Symmetric (mirror with the edge) paddings <= shape[d], as in TensorFlow.
/// constant_value is converted to x's dtype (Constant mode only).
Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& paddings,
           PadMode mode, double constant_value);
/// The adjoint of pad(): for grad of the padded shape, the gradient of the unpadded input.
/// Constant keeps the interior; Reflect and Symmetric also add each mirrored padding element
/// onto the element it copies. grad must be floating; the paddings obey pad's rules for the
/// unpadded shape (grad.shape[d] - before - after).
Tensor pad_grad(const Tensor& grad, const std::vector<std::pair<int64_t, int64_t>>& paddings,
                PadMode mode);
/// A new handle viewing x (same storage, same geometry).
Tensor identity(const Tensor& x);
/// The shape as a 1-D tensor of dtype int32 or int64 (ValueError if a dimension does not fit
/// int32). Meta inputs give a meta result.
Tensor shape_of(const Tensor& x, DType out_type = DType::Int32);
/// The rank as a 0-d int32 tensor.
Tensor rank_of(const Tensor& x);
/// The number of elements as a 0-d tensor of dtype int32 or int64.
Tensor size_of(const Tensor& x, DType out_type = DType::Int32);

}  // namespace corten
