#include <corten/ops.h>

#include "bindings/bindings.h"

namespace corten::py_bind {

void bind_nn(py::module_& m) {
  m.def(
      "softmax", [](py::handle x, int64_t axis) { return softmax(to_tensor(x), axis); },
      py::arg("logits"), py::arg("axis") = -1);
  m.def(
      "log_softmax", [](py::handle x, int64_t axis) { return log_softmax(to_tensor(x), axis); },
      py::arg("logits"), py::arg("axis") = -1);
  m.def(
      "layer_norm",
      [](py::handle x, py::handle gamma, py::handle beta, double epsilon) {
        const Tensor xt = to_tensor(x);
        return layer_norm(xt, gamma.is_none() ? Tensor() : to_tensor(gamma, xt.dtype()),
                          beta.is_none() ? Tensor() : to_tensor(beta, xt.dtype()), epsilon);
      },
      py::arg("x"), py::arg("gamma") = py::none(), py::arg("beta") = py::none(),
      py::arg("epsilon") = 1e-3);
  m.def(
      "batch_norm",
      [](py::handle x, py::handle gamma, py::handle beta, py::object moving_mean,
         py::object moving_variance, int64_t axis, bool training, double momentum,
         double epsilon, bool bessel, py::handle mask) {
        const Tensor xt = to_tensor(x);
        auto opt = [&](py::handle t) { return t.is_none() ? Tensor() : to_tensor(t, xt.dtype()); };
        // The moving statistics are written in place: they must be corten tensors (Variables).
        auto inplace = [](py::handle t) {
          return t.is_none() ? Tensor() : py::cast<Tensor>(t);
        };
        return batch_norm(xt, opt(gamma), opt(beta), inplace(moving_mean),
                          inplace(moving_variance), axis, training, momentum, epsilon, bessel,
                          opt(mask));
      },
      py::arg("x"), py::arg("gamma") = py::none(), py::arg("beta") = py::none(),
      py::arg("moving_mean") = py::none(), py::arg("moving_variance") = py::none(),
      py::arg("axis") = -1, py::arg("training") = false, py::arg("momentum") = 0.99,
      py::arg("epsilon") = 1e-3, py::arg("bessel") = false, py::arg("mask") = py::none());
  m.def(
      "group_norm",
      [](py::handle x, py::handle gamma, py::handle beta, int64_t groups, int64_t axis,
         double epsilon) {
        const Tensor xt = to_tensor(x);
        auto opt = [&](py::handle t) { return t.is_none() ? Tensor() : to_tensor(t, xt.dtype()); };
        return group_norm(xt, opt(gamma), opt(beta), groups, axis, epsilon);
      },
      py::arg("x"), py::arg("gamma") = py::none(), py::arg("beta") = py::none(),
      py::arg("groups") = 32, py::arg("axis") = -1, py::arg("epsilon") = 1e-3);
  m.def(
      "unit_norm", [](py::handle x, double epsilon) { return unit_norm(to_tensor(x), epsilon); },
      py::arg("x"), py::arg("epsilon") = 1e-12);
}

}  // namespace corten::py_bind
