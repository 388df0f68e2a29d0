#include <corten/devices.h>
#include <corten/ops.h>
#include <corten/trace.h>

#include <string>

#include "autograd/grad_rules_losses.h"
#include "ops/common.h"
#include "ops/kernels.h"

namespace corten {
namespace {

constexpr const char* kSoftmaxXent = "softmax_cross_entropy_with_logits";
constexpr const char* kSparseXent = "sparse_softmax_cross_entropy_with_logits";
constexpr const char* kSigmoidXent = "sigmoid_cross_entropy_with_logits";

// Equal shapes, where an unknown dimension (meta tensors) matches anything.
bool compatible(const Shape& a, const Shape& b) {
  if (a.size() != b.size()) return false;
  for (size_t d = 0; d < a.size(); ++d)
    if (a[d] != b[d] && a[d] != kUnknownDim && b[d] != kUnknownDim) return false;
  return true;
}

Shape drop_axis(const Shape& s, int64_t axis) {
  Shape out;
  for (size_t d = 0; d < s.size(); ++d)
    if (static_cast<int64_t>(d) != axis) out.push_back(s[d]);
  return out;
}

void check_floating_pair(const Tensor& labels, const Tensor& logits, const char* op) {
  detail::check_defined(labels, op, "labels");
  detail::check_defined(logits, op, "logits");
  CORTEN_CHECK_TYPE(is_floating(logits.dtype()), op,
                    ": logits must have a floating dtype (float32, float64); got ",
                    dtype_name(logits.dtype()));
  CORTEN_CHECK_TYPE(labels.dtype() == logits.dtype(), op,
                    ": labels and logits must have the same dtype; got labels.dtype=",
                    dtype_name(labels.dtype()), ", logits.dtype=", dtype_name(logits.dtype()),
                    " (cast the labels to the logits' dtype)");
  detail::check_same_device(labels, logits, op);
  CORTEN_CHECK_VALUE(compatible(labels.shape(), logits.shape()), op,
                     ": labels and logits must have the same shape; got labels.shape=",
                     show(labels.shape()), ", logits.shape=", show(logits.shape()));
}

int64_t checked_class_axis(const Tensor& logits, int64_t axis, const char* op) {
  const int64_t nd = logits.ndim();
  CORTEN_CHECK_VALUE(nd >= 1, op, ": logits must have rank >= 1; got a scalar (shape ())");
  CORTEN_CHECK_VALUE(axis >= -nd && axis < nd, op, ": axis ", axis,
                     " is out of range for logits of rank ", nd, " (shape ",
                     show(logits.shape()), "; expected ", -nd, " <= axis < ", nd, ")");
  return axis < 0 ? axis + nd : axis;
}

// The label at row-major flat index `flat` of `labels` (one element read, for the message).
int64_t label_at(const Tensor& labels, int64_t flat, Shape& index) {
  const Tensor host = readable_on_host(labels, kSparseXent);
  const Shape& s = host.shape();
  index.assign(s.size(), 0);
  int64_t off = 0;
  for (size_t d = s.size(); d-- > 0;) {
    index[d] = flat % s[d];
    flat /= s[d];
    off += index[d] * host.strides()[d];
  }
  if (host.dtype() == DType::Int32) return host.data<int32_t>()[off];
  return host.data<int64_t>()[off];
}

}  // namespace

Tensor softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits,
                                         int64_t axis) {
  if (detail::any_half({&labels, &logits})) {  // Note [Half-precision compute]
    return detail::narrow_half(softmax_cross_entropy_with_logits(detail::widen_half(labels),
                                                                 detail::widen_half(logits), axis),
                               logits.dtype());
  }
  trace::OpRecord rec;
  check_floating_pair(labels, logits, kSoftmaxXent);
  const int64_t a = checked_class_axis(logits, axis, kSoftmaxXent);
  const Device dev = detail::result_device(labels, logits);
  Tensor out = Tensor::empty(drop_axis(logits.shape(), a), logits.dtype(), dev, kSoftmaxXent);
  if (dev == Device::Meta) return out;
  kernels::softmax_cross_entropy(out.device())(logits.dtype(), logits.shape(), labels.raw_data(), labels.strides(),
                             logits.raw_data(), logits.strides(), a, out.raw_data());
  if (autograd::is_recording()) autograd::record_softmax_cross_entropy(labels, logits, a, out);
  rec.record(
      kSoftmaxXent, {labels, logits}, {out},
      [](const trace::Tensors& in, const auto& axis) {
        return softmax_cross_entropy_with_logits(in[0], in[1], axis);
      },
      axis);
  return out;
}

