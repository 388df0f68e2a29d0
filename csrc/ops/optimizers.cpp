#include <corten/ops.h>
#include <corten/trace.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <type_traits>
#include <utility>

#include "ops/common.h"
#include "ops/kernels.h"
#include "ops/op_attrs.h"

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

template <class O, class = void>
struct HasStep : std::false_type {};
template <class O>
struct HasStep<O, std::void_t<decltype(O::step)>> : std::true_type {};

double scalar_of(const char* op, const char* what, const Tensor& t) {
  CORTEN_CHECK_VALUE(t.numel() == 1 && !t.is_meta() && t.device() == Device::CPU, op, ": ", what,
                     " must be a one-element tensor with data on the cpu; got shape ",
                     show(t.shape()));
  CORTEN_CHECK_TYPE(t.dtype() != DType::Bool, op, ": ", what, " must be a number; got bool");
  // The one element read in place (a cast would make a tensor per scalar per step); the
  // half-precision dtypes through the cast.
  if (t.dtype() == DType::Float16 || t.dtype() == DType::BFloat16) {
    return *cast(t, DType::Float64).data<double>();
  }
  return visit_numeric(t.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return static_cast<double>(*t.data<T>());
  });
}

// The options with the per-step values that `s` holds.
template <class Opt>
Opt with_scalars(const char* op, const Opt& in, const UpdateScalars& s) {
  Opt o = in;
  if (s.learning_rate.defined()) o.learning_rate = scalar_of(op, "learning_rate", s.learning_rate);
  if (s.grad_scale.defined()) o.grad_scale = scalar_of(op, "grad_scale", s.grad_scale);
  if constexpr (HasStep<Opt>::value) {
    if (s.step.defined()) o.step = scalar_of(op, "step", s.step);
  } else {
    CORTEN_CHECK_VALUE(!s.step.defined(), op, ": takes no step");
  }
  return o;
}

}  // namespace

void sgd_update_(const Tensor& var, const Tensor& grad, const Tensor& momentum,
                 const SgdOptions& options, const UpdateScalars& scalars) {
  trace::OpRecord rec;
  const SgdOptions opt = with_scalars("SGD", options, scalars);
  const Tensor g = prepare("SGD", var, grad, {{"momentum", &momentum}}, opt);
  trace::will_write({var, momentum});
  if (var.numel() == 0) return;
  visit_floating(var.dtype(), "SGD", [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::optimizers<T>().sgd_update(var.device())(var.numel(), var.data<T>(), g.data<T>(), ptr<T>(momentum), opt);
  });
  rec.record_effect(
      trace::Effect::Writes, "sgd_update",
      {var, grad, momentum, scalars.learning_rate, scalars.grad_scale, scalars.step}, {},
      [](const trace::Tensors& in, const auto& options) {
        sgd_update_(in[0], in[1], in[2], options, {in[3], in[4], in[5], {}});
      },
      options);
}

void adam_update_(const Tensor& var, const Tensor& grad, const Tensor& m, const Tensor& v,
                  const Tensor& vhat, const AdamOptions& options, const UpdateScalars& scalars) {
  trace::OpRecord rec;
  const AdamOptions opt = with_scalars("Adam", options, scalars);
  const char* op = "Adam";
  CORTEN_CHECK_VALUE(m.defined() && v.defined(), op, ": the m and v slots are required");
  CORTEN_CHECK_VALUE(!opt.amsgrad || vhat.defined(), op,
                     ": amsgrad=True requires the vhat slot");
  check_step(op, opt.step);
  const Tensor none;
  const Tensor& vh = opt.amsgrad ? vhat : none;
  const Tensor g = prepare(op, var, grad, {{"m", &m}, {"v", &v}, {"vhat", &vh}}, opt);
  trace::will_write({var, m, v, vhat});
  if (var.numel() == 0) return;
  visit_floating(var.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::optimizers<T>().adam_update(var.device())(var.numel(), var.data<T>(), g.data<T>(), m.data<T>(), v.data<T>(),
                        ptr<T>(vh), opt);
  });
  rec.record_effect(
      trace::Effect::Writes, "adam_update",
      {var, grad, m, v, vhat, scalars.learning_rate, scalars.grad_scale, scalars.step}, {},
      [](const trace::Tensors& in, const auto& options) {
        adam_update_(in[0], in[1], in[2], in[3], in[4], options, {in[5], in[6], in[7], {}});
      },
      options);
}

