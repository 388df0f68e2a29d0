#include <corten/devices.h>
#include <corten/ops.h>

#include "bindings/bindings.h"

namespace corten::py_bind {

// Note [Device placement] (core/devices.cpp): creation ops called from Python land on the
// tf.device scope's device. The placement is applied here, not in the C++ ops, because the
// library's own code (gradient seeds, padding values, plan buffers) calls those ops too and
// its tensors belong with their inputs, not with the caller's scope.
void bind_creation(py::module_& m) {
  m.def(
      "convert_to_tensor",
      [](py::handle value, py::handle dtype) {
        const Tensor t =
            to_tensor(value, dtype.is_none() ? std::nullopt : std::optional<DType>(to_dtype(dtype)));
        // Note [Device placement]: Python data lands on the scope's device; tensors stay put.
        return py::isinstance<Tensor>(value) ? t : place_on_scope_device(t, "convert_to_tensor");
      },
      py::arg("value"), py::arg("dtype") = py::none());
  m.def(
      "constant",
      [](py::handle value, py::handle dtype) {
        // TensorFlow's constants are immutable snapshots: never the caller's memory, and
        // exposed to numpy read-only.
        const Tensor t =
            to_tensor(value, dtype.is_none() ? std::nullopt : std::optional<DType>(to_dtype(dtype)));
        const bool fresh = !py::isinstance<Tensor>(value) && t.storage() &&
                           t.storage().use_count() == 1 && t.storage()->owned();
        Tensor out = fresh ? t : clone(t);
        if (!py::isinstance<Tensor>(value)) out = place_on_scope_device(out, "constant");
        if (out.storage()) out.storage()->set_read_only();
        return out;
      },
      py::arg("value"), py::arg("dtype") = py::none());
  m.def(
      "zeros",
      [](py::handle shape, py::handle dtype) {
        return place_on_scope_device(zeros(to_shape(shape), to_dtype(dtype)), "zeros");
      },
      py::arg("shape"), py::arg("dtype"));
  m.def(
      "ones",
      [](py::handle shape, py::handle dtype) {
        return place_on_scope_device(ones(to_shape(shape), to_dtype(dtype)), "ones");
      },
      py::arg("shape"), py::arg("dtype"));
  m.def(
      "empty_meta",
      [](py::handle shape, py::handle dtype) {
        return Tensor::empty(to_shape(shape), to_dtype(dtype), Device::Meta, "empty_meta");
      },
      py::arg("shape"), py::arg("dtype"),
      "A meta tensor (shape and dtype only, None for unknown dimensions).");
  m.def("clone", &clone, py::arg("x"));
  m.def(
      "full_like",
      [](const Tensor& x, double value, py::handle dtype) {
        return full_like(x, value, to_dtype(dtype));
      },
      py::arg("x"), py::arg("value"), py::arg("dtype"));
  m.def(
      "fill",
      [](py::handle dims, py::handle value) {
        return place_on_scope_device(fill(to_shape(dims), to_tensor(value)), "fill");
      },
      py::arg("dims"), py::arg("value"));
  m.def(
      "range",
      [](double start, double limit, double delta, py::handle dtype) {
        return place_on_scope_device(range(start, limit, delta, to_dtype(dtype)), "range");
      },
      py::arg("start"), py::arg("limit"), py::arg("delta"), py::arg("dtype"));
  m.def(
      "eye",
      [](int64_t num_rows, int64_t num_columns, py::handle batch_shape, py::handle dtype) {
        return place_on_scope_device(
            eye(num_rows, num_columns, batch_shape.is_none() ? Shape{} : to_shape(batch_shape),
                to_dtype(dtype)),
            "eye");
      },
      py::arg("num_rows"), py::arg("num_columns"), py::arg("batch_shape"), py::arg("dtype"));
  m.def(
      "one_hot",
      [](py::handle indices, int64_t depth, double on_value, double off_value, int64_t axis,
         py::handle dtype) {
        return one_hot(to_tensor(indices), depth, on_value, off_value, axis, to_dtype(dtype));
      },
      py::arg("indices"), py::arg("depth"), py::arg("on_value"), py::arg("off_value"),
      py::arg("axis"), py::arg("dtype"));
}

}  // namespace corten::py_bind
