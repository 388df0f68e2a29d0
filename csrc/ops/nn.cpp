#include <corten/ops.h>

#include "autograd/grad_rules.h"
#include "ops/common.h"
#include "ops/kernels.h"

namespace corten {
namespace {

Tensor softmax_op(bool log, const Tensor& x, int64_t axis) {
  const char* name = log ? "log_softmax" : "softmax";
  detail::check_defined(x, name, "logits");
  CORTEN_CHECK_TYPE(is_floating(x.dtype()), name,
                    ": expected a floating dtype (float32, float64); got ",
                    dtype_name(x.dtype()));
  const int64_t nd = x.ndim();
  CORTEN_CHECK_VALUE(nd >= 1, name, ": logits must have rank >= 1; got a scalar (shape ())");
  CORTEN_CHECK_VALUE(axis >= -nd && axis < nd, name, ": axis ", axis,
                     " is out of range for logits of rank ", nd, " (shape ", show(x.shape()),
                     "; expected ", -nd, " <= axis < ", nd, ")");
  const int64_t a = axis < 0 ? axis + nd : axis;
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device(), name);
  if (x.is_meta()) return out;
  kernels::softmax(out.device())(log, x.dtype(), x.shape(), x.raw_data(), x.strides(), a, out.raw_data());
  if (autograd::is_recording()) autograd::record_softmax(log, x, a, out);
  return out;
}

Tensor softmax_grad_op(bool log, const Tensor& y, const Tensor& g, int64_t axis) {
  const char* name = log ? "log_softmax_grad" : "softmax_grad";
  detail::check_defined(y, name, "y");
  detail::check_defined(g, name, "grad");
  detail::check_same_device(y, g, name);
  CORTEN_CHECK_TYPE(is_floating(y.dtype()), name,
                    ": expected a floating dtype (float32, float64); got ", dtype_name(y.dtype()));
  detail::check_same_dtype(y, g, name);
  CORTEN_CHECK_VALUE(y.shape() == g.shape(), name, ": y and grad must have the same shape; got ",
                     "y.shape=", show(y.shape()), ", grad.shape=", show(g.shape()));
  const int64_t nd = y.ndim();
  CORTEN_CHECK_VALUE(nd >= 1, name, ": y must have rank >= 1; got a scalar (shape ())");
  CORTEN_CHECK_VALUE(axis >= -nd && axis < nd, name, ": axis ", axis,
                     " is out of range for y of rank ", nd, " (shape ", show(y.shape()),
                     "; expected ", -nd, " <= axis < ", nd, ")");
  const int64_t a = axis < 0 ? axis + nd : axis;
  const bool meta = y.is_meta() || g.is_meta();
  Tensor out = Tensor::empty(y.shape(), y.dtype(), meta ? Device::Meta : y.device(), name);
  if (meta) return out;
  const Shape& s = y.shape();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < a; ++d) outer *= s[d];
  for (int64_t d = a + 1; d < nd; ++d) inner *= s[d];
  const Tensor yc = y.contiguous(), gc = g.contiguous();
  kernels::softmax_backward(out.device())(log, y.dtype(), outer, s[a], inner, yc.raw_data(), gc.raw_data(),
                        out.raw_data());
  if (autograd::is_recording()) autograd::record_softmax_grad(log, y, g, a, out);
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t axis) { return softmax_op(false, x, axis); }

Tensor log_softmax(const Tensor& x, int64_t axis) { return softmax_op(true, x, axis); }

Tensor softmax_grad(const Tensor& y, const Tensor& g, int64_t axis) {
  return softmax_grad_op(false, y, g, axis);
}

Tensor log_softmax_grad(const Tensor& y, const Tensor& g, int64_t axis) {
  return softmax_grad_op(true, y, g, axis);
}

}  // namespace corten