void rmsprop_update_(const Tensor& var, const Tensor& grad, const Tensor& velocity,
                     const Tensor& momentum, const Tensor& average_grad,
                     const RmspropOptions& options, const UpdateScalars& scalars) {
  trace::OpRecord rec;
  const RmspropOptions opt = with_scalars("RMSprop", options, scalars);
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
  trace::will_write({var, velocity, momentum, average_grad});
  if (var.numel() == 0) return;
  visit_floating(var.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::optimizers<T>().rmsprop_update(var.device())(var.numel(), var.data<T>(), g.data<T>(), velocity.data<T>(),
                           ptr<T>(mom), ptr<T>(avg), opt);
  });
  rec.record_effect(
      trace::Effect::Writes, "rmsprop_update",
      {var, grad, velocity, momentum, average_grad, scalars.learning_rate, scalars.grad_scale,
       scalars.step},
      {},
      [](const trace::Tensors& in, const auto& options) {
        rmsprop_update_(in[0], in[1], in[2], in[3], in[4], options, {in[5], in[6], in[7], {}});
      },
      options);
}

void adagrad_update_(const Tensor& var, const Tensor& grad, const Tensor& accumulator,
                     const AdagradOptions& options, const UpdateScalars& scalars) {
  trace::OpRecord rec;
  const AdagradOptions opt = with_scalars("Adagrad", options, scalars);
  const char* op = "Adagrad";
  CORTEN_CHECK_VALUE(accumulator.defined(), op, ": the accumulator slot is required");
  const Tensor g = prepare(op, var, grad, {{"accumulator", &accumulator}}, opt);
  trace::will_write({var, accumulator});
  if (var.numel() == 0) return;
  visit_floating(var.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::optimizers<T>().adagrad_update(var.device())(var.numel(), var.data<T>(), g.data<T>(), accumulator.data<T>(), opt);
  });
  rec.record_effect(
      trace::Effect::Writes, "adagrad_update",
      {var, grad, accumulator, scalars.learning_rate, scalars.grad_scale, scalars.step}, {},
      [](const trace::Tensors& in, const auto& options) {
        adagrad_update_(in[0], in[1], in[2], options, {in[3], in[4], in[5], {}});
      },
      options);
}

void adadelta_update_(const Tensor& var, const Tensor& grad, const Tensor& accumulated_grad,
                      const Tensor& accumulated_delta_var, const AdadeltaOptions& options,
                      const UpdateScalars& scalars) {
  trace::OpRecord rec;
  const AdadeltaOptions opt = with_scalars("Adadelta", options, scalars);
  const char* op = "Adadelta";
  CORTEN_CHECK_VALUE(accumulated_grad.defined() && accumulated_delta_var.defined(), op,
                     ": the accumulated_grad and accumulated_delta_var slots are required");
  const Tensor g = prepare(
      op, var, grad,
      {{"accumulated_grad", &accumulated_grad}, {"accumulated_delta_var", &accumulated_delta_var}},
      opt);
  trace::will_write({var, accumulated_grad, accumulated_delta_var});
  if (var.numel() == 0) return;
  visit_floating(var.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::optimizers<T>().adadelta_update(var.device())(var.numel(), var.data<T>(), g.data<T>(), accumulated_grad.data<T>(),
                            accumulated_delta_var.data<T>(), opt);
  });
  rec.record_effect(
      trace::Effect::Writes, "adadelta_update",
      {var, grad, accumulated_grad, accumulated_delta_var, scalars.learning_rate,
       scalars.grad_scale, scalars.step},
      {},
      [](const trace::Tensors& in, const auto& options) {
        adadelta_update_(in[0], in[1], in[2], in[3], options, {in[4], in[5], in[6], {}});
      },
      options);
}

