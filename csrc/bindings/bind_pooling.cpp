#include <corten/ops.h>

#include "bindings/bindings.h"

namespace corten::py_bind {

void bind_pooling(py::module_& m) {
  using V = std::vector<int64_t>;
  m.def(
      "max_pool",
      [](py::handle x, const V& k, const V& s, const std::string& p, bool cf) {
        return max_pool(to_tensor(x), k, s, p, cf);
      },
      py::arg("x"), py::arg("pool_size"), py::arg("strides"), py::arg("padding"),
      py::arg("channels_first") = false);
  m.def(
      "avg_pool",
      [](py::handle x, const V& k, const V& s, const std::string& p, bool cf) {
        return avg_pool(to_tensor(x), k, s, p, cf);
      },
      py::arg("x"), py::arg("pool_size"), py::arg("strides"), py::arg("padding"),
      py::arg("channels_first") = false);
  m.def(
      "pool_grad",
      [](bool is_max, py::handle x, py::handle dy, const V& k, const V& s, const std::string& p,
         bool cf) { return pool_grad(is_max, to_tensor(x), to_tensor(dy), k, s, p, cf); },
      py::arg("is_max"), py::arg("x"), py::arg("dy"), py::arg("pool_size"), py::arg("strides"),
      py::arg("padding"), py::arg("channels_first") = false);
  m.def(
      "depthwise_conv",
      [](py::handle x, py::handle w, py::handle b, const V& s, const V& d, const std::string& p,
         bool cf) {
        return depthwise_conv(to_tensor(x), to_tensor(w), b.is_none() ? Tensor() : to_tensor(b),
                              s, d, p, cf);
      },
      py::arg("x"), py::arg("filter"), py::arg("bias"), py::arg("strides"),
      py::arg("dilations"), py::arg("padding"), py::arg("channels_first") = false);
  m.def(
      "resize",
      [](py::handle x, const V& size, const std::string& method, bool ac, bool hp, bool cf) {
        return resize(to_tensor(x), size, method, ac, hp, cf);
      },
      py::arg("x"), py::arg("size"), py::arg("method"), py::arg("align_corners") = false,
      py::arg("half_pixel_centers") = true, py::arg("channels_first") = false);
}

}  // namespace corten::py_bind
