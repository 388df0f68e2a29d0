#include <corten/devices.h>
#include <corten/ops.h>
#include <corten/strings.h>
#include <corten/trace.h>
#include <corten/trace_registry.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "autograd/grad_rules.h"
#include "ops/common.h"
#include "ops/kernels.h"

namespace corten {
namespace {

// The value `v` converted to an integer dtype by truncation, as TensorFlow's cast does.
int64_t to_integer(double v, DType dtype, const char* what) {
  const double lo = dtype == DType::Int32 ? static_cast<double>(std::numeric_limits<int32_t>::min())
                                          : -9223372036854775808.0;
  const double hi = dtype == DType::Int32 ? static_cast<double>(std::numeric_limits<int32_t>::max())
                                          : 9223372036854775807.0;
  const double t = std::trunc(v);
  CORTEN_CHECK_VALUE(t >= lo && (dtype == DType::Int32 ? t <= hi : t < hi), "range: ", what, "=",
                     v, " does not fit in ", dtype_name(dtype));
  return static_cast<int64_t>(t);
}

struct FullReplay {
  static constexpr trace::InputCount kInputs{0};
  Tensor operator()(const trace::Tensors&, const Shape& shape, double value, DType dtype,
                    const std::string& op) const {
    return full(shape, value, dtype, op.c_str());
  }
};
struct FullLikeReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in, double value, DType dtype) const {
    return full_like(in[0], value, dtype);
  }
};
struct FillReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in, const Shape& shape) const {
    return fill(shape, in[0]);
  }
};
struct RangeReplay {
  static constexpr trace::InputCount kInputs{0};
  Tensor operator()(const trace::Tensors&, double start, double limit, double delta,
                    DType dtype) const {
    return range(start, limit, delta, dtype);
  }
};
struct EyeReplay {
  static constexpr trace::InputCount kInputs{0};
  Tensor operator()(const trace::Tensors&, int64_t num_rows, int64_t num_columns,
                    const Shape& batch_shape, DType dtype) const {
    return eye(num_rows, num_columns, batch_shape, dtype);
  }
};
struct OneHotReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in, int64_t depth, double on_value, double off_value,
                    int64_t axis, DType dtype) const {
    return one_hot(in[0], depth, on_value, off_value, axis, dtype);
  }
};
struct CloneReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in) const { return clone(in[0]); }
};
// "rank" is rank_of's constant (a full of the traced rank).
const trace::ReplayRegistration<FullReplay, Shape, double, DType, std::string> kFullReplay(
    std::vector<const char*>{"full", "zeros", "ones", "rank"});
const trace::ReplayRegistration<FullLikeReplay, double, DType> kFullLikeReplay("full_like");
const trace::ReplayRegistration<FillReplay, Shape> kFillReplay("fill");
const trace::ReplayRegistration<RangeReplay, double, double, double, DType> kRangeReplay("range");
const trace::ReplayRegistration<EyeReplay, int64_t, int64_t, Shape, DType> kEyeReplay("eye");
const trace::ReplayRegistration<OneHotReplay, int64_t, double, double, int64_t, DType>
    kOneHotReplay("one_hot");
const trace::ReplayRegistration<CloneReplay> kCloneReplay("clone");

}  // namespace

Tensor full(const Shape& shape, double value, DType dtype, const char* op) {
  trace::OpRecord rec;
  for (int64_t d : shape) {
    // Checked here so that -1 is reported as -1 (shape_str would print it as None).
    if (d < 0) {
      std::ostringstream os;
      for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
      throw ValueError(detail::str_cat(op, ": dimensions must be >= 0; got shape (", os.str(),
                                       shape.size() == 1 ? ",)" : ")"));
    }
  }
  Tensor out = Tensor::empty(shape, dtype, Device::CPU, op);
  // A 0-d float64 source broadcast over the output: one conversion path for every dtype.
  double v = value;
  const Shape zero_strides(shape.size(), 0);
  kernels::cast(out.device())(DType::Float64, dtype, shape, &v, zero_strides, out.raw_data(), out.strides());
  rec.record(op, {}, {out}, FullReplay{}, shape, value, dtype, std::string(op));
  return out;
}

