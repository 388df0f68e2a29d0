// The batch_norm op: argument checks, output allocation, dispatch and autograd recording. The
// kernels are in cpu/norm_kernels.inc (Note [Batch norm variance] in cpu/batch_norm.cpp).

#include <corten/ops.h>
#include <corten/trace.h>
#include <corten/trace_registry.h>

#include <cmath>

#include "autograd/grad_rules.h"
#include "ops/common.h"
#include "ops/kernels.h"

namespace corten {
namespace {

cpu::NormShape norm_shape(const Tensor& x, int64_t axis) {
  cpu::NormShape s;
  s.outer = 1;
  s.inner = 1;
  for (int64_t d = 0; d < axis; ++d) s.outer *= x.dim(d);
  s.channels = x.dim(axis);
  for (int64_t d = axis + 1; d < x.ndim(); ++d) s.inner *= x.dim(d);
  return s;
}

// gamma, beta and the moving statistics: C values (any shape: Keras's multi-axis layers keep
// them in the input's rank), x's dtype and device.
void check_channel_param(const Tensor& p, const Tensor& x, int64_t axis, const char* op,
                         const char* what) {
  if (!p.defined()) return;
  detail::check_same_dtype(p, x, op);
  detail::check_same_device(p, x, op);
  CORTEN_CHECK_VALUE(p.numel() == x.dim(axis), op, ": ", what, " must have ", x.dim(axis),
                     " values (x.shape[", axis, "] for x of shape ", show(x.shape()), "); got ",
                     what, ".shape=", show(p.shape()));
}

void* data_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

// A mask weighs the rows of channels-last x (Keras's masked moments): x.shape without its last
// axis, x's dtype.
void check_mask(const Tensor& mask, const Tensor& x, int64_t axis, const char* op) {
  if (!mask.defined()) return;
  detail::check_same_dtype(mask, x, op);
  detail::check_same_device(mask, x, op);
  Shape want(x.shape().begin(), x.shape().end() - 1);
  CORTEN_CHECK_VALUE(axis == x.ndim() - 1 && mask.shape() == want, op, ": a mask needs the "
                     "channel axis last and the shape of x without it; got x.shape=",
                     show(x.shape()), ", axis=", axis, ", mask.shape=", show(mask.shape()));
}

}  // namespace

namespace {

// What a batch_norm call makes: the output and what its gradient reads (the float64 batch
// statistics, x made contiguous, the mask where it applies). No autograd.
struct BatchNormParts {
  Tensor out, mean, invstd, xc, mask;
  trace::Tensors all() const { return {out, mean, invstd, xc, mask}; }
};

BatchNormParts batch_norm_parts(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                const Tensor& moving_mean, const Tensor& moving_variance,
                                int64_t axis, bool training, double momentum, double epsilon,
                                bool bessel, const Tensor& mask) {
  const char* op = "batch_norm";
  detail::check_defined(x, op, "x");
  CORTEN_CHECK_TYPE(is_floating(x.dtype()), op, ": expected a floating dtype (float32, "
                    "float64); got ", dtype_name(x.dtype()));
  CORTEN_CHECK_VALUE(x.ndim() >= 1, op, ": x must have rank >= 1; got a scalar");
  const int64_t a = normalize_axis(axis, x.ndim(), op);
  CORTEN_CHECK_VALUE(epsilon >= 0 && std::isfinite(epsilon), op,
                     ": epsilon must be a finite number >= 0; got ", epsilon);
  CORTEN_CHECK_VALUE(std::isfinite(momentum), op, ": momentum must be finite; got ", momentum);
  check_channel_param(gamma, x, a, op, "gamma");
  check_channel_param(beta, x, a, op, "beta");
  check_channel_param(moving_mean, x, a, op, "moving_mean");
  check_channel_param(moving_variance, x, a, op, "moving_variance");
  CORTEN_CHECK_VALUE(moving_mean.defined() == moving_variance.defined(), op,
                     ": moving_mean and moving_variance must be given together");
  CORTEN_CHECK_VALUE(training || moving_mean.defined(), op,
                     ": inference (training=false) needs moving_mean and moving_variance");
  for (const Tensor* t : {&moving_mean, &moving_variance}) {
    CORTEN_CHECK_VALUE(!t->defined() || t->is_meta() || t->is_contiguous(), op,
                       ": the moving statistics are updated in place and must be contiguous");
  }
  check_mask(mask, x, a, op);
  const bool meta = x.is_meta() || (mask.defined() && mask.is_meta()) ||
                    (gamma.defined() && gamma.is_meta()) ||
                    (beta.defined() && beta.is_meta()) ||
                    (moving_mean.defined() && moving_mean.is_meta());
  Tensor out = Tensor::empty(x.shape(), x.dtype(), meta ? Device::Meta : x.device(), op);
  if (meta) return {out, {}, {}, {}, {}};
  if (training) trace::will_write({moving_mean, moving_variance});
  const cpu::NormShape s = norm_shape(x, a);
  const Tensor xc = x.contiguous();
  const Tensor g = gamma.defined() ? gamma.contiguous() : gamma;
  const Tensor b = beta.defined() ? beta.contiguous() : beta;
  // The mask only matters where the batch statistics are computed.
  const Tensor w = mask.defined() && training ? mask.contiguous() : Tensor();
  Tensor mean = Tensor::empty({s.channels}, DType::Float64, x.device(), op);
  Tensor invstd = Tensor::empty({s.channels}, DType::Float64, x.device(), op);
  kernels::batch_norm(x.device())(x.dtype(), s, xc.raw_data(), data_or_null(w), data_or_null(g),
                                  data_or_null(b),
                                  data_or_null(moving_mean), data_or_null(moving_variance),
                                  training, momentum, epsilon, bessel, out.raw_data(),
                                  mean.data<double>(), invstd.data<double>());
  return {out, mean, invstd, xc, w};
}

struct BatchNormReplay {
  static constexpr trace::InputCount kInputs{6};
  trace::Tensors operator()(const trace::Tensors& in, int64_t axis, bool training, double momentum,
                            double epsilon, bool bessel) const {
    return batch_norm_parts(in[0], in[1], in[2], in[3], in[4], axis, training, momentum, epsilon,
                            bessel, in[5])
        .all();
  }
};
// The replay saved plans read, which only compute (Note [Saved plans]): one that would update
// the moving statistics is refused when the plan is read.
struct SavedBatchNormReplay : BatchNormReplay {
  static void validate(const std::string& op, int64_t, bool training, double, double, bool) {
    CORTEN_CHECK_VALUE(!training, "saved plan: op '", op,
                       "' with training=True updates the "
                       "moving statistics; a saved plan only computes (trace with "
                       "training=False)");
  }
};
const trace::ReplayRegistration<SavedBatchNormReplay, int64_t, bool, double, double, bool>
    kBatchNormReplay("batch_norm");

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                  const Tensor& moving_mean, const Tensor& moving_variance, int64_t axis,
                  bool training, double momentum, double epsilon, bool bessel, const Tensor& mask) {
  trace::OpRecord rec;
  const BatchNormParts p = batch_norm_parts(x, gamma, beta, moving_mean, moving_variance, axis,
                                            training, momentum, epsilon, bessel, mask);
  if (p.out.is_meta()) return p.out;
  const int64_t a = normalize_axis(axis, x.ndim(), "batch_norm");
  if (autograd::is_recording()) {
    autograd::record_batch_norm(x, p.xc, p.mask, gamma, beta, p.mean, p.invstd, a, training, p.out);
  }
  // The statistics and x's contiguous copy are outputs of the node, so that the backward
  // nodes read this replay's; training updates the moving statistics in place.
  const bool writes = training && moving_mean.defined();
  rec.record_effect(writes ? trace::Effect::Writes : trace::Effect::None, "batch_norm",
                    {x, gamma, beta, moving_mean, moving_variance, mask}, p.all(),
                    BatchNormReplay{}, axis, training, momentum, epsilon, bessel);
  return p.out;
}

std::vector<Tensor> batch_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                        const Tensor& invstd, const Tensor& dy, int64_t axis,
                                        bool training, bool need_dx, bool need_dgamma,
                                        bool need_dbeta, const Tensor& mask) {
  trace::OpRecord rec;
  const char* op = "batch_norm_grad";
  detail::check_defined(x, op, "x");
  detail::check_defined(dy, op, "dy");
  detail::check_same_dtype(x, dy, op);
  CORTEN_CHECK_VALUE(x.shape() == dy.shape(), op, ": x and dy must have the same shape; got ",
                     "x.shape=", show(x.shape()), ", dy.shape=", show(dy.shape()));
  const int64_t a = normalize_axis(axis, x.ndim(), op);
  check_channel_param(gamma, x, a, op, "gamma");
  check_mask(mask, x, a, op);
  const int64_t C = x.dim(a);
  CORTEN_CHECK_VALUE(mean.dtype() == DType::Float64 && invstd.dtype() == DType::Float64 &&
                         mean.numel() == C && invstd.numel() == C,
                     op, ": mean and invstd must be float64 of ", C, " values");
  std::vector<Tensor> out(3);
  const Shape pshape = gamma.defined() ? gamma.shape() : Shape{C};
  if (need_dx) out[0] = Tensor::empty(x.shape(), x.dtype(), x.device(), op);
  if (need_dgamma && gamma.defined()) out[1] = Tensor::empty(pshape, x.dtype(), x.device(), op);
  if (need_dbeta) out[2] = Tensor::empty(pshape, x.dtype(), x.device(), op);
  if (x.is_meta() || dy.is_meta()) return out;
  const Tensor xc = x.contiguous(), gc = dy.contiguous();
  const Tensor g = gamma.defined() ? gamma.contiguous() : gamma;
  const Tensor mc = mean.contiguous(), ic = invstd.contiguous();
  const Tensor w = mask.defined() && training ? mask.contiguous() : Tensor();
  kernels::batch_norm_backward(x.device())(
      x.dtype(), norm_shape(x, a), xc.raw_data(), data_or_null(w), data_or_null(g),
      mc.data<double>(),
      ic.data<double>(), training, gc.raw_data(), data_or_null(out[0]), data_or_null(out[1]),
      data_or_null(out[2]));
  rec.record(
      "batch_norm_backward", {x, gamma, mean, invstd, dy, mask}, out,
      [](const trace::Tensors& in, const auto& axis, const auto& training, const auto& need_dx,
         const auto& need_dgamma, const auto& need_dbeta) {
        return batch_norm_backward(in[0], in[1], in[2], in[3], in[4], axis, training, need_dx,
                                   need_dgamma, need_dbeta, in[5]);
      },
      axis, training, need_dx, need_dgamma, need_dbeta);
  return out;
}

}  // namespace corten
