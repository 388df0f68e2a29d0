#include <corten/ops.h>
#include <corten/trace.h>
#include <corten/trace_registry.h>

#include <vector>

#include "autograd/grad_rules.h"
#include "ops/common.h"
#include "ops/kernels.h"

namespace corten {

namespace {
struct MatmulReplay {
  static constexpr trace::InputCount kInputs{2};
  Tensor operator()(const trace::Tensors& in, bool transpose_a, bool transpose_b) const {
    return matmul(in[0], in[1], transpose_a, transpose_b);
  }
};
const trace::ReplayRegistration<MatmulReplay, bool, bool> kMatmulReplay("matmul");
}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  detail::check_defined(a, "matmul", "a");
  detail::check_defined(b, "matmul", "b");
  detail::check_same_dtype(a, b, "matmul");
  detail::check_same_device(a, b, "matmul");
  if (is_half_precision(a.dtype()) && !detail::bfloat16_gemm(a)) {  // Note [Half-precision compute]
    return detail::narrow_half(
        matmul(detail::widen_half(a), detail::widen_half(b), transpose_a, transpose_b), a.dtype());
  }
  trace::OpRecord rec;
  CORTEN_CHECK_TYPE(a.dtype() != DType::Bool, "matmul: bool tensors are not supported");
  CORTEN_CHECK_VALUE(a.ndim() >= 2 && b.ndim() >= 2,
                     "matmul: both operands must have rank >= 2; got a.shape=", show(a.shape()),
                     ", b.shape=", show(b.shape()));
  const int64_t ra = a.ndim(), rb = b.ndim();
  // Logical (m, k) and (k, n) geometry after the optional transposes.
  const int64_t m = transpose_a ? a.dim(ra - 1) : a.dim(ra - 2);
  const int64_t ka = transpose_a ? a.dim(ra - 2) : a.dim(ra - 1);
  const int64_t kb = transpose_b ? b.dim(rb - 1) : b.dim(rb - 2);
  const int64_t n = transpose_b ? b.dim(rb - 2) : b.dim(rb - 1);
  CORTEN_CHECK_VALUE(ka == kb || ka == kUnknownDim || kb == kUnknownDim,
                     "matmul: the inner dimensions differ (", ka, " vs ", kb, "); got a.shape=",
                     show(a.shape()), ", b.shape=", show(b.shape()),
                     transpose_a ? " with transpose_a" : "", transpose_b ? " with transpose_b" : "");
  const int64_t k = ka;
  const int64_t a_rs = transpose_a ? a.strides()[ra - 1] : a.strides()[ra - 2];
  const int64_t a_cs = transpose_a ? a.strides()[ra - 2] : a.strides()[ra - 1];
  const int64_t b_rs = transpose_b ? b.strides()[rb - 1] : b.strides()[rb - 2];
  const int64_t b_cs = transpose_b ? b.strides()[rb - 2] : b.strides()[rb - 1];
  // Two matrices (the common case, where small products pay for every allocation) skip the
  // batch broadcasting.
  const bool batched = ra > 2 || rb > 2;
  Shape a_batch, b_batch, batch_shape;
  if (batched) {
    a_batch.assign(a.shape().begin(), a.shape().end() - 2);
    b_batch.assign(b.shape().begin(), b.shape().end() - 2);
    batch_shape = broadcast_shapes(a_batch, b_batch, "matmul");
  }
  Shape out_shape;
  out_shape.reserve(batch_shape.size() + 2);
  out_shape = batch_shape;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor out = Tensor::empty(out_shape, a.dtype(), detail::result_device(a, b), "matmul");
  if (out.is_meta()) return out;

  // Element offsets of each broadcast batch's matrix.
  const int64_t batch = shape_numel(batch_shape);
  std::vector<int64_t> a_off(static_cast<size_t>(batch), 0), b_off(static_cast<size_t>(batch), 0);
  if (batched) {
    const Shape as = broadcast_strides(
        a_batch, Shape(a.strides().begin(), a.strides().end() - 2), batch_shape);
    const Shape bs = broadcast_strides(
        b_batch, Shape(b.strides().begin(), b.strides().end() - 2), batch_shape);
    Shape idx(batch_shape.size(), 0);
    for (int64_t i = 0; i < batch; ++i) {
      int64_t oa = 0, ob = 0;
      for (size_t d = 0; d < idx.size(); ++d) {
        oa += idx[d] * as[d];
        ob += idx[d] * bs[d];
      }
      a_off[i] = oa;
      b_off[i] = ob;
      for (size_t d = idx.size(); d-- > 0;) {
        if (++idx[d] < batch_shape[d]) break;
        idx[d] = 0;
      }
    }
  }
  // Transposed and strided operands reach the kernel as strides; the GEMM packing reads them
  // in place (no materialised transposes).
  if (out.numel() != 0) {
    kernels::matmul(out.device())(a.dtype(), batch, m, n, k, a.raw_data(), a_off.data(), a_rs, a_cs, b.raw_data(),
                b_off.data(), b_rs, b_cs, out.raw_data());
  }
  if (autograd::is_recording()) autograd::record_matmul(a, b, transpose_a, transpose_b, out);
  rec.record("matmul", {a, b}, {out}, MatmulReplay{}, transpose_a, transpose_b);
  return out;
}

