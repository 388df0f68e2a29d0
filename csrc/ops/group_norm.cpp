// The group_norm and unit_norm ops: argument checks, output allocation, dispatch and autograd
// recording. The kernels are in cpu/group_norm_kernels.inc.

#include <corten/ops.h>
#include <corten/trace.h>
#include <corten/trace_registry.h>

#include <cmath>

#include "autograd/grad_rules.h"
#include "ops/common.h"
#include "ops/kernels.h"

namespace corten {
namespace {

void* data_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

cpu::GroupShape group_shape(const Tensor& x, int64_t axis, int64_t groups) {
  cpu::GroupShape s;
  s.n = x.dim(0);
  s.p = 1;
  for (int64_t d = 1; d < axis; ++d) s.p *= x.dim(d);
  s.groups = groups;
  s.group_size = x.dim(axis) / groups;
  s.q = 1;
  for (int64_t d = axis + 1; d < x.ndim(); ++d) s.q *= x.dim(d);
  return s;
}

int64_t check_group_args(const Tensor& x, const Tensor& gamma, const Tensor& beta, int64_t groups,
                         int64_t axis, const char* op) {
  detail::check_defined(x, op, "x");
  CORTEN_CHECK_TYPE(is_floating(x.dtype()), op, ": expected a floating dtype (float32, "
                    "float64); got ", dtype_name(x.dtype()));
  CORTEN_CHECK_VALUE(x.ndim() >= 2, op, ": x must have rank >= 2 (batch and channels); got "
                     "x.shape=", show(x.shape()));
  const int64_t a = normalize_axis(axis, x.ndim(), op);
  CORTEN_CHECK_VALUE(a >= 1, op, ": axis must not be the batch axis 0; got axis=", axis);
  const int64_t C = x.dim(a);
  CORTEN_CHECK_VALUE(groups >= 1 && groups <= C && C % groups == 0, op, ": groups must divide "
                     "the ", C, " channels of x.shape=", show(x.shape()), "; got groups=", groups);
  for (const auto& [p, what] : {std::pair{&gamma, "gamma"}, std::pair{&beta, "beta"}}) {
    if (!p->defined()) continue;
    detail::check_same_dtype(*p, x, op);
    CORTEN_CHECK_VALUE(p->numel() == C, op, ": ", what, " must have ", C, " values for x of "
                       "shape ", show(x.shape()), "; got ", what, ".shape=", show(p->shape()));
  }
  return a;
}

}  // namespace

namespace {

// A group_norm call's output and what its gradient reads: x made contiguous and the float64
// group statistics (the axis, normalised, last). No autograd.
trace::Tensors group_norm_parts(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                int64_t groups, int64_t axis, double epsilon, int64_t* axis_out) {
  const char* op = "group_norm";
  const int64_t a = check_group_args(x, gamma, beta, groups, axis, op);
  *axis_out = a;
  CORTEN_CHECK_VALUE(epsilon >= 0 && std::isfinite(epsilon), op,
                     ": epsilon must be a finite number >= 0; got ", epsilon);
  const bool meta = x.is_meta() || (gamma.defined() && gamma.is_meta()) ||
                    (beta.defined() && beta.is_meta());
  Tensor out = Tensor::empty(x.shape(), x.dtype(), meta ? Device::Meta : x.device(), op);
  if (meta) return {out};
  const cpu::GroupShape s = group_shape(x, a, groups);
  const Tensor xc = x.contiguous();
  const Tensor g = gamma.defined() ? gamma.contiguous() : gamma;
  const Tensor b = beta.defined() ? beta.contiguous() : beta;
  Tensor mean = Tensor::empty({s.n * groups}, DType::Float64, x.device(), op);
  Tensor rstd = Tensor::empty({s.n * groups}, DType::Float64, x.device(), op);
  kernels::group_norm(x.device())(x.dtype(), s, xc.raw_data(), data_or_null(g), data_or_null(b),
                                  epsilon, out.raw_data(), mean.data<double>(),
                                  rstd.data<double>());
  return {out, xc, mean, rstd};
}

struct GroupNormReplay {
  static constexpr trace::InputCount kInputs{3};
  trace::Tensors operator()(const trace::Tensors& in, int64_t groups, int64_t axis,
                            double epsilon) const {
    int64_t unused = 0;
    return group_norm_parts(in[0], in[1], in[2], groups, axis, epsilon, &unused);
  }
};
const trace::ReplayRegistration<GroupNormReplay, int64_t, int64_t, double> kGroupNormReplay(
    "group_norm");

}  // namespace

Tensor group_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, int64_t groups,
                  int64_t axis, double epsilon) {
  trace::OpRecord rec;
  int64_t a = 0;
  const trace::Tensors p = group_norm_parts(x, gamma, beta, groups, axis, epsilon, &a);
  if (p[0].is_meta()) return p[0];
  if (autograd::is_recording()) {
    autograd::record_group_norm(x, p[1], gamma, beta, p[2], p[3], groups, a, p[0]);
  }
  // The statistics are outputs of the node, so that the backward nodes read this replay's.
  rec.record("group_norm", {x, gamma, beta}, p, GroupNormReplay{}, groups, axis, epsilon);
  return p[0];
}