Tensor full_like(const Tensor& x, double value, DType dtype) {
  trace::OpRecord rec;
  detail::check_defined(x, "full_like", "x");
  if (x.is_meta()) return Tensor::empty(x.shape(), dtype, Device::Meta, "full_like");
  Tensor out;
  {
    const autograd::PauseRecording steps;  // a constant: no gradient reaches x
    out = full(x.shape(), value, dtype, "full_like");
    if (x.device() != Device::CPU) out = copy_to_device(out, device_of(x), "full_like");
  }
  rec.record("full_like", {x}, {out}, FullLikeReplay{}, value, dtype);
  return out;
}

Tensor zeros(const Shape& shape, DType dtype) { return full(shape, 0.0, dtype, "zeros"); }
Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype, "ones"); }

Tensor fill(const Shape& shape, const Tensor& value) {
  trace::OpRecord rec;
  detail::check_defined(value, "fill", "value");
  CORTEN_CHECK_VALUE(value.ndim() == 0, "fill: value must be a scalar (0-d tensor); got shape ",
                     show(value.shape()));
  if (value.is_meta()) return Tensor::empty(shape, value.dtype(), Device::Meta, "fill");
  Tensor out = Tensor::empty(shape, value.dtype(), Device::CPU, "fill");
  // Made on the host like every creation op; the bindings place it (Note [Device placement]).
  const Tensor host_value = readable_on_host(value, "fill");
  kernels::copy(out.device())(itemsize(value.dtype()), shape, host_value.raw_data(),
                              Shape(shape.size(), 0), out.raw_data(), out.strides());
  share_string_bytes(out, value);
  if (autograd::is_recording()) autograd::record_fill(value, out);
  rec.record("fill", {value}, {out}, FillReplay{}, shape);
  return out;
}

Tensor range(double start, double limit, double delta, DType dtype) {
  trace::OpRecord rec;
  // The node replays the call as made (the code below rounds start and delta).
  const double start0 = start, limit0 = limit, delta0 = delta;
  const RangeReplay replay;
  CORTEN_CHECK_TYPE(dtype != DType::Bool,
                    "range: dtype bool is not supported; expected int32, int64, float32 or "
                    "float64");
  CORTEN_CHECK_VALUE(std::isfinite(start) && std::isfinite(limit) && std::isfinite(delta),
                     "range: start, limit and delta must be finite; got start=", start,
                     ", limit=", limit, ", delta=", delta);
  int64_t n = 0;
  if (is_integral(dtype)) {
    const int64_t s = to_integer(start, dtype, "start");
    const int64_t l = to_integer(limit, dtype, "limit");
    const int64_t d = to_integer(delta, dtype, "delta");
    CORTEN_CHECK_VALUE(d != 0, "range: delta must not be 0; got delta=", delta);
    const __int128 span = static_cast<__int128>(l) - s;
    if ((d > 0 && span > 0) || (d < 0 && span < 0)) {
      const __int128 ad = d > 0 ? d : -static_cast<__int128>(d);
      const __int128 as = span > 0 ? span : -span;
      const __int128 count = (as + ad - 1) / ad;
      CORTEN_CHECK_VALUE(count < (static_cast<__int128>(1) << 62), "range: start=", s,
                         ", limit=", l, ", delta=", d, " give too many elements");
      n = static_cast<int64_t>(count);
    }
    start = static_cast<double>(s);
    delta = static_cast<double>(d);
    Tensor out = Tensor::empty({n}, dtype, Device::CPU, "range");
    kernels::range(out.device())(dtype, n, start, delta, out.raw_data());
    rec.record("range", {}, {out}, replay, start0, limit0, delta0, dtype);
    return out;
  }
  if (dtype == DType::Float32) {
    start = static_cast<float>(start);
    limit = static_cast<float>(limit);
    delta = static_cast<float>(delta);
  }
  CORTEN_CHECK_VALUE(delta != 0, "range: delta must not be 0; got delta=", delta);
  const double count = std::ceil((limit - start) / delta);
  CORTEN_CHECK_VALUE(count < 9.0e18, "range: start=", start, ", limit=", limit, ", delta=", delta,
                     " give too many elements (", count, ")");
  n = count > 0 ? static_cast<int64_t>(count) : 0;
  Tensor out = Tensor::empty({n}, dtype, Device::CPU, "range");
  kernels::range(out.device())(dtype, n, start, delta, out.raw_data());
  rec.record("range", {}, {out}, replay, start0, limit0, delta0, dtype);
  return out;
}

