#include <corten/ops.h>

#include "bindings/bindings.h"

namespace corten::py_bind {
namespace {

// A Tensor gradient is passed as is (the op checks its dtype); anything else is converted to
// the variable's dtype.
Tensor gradient(const Tensor& var, py::handle grad) {
  if (py::isinstance<Tensor>(grad)) return grad.cast<Tensor>();
  return to_tensor(grad, var.defined() ? std::optional<DType>(var.dtype()) : std::nullopt);
}

Tensor slot(const std::optional<Tensor>& t) { return t ? *t : Tensor(); }

// A per-step value given as a number sets the option; a Tensor goes to `scalars`, read when
// the update runs (traced plans read it again on every replay).
void per_step(py::handle value, double* option, Tensor* scalar) {
  if (py::isinstance<Tensor>(value)) {
    *scalar = value.cast<Tensor>();
  } else {
    *option = value.cast<double>();
  }
}

template <typename Opt>
Opt common(py::handle learning_rate, double weight_decay, py::handle grad_scale, double clip_value,
           UpdateScalars* s) {
  Opt o;
  per_step(learning_rate, &o.learning_rate, &s->learning_rate);
  o.weight_decay = weight_decay;
  per_step(grad_scale, &o.grad_scale, &s->grad_scale);
  o.clip_value = clip_value;
  return o;
}

#define CORTEN_COMMON_ARGS                                                          \
  py::kw_only(), py::arg("learning_rate"), py::arg("weight_decay") = 0.0,           \
                                           py::arg("grad_scale") = py::float_(1.0), \
                                           py::arg("clip_value") = 0.0

}  // namespace

void bind_optimizers(py::module_& m) {
  m.def(
      "sgd_update_",
      [](const Tensor& var, py::handle grad, std::optional<Tensor> momentum, double momentum_coef,
         bool nesterov, py::handle lr, double wd, py::handle scale, double clip) {
        UpdateScalars sc;
        auto o = common<SgdOptions>(lr, wd, scale, clip, &sc);
        o.momentum = momentum_coef;
        o.nesterov = nesterov;
        sgd_update_(var, gradient(var, grad), slot(momentum), o, sc);
      },
      py::arg("variable"), py::arg("gradient"), py::arg("momentum_slot"), py::arg("momentum"),
      py::arg("nesterov"), CORTEN_COMMON_ARGS, "Fused in-place SGD update.");
  m.def(
      "adam_update_",
      [](const Tensor& var, py::handle grad, const Tensor& mm, const Tensor& v,
         std::optional<Tensor> vhat, double beta_1, double beta_2, double epsilon, py::handle step,
         bool amsgrad, py::handle lr, double wd, py::handle scale, double clip) {
        UpdateScalars sc;
        auto o = common<AdamOptions>(lr, wd, scale, clip, &sc);
        o.beta_1 = beta_1;
        o.beta_2 = beta_2;
        o.epsilon = epsilon;
        per_step(step, &o.step, &sc.step);
        o.amsgrad = amsgrad;
        adam_update_(var, gradient(var, grad), mm, v, slot(vhat), o, sc);
      },
      py::arg("variable"), py::arg("gradient"), py::arg("m"), py::arg("v"), py::arg("vhat"),
      py::arg("beta_1"), py::arg("beta_2"), py::arg("epsilon"), py::arg("step"), py::arg("amsgrad"),
      CORTEN_COMMON_ARGS, "Fused in-place Adam/AdamW update.");
  m.def(
      "rmsprop_update_",
      [](const Tensor& var, py::handle grad, const Tensor& velocity,
         std::optional<Tensor> momentum_slot, std::optional<Tensor> average_grad, double rho,
         double momentum, double epsilon, bool centered, py::handle lr, double wd, py::handle scale,
         double clip) {
        UpdateScalars sc;
        auto o = common<RmspropOptions>(lr, wd, scale, clip, &sc);
        o.rho = rho;
        o.momentum = momentum;
        o.epsilon = epsilon;
        o.centered = centered;
        rmsprop_update_(var, gradient(var, grad), velocity, slot(momentum_slot), slot(average_grad),
                        o, sc);
      },
      py::arg("variable"), py::arg("gradient"), py::arg("velocity"), py::arg("momentum_slot"),
      py::arg("average_gradient"), py::arg("rho"), py::arg("momentum"), py::arg("epsilon"),
      py::arg("centered"), CORTEN_COMMON_ARGS, "Fused in-place RMSprop update.");
  m.def(
      "adagrad_update_",
      [](const Tensor& var, py::handle grad, const Tensor& acc, double epsilon, py::handle lr,
         double wd, py::handle scale, double clip) {
        UpdateScalars sc;
        auto o = common<AdagradOptions>(lr, wd, scale, clip, &sc);
        o.epsilon = epsilon;
        adagrad_update_(var, gradient(var, grad), acc, o, sc);
      },
      py::arg("variable"), py::arg("gradient"), py::arg("accumulator"), py::arg("epsilon"),
      CORTEN_COMMON_ARGS, "Fused in-place Adagrad update.");
  m.def(
      "adadelta_update_",
      [](const Tensor& var, py::handle grad, const Tensor& ag, const Tensor& ad, double rho,
         double epsilon, py::handle lr, double wd, py::handle scale, double clip) {
        UpdateScalars sc;
        auto o = common<AdadeltaOptions>(lr, wd, scale, clip, &sc);
        o.rho = rho;
        o.epsilon = epsilon;
        adadelta_update_(var, gradient(var, grad), ag, ad, o, sc);
      },
      py::arg("variable"), py::arg("gradient"), py::arg("accumulated_grad"),
      py::arg("accumulated_delta_var"), py::arg("rho"), py::arg("epsilon"), CORTEN_COMMON_ARGS,
      "Fused in-place Adadelta update.");
  m.def(
      "adamax_update_",
      [](const Tensor& var, py::handle grad, const Tensor& mm, const Tensor& u, double beta_1,
         double beta_2, double epsilon, py::handle step, py::handle lr, double wd, py::handle scale,
         double clip) {
        UpdateScalars sc;
        auto o = common<AdamaxOptions>(lr, wd, scale, clip, &sc);
        o.beta_1 = beta_1;
        o.beta_2 = beta_2;
        o.epsilon = epsilon;
        per_step(step, &o.step, &sc.step);
        adamax_update_(var, gradient(var, grad), mm, u, o, sc);
      },
      py::arg("variable"), py::arg("gradient"), py::arg("m"), py::arg("u"), py::arg("beta_1"),
      py::arg("beta_2"), py::arg("epsilon"), py::arg("step"), CORTEN_COMMON_ARGS,
      "Fused in-place Adamax update.");
  m.def(
      "nadam_update_",
      [](const Tensor& var, py::handle grad, const Tensor& mm, const Tensor& v, double beta_1,
         double beta_2, double epsilon, py::handle step, py::handle u_product, py::handle lr,
         double wd, py::handle scale, double clip) {
        UpdateScalars sc;
        auto o = common<NadamOptions>(lr, wd, scale, clip, &sc);
        o.beta_1 = beta_1;
        o.beta_2 = beta_2;
        o.epsilon = epsilon;
        per_step(step, &o.step, &sc.step);
        per_step(u_product, &o.u_product, &sc.u_product);
        nadam_update_(var, gradient(var, grad), mm, v, o, sc);
      },
      py::arg("variable"), py::arg("gradient"), py::arg("m"), py::arg("v"), py::arg("beta_1"),
      py::arg("beta_2"), py::arg("epsilon"), py::arg("step"), py::arg("u_product"),
      CORTEN_COMMON_ARGS, "Fused in-place Nadam update.");
  m.def(
      "squared_norm", [](py::handle x) { return squared_norm(to_tensor(x)); }, py::arg("x"),
      "Sum of squares of a float tensor's elements, as a 0-d float64 tensor.");
  m.def(
      "sum_of_squares", [](py::handle x) { return sum_of_squares(to_tensor(x)); }, py::arg("x"),
      "Sum of squares of a float tensor's elements, as a Python float (float64 accumulation).");
}

#undef CORTEN_COMMON_ARGS

}  // namespace corten::py_bind
