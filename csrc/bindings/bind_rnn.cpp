#include <corten/ops.h>

#include "bindings/bindings.h"

namespace corten::py_bind {

void bind_rnn(py::module_& m) {
  m.def(
      "rnn_sequence",
      [](const std::string& cell, py::handle xw, py::handle h0, py::handle c0,
         py::handle recurrent_kernel, py::handle recurrent_bias, py::handle mask,
         py::handle recurrent_dropout, const std::string& activation,
         const std::string& recurrent_activation, bool go_backwards, bool zero_output_for_mask,
         bool reference, py::handle kernel, py::handle bias, bool batch_major,
         bool return_sequences) {
        const Tensor x = to_tensor(xw);
        auto opt = [&](py::handle h) { return h.is_none() ? Tensor() : to_tensor(h, x.dtype()); };
        return rnn_sequence(cell, x, to_tensor(h0, x.dtype()), opt(c0),
                            to_tensor(recurrent_kernel, x.dtype()), opt(recurrent_bias),
                            mask.is_none() ? Tensor() : to_tensor(mask, DType::Bool),
                            opt(recurrent_dropout), activation, recurrent_activation,
                            go_backwards, zero_output_for_mask, reference, opt(kernel),
                            opt(bias), batch_major, return_sequences);
      },
      py::arg("cell"), py::arg("xw"), py::arg("h0"), py::arg("c0") = py::none(),
      py::arg("recurrent_kernel"), py::arg("recurrent_bias") = py::none(),
      py::arg("mask") = py::none(), py::arg("recurrent_dropout") = py::none(),
      py::arg("activation") = "tanh", py::arg("recurrent_activation") = "sigmoid",
      py::arg("go_backwards") = false, py::arg("zero_output_for_mask") = false,
      py::arg("reference") = false, py::arg("kernel") = py::none(),
      py::arg("bias") = py::none(), py::arg("batch_major") = false,
      py::arg("return_sequences") = true);
}

}  // namespace corten::py_bind