Tensor sparse_softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits,
                                                int64_t axis) {
  if (logits.defined() && is_half_precision(logits.dtype())) {  // Note [Half-precision compute]
    return detail::narrow_half(
        sparse_softmax_cross_entropy_with_logits(labels, detail::widen_half(logits), axis),
        logits.dtype());
  }
  trace::OpRecord rec;
  detail::check_defined(labels, kSparseXent, "labels");
  detail::check_defined(logits, kSparseXent, "logits");
  CORTEN_CHECK_TYPE(is_floating(logits.dtype()), kSparseXent,
                    ": logits must have a floating dtype (float32, float64); got ",
                    dtype_name(logits.dtype()));
  CORTEN_CHECK_TYPE(is_integral(labels.dtype()), kSparseXent,
                    ": labels must be integer class indices (int32 or int64); got labels.dtype=",
                    dtype_name(labels.dtype()),
                    " (for one-hot or probability labels use softmax_cross_entropy_with_logits)");
  detail::check_same_device(labels, logits, kSparseXent);
  const int64_t a = checked_class_axis(logits, axis, kSparseXent);
  const Shape expected = drop_axis(logits.shape(), a);
  CORTEN_CHECK_VALUE(compatible(labels.shape(), expected), kSparseXent,
                     ": labels.shape must be logits.shape without the class axis ", axis,
                     "; got labels.shape=", show(labels.shape()), ", logits.shape=",
                     show(logits.shape()), " (expected labels.shape=", show(expected), ")");
  const Device dev = detail::result_device(labels, logits);
  Tensor out = Tensor::empty(expected, logits.dtype(), dev, kSparseXent);
  if (dev == Device::Meta) return out;
  const int64_t bad = kernels::sparse_softmax_cross_entropy(out.device())(
      labels.dtype(), logits.dtype(), logits.shape(), labels.raw_data(), labels.strides(),
      logits.raw_data(), logits.strides(), a, out.raw_data());
  if (bad >= 0) {
    Shape index;
    const int64_t label = label_at(labels, bad, index);
    const int64_t n = logits.shape()[static_cast<size_t>(a)];
    throw IndexError(detail::str_cat(
        kSparseXent, ": received a label value of ", label, " at labels index ", show(index),
        ", which is outside the valid range [0, ", n, ") for ", n, " classes (logits.shape=",
        show(logits.shape()), ", class axis ", axis, ")"));
  }
  if (autograd::is_recording()) autograd::record_sparse_softmax_cross_entropy(labels, logits, a, out);
  rec.record(
      kSparseXent, {labels, logits}, {out},
      [](const trace::Tensors& in, const auto& axis) {
        return sparse_softmax_cross_entropy_with_logits(in[0], in[1], axis);
      },
      axis);
  return out;
}

Tensor sparse_softmax_cross_entropy_grad(const Tensor& labels, const Tensor& logits,
                                         const Tensor& g, int64_t axis) {
  constexpr const char* op = "sparse_softmax_cross_entropy_grad";
  trace::OpRecord rec;
  detail::check_defined(labels, op, "labels");
  detail::check_defined(logits, op, "logits");
  detail::check_defined(g, op, "g");
  CORTEN_CHECK_TYPE(is_floating(logits.dtype()) && g.dtype() == logits.dtype(), op,
                    ": logits and g must share a floating dtype; got ", dtype_name(logits.dtype()),
                    " and ", dtype_name(g.dtype()));
  CORTEN_CHECK_TYPE(is_integral(labels.dtype()), op, ": labels must be int32 or int64; got ",
                    dtype_name(labels.dtype()));
  detail::check_same_device(labels, logits, op);
  detail::check_same_device(g, logits, op);
  const int64_t a = checked_class_axis(logits, axis, op);
  const Shape expected = drop_axis(logits.shape(), a);
  CORTEN_CHECK_VALUE(labels.shape() == expected && g.shape() == expected, op,
                     ": labels and g must have logits' shape without the class axis; got "
                     "labels.shape=",
                     show(labels.shape()), ", g.shape=", show(g.shape()),
                     ", logits.shape=", show(logits.shape()));
  const Device dev = detail::result_device(labels, logits);
  Tensor out = Tensor::empty(logits.shape(), logits.dtype(), dev, op);
  if (dev == Device::Meta) return out;
  const Tensor lab = labels.contiguous(), gc = g.contiguous();
  kernels::softmax(dev)(false, logits.dtype(), logits.shape(), logits.raw_data(), logits.strides(),
                        a, out.raw_data());
  kernels::sparse_softmax_cross_entropy_grad(dev)(labels.dtype(), logits.dtype(), logits.shape(),
                                                  lab.raw_data(), gc.raw_data(), a, out.raw_data());
  rec.record(
      op, {labels, logits, g}, {out},
      [](const trace::Tensors& in, const auto& axis) {
        return sparse_softmax_cross_entropy_grad(in[0], in[1], in[2], axis);
      },
      axis);
  return out;
}

Tensor sigmoid_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits) {
  if (detail::any_half({&labels, &logits})) {  // Note [Half-precision compute]
    return detail::narrow_half(
        sigmoid_cross_entropy_with_logits(detail::widen_half(labels), detail::widen_half(logits)),
        logits.dtype());
  }
  trace::OpRecord rec;
  check_floating_pair(labels, logits, kSigmoidXent);
  const Device dev = detail::result_device(labels, logits);
  Tensor out = Tensor::empty(logits.shape(), logits.dtype(), dev, kSigmoidXent);
  if (dev == Device::Meta) return out;
  kernels::sigmoid_cross_entropy(out.device())(logits.dtype(), logits.shape(), labels.raw_data(), labels.strides(),
                             logits.raw_data(), logits.strides(), out.raw_data());
  if (autograd::is_recording()) autograd::record_sigmoid_cross_entropy(labels, logits, out);
  rec.record(kSigmoidXent, {labels, logits}, {out}, [](const trace::Tensors& in) {
    return sigmoid_cross_entropy_with_logits(in[0], in[1]);
  });
  return out;
}

}  // namespace corten
