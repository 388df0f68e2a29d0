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
}

}  // namespace corten::py_bind
