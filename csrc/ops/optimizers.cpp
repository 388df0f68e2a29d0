#include <corten/ops.h>
#include <corten/trace.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <utility>

#include "ops/common.h"
#include "ops/kernels.h"

namespace corten {
namespace {

using detail::check_defined;

struct Slot {
  const char* name;
  const Tensor* tensor;
};

// Whether two tensors' storages share any byte (two Storage objects may borrow the same
// numpy memory, so the comparison is on addresses, not handles).
bool overlaps(const Tensor& a, const Tensor& b) {
  if (!a.storage() || !b.storage()) return false;
  const auto* a0 = static_cast<const char*>(a.storage()->data());
  const auto* b0 = static_cast<const char*>(b.storage()->data());
  const char* a1 = a0 + a.storage()->nbytes();
  const char* b1 = b0 + b.storage()->nbytes();
  return a0 < b1 && b0 < a1;
}

void check_target(const char* op, const char* what, const Tensor& t, const Tensor& var) {
  CORTEN_CHECK_VALUE(t.defined(), op, ": the ", what, " is an undefined tensor");
  CORTEN_CHECK_VALUE(t.is_variable(), op, ": the ", what,
                     " must be a Variable (it is updated in place); got a tensor of shape ",
                     show(t.shape()));
  CORTEN_CHECK_VALUE(t.device() == Device::CPU, op, ": the ", what,
                     " must hold data on the cpu; got device ", device_name(t.device()));
  CORTEN_CHECK_TYPE(t.dtype() == var.dtype(), op, ": the ", what, " has dtype ",
                    dtype_name(t.dtype()), " but the variable has dtype ", dtype_name(var.dtype()));
  CORTEN_CHECK_VALUE(t.shape() == var.shape(), op, ": the ", what, " has shape ", show(t.shape()),
                     " but the variable has shape ", show(var.shape()));
  CORTEN_CHECK_VALUE(t.is_contiguous(), op, ": the ", what, " must be contiguous");
}

// Validates the variable, the gradient and the slots; returns the gradient to read (contiguous
// and not overlapping anything that is written).
Tensor prepare(const char* op, const Tensor& var, const Tensor& grad,
               std::initializer_list<Slot> slots, const UpdateCommon& common) {
  check_defined(var, op, "variable");
  check_defined(grad, op, "gradient");
  CORTEN_CHECK_TYPE(is_floating(var.dtype()), op,
                    ": expected a float32 or float64 variable; got dtype ",
                    dtype_name(var.dtype()));
  check_target(op, "variable", var, var);
  CORTEN_CHECK_VALUE(grad.device() == Device::CPU, op,
                     ": the gradient must hold data on the cpu; got device ",
                     device_name(grad.device()));
  CORTEN_CHECK_TYPE(grad.dtype() == var.dtype(), op, ": the gradient has dtype ",
                    dtype_name(grad.dtype()), " but the variable has dtype ",
                    dtype_name(var.dtype()));
  CORTEN_CHECK_VALUE(grad.shape() == var.shape(), op, ": the gradient has shape ",
                     show(grad.shape()), " but the variable has shape ", show(var.shape()));
  for (const Slot& s : slots) {
    if (!s.tensor->defined()) continue;
    check_target(op, s.name, *s.tensor, var);
    CORTEN_CHECK_VALUE(!overlaps(*s.tensor, var), op, ": the ", s.name,
                       " slot shares memory with the variable");
    for (const Slot& o : slots) {
      if (&o == &s) break;
      CORTEN_CHECK_VALUE(!o.tensor->defined() || !overlaps(*s.tensor, *o.tensor), op, ": the ",
                         s.name, " and ", o.name, " slots share memory");
    }
  }
  CORTEN_CHECK_VALUE(!(common.clip_value < 0), op, ": clip_value must be >= 0; got ",
                     common.clip_value);
  bool alias = overlaps(grad, var);
  for (const Slot& s : slots) alias = alias || (s.tensor->defined() && overlaps(grad, *s.tensor));
  if (alias) return clone(grad);
  return grad.contiguous();
}

void check_step(const char* op, double step) {
  CORTEN_CHECK_VALUE(std::isfinite(step) && step >= 1, op,
                     ": step must be a finite number >= 1 (the optimizer's iterations + 1); got ",
                     step);
}

template <typename T>
T* ptr(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace

void sgd_update_(const Tensor& var, const Tensor& grad, const Tensor& momentum,
                 const SgdOptions& opt) {
  trace::not_traceable("sgd_update");
  const Tensor g = prepare("SGD", var, grad, {{"momentum", &momentum}}, opt);
  if (var.numel() == 0) return;
  visit_floating(var.dtype(), "SGD", [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::optimizers<T>().sgd_update(var.device())(var.numel(), var.data<T>(), g.data<T>(), ptr<T>(momentum), opt);
  });
}

void adam_update_(const Tensor& var, const Tensor& grad, const Tensor& m, const Tensor& v,
                  const Tensor& vhat, const AdamOptions& opt) {
  trace::not_traceable("adam_update");
  const char* op = "Adam";
  CORTEN_CHECK_VALUE(m.defined() && v.defined(), op, ": the m and v slots are required");
  CORTEN_CHECK_VALUE(!opt.amsgrad || vhat.defined(), op,
                     ": amsgrad=True requires the vhat slot");
  check_step(op, opt.step);
  const Tensor none;
  const Tensor& vh = opt.amsgrad ? vhat : none;
  const Tensor g = prepare(op, var, grad, {{"m", &m}, {"v", &v}, {"vhat", &vh}}, opt);
  if (var.numel() == 0) return;
  visit_floating(var.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::optimizers<T>().adam_update(var.device())(var.numel(), var.data<T>(), g.data<T>(), m.data<T>(), v.data<T>(),
                        ptr<T>(vh), opt);
  });
}

void rmsprop_update_(const Tensor& var, const Tensor& grad, const Tensor& velocity,
                     const Tensor& momentum, const Tensor& average_grad,
                     const RmspropOptions& opt) {
  trace::not_traceable("rmsprop_update");
  const char* op = "RMSprop";
  CORTEN_CHECK_VALUE(velocity.defined(), op, ": the velocity slot is required");
  CORTEN_CHECK_VALUE(!(opt.momentum > 0) || momentum.defined(), op,
                     ": momentum > 0 requires the momentum slot");
  CORTEN_CHECK_VALUE(!opt.centered || average_grad.defined(), op,
                     ": centered=True requires the average_gradient slot");
  const Tensor none;
  const Tensor& mom = opt.momentum > 0 ? momentum : none;
  const Tensor& avg = opt.centered ? average_grad : none;
  const Tensor g = prepare(
      op, var, grad,
      {{"velocity", &velocity}, {"momentum", &mom}, {"average_gradient", &avg}}, opt);
  if (var.numel() == 0) return;
  visit_floating(var.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::optimizers<T>().rmsprop_update(var.device())(var.numel(), var.data<T>(), g.data<T>(), velocity.data<T>(),
                           ptr<T>(mom), ptr<T>(avg), opt);
  });
}

void adagrad_update_(const Tensor& var, const Tensor& grad, const Tensor& accumulator,
                     const AdagradOptions& opt) {
  trace::not_traceable("adagrad_update");
  const char* op = "Adagrad";
  CORTEN_CHECK_VALUE(accumulator.defined(), op, ": the accumulator slot is required");
  const Tensor g = prepare(op, var, grad, {{"accumulator", &accumulator}}, opt);
  if (var.numel() == 0) return;
  visit_floating(var.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::optimizers<T>().adagrad_update(var.device())(var.numel(), var.data<T>(), g.data<T>(), accumulator.data<T>(), opt);
  });
}

