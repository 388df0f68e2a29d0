// The Python DLPack protocol: Tensor.__dlpack__ / __dlpack_device__ and _C.from_dlpack.
// Capsules follow the Python specification (https://dmlc.github.io/dlpack/latest/python_spec.html):
// a producer's capsule is named "dltensor" (DLManagedTensor) or "dltensor_versioned"
// (DLManagedTensorVersioned, when the consumer passes max_version >= (1, 0)); a consumer that
// takes it renames it "used_dltensor[_versioned]", and the capsule's destructor frees the
// managed tensor only if nobody took it.
#include <corten/dlpack.h>
#include <corten/ops.h>

#include "bindings/bindings.h"

namespace corten::py_bind {
namespace {

constexpr const char* kCapsuleName = "dltensor";
constexpr const char* kUsedCapsuleName = "used_dltensor";
constexpr const char* kVersionedCapsuleName = "dltensor_versioned";
constexpr const char* kUsedVersionedCapsuleName = "used_dltensor_versioned";

// Frees the managed tensor of a capsule nobody consumed. Runs during garbage collection,
// possibly with an exception in flight, which it keeps.
template <typename Managed>
void capsule_destructor(PyObject* capsule, const char* name) {
  if (!PyCapsule_IsValid(capsule, name)) return;  // renamed "used_...": the consumer frees it
  PyObject *type, *value, *traceback;
  PyErr_Fetch(&type, &value, &traceback);
  auto* managed = static_cast<Managed*>(PyCapsule_GetPointer(capsule, name));
  if (managed && managed->deleter) managed->deleter(managed);
  PyErr_Restore(type, value, traceback);
}
void unversioned_capsule_destructor(PyObject* capsule) {
  capsule_destructor<DLManagedTensor>(capsule, kCapsuleName);
}
void versioned_capsule_destructor(PyObject* capsule) {
  capsule_destructor<DLManagedTensorVersioned>(capsule, kVersionedCapsuleName);
}

template <typename Managed>
py::capsule to_capsule(Managed* managed, const char* name, PyCapsule_Destructor destructor) {
  PyObject* cap = PyCapsule_New(managed, name, destructor);
  if (!cap) {
    managed->deleter(managed);
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::capsule>(cap);
}

// Whether a max_version argument asks for (or allows) the versioned layout.
bool wants_versioned(py::handle max_version) {
  if (max_version.is_none()) return false;
  try {
    const auto v = max_version.cast<std::pair<int64_t, int64_t>>();
    return v.first >= static_cast<int64_t>(kDLPackMajorVersion);
  } catch (const py::cast_error&) {
    throw TypeError("__dlpack__: max_version must be None or a (major, minor) pair of ints; got " +
                    py::repr(max_version).cast<std::string>());
  }
}

std::pair<int, int> dlpack_device(const Tensor& t) {
  switch (t.device()) {
    case Device::CPU: return {kDLCPU, 0};
    case Device::CUDA: return {kDLCUDA, t.device_index()};
    case Device::Meta: break;
  }
  throw py::buffer_error("__dlpack_device__: a meta tensor of shape " + shape_str(t.shape()) +
                         " has no data and no DLPack device");
}

py::object tensor_dlpack(const Tensor& t, py::handle stream, py::handle max_version,
                          py::handle dl_device, py::handle copy) {
  if (t.is_meta()) {
    throw py::buffer_error("__dlpack__: a meta tensor of shape " + shape_str(t.shape()) +
                           " has no data to export");
  }
  // A GPU tensor is complete before it is exported (Note [DLPack and streams]), so any
  // consumer stream may read it; a CPU tensor has no stream.
  if (!stream.is_none() && t.device() != Device::CUDA) {
    throw ValueError("__dlpack__: stream must be None for a CPU tensor; got " +
                     py::repr(stream).cast<std::string>());
  }
  const bool versioned = wants_versioned(max_version);
  if (!dl_device.is_none()) {
    std::pair<int, int> dev;
    try {
      dev = dl_device.cast<std::pair<int, int>>();
    } catch (const py::cast_error&) {
      throw TypeError("__dlpack__: dl_device must be a (device_type, device_id) pair of ints; "
                      "got " + py::repr(dl_device).cast<std::string>());
    }
    if (dev != dlpack_device(t)) {
      throw py::buffer_error("__dlpack__: cannot export a " + std::string(device_name(t.device())) +
                             " tensor to DLPack device " + py::repr(dl_device).cast<std::string>());
    }
  }
  // copy=None and copy=False share memory (always possible on the CPU); copy=True exports a
  // private copy.
  const int copy_flag = copy.is_none() ? 0 : PyObject_IsTrue(copy.ptr());
  if (copy_flag < 0) throw py::error_already_set();
  const bool make_copy = copy_flag == 1;
  const Tensor src = make_copy ? clone(t) : t;
  if (versioned) {
    return to_capsule(to_dlpack_versioned(src, make_copy), kVersionedCapsuleName,
                      &versioned_capsule_destructor);
  }
  return to_capsule(to_dlpack(src), kCapsuleName, &unversioned_capsule_destructor);
}

Tensor capsule_to_tensor(const py::capsule& cap) {
  if (PyCapsule_IsValid(cap.ptr(), kUsedCapsuleName) ||
      PyCapsule_IsValid(cap.ptr(), kUsedVersionedCapsuleName)) {
    throw ValueError("from_dlpack: this DLPack capsule was already consumed (each capsule can be "
                     "imported once)");
  }
  // from_dlpack* throw before taking ownership; once they return, the capsule must not free
  // the tensor any more (renaming cannot fail on a valid capsule).
  if (PyCapsule_IsValid(cap.ptr(), kVersionedCapsuleName)) {
    auto* managed = static_cast<DLManagedTensorVersioned*>(
        PyCapsule_GetPointer(cap.ptr(), kVersionedCapsuleName));
    if (!managed) throw py::error_already_set();
    Tensor t = from_dlpack_versioned(managed);
    PyCapsule_SetName(cap.ptr(), kUsedVersionedCapsuleName);
    return t;
  }
  if (PyCapsule_IsValid(cap.ptr(), kCapsuleName)) {
    auto* managed = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap.ptr(), kCapsuleName));
    if (!managed) throw py::error_already_set();
    Tensor t = from_dlpack(managed);
    PyCapsule_SetName(cap.ptr(), kUsedCapsuleName);
    return t;
  }
  const char* name = PyCapsule_GetName(cap.ptr());
  PyErr_Clear();
  throw TypeError(std::string("from_dlpack: expected a PyCapsule named \"dltensor\" or "
                              "\"dltensor_versioned\"; got one named ") +
                  (name ? "\"" + std::string(name) + "\"" : std::string("None")));
}

Tensor py_from_dlpack(py::handle obj) {
  if (PyCapsule_CheckExact(obj.ptr())) {
    return capsule_to_tensor(py::reinterpret_borrow<py::capsule>(obj));
  }
  if (py::isinstance<Tensor>(obj)) return obj.cast<Tensor>();
  if (!py::hasattr(obj, "__dlpack__")) {
    throw TypeError("from_dlpack: expected an object with a __dlpack__ method or a DLPack "
                    "capsule; got " + py::type::of(obj).attr("__name__").cast<std::string>());
  }
  bool on_gpu = false;
  if (py::hasattr(obj, "__dlpack_device__")) {
    const py::object dev = obj.attr("__dlpack_device__")();
    const int type = py::cast<int>(dev[py::int_(0)]);
    on_gpu = type == kDLCUDA;
    CORTEN_CHECK_VALUE(type == kDLCPU || on_gpu,
                       "from_dlpack: only CPU and CUDA tensors can be imported; got a ",
                       py::type::of(obj).attr("__name__").cast<std::string>(), " on DLPack device ",
                       py::repr(dev).cast<std::string>());
  }
  // Ask for the versioned layout (it carries the read-only flag); producers that predate it
  // reject the keyword with TypeError and get the plain call. A GPU producer orders its work
  // before the legacy default stream (stream=1), which corten's streams follow.
  py::object cap;
  const py::object stream = on_gpu ? py::object(py::int_(1)) : py::object(py::none());
  try {
    cap = obj.attr("__dlpack__")(
        py::arg("stream") = stream,
        py::arg("max_version") = py::make_tuple(kDLPackMajorVersion, kDLPackMinorVersion));
  } catch (py::error_already_set& e) {
    if (!e.matches(PyExc_TypeError)) throw;
    cap = on_gpu ? obj.attr("__dlpack__")(py::arg("stream") = stream) : obj.attr("__dlpack__")();
  }
  if (!PyCapsule_CheckExact(cap.ptr())) {
    throw TypeError("from_dlpack: " + py::type::of(obj).attr("__name__").cast<std::string>() +
                    ".__dlpack__() did not return a PyCapsule");
  }
  return capsule_to_tensor(py::reinterpret_borrow<py::capsule>(cap));
}

}  // namespace

void bind_interop(py::module_& m) {
  py::object tensor_cls = m.attr("Tensor");
  auto cls = py::reinterpret_borrow<py::class_<Tensor>>(tensor_cls);
  cls.def("__dlpack__", &tensor_dlpack, py::arg("stream") = py::none(),
          py::arg("max_version") = py::none(), py::arg("dl_device") = py::none(),
          py::arg("copy") = py::none(),
          "Exports the tensor as a DLPack capsule (no copy unless copy=True).");
  cls.def("__dlpack_device__", [](const Tensor& t) {
    const auto d = dlpack_device(t);
    return py::make_tuple(d.first, d.second);
  }, "(device_type, device_id) in DLPack terms: (1, 0) for the CPU.");
  m.def("from_dlpack", &py_from_dlpack, py::arg("x"),
        "A tensor sharing the memory of `x` (an object with __dlpack__, or a DLPack capsule).");
}

}  // namespace corten::py_bind
