#include <corten/ops.h>
#include <corten/trace.h>
#include <corten/trace_registry.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "autograd/grad_rules.h"
#include "ops/common.h"
#include "ops/kernels.h"

namespace corten {

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return "reduce_sum";
    case ReduceOp::Mean: return "reduce_mean";
    case ReduceOp::Max: return "reduce_max";
    case ReduceOp::Min: return "reduce_min";
    case ReduceOp::Prod: return "reduce_prod";
    case ReduceOp::Any: return "reduce_any";
    case ReduceOp::All: return "reduce_all";
    case ReduceOp::LogSumExp: return "reduce_logsumexp";
    case ReduceOp::kCount:
      break;
  }
  return "reduce";
}

namespace {

std::string axes_str(const std::vector<int64_t>& axes) {
  std::string s = "[";
  for (size_t i = 0; i < axes.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(axes[i]);
  }
  return s + "]";
}

void check_reduce_dtype(ReduceOp op, DType t) {
  const char* name = reduce_op_name(op);
  switch (op) {
    case ReduceOp::Any:
    case ReduceOp::All:
      CORTEN_CHECK_TYPE(t == DType::Bool, name, ": expected dtype bool; got ", dtype_name(t),
                        " (compare with a value or cast first)");
      break;
    case ReduceOp::LogSumExp:
      CORTEN_CHECK_TYPE(is_floating(t), name,
                        ": expected a floating dtype (float32, float64); got ", dtype_name(t));
      break;
    default:
      CORTEN_CHECK_TYPE(t != DType::Bool, name,
                        ": expected a numeric dtype (int32, int64, float32, float64); got bool "
                        "(cast to a numeric dtype first)");
      break;
  }
}

// Normalised axis `axis` of a tensor of `shape`; ValueError naming `op` otherwise.
int64_t checked_axis(int64_t axis, const Shape& shape, const char* op) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  CORTEN_CHECK_VALUE(axis >= -nd && axis < nd, op, ": axis ", axis,
                     " is out of range for a tensor of rank ", nd, " (shape ", show(shape),
                     nd == 0 ? "; a scalar has no axes)"
                             : detail::str_cat("; expected ", -nd, " <= axis < ", nd, ")"));
  return axis < 0 ? axis + nd : axis;
}

Tensor arg_reduce(bool is_max, const Tensor& x, int64_t axis, DType output_type);

struct ArgReduceReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in, bool is_max, int64_t axis, DType output_type) const {
    return arg_reduce(is_max, in[0], axis, output_type);
  }
};
const trace::ReplayRegistration<ArgReduceReplay, bool, int64_t, DType> kArgReduceReplay(
    std::vector<const char*>{"argmax", "argmin"});

struct ReduceReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in, ReduceOp op, const std::vector<int64_t>& axes,
                    bool keepdims, bool all_axes_if_empty) const {
    return reduce(op, in[0], axes, keepdims, all_axes_if_empty);
  }
};
const trace::ReplayRegistration<ReduceReplay, ReduceOp, std::vector<int64_t>, bool, bool>
    kReduceReplay([] {
      std::vector<const char*> names;
      for (int i = 0; i < static_cast<int>(ReduceOp::kCount); ++i) {
        names.push_back(reduce_op_name(static_cast<ReduceOp>(i)));
      }
      return names;
    }());

Tensor arg_reduce(bool is_max, const Tensor& x, int64_t axis, DType output_type) {
  trace::OpRecord rec;
  const char* name = is_max ? "argmax" : "argmin";
  detail::check_defined(x, name, "input");
  CORTEN_CHECK_TYPE(x.dtype() != DType::Bool, name,
                    ": expected a numeric dtype (int32, int64, float32, float64); got bool");
  CORTEN_CHECK_TYPE(output_type == DType::Int32 || output_type == DType::Int64, name,
                    ": output_type must be int32 or int64; got ", dtype_name(output_type));
  const int64_t a = checked_axis(axis, x.shape(), name);
  const int64_t len = x.dim(a);
  CORTEN_CHECK_VALUE(len != 0, name, ": cannot reduce over axis ", axis, " of size 0 (shape ",
                     show(x.shape()), ")");
  CORTEN_CHECK_VALUE(output_type == DType::Int64 || len <= std::numeric_limits<int32_t>::max(),
                     name, ": axis ", axis, " of size ", len,
                     " has indices that do not fit output_type int32; use int64");
  Shape out_shape = x.shape();
  out_shape.erase(out_shape.begin() + a);
  Tensor out = Tensor::empty(out_shape, output_type, x.device(), name);
  if (x.is_meta()) return out;
  kernels::arg_reduce(out.device())(is_max, x.dtype(), x.shape(), x.raw_data(), x.strides(), a, output_type,
                  out.raw_data());
  rec.record(name, {x}, {out}, ArgReduceReplay{}, is_max, axis, output_type);
  return out;
}

}  // namespace