void adadelta_update_(const Tensor& var, const Tensor& grad, const Tensor& accumulated_grad,
                      const Tensor& accumulated_delta_var, const AdadeltaOptions& opt) {
  trace::not_traceable("adadelta_update");
  const char* op = "Adadelta";
  CORTEN_CHECK_VALUE(accumulated_grad.defined() && accumulated_delta_var.defined(), op,
                     ": the accumulated_grad and accumulated_delta_var slots are required");
  const Tensor g = prepare(
      op, var, grad,
      {{"accumulated_grad", &accumulated_grad}, {"accumulated_delta_var", &accumulated_delta_var}},
      opt);
  if (var.numel() == 0) return;
  visit_floating(var.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::optimizers<T>().adadelta_update(var.device())(var.numel(), var.data<T>(), g.data<T>(), accumulated_grad.data<T>(),
                            accumulated_delta_var.data<T>(), opt);
  });
}

void adamax_update_(const Tensor& var, const Tensor& grad, const Tensor& m, const Tensor& u,
                    const AdamaxOptions& opt) {
  trace::not_traceable("adamax_update");
  const char* op = "Adamax";
  CORTEN_CHECK_VALUE(m.defined() && u.defined(), op, ": the m and u slots are required");
  check_step(op, opt.step);
  const Tensor g = prepare(op, var, grad, {{"m", &m}, {"u", &u}}, opt);
  if (var.numel() == 0) return;
  visit_floating(var.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::optimizers<T>().adamax_update(var.device())(var.numel(), var.data<T>(), g.data<T>(), m.data<T>(), u.data<T>(), opt);
  });
}

void nadam_update_(const Tensor& var, const Tensor& grad, const Tensor& m, const Tensor& v,
                   const NadamOptions& opt) {
  trace::not_traceable("nadam_update");
  const char* op = "Nadam";
  CORTEN_CHECK_VALUE(m.defined() && v.defined(), op, ": the m and v slots are required");
  check_step(op, opt.step);
  const Tensor g = prepare(op, var, grad, {{"m", &m}, {"v", &v}}, opt);
  if (var.numel() == 0) return;
  visit_floating(var.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::optimizers<T>().nadam_update(var.device())(var.numel(), var.data<T>(), g.data<T>(), m.data<T>(), v.data<T>(), opt);
  });
}

double sum_of_squares(const Tensor& x) {
  trace::not_traceable("sum_of_squares");
  check_defined(x, "sum_of_squares");
  CORTEN_CHECK_VALUE(x.device() == Device::CPU,
                     "sum_of_squares: expected a cpu tensor; got device ", device_name(x.device()));
  const Tensor c = x.contiguous();
  return visit_floating(c.dtype(), "sum_of_squares", [&](auto tag) {
    using T = typename decltype(tag)::type;
    return kernels::optimizers<T>().sum_of_squares(c.device())(c.numel(), c.data<T>());
  });
}

}  // namespace corten
