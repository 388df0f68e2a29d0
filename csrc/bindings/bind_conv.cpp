#include <corten/ops.h>

#include <pybind11/stl.h>

#include "bindings/bindings.h"

namespace corten::py_bind {

namespace {

ConvOptions options(std::vector<int64_t> strides, std::vector<int64_t> dilations,
                    std::vector<int64_t> padding, int64_t groups, bool channels_last,
                    bool reference) {
  ConvOptions o;
  o.strides = std::move(strides);
  o.dilations = std::move(dilations);
  o.padding = std::move(padding);
  o.groups = groups;
  o.channels_last = channels_last;
  o.reference = reference;
  return o;
}

Tensor optional_tensor(py::handle t, const Tensor& like) {
  return t.is_none() ? Tensor() : to_tensor(t, like.dtype());
}

}  // namespace

void bind_conv(py::module_& m) {
  m.def(
      "conv",
      [](py::handle x, py::handle w, py::handle bias, std::vector<int64_t> strides,
         std::vector<int64_t> dilations, std::vector<int64_t> padding, int64_t groups,
         bool channels_last, const std::string& activation, bool reference) {
        const Tensor xt = to_tensor(x);
        return conv(xt, to_tensor(w, xt.dtype()), optional_tensor(bias, xt),
                    options(std::move(strides), std::move(dilations), std::move(padding),
                            groups, channels_last, reference),
                    activation_from_name(activation));
      },
      py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("strides"), py::arg("dilations"),
      py::arg("padding"), py::arg("groups") = 1, py::arg("channels_last") = true,
      py::arg("activation") = "linear", py::arg("reference") = false);
  m.def(
      "conv_transpose",
      [](py::handle x, py::handle w, py::handle bias, std::vector<int64_t> output_spatial,
         std::vector<int64_t> strides, std::vector<int64_t> dilations,
         std::vector<int64_t> padding, int64_t groups, bool channels_last,
         const std::string& activation, bool reference) {
        const Tensor xt = to_tensor(x);
        return conv_transpose(xt, to_tensor(w, xt.dtype()), optional_tensor(bias, xt),
                              output_spatial,
                              options(std::move(strides), std::move(dilations),
                                      std::move(padding), groups, channels_last, reference),
                              activation_from_name(activation));
      },
      py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("output_spatial"),
      py::arg("strides"), py::arg("dilations"), py::arg("padding"), py::arg("groups") = 1,
      py::arg("channels_last") = true, py::arg("activation") = "linear",
      py::arg("reference") = false);
  m.def(
      "conv_backward_filter",
      [](py::handle x, py::handle dy, std::vector<int64_t> w_shape, std::vector<int64_t> strides,
         std::vector<int64_t> dilations, std::vector<int64_t> padding, int64_t groups,
         bool channels_last, bool reference) {
        const Tensor xt = to_tensor(x);
        return conv_backward_filter(xt, to_tensor(dy, xt.dtype()), w_shape,
                                    options(std::move(strides), std::move(dilations),
                                            std::move(padding), groups, channels_last,
                                            reference));
      },
      py::arg("x"), py::arg("dy"), py::arg("w_shape"), py::arg("strides"), py::arg("dilations"),
      py::arg("padding"), py::arg("groups") = 1, py::arg("channels_last") = true,
      py::arg("reference") = false);
}

}  // namespace corten::py_bind