std::vector<Tensor> group_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                        const Tensor& rstd, const Tensor& dy, int64_t groups,
                                        int64_t axis, bool need_dx, bool need_dgamma,
                                        bool need_dbeta) {
  trace::OpRecord rec;
  const char* op = "group_norm_grad";
  const int64_t a = check_group_args(x, gamma, Tensor(), groups, axis, op);
  detail::check_defined(dy, op, "dy");
  detail::check_same_dtype(x, dy, op);
  CORTEN_CHECK_VALUE(x.shape() == dy.shape(), op, ": x and dy must have the same shape; got ",
                     "x.shape=", show(x.shape()), ", dy.shape=", show(dy.shape()));
  const cpu::GroupShape s = group_shape(x, a, groups);
  CORTEN_CHECK_VALUE(mean.dtype() == DType::Float64 && rstd.dtype() == DType::Float64 &&
                         mean.numel() == s.n * groups && rstd.numel() == s.n * groups,
                     op, ": mean and rstd must be float64 of ", s.n * groups, " values");
  std::vector<Tensor> out(3);
  const Shape pshape = gamma.defined() ? gamma.shape() : Shape{x.dim(a)};
  if (need_dx) out[0] = Tensor::empty(x.shape(), x.dtype(), x.device(), op);
  if (need_dgamma && gamma.defined()) out[1] = Tensor::empty(pshape, x.dtype(), x.device(), op);
  if (need_dbeta) out[2] = Tensor::empty(pshape, x.dtype(), x.device(), op);
  if (x.is_meta() || dy.is_meta()) return out;
  const Tensor xc = x.contiguous(), gc = dy.contiguous();
  const Tensor g = gamma.defined() ? gamma.contiguous() : gamma;
  const Tensor mc = mean.contiguous(), rc = rstd.contiguous();
  kernels::group_norm_backward(x.device())(x.dtype(), s, xc.raw_data(), data_or_null(g),
                                           mc.data<double>(), rc.data<double>(), gc.raw_data(),
                                           data_or_null(out[0]), data_or_null(out[1]),
                                           data_or_null(out[2]));
  rec.record(
      "group_norm_backward", {x, gamma, mean, rstd, dy}, out,
      [](const trace::Tensors& in, const auto& groups, const auto& axis, const auto& need_dx,
         const auto& need_dgamma, const auto& need_dbeta) {
        return group_norm_backward(in[0], in[1], in[2], in[3], in[4], groups, axis, need_dx,
                                   need_dgamma, need_dbeta);
      },
      groups, axis, need_dx, need_dgamma, need_dbeta);
  return out;
}

