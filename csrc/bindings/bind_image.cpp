#include <corten/ops.h>

#include "bindings/bindings.h"

namespace corten::py_bind {

void bind_image(py::module_& m) {
  m.def(
      "image_transform",
      [](py::handle images, py::handle transforms, const std::vector<int64_t>& output_shape,
         const std::string& interpolation, const std::string& fill_mode, double fill_value) {
        return image_transform(to_tensor(images), to_tensor(transforms), output_shape,
                               interpolation, fill_mode, fill_value);
      },
      py::arg("images"), py::arg("transforms"), py::arg("output_shape"),
      py::arg("interpolation") = "bilinear", py::arg("fill_mode") = "reflect",
      py::arg("fill_value") = 0.0);
  m.def(
      "image_transform_grad",
      [](py::handle dy, py::handle transforms, const std::vector<int64_t>& input_size,
         const std::string& interpolation, const std::string& fill_mode) {
        return image_transform_grad(to_tensor(dy), to_tensor(transforms), input_size,
                                    interpolation, fill_mode);
      },
      py::arg("dy"), py::arg("transforms"), py::arg("input_size"),
      py::arg("interpolation") = "bilinear", py::arg("fill_mode") = "reflect");
}

}  // namespace corten::py_bind