void adamax_update_(const Tensor& var, const Tensor& grad, const Tensor& m, const Tensor& u,
                    const AdamaxOptions& options, const UpdateScalars& scalars) {
  trace::OpRecord rec;
  const AdamaxOptions opt = with_scalars("Adamax", options, scalars);
  const char* op = "Adamax";
  CORTEN_CHECK_VALUE(m.defined() && u.defined(), op, ": the m and u slots are required");
  check_step(op, opt.step);
  const Tensor g = prepare(op, var, grad, {{"m", &m}, {"u", &u}}, opt);
  trace::will_write({var, m, u});
  if (var.numel() == 0) return;
  visit_floating(var.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::optimizers<T>().adamax_update(var.device())(var.numel(), var.data<T>(), g.data<T>(), m.data<T>(), u.data<T>(), opt);
  });
  rec.record_effect(
      trace::Effect::Writes, "adamax_update",
      {var, grad, m, u, scalars.learning_rate, scalars.grad_scale, scalars.step}, {},
      [](const trace::Tensors& in, const auto& options) {
        adamax_update_(in[0], in[1], in[2], in[3], options, {in[4], in[5], in[6], {}});
      },
      options);
}

void nadam_update_(const Tensor& var, const Tensor& grad, const Tensor& m, const Tensor& v,
                   const NadamOptions& options, const UpdateScalars& scalars) {
  trace::OpRecord rec;
  NadamOptions opt = with_scalars("Nadam", options, scalars);
  const char* op = "Nadam";
  if (scalars.u_product.defined()) {
    opt.u_product = scalar_of(op, "u_product", scalars.u_product);
  }
  CORTEN_CHECK_VALUE(m.defined() && v.defined(), op, ": the m and v slots are required");
  check_step(op, opt.step);
  const Tensor g = prepare(op, var, grad, {{"m", &m}, {"v", &v}}, opt);
  trace::will_write({var, m, v});
  if (var.numel() == 0) return;
  visit_floating(var.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::optimizers<T>().nadam_update(var.device())(var.numel(), var.data<T>(), g.data<T>(), m.data<T>(), v.data<T>(), opt);
  });
  rec.record_effect(
      trace::Effect::Writes, "nadam_update",
      {var, grad, m, v, scalars.learning_rate, scalars.grad_scale, scalars.step, scalars.u_product},
      {},
      [](const trace::Tensors& in, const auto& options) {
        nadam_update_(in[0], in[1], in[2], in[3], options, {in[4], in[5], in[6], in[7]});
      },
      options);
}

Tensor squared_norm(const Tensor& x) {
  trace::OpRecord rec;
  check_defined(x, "squared_norm");
  CORTEN_CHECK_VALUE(!x.is_meta(), "squared_norm: a meta tensor of shape ", show(x.shape()),
                     " has no values");
  const Tensor c = x.contiguous();
  // The kernel returns the sum to the host (a GPU's after its kernels finish): the 0-d result
  // lives on the CPU, and ops align it with tensors of any device as a scalar operand.
  Tensor out = Tensor::empty({}, DType::Float64, Device::CPU, "squared_norm");
  *out.data<double>() = visit_floating(c.dtype(), "squared_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    return kernels::optimizers<T>().sum_of_squares(c.device())(c.numel(), c.data<T>());
  });
  rec.record("squared_norm", {x}, {out},
             [](const trace::Tensors& in) { return squared_norm(in[0]); });
  return out;
}

double sum_of_squares(const Tensor& x) {
  // The value goes to the caller: a plan would replay the traced one.
  trace::not_traceable("sum_of_squares");
  return *squared_norm(x).data<double>();
}

}  // namespace corten