namespace {

// A unit_norm call's output and what its gradient reads: x made contiguous and the float64
// row factors. No autograd.
trace::Tensors unit_norm_parts(const Tensor& x, double epsilon) {
  const char* op = "unit_norm";
  detail::check_defined(x, op, "x");
  CORTEN_CHECK_TYPE(is_floating(x.dtype()), op, ": expected a floating dtype (float32, "
                    "float64); got ", dtype_name(x.dtype()));
  CORTEN_CHECK_VALUE(x.ndim() >= 1, op, ": x must have rank >= 1; got a scalar");
  CORTEN_CHECK_VALUE(epsilon > 0 && std::isfinite(epsilon), op,
                     ": epsilon must be a finite number > 0; got ", epsilon);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device(), op);
  if (x.is_meta()) return {out};
  const int64_t cols = x.dim(x.ndim() - 1);
  const int64_t rows = cols ? x.numel() / cols : 0;
  const Tensor xc = x.contiguous();
  Tensor inv = Tensor::empty({rows}, DType::Float64, x.device(), op);
  Tensor cube = Tensor::empty({rows}, DType::Float64, x.device(), op);
  kernels::unit_norm(x.device())(x.dtype(), rows, cols, xc.raw_data(), epsilon, out.raw_data(),
                                 inv.data<double>(), cube.data<double>());
  return {out, xc, inv, cube};
}

struct UnitNormReplay {
  static constexpr trace::InputCount kInputs{1};
  trace::Tensors operator()(const trace::Tensors& in, double epsilon) const {
    return unit_norm_parts(in[0], epsilon);
  }
};
const trace::ReplayRegistration<UnitNormReplay, double> kUnitNormReplay("unit_norm");

}  // namespace

Tensor unit_norm(const Tensor& x, double epsilon) {
  trace::OpRecord rec;
  const trace::Tensors p = unit_norm_parts(x, epsilon);
  if (p[0].is_meta()) return p[0];
  if (autograd::is_recording()) autograd::record_unit_norm(x, p[1], p[2], p[3], p[0]);
  rec.record("unit_norm", {x}, p, UnitNormReplay{}, epsilon);
  return p[0];
}

Tensor unit_norm_backward(const Tensor& x, const Tensor& inv, const Tensor& cube,
                          const Tensor& dy) {
  trace::OpRecord rec;
  const char* op = "unit_norm_grad";
  detail::check_defined(x, op, "x");
  detail::check_defined(dy, op, "dy");
  detail::check_same_dtype(x, dy, op);
  CORTEN_CHECK_VALUE(x.shape() == dy.shape(), op, ": x and dy must have the same shape; got ",
                     "x.shape=", show(x.shape()), ", dy.shape=", show(dy.shape()));
  const int64_t cols = x.dim(x.ndim() - 1);
  const int64_t rows = cols ? x.numel() / cols : 0;
  CORTEN_CHECK_VALUE(inv.dtype() == DType::Float64 && cube.dtype() == DType::Float64 &&
                         inv.numel() == rows && cube.numel() == rows,
                     op, ": inv and cube must be float64 of ", rows, " values");
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device(), op);
  if (x.is_meta() || dy.is_meta()) return out;
  const Tensor xc = x.contiguous(), gc = dy.contiguous();
  const Tensor ic = inv.contiguous(), cc = cube.contiguous();
  kernels::unit_norm_backward(x.device())(x.dtype(), rows, cols, xc.raw_data(),
                                          ic.data<double>(), cc.data<double>(), gc.raw_data(),
                                          out.raw_data());
  rec.record("unit_norm_backward", {x, inv, cube, dy}, {out}, [](const trace::Tensors& in) {
    return unit_norm_backward(in[0], in[1], in[2], in[3]);
  });
  return out;
}

}  // namespace corten
