#include <corten/ops.h>
#include <corten/trace.h>
#include <corten/trace_registry.h>

#include <cmath>

#include "autograd/grad_rules.h"
#include "ops/common.h"
#include "ops/kernels.h"

namespace corten {
namespace {

Tensor softmax_op(bool log, const Tensor& x, int64_t axis);

struct SoftmaxReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in, bool log, int64_t axis) const {
    return softmax_op(log, in[0], axis);
  }
};
const trace::ReplayRegistration<SoftmaxReplay, bool, int64_t> kSoftmaxReplay(
    std::vector<const char*>{"softmax", "log_softmax"});

Tensor softmax_op(bool log, const Tensor& x, int64_t axis) {
  const char* name = log ? "log_softmax" : "softmax";
  detail::check_defined(x, name, "logits");
  if (is_half_precision(x.dtype())) {  // Note [Half-precision compute]
    return detail::narrow_half(softmax_op(log, detail::widen_half(x), axis), x.dtype());
  }
  trace::OpRecord rec;
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
  rec.record(name, {x}, {out}, SoftmaxReplay{}, log, axis);
  return out;
}

Tensor softmax_grad_op(bool log, const Tensor& y, const Tensor& g, int64_t axis) {
  trace::OpRecord rec;
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
  rec.record(
      name, {y, g}, {out},
      [](const trace::Tensors& in, const auto& log, const auto& axis) {
        return softmax_grad_op(log, in[0], in[1], axis);
      },
      log, axis);
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

namespace {

void check_norm_param(const Tensor& p, const Tensor& x, const char* what) {
  if (!p.defined()) return;
  detail::check_same_dtype(p, x, "layer_norm");
  CORTEN_CHECK_VALUE(p.ndim() == 1 && p.dim(0) == x.dim(x.ndim() - 1), "layer_norm: ", what,
                     " must have shape (", x.dim(x.ndim() - 1), ",) for x of shape ",
                     show(x.shape()), "; got ", what, ".shape=", show(p.shape()));
}

}  // namespace

namespace {

// What a layer_norm call makes: the output and what its gradient reads (x made contiguous,
// the float64 row statistics). No autograd.
struct LayerNormParts {
  Tensor out, xc, mean, rstd;
  trace::Tensors all() const { return {out, xc, mean, rstd}; }
};

LayerNormParts layer_norm_parts(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                double epsilon) {
  detail::check_defined(x, "layer_norm", "x");
  CORTEN_CHECK_TYPE(is_floating(x.dtype()), "layer_norm: expected a floating dtype (float32, "
                    "float64); got ", dtype_name(x.dtype()));
  CORTEN_CHECK_VALUE(x.ndim() >= 1, "layer_norm: x must have rank >= 1; got a scalar");
  CORTEN_CHECK_VALUE(epsilon >= 0 && std::isfinite(epsilon),
                     "layer_norm: epsilon must be a finite number >= 0; got ", epsilon);
  check_norm_param(gamma, x, "gamma");
  check_norm_param(beta, x, "beta");
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device(), "layer_norm");
  if (x.is_meta() || (gamma.defined() && gamma.is_meta()) || (beta.defined() && beta.is_meta())) {
    return {x.is_meta() ? out : Tensor::empty(x.shape(), x.dtype(), Device::Meta, "layer_norm"),
            {},
            {},
            {}};
  }
  const int64_t cols = x.dim(x.ndim() - 1);
  const int64_t rows = cols ? x.numel() / cols : 0;
  const Tensor xc = x.contiguous();
  const Tensor g = gamma.defined() ? gamma.contiguous() : gamma;
  const Tensor b = beta.defined() ? beta.contiguous() : beta;
  Tensor mean = Tensor::empty({rows}, DType::Float64, x.device(), "layer_norm");
  Tensor rstd = Tensor::empty({rows}, DType::Float64, x.device(), "layer_norm");
  kernels::layer_norm(out.device())(x.dtype(), rows, cols, xc.raw_data(),
                                    g.defined() ? g.raw_data() : nullptr,
                                    b.defined() ? b.raw_data() : nullptr, epsilon,
                                    out.raw_data(), mean.data<double>(), rstd.data<double>());
  return {out, xc, mean, rstd};
}

struct LayerNormReplay {
  static constexpr trace::InputCount kInputs{3};
  trace::Tensors operator()(const trace::Tensors& in, double epsilon) const {
    return layer_norm_parts(in[0], in[1], in[2], epsilon).all();
  }
};
const trace::ReplayRegistration<LayerNormReplay, double> kLayerNormReplay("layer_norm");

}  // namespace

Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon) {
  trace::OpRecord rec;
  const LayerNormParts p = layer_norm_parts(x, gamma, beta, epsilon);
  if (p.out.is_meta()) return p.out;
  if (autograd::is_recording()) {
    autograd::record_layer_norm(x, p.xc, gamma, beta, p.mean, p.rstd, p.out);
  }
  // The statistics are outputs of the node, so that the backward nodes read this replay's.
  rec.record("layer_norm", {x, gamma, beta}, p.all(), LayerNormReplay{}, epsilon);
  return p.out;
}

std::vector<Tensor> layer_norm_backward(const Tensor& x, const Tensor& gamma,
                                        const Tensor& mean, const Tensor& rstd,
                                        const Tensor& dy, bool need_dx, bool need_dgamma,
                                        bool need_dbeta) {
  trace::OpRecord rec;
  const char* name = "layer_norm_grad";
  detail::check_defined(x, name, "x");
  detail::check_defined(dy, name, "dy");
  detail::check_same_dtype(x, dy, name);
  CORTEN_CHECK_VALUE(x.shape() == dy.shape(), name, ": x and dy must have the same shape; got ",
                     "x.shape=", show(x.shape()), ", dy.shape=", show(dy.shape()));
  check_norm_param(gamma, x, "gamma");
  const int64_t cols = x.dim(x.ndim() - 1);
  const int64_t rows = cols ? x.numel() / cols : 0;
  CORTEN_CHECK_VALUE(mean.dtype() == DType::Float64 && rstd.dtype() == DType::Float64 &&
                         mean.numel() == rows && rstd.numel() == rows,
                     name, ": mean and rstd must be float64 of ", rows, " values");
  std::vector<Tensor> out(3);
  if (need_dx) out[0] = Tensor::empty(x.shape(), x.dtype(), x.device(), name);
  if (need_dgamma && gamma.defined()) out[1] = Tensor::empty({cols}, x.dtype(), x.device(), name);
  if (need_dbeta) out[2] = Tensor::empty({cols}, x.dtype(), x.device(), name);
  if (x.is_meta()) return out;
  const Tensor xc = x.contiguous(), gc = dy.contiguous();
  const Tensor g = gamma.defined() ? gamma.contiguous() : gamma;
  const Tensor mc = mean.contiguous(), rc = rstd.contiguous();
  auto ptr = [](const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; };
  kernels::layer_norm_backward(x.device())(x.dtype(), rows, cols, xc.raw_data(), ptr(g),
                                           mc.data<double>(), rc.data<double>(), gc.raw_data(),
                                           ptr(out[0]), ptr(out[1]), ptr(out[2]));
  rec.record(
      "layer_norm_backward", {x, gamma, mean, rstd, dy}, out,
      [](const trace::Tensors& in, const auto& need_dx, const auto& need_dgamma,
         const auto& need_dbeta) {
        return layer_norm_backward(in[0], in[1], in[2], in[3], in[4], need_dx, need_dgamma,
                                   need_dbeta);
      },
      need_dx, need_dgamma, need_dbeta);
  return out;
}

}  // namespace corten
