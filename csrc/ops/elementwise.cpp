#include <corten/ops.h>
#include <corten/strings.h>
#include <corten/trace.h>
#include <corten/trace_registry.h>

#include "autograd/grad_rules.h"
#include "ops/common.h"
#include "ops/kernels.h"

namespace corten {

using detail::check_defined;

const char* unary_op_name(UnaryOp op) { return op_info(op).name; }

const char* binary_op_name(BinaryOp op) { return op_info(op).name; }

namespace {

const char* accepts_str(Accepts a) {
  switch (a) {
    case Accepts::Numeric: return "a numeric dtype (int32, int64, float32, float64)";
    case Accepts::Floating: return "a floating dtype (float32, float64)";
    case Accepts::Bool: return "dtype bool";
    case Accepts::All: return "any dtype";
  }
  return "";
}

struct UnaryReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in, UnaryOp op, double alpha) const {
    return unary(op, in[0], alpha);
  }
};
struct BinaryReplay {
  static constexpr trace::InputCount kInputs{2};
  Tensor operator()(const trace::Tensors& in, BinaryOp op) const {
    return binary(op, in[0], in[1]);
  }
};

template <class Op>
std::vector<const char*> op_names() {
  std::vector<const char*> names;
  for (int i = 0; i < static_cast<int>(Op::kCount); ++i)
    names.push_back(op_info(static_cast<Op>(i)).name);
  return names;
}

const trace::ReplayRegistration<UnaryReplay, UnaryOp, double> kUnaryReplay(op_names<UnaryOp>());
const trace::ReplayRegistration<BinaryReplay, BinaryOp> kBinaryReplay(op_names<BinaryOp>());

struct WhereReplay {
  static constexpr trace::InputCount kInputs{3};
  Tensor operator()(const trace::Tensors& in) const { return where(in[0], in[1], in[2]); }
};
struct CastReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in, DType dtype) const { return cast(in[0], dtype); }
};
const trace::ReplayRegistration<WhereReplay> kWhereReplay("where");
const trace::ReplayRegistration<CastReplay, DType> kCastReplay("cast");

}  // namespace

namespace detail {
Tensor widen_half(const Tensor& t) {
  return t.defined() && is_half_precision(t.dtype()) ? cast(t, DType::Float32) : t;
}
Tensor narrow_half(const Tensor& t, DType dtype) {
  return t.dtype() == DType::Float32 && is_half_precision(dtype) ? cast(t, dtype) : t;
}
}  // namespace detail

namespace {
// Whether `t` runs the bfloat16 rows of an op accepting `acc` (Note [bfloat16 elementwise rows]
// in cpu/elementwise_kernels.inc: CPU tensors, ops with float32 kernels).
bool bfloat16_rows(const Tensor& t, Accepts acc) {
  return t.dtype() == DType::BFloat16 && t.device() != Device::CUDA && accepts(acc, DType::Float32);
}
// The dtype whose kernels run `t`: bfloat16 rows wrap the float32 ones.
DType kernel_dtype(const Tensor& t) {
  return t.dtype() == DType::BFloat16 ? DType::Float32 : t.dtype();
}
}  // namespace

Tensor unary(UnaryOp op, const Tensor& x, double alpha) {
  const char* name = unary_op_name(op);
  check_defined(x, name);
  const Accepts acc = op_info(op).accepts;
  if (is_half_precision(x.dtype()) && !bfloat16_rows(x, acc)) {
    // Note [Half-precision compute]
    return detail::narrow_half(unary(op, detail::widen_half(x), alpha), x.dtype());
  }
  trace::OpRecord rec;
  CORTEN_CHECK_TYPE(accepts(acc, kernel_dtype(x)), name, ": expected ", accepts_str(acc), "; got ",
                    dtype_name(x.dtype()));
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device(), name);
  if (x.is_meta()) return out;
  kernels::unary(out.device())(op, x.dtype(), x.shape(), x.raw_data(), x.strides(), out.raw_data(), alpha);
  if (autograd::is_recording()) autograd::record_unary(op, x, out, alpha);
  rec.record_pointwise(name, {x}, {out}, trace::Pointwise::of(op, alpha), UnaryReplay{}, op, alpha);
  return out;
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binary_op_name(op);
  check_defined(a, name, "x");
  check_defined(b, name, "y");
  detail::check_same_dtype(a, b, name);
  // Before this op's record, so that string_equal records itself (only the outermost records).
  if (a.dtype() == DType::String && (op == BinaryOp::Equal || op == BinaryOp::NotEqual)) {
    return string_equal(a, b, op == BinaryOp::NotEqual);
  }
  const Accepts acc = op_info(op).accepts;
  if (is_half_precision(a.dtype()) && !(bfloat16_rows(a, acc) && bfloat16_rows(b, acc))) {
    // Note [Half-precision compute]
    return detail::narrow_half(binary(op, detail::widen_half(a), detail::widen_half(b)), a.dtype());
  }
  trace::OpRecord rec;
  if (detail::on_different_devices(a, b)) {
    const auto [x, y] = detail::align_scalar_operand(a, b, name);
    return binary(op, x, y);
  }
  CORTEN_CHECK_TYPE(accepts(acc, kernel_dtype(a)), name, ": expected ", accepts_str(acc), "; got ",
                    dtype_name(a.dtype()));
  if (op == BinaryOp::Divide && is_integral(a.dtype())) {
    // TensorFlow's truediv: integers divide in float64.
    Tensor out = binary(op, cast(a, DType::Float64), cast(b, DType::Float64));
    rec.record(
        name, {a, b}, {out},
        [](const trace::Tensors& in, const auto& op) { return binary(op, in[0], in[1]); }, op);
    return out;
  }
  // Same shapes (the common case) need neither a broadcast shape nor broadcast strides.
  const bool same = a.shape() == b.shape();
  const Shape broadcast = same ? Shape() : broadcast_shapes(a.shape(), b.shape(), name);
  const Shape& shape = same ? a.shape() : broadcast;
  const DType out_dtype = op_info(op).returns_bool ? DType::Bool : a.dtype();
  Tensor out = Tensor::empty(shape, out_dtype, detail::result_device(a, b), name);
  if (out.is_meta()) return out;
  if (same) {
    kernels::binary(out.device())(op, a.dtype(), shape, a.raw_data(), a.strides(), b.raw_data(), b.strides(),
                out.raw_data());
  } else {
    kernels::binary(out.device())(op, a.dtype(), shape, a.raw_data(),
                broadcast_strides(a.shape(), a.strides(), shape), b.raw_data(),
                broadcast_strides(b.shape(), b.strides(), shape), out.raw_data());
  }
  if (autograd::is_recording()) autograd::record_binary(op, a, b, out);
  rec.record_pointwise(name, {a, b}, {out}, trace::Pointwise::of(op), BinaryReplay{}, op);
  return out;
}