Tensor reduce_grad(ReduceOp op, const Tensor& g, const Tensor& x,
                   const std::vector<uint8_t>& reduced, bool keepdims) {
  trace::OpRecord rec;
  constexpr const char* name = "reduce_grad";
  detail::check_defined(g, name, "g");
  detail::check_defined(x, name, "x");
  CORTEN_CHECK_VALUE(op == ReduceOp::Sum || op == ReduceOp::Mean, name,
                     ": only reduce_sum and reduce_mean; got ", reduce_op_name(op));
  CORTEN_CHECK_VALUE(reduced.size() == static_cast<size_t>(x.ndim()), name, ": ", reduced.size(),
                     " reduced-axis flags for an input of rank ", x.ndim());
  CORTEN_CHECK_TYPE(g.dtype() == x.dtype(), name, ": g and x must share a dtype; got ",
                    dtype_name(g.dtype()), " and ", dtype_name(x.dtype()));
  Shape kept, result;
  int64_t count = 1;
  for (size_t d = 0; d < reduced.size(); ++d) {
    kept.push_back(reduced[d] ? 1 : x.shape()[d]);
    if (!reduced[d] || keepdims) result.push_back(kept.back());
    if (reduced[d]) count *= x.shape()[d];
  }
  CORTEN_CHECK_VALUE(g.shape() == result, name, ": g must have the reduction's result ", "shape ",
                     show(result), " for x of shape ", show(x.shape()), "; got ", show(g.shape()));
  Tensor out;
  {
    // The ops below are this op's steps: the tape records reduce_grad itself.
    const autograd::PauseRecording steps;
    Tensor spread = keepdims ? g : reshape(g, kept);
    if (op == ReduceOp::Mean) {
      spread = divide(spread, full({}, static_cast<double>(count), g.dtype()));
    }
    out = broadcast_to(spread, x.shape());
  }
  if (out.is_meta()) return out;
  if (autograd::is_recording()) autograd::record_reduce_grad(op, g, reduced, keepdims, out);
  rec.record(
      name, {g, x}, {out},
      [](const trace::Tensors& in, ReduceOp o, const std::vector<uint8_t>& r, bool k) {
        return reduce_grad(o, in[0], in[1], r, k);
      },
      op, reduced, keepdims);
  return out;
}

Tensor reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes, bool keepdims,
              bool all_axes_if_empty) {
  const char* name = reduce_op_name(op);
  detail::check_defined(x, name, "input_tensor");
  // Note [Half-precision compute]; bfloat16 sums on the CPU read the input in place.
  const bool bf16_sum =
      op == ReduceOp::Sum && x.dtype() == DType::BFloat16 && x.device() != Device::CUDA;
  if (is_half_precision(x.dtype()) && !bf16_sum) {
    return detail::narrow_half(reduce(op, detail::widen_half(x), axes, keepdims, all_axes_if_empty),
                               x.dtype());
  }
  trace::OpRecord rec;
  check_reduce_dtype(op, x.dtype());
  const int64_t nd = x.ndim();
  CORTEN_CHECK_VALUE(nd <= kMaxRank, name, ": tensors of rank above ", kMaxRank,
                     " are not supported; got rank ", nd);
  std::vector<uint8_t> reduced(static_cast<size_t>(nd), 0);
  if (axes.empty()) {
    if (all_axes_if_empty) std::fill(reduced.begin(), reduced.end(), uint8_t{1});
  } else {
    for (int64_t axis : axes) {
      const int64_t a = checked_axis(axis, x.shape(), name);
      CORTEN_CHECK_VALUE(!reduced[static_cast<size_t>(a)], name, ": axis ", a,
                         " appears more than once in axis=", axes_str(axes), " (shape ",
                         show(x.shape()), ")");
      reduced[static_cast<size_t>(a)] = 1;
    }
  }
  Shape out_shape;
  for (int64_t d = 0; d < nd; ++d) {
    if (!reduced[static_cast<size_t>(d)]) {
      out_shape.push_back(x.dim(d));
    } else if (keepdims) {
      out_shape.push_back(1);
    }
  }
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device(), name);
  if (x.is_meta()) return out;
  kernels::reduce(out.device())(op, x.dtype(), x.shape(), x.raw_data(), x.strides(), reduced, out.raw_data());
  if (autograd::is_recording()) autograd::record_reduce(op, x, reduced, keepdims, out);
  // A float sum or mean of the last axis alone can end a fused group (Note [Row reductions in
  // fused nodes] in trace/fusion.cpp).
  const bool last_axis = nd >= 1 && reduced.back() &&
                         std::count(reduced.begin(), reduced.end(), uint8_t{1}) == 1;
  if ((op == ReduceOp::Sum || op == ReduceOp::Mean) && last_axis &&
      (x.dtype() == DType::Float32 || x.dtype() == DType::Float64)) {
    rec.record_pointwise(name, {x}, {out}, trace::Pointwise::last_axis(op, keepdims),
                         ReduceReplay{}, op, axes, keepdims, all_axes_if_empty);
  } else {
    rec.record(name, {x}, {out}, ReduceReplay{}, op, axes, keepdims, all_axes_if_empty);
  }
  return out;
}

Tensor argmax(const Tensor& x, int64_t axis, DType output_type) {
  return arg_reduce(true, x, axis, output_type);
}

Tensor argmin(const Tensor& x, int64_t axis, DType output_type) {
  return arg_reduce(false, x, axis, output_type);
}

}  // namespace corten