Tensor eye(int64_t num_rows, int64_t num_columns, const Shape& batch_shape, DType dtype) {
  trace::OpRecord rec;
  CORTEN_CHECK_VALUE(num_rows >= 0, "eye: num_rows must be >= 0; got ", num_rows);
  CORTEN_CHECK_VALUE(num_columns >= 0, "eye: num_columns must be >= 0; got ", num_columns);
  for (int64_t d : batch_shape) {
    CORTEN_CHECK_VALUE(d >= 0, "eye: batch_shape must contain sizes >= 0; got ", show(batch_shape));
  }
  Shape shape = batch_shape;
  shape.push_back(num_rows);
  shape.push_back(num_columns);
  Tensor out = Tensor::empty(shape, dtype, Device::CPU, "eye");
  kernels::eye(out.device())(dtype, shape_numel(batch_shape), num_rows, num_columns, out.raw_data());
  rec.record("eye", {}, {out}, EyeReplay{}, num_rows, num_columns, batch_shape, dtype);
  return out;
}

Tensor one_hot(const Tensor& indices, int64_t depth, double on_value, double off_value,
               int64_t axis, DType dtype) {
  trace::OpRecord rec;
  detail::check_defined(indices, "one_hot", "indices");
  CORTEN_CHECK_TYPE(is_integral(indices.dtype()), "one_hot: indices must be int32 or int64; got ",
                    dtype_name(indices.dtype()));
  CORTEN_CHECK_VALUE(depth >= 0, "one_hot: depth must be >= 0; got ", depth);
  const int64_t rank = indices.ndim();
  CORTEN_CHECK_VALUE(axis == -1 || (axis >= 0 && axis <= rank), "one_hot: axis must be -1 or in [0, ",
                     rank, "] for indices of shape ", show(indices.shape()), "; got ", axis);
  const int64_t a = axis == -1 ? rank : axis;
  Shape shape = indices.shape();
  shape.insert(shape.begin() + a, depth);
  if (indices.is_meta()) return Tensor::empty(shape, dtype, Device::Meta, "one_hot");
  Tensor out = Tensor::empty(shape, dtype, Device::CPU, "one_hot");
  const Tensor idx = indices.contiguous();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d) (d < a ? outer : inner) *= indices.dim(d);
  kernels::one_hot(out.device())(indices.dtype(), dtype, idx.raw_data(), outer, depth, inner, on_value, off_value,
               out.raw_data());
  rec.record("one_hot", {indices}, {out}, OneHotReplay{}, depth, on_value, off_value, axis, dtype);
  return out;
}

Tensor clone(const Tensor& x) {
  trace::OpRecord rec;
  detail::check_defined(x, "clone");
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device(), "clone");
  if (x.is_meta()) return out;
  if (x.dtype() == DType::String) {
    kernels::copy(out.device())(itemsize(x.dtype()), x.shape(), x.raw_data(), x.strides(),
                                out.raw_data(), out.strides());
    share_string_bytes(out, x);
  } else {
    kernels::cast(out.device())(x.dtype(), x.dtype(), x.shape(), x.raw_data(), x.strides(),
                                out.raw_data(), out.strides());
  }
  rec.record("clone", {x}, {out}, CloneReplay{});
  return out;
}

}  // namespace corten