Tensor where(const Tensor& cond, const Tensor& x, const Tensor& y) {
  trace::OpRecord rec;
  check_defined(cond, "where", "condition");
  check_defined(x, "where", "x");
  check_defined(y, "where", "y");
  CORTEN_CHECK_TYPE(cond.dtype() == DType::Bool, "where: condition must be bool; got ",
                    dtype_name(cond.dtype()));
  detail::check_same_dtype(x, y, "where");
  detail::check_same_device(x, y, "where");
  detail::check_same_device(cond, x, "where");
  const Shape shape =
      broadcast_shapes(broadcast_shapes(cond.shape(), x.shape(), "where"), y.shape(), "where");
  const Device device =
      detail::result_device(cond, x) == Device::Meta ? Device::Meta : detail::result_device(x, y);
  Tensor out = Tensor::empty(shape, x.dtype(), device, "where");
  if (out.is_meta()) return out;
  kernels::where(out.device())(x.dtype(), shape, cond.data<bool>(),
             broadcast_strides(cond.shape(), cond.strides(), shape), x.raw_data(),
             broadcast_strides(x.shape(), x.strides(), shape), y.raw_data(),
             broadcast_strides(y.shape(), y.strides(), shape), out.raw_data());
  if (autograd::is_recording()) autograd::record_where(cond, x, y, out);
  rec.record("where", {cond, x, y}, {out}, WhereReplay{});
  return out;
}

Tensor clip_by_value(const Tensor& x, const Tensor& lo, const Tensor& hi) {
  check_defined(x, "clip_by_value", "t");
  detail::check_same_dtype(x, lo, "clip_by_value");
  detail::check_same_dtype(x, hi, "clip_by_value");
  const Shape shape = broadcast_shapes(
      broadcast_shapes(x.shape(), lo.shape(), "clip_by_value"), hi.shape(), "clip_by_value");
  CORTEN_CHECK_VALUE(shape == x.shape(), "clip_by_value: clip bounds of shapes ",
                     show(lo.shape()), " and ", show(hi.shape()),
                     " would change the shape of t ", show(x.shape()), " to ", show(shape));
  return minimum(maximum(x, lo), hi);
}

Tensor cast(const Tensor& x, DType dtype) {
  trace::OpRecord rec;
  check_defined(x, "cast");
  if (x.dtype() == dtype) return x;
  CORTEN_CHECK_TYPE(x.dtype() != DType::String && dtype != DType::String, "cast: cannot cast ",
                    dtype_name(x.dtype()), " to ", dtype_name(dtype), " (shape ", show(x.shape()),
                    "); use corten.strings.",
                    x.dtype() == DType::String ? "to_number" : "as_string");
  Tensor out = Tensor::empty(x.shape(), dtype, x.device(), "cast");
  if (x.is_meta()) return out;
  kernels::cast(out.device())(x.dtype(), dtype, x.shape(), x.raw_data(), x.strides(), out.raw_data(), out.strides());
  if (autograd::is_recording()) autograd::record_cast(x, out);
  rec.record("cast", {x}, {out}, CastReplay{}, dtype);
  return out;
}

void copy_(const Tensor& dst, const Tensor& src) {
  trace::OpRecord rec;
  check_defined(dst, "assign", "dst");
  check_defined(src, "assign", "src");
  detail::check_same_device(dst, src, "assign");
  CORTEN_CHECK_VALUE(dst.shape() == src.shape(), "assign: shape mismatch; the destination has shape ",
                     show(dst.shape()), " and the value has shape ", show(src.shape()));
  if (dst.is_meta() || src.is_meta()) return;
  trace::will_write({dst});
  if (dst.dtype() == DType::String || src.dtype() == DType::String) {
    CORTEN_CHECK_TYPE(dst.dtype() == src.dtype(), "assign: cannot assign a ",
                      dtype_name(src.dtype()), " value to a ", dtype_name(dst.dtype()),
                      " variable");
    kernels::copy(dst.device())(itemsize(src.dtype()), src.shape(), src.raw_data(), src.strides(),
                                dst.raw_data(), dst.strides());
    share_string_bytes(dst, src);
  } else {
    kernels::cast(dst.device())(src.dtype(), dst.dtype(), src.shape(), src.raw_data(),
                                src.strides(), dst.raw_data(), dst.strides());
  }
  rec.record_effect(trace::Effect::Writes, "assign", {dst, src}, {},
                    [](const trace::Tensors& in) { copy_(in[0], in[1]); });
}

}  // namespace corten