const char* activation_name(Activation act) {
#define CORTEN_ACTIVATION_NAME_(Name, py) py,
  static const char* const names[] = {CORTEN_LINEAR_ACTIVATIONS(CORTEN_ACTIVATION_NAME_)};
#undef CORTEN_ACTIVATION_NAME_
  return names[static_cast<int>(act)];
}

Activation activation_from_name(const std::string& name) {
  if (name == "identity") return Activation::Identity;
  std::string accepted;
  for (int i = 0; i < static_cast<int>(Activation::kCount); ++i) {
    const auto act = static_cast<Activation>(i);
    if (name == activation_name(act)) return act;
    accepted += std::string(i ? ", '" : "'") + activation_name(act) + "'";
  }
  throw ValueError("linear: activation must be one of " + accepted + "; got '" + name + "'");
}

namespace {

struct LinearReplay {
  static constexpr trace::InputCount kInputs{2, 3};
  Tensor operator()(const trace::Tensors& in, Activation act) const {
    return linear(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), act);
  }
};
const trace::ReplayRegistration<LinearReplay, Activation> kLinearReplay("linear");

void record_linear_node(trace::OpRecord& rec, const Tensor& x, const Tensor& w, const Tensor& bias,
                        Activation act, const Tensor& out) {
  if (!rec.active()) return;
  if (bias.defined()) {
    rec.record("linear", {x, w, bias}, {out}, LinearReplay{}, act);
  } else {
    rec.record("linear", {x, w}, {out}, LinearReplay{}, act);
  }
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias, Activation act) {
  detail::check_defined(x, "linear", "x");
  detail::check_defined(w, "linear", "w");
  detail::check_same_dtype(x, w, "linear");
  detail::check_same_device(x, w, "linear");
  if (bias.defined() && detail::any_half({&x, &w, &bias}))
    detail::check_same_dtype(x, bias, "linear");
  if (detail::any_half({&x, &w, &bias}) && !detail::bfloat16_gemm(x)) {
    // Note [Half-precision compute]
    return detail::narrow_half(
        linear(detail::widen_half(x), detail::widen_half(w), detail::widen_half(bias), act),
        x.dtype());
  }
  trace::OpRecord rec;
  CORTEN_CHECK_TYPE(is_floating(x.dtype()) || x.dtype() == DType::BFloat16,
                    "linear: expected float32, float64 or bfloat16 operands; got ",
                    dtype_name(x.dtype()));
  CORTEN_CHECK_VALUE(x.ndim() >= 1 && w.ndim() == 2,
                     "linear: expected x of rank >= 1 and w of rank 2; got x.shape=",
                     show(x.shape()), ", w.shape=", show(w.shape()));
  const int64_t k = x.dim(x.ndim() - 1), kw = w.dim(0), n = w.dim(1);
  CORTEN_CHECK_VALUE(k == kw || k == kUnknownDim || kw == kUnknownDim,
                     "linear: x.shape[-1] must equal w.shape[0] (", k, " vs ", kw,
                     "); got x.shape=", show(x.shape()), ", w.shape=", show(w.shape()));
  if (bias.defined()) {
    detail::check_same_dtype(x, bias, "linear");
    detail::check_same_device(x, bias, "linear");
    CORTEN_CHECK_VALUE(bias.ndim() == 1 && (bias.dim(0) == n || bias.dim(0) == kUnknownDim ||
                                            n == kUnknownDim),
                       "linear: bias must have shape (", n, ",) to match w.shape=",
                       show(w.shape()), "; got bias.shape=", show(bias.shape()));
  }
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  out_shape.push_back(n);
  const bool meta = x.is_meta() || w.is_meta() || (bias.defined() && bias.is_meta());
  Tensor out = Tensor::empty(out_shape, x.dtype(), meta ? Device::Meta : x.device(), "linear");
  if (meta) return out;
  if (out.numel() == 0) {
    if (autograd::is_recording()) autograd::record_linear(x, w, bias, act, out);
    record_linear_node(rec, x, w, bias, act, out);
    return out;
  }

  // x as an (m, k) matrix: its leading axes (size-1 axes aside) must collapse into one row
  // stride, else it is copied.
  const int64_t r = x.ndim();
  int64_t x_rs = k, prev = -1;
  bool collapses = true;
  for (int64_t d = 0; d < r - 1; ++d) {
    if (x.dim(d) == 1) continue;
    if (prev >= 0 && x.strides()[prev] != x.strides()[d] * x.dim(d)) collapses = false;
    prev = d;
  }
  // References where no copy is made: every Tensor copy is an atomic reference count.
  Tensor x_copy, b_copy;
  if (!collapses) x_copy = x.contiguous();
  const Tensor& xm = collapses ? x : x_copy;
  if (prev >= 0) x_rs = xm.strides()[prev];
  const int64_t m = out.numel() / n;
  const int64_t x_cs = xm.strides()[r - 1];
  if (bias.defined() && !bias.is_contiguous()) b_copy = bias.contiguous();
  const Tensor& b = b_copy.defined() ? b_copy : bias;
  const int64_t zero = 0;
  kernels::matmul_bias_act(out.device())(x.dtype(), 1, m, n, k, xm.raw_data(), &zero, x_rs, x_cs, w.raw_data(),
                       &zero, w.strides()[0], w.strides()[1], out.raw_data(),
                       b.defined() ? b.raw_data() : nullptr, act);
  if (autograd::is_recording()) autograd::record_linear(x, w, bias, act, out);
  record_linear_node(rec, x, w, bias, act, out);
  return out;
}

}  // namespace corten
