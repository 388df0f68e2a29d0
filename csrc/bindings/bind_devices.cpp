// Devices: names, tf.device scopes, placement and device copies (include/corten/devices.h).
#include <corten/devices.h>
#include <corten/errors.h>

#include <memory>
#include <tuple>

#include "bindings/bindings.h"
#include "core/cuda_runtime.h"

namespace corten::py_bind {

namespace {

py::object opt_int(int v) { return v < 0 ? py::object(py::none()) : py::object(py::int_(v)); }
py::object opt_str(const std::string& s) {
  return s.empty() ? py::object(py::none()) : py::object(py::str(s));
}

// A `with` block holding a DeviceScope for its extent (tf.device).
struct PyDeviceScope {
  DeviceSpec spec;
  bool reset = false;
  std::unique_ptr<DeviceScope> scope;
};

}  // namespace

void bind_devices(py::module_& m) {
  m.def(
      "parse_device_spec",
      [](const std::string& name) {
        const DeviceSpec s = parse_device_spec(name);
        return py::make_tuple(opt_str(s.job), opt_int(s.replica), opt_int(s.task), opt_str(s.type),
                              opt_int(s.index));
      },
      py::arg("name"),
      "(job, replica, task, device_type, device_index) of a device name, None where absent.");
  m.def(
      "device_spec_string",
      [](const std::string& name) { return device_spec_string(parse_device_spec(name)); },
      py::arg("name"), "TensorFlow's DeviceSpec.to_string() of a device name.");
  py::class_<PyDeviceScope>(m, "DeviceScope")
      .def(py::init([](py::handle name) {
             auto s = std::make_unique<PyDeviceScope>();
             s->reset = name.is_none();
             if (!s->reset) s->spec = parse_device_spec(name.cast<std::string>());
             return s;
           }),
           py::arg("name"))
      .def("__enter__",
           [](PyDeviceScope& s) {
             CORTEN_CHECK_VALUE(!s.scope, "tf.device: this scope is already entered");
             s.scope = std::make_unique<DeviceScope>(s.spec, s.reset);
           })
      .def("__exit__", [](PyDeviceScope& s, py::args) { s.scope.reset(); });
  m.def(
      "current_device_spec", [] { return device_spec_string(current_device_spec()); },
      "The calling thread's merged tf.device spec ('' outside any scope).");
  m.def(
      "available_devices",
      [] {
        py::list out;
        for (DeviceId d : available_devices()) {
          out.append(py::make_tuple(d.type == Device::CUDA ? "GPU" : "CPU", d.index));
        }
        return out;
      },
      "(device_type, index) of every usable device, GPUs first.");
  m.def("cuda_device_count", &cuda_device_count);
  m.def("built_with_cuda", &built_with_cuda);
  m.def("_set_cuda_device_count_for_testing", &set_cuda_device_count_for_testing, py::arg("count"),
        "Testing only: pretend to have `count` GPUs (-1: the real count).");
  m.def("cuda_unavailable_reason", &cuda_unavailable_reason);
  m.def("set_soft_device_placement", &set_soft_device_placement, py::arg("enabled"));
  m.def("soft_device_placement", &soft_device_placement);
  m.def(
      "resolve_device",
      [](const std::string& name, const std::string& op, bool allow_soft) {
        return device_full_name(resolve_device(parse_device_spec(name), op.c_str(), allow_soft));
      },
      py::arg("name"), py::arg("op"), py::arg("allow_soft") = true,
      "The full name of the device `name` places on.");
  m.def(
      "copy_to_device",
      [](const Tensor& t, const std::string& name, const std::string& op) {
        return copy_to_device(t, device_id_from_spec(parse_device_spec(name), op.c_str()),
                              op.c_str());
      },
      py::arg("x"), py::arg("name"), py::arg("op"),
      "A copy of x on the device `name` (which must exist).");
  m.def(
      "place_on_scope_device",
      [](const Tensor& t, const std::string& op) { return place_on_scope_device(t, op.c_str()); },
      py::arg("x"), py::arg("op"));
  m.def(
      "device_memory_info",
      [](const std::string& name) {
        const DeviceMemoryInfo info =
            device_memory_info(device_id_from_spec(parse_device_spec(name), "get_memory_info"));
        py::dict out;
        out["current"] = info.current;
        out["peak"] = info.peak;
        return out;
      },
      py::arg("name"));
  m.def(
      "cuda_device_details",
      [](int index) {
        CORTEN_CHECK_VALUE(index >= 0 && index < cuda_device_count(),
                           "get_device_details: no device GPU:", index);
        const detail::CudaDeviceDetails d = detail::cuda_runtime_device_details(index);
        py::dict out;
        out["device_name"] = d.name;
        out["compute_capability"] = py::make_tuple(d.major, d.minor);
        return out;
      },
      py::arg("index"));
  m.def("cuda_add_library_dir", &detail::cuda_runtime_add_library_dir, py::arg("dir"));
  m.def("cuda_library_status", &detail::cuda_runtime_library_status);
  m.def("synchronize_devices", &synchronize_devices, py::call_guard<py::gil_scoped_release>());
  m.def("tensor_float_32_execution_enabled", &tensor_float_32_execution_enabled);
  m.def("set_tensor_float_32_execution", &set_tensor_float_32_execution, py::arg("enabled"));
  m.def(
      "reset_device_memory_peak",
      [](const std::string& name) {
        reset_device_memory_peak(
            device_id_from_spec(parse_device_spec(name), "reset_memory_stats"));
      },
      py::arg("name"));
  m.def(
      "_storageless_tensor_for_testing",
      [](py::handle shape, py::handle dtype, const std::string& name) {
        return storageless_tensor_for_testing(
            to_shape(shape), to_dtype(dtype),
            device_id_from_spec(parse_device_spec(name), "_storageless_tensor_for_testing"));
      },
      py::arg("shape"), py::arg("dtype"), py::arg("device"));
}

}  // namespace corten::py_bind
