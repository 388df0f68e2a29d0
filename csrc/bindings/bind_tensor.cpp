#include <corten/devices.h>
#include <corten/ops.h>
#include <corten/trace.h>

#include "bindings/bindings.h"
#include "bindings/fastcall.h"

namespace corten::py_bind {
py::tuple shape_tuple(const Shape& shape) {
  py::tuple t(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) {
    t[i] = shape[i] == kUnknownDim ? py::object(py::none()) : py::object(py::int_(shape[i]));
  }
  return t;
}

namespace {

const char* buffer_format(DType t) {
  switch (t) {
    case DType::Bool: return "?";
    case DType::Int32: return "i";
    case DType::Int64: return "q";
    case DType::Float32: return "f";
    case DType::Float64: return "d";
    case DType::Float16:
      return "e";
    case DType::String:    // no buffer: StringRefs point into other memory
    case DType::BFloat16:  // no buffer format: numpy takes it through ml_dtypes (_tensor.py)
      break;
  }
  return "";
}

int64_t to_index_int(py::handle obj) {
  if (py::isinstance<Tensor>(obj)) {
    Tensor t = obj.cast<Tensor>();
    CORTEN_CHECK_TYPE(t.ndim() == 0 && is_integral(t.dtype()),
                      "only integer scalars, slices, ..., None (newaxis) are valid indices; got "
                      "a tensor of shape ",
                      show(t.shape()), " and dtype ", dtype_name(t.dtype()));
    return int_values(t, "an index")[0];
  }
  return to_int64(obj, "an index");
}

std::vector<IndexItem> to_index_items(py::handle key) {
  std::vector<IndexItem> items;
  auto add = [&](py::handle k) {
    IndexItem it;
    if (k.is_none()) {
      it.kind = IndexItem::NewAxis;
    } else if (k.ptr() == Py_Ellipsis) {
      it.kind = IndexItem::Ellipsis;
    } else if (PySlice_Check(k.ptr())) {
      it.kind = IndexItem::Slice;
      py::object start = k.attr("start"), stop = k.attr("stop"), step = k.attr("step");
      it.has_start = !start.is_none();
      it.has_stop = !stop.is_none();
      if (it.has_start) it.start = to_index_int(start);
      if (it.has_stop) it.stop = to_index_int(stop);
      it.step = step.is_none() ? 1 : to_index_int(step);
    } else if (PyBool_Check(k.ptr())) {
      throw TypeError("boolean indices are not supported; use corten.boolean_mask");
    } else if (PyIndex_Check(k.ptr()) || py::isinstance<Tensor>(k)) {
      it.kind = IndexItem::Int;
      it.index = to_index_int(k);
    } else {
      throw TypeError("only integers, slices (`:`), ellipsis (`...`) and None (newaxis) are "
                      "valid indices; got " +
                      py::repr(k).cast<std::string>());
    }
    items.push_back(it);
  };
  if (py::isinstance<py::tuple>(key)) {
    for (py::handle k : key) add(k);
  } else {
    add(key);
  }
  return items;
}

// Binary operator: NotImplemented when the other operand is not tensor-like, so that Python
// tries the other operand's reflected method (symbolic Keras tensors rely on this).
template <BinaryOp op, bool reflected>
py::object binary_operator(const Tensor& self, py::handle other) {
  std::optional<Tensor> o = try_to_tensor(other, self.dtype());
  if (!o) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
  return py::cast(reflected ? binary(op, *o, self) : binary(op, self, *o));
}

py::object matmul_operator(const Tensor& self, py::handle other, bool reflected) {
  std::optional<Tensor> o = try_to_tensor(other, self.dtype());
  if (!o) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
  return py::cast(reflected ? matmul(*o, self) : matmul(self, *o));
}

// A traced tensor's value is known only when the plan runs: reading it in Python while
// tracing would freeze this run's value into the plan (tf.function raises too).
void check_not_traced(const Tensor& t, const char* use) {
  if (trace::holds(t)) {
    throw TypeError(detail::str_cat(
        "corten.function: a traced tensor cannot be used as a Python ", use,
        " while tracing (its value changes from call to call); use corten.where for choices "
        "that depend on a value, or run the function eagerly with "
        "corten.config.run_functions_eagerly(True)"));
  }
}

Tensor scalar_item_check(const Tensor& t, const char* what) {
  check_not_traced(t, what);
  CORTEN_CHECK_TYPE(t.numel() == 1 && !t.is_meta(), "only tensors with one element can be converted to ",
                    what, "; got shape ", show(t.shape()));
  return t.contiguous();
}

// Calls type(self).<name>(self, other), as the slot functions of Python classes do.
PyObject* call_special(PyObject* self, PyObject* name, PyObject* other) {
  PyObject* f = _PyType_Lookup(Py_TYPE(self), name);  // borrowed
  if (!f) Py_RETURN_NOTIMPLEMENTED;
  PyObject* args[2] = {self, other};
  return PyObject_Vectorcall(f, args, 2, nullptr);
}

template <BinaryOp op>
Tensor binary_of(const Tensor& a, const Tensor& b) {
  return binary(op, a, b);
}
Tensor matmul_of(const Tensor& a, const Tensor& b) { return matmul(a, b); }

// Note [Binding fast path]: number slots for Tensor op Tensor. Every other case goes through
// __add__ / __radd__ exactly as CPython's generic slot (SLOT1BINFULL in typeobject.c) would: the
// generic slot cannot be reused, since it recognises Tensor operands by the slot's address.
template <Tensor (*Fn)(const Tensor&, const Tensor&)>
struct FastSlot {
  static inline PyObject* name = nullptr;
  static inline PyObject* rname = nullptr;
  static inline binaryfunc PyNumberMethods::*member = nullptr;

  static bool is_ours(PyObject* o) {
    PyNumberMethods* n = Py_TYPE(o)->tp_as_number;
    return n && n->*member == &call;
  }
  static PyObject* call(PyObject* x, PyObject* y) {
    const Tensor* a = fast::exact_tensor(x);
    const Tensor* b = a ? fast::exact_tensor(y) : nullptr;
    if (b) {
      try {
        return fast::wrap(Fn(*a, *b));
      } catch (...) {  // repeated through __add__ below, which raises the Python exception
      }
    }
    bool do_other = Py_TYPE(x) != Py_TYPE(y) && is_ours(y);
    if (is_ours(x)) {
      if (do_other && PyType_IsSubtype(Py_TYPE(y), Py_TYPE(x))) {
        PyObject* r = call_special(y, rname, x);
        if (r != Py_NotImplemented) return r;
        Py_DECREF(r);
        do_other = false;
      }
      PyObject* r = call_special(x, name, y);
      if (r != Py_NotImplemented || Py_TYPE(x) == Py_TYPE(y)) return r;
      Py_DECREF(r);
    }
    if (do_other) return call_special(y, rname, x);
    Py_RETURN_NOTIMPLEMENTED;
  }
  static void install(PyTypeObject* type, binaryfunc PyNumberMethods::*slot, const char* n,
                      const char* rn) {
    name = PyUnicode_InternFromString(n);
    rname = PyUnicode_InternFromString(rn);
    if (!name || !rname) throw py::error_already_set();
    member = slot;
    type->tp_as_number->*slot = &call;
  }
};

}  // namespace

void bind_tensor(py::module_& m) {
  py::enum_<DType>(m, "DType", "Element type of a tensor.")
      .value("bool", DType::Bool)
      .value("int32", DType::Int32)
      .value("int64", DType::Int64)
      .value("float32", DType::Float32)
      .value("float64", DType::Float64)
      .value("string", DType::String)
      .value("float16", DType::Float16)
      .value("bfloat16", DType::BFloat16)
      .def_property_readonly("size", [](DType t) { return itemsize(t); })
      .def_property_readonly("is_floating", [](DType t) { return is_floating_point(t); })
      .def_property_readonly("is_integer", [](DType t) { return is_integral(t); })
      .def_property_readonly("is_bool", [](DType t) { return t == DType::Bool; })
      .def_property_readonly("as_numpy_dtype", [](DType t) -> py::object {
        if (t == DType::String) return py::module_::import("numpy").attr("object_");
        if (t == DType::BFloat16) return py::module_::import("ml_dtypes").attr("bfloat16");
        return py::dtype(dtype_name(t)).attr("type");
      });

  m.def("as_dtype", [](py::handle h) { return to_dtype(h); }, py::arg("type_value"));

  py::class_<Tensor>(m, "Tensor", py::buffer_protocol(), py::dynamic_attr(),
                     "An n-dimensional array on a device, with a dtype and a shape.")
      .def_buffer([](const Tensor& t) -> py::buffer_info {
        check_not_traced(t, "buffer (numpy array)");
        CORTEN_CHECK_TYPE(t.dtype() != DType::String,
                          "a string tensor has no buffer: its elements point to byte strings");
        CORTEN_CHECK_TYPE(t.dtype() != DType::BFloat16,
                          "a bfloat16 tensor has no buffer format; numpy() converts it through "
                          "ml_dtypes");
        CORTEN_CHECK_VALUE(!t.is_meta(), "a meta tensor of shape ", show(t.shape()),
                           " has no data to export");
        // numpy reads host memory only: a device tensor goes through tensor.cpu() first.
        CORTEN_CHECK_VALUE(t.device() == Device::CPU, "a tensor of shape ", show(t.shape()),
                           " on ", device_full_name(device_of(t)),
                           " cannot be viewed as a numpy array; copy it with tensor.cpu()");
        std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
        std::vector<py::ssize_t> strides;
        const auto isz = static_cast<py::ssize_t>(itemsize(t.dtype()));
        for (int64_t d = 0; d < t.ndim(); ++d) {
          py::ssize_t bytes = 0;
          if (__builtin_mul_overflow(t.strides()[d], isz, &bytes)) {
            // A dimension of size 0 or 1 never steps (x[::2**62]): any stride will do.
            CORTEN_CHECK_VALUE(t.dim(d) <= 1, "cannot export a tensor of shape ",
                               show(t.shape()), " with strides ", show(t.strides()),
                               ": its byte strides do not fit in a Py_ssize_t");
            bytes = 0;
          }
          strides.push_back(bytes);
        }
        const bool read_only = t.storage() && t.storage()->read_only();
        return py::buffer_info(t.raw_data(), isz, buffer_format(t.dtype()), t.ndim(), shape,
                               strides, read_only);
      })
      .def(py::init([](const Tensor& t) { return t; }), py::arg("tensor"),
           "Another handle to the same tensor (used by subclasses such as Variable).")
      .def_property_readonly("_id", &Tensor::id)
      .def_property_readonly("_is_variable", &Tensor::is_variable)
      .def_property_readonly("_trainable", &Tensor::trainable)
      .def_property_readonly("_shape_tuple", [](const Tensor& t) { return shape_tuple(t.shape()); })
      .def_property_readonly("dtype", &Tensor::dtype)
      .def_property_readonly(
          "device",
          [](const Tensor& t) -> py::object {
            // TensorFlow's full device name; "meta" for meta tensors. The cpu's name is made once.
            static const py::str* cpu = new py::str(device_full_name({Device::CPU, 0}));
            static const py::str* meta = new py::str("meta");
            if (t.device() == Device::CPU) return *cpu;
            if (t.device() == Device::Meta) return *meta;
            return py::str(device_full_name(device_of(t)));
          },
          "TensorFlow's full name of the tensor's device, "
          "'/job:localhost/replica:0/task:0/device:CPU:0' or '.../device:GPU:N'; 'meta' for "
          "symbolic tensors.")
      .def_property_readonly("ndim", &Tensor::ndim)
      .def_property_readonly("_strides", [](const Tensor& t) { return t.strides(); })
      .def_property_readonly("_offset", &Tensor::offset)
      .def_property_readonly(
          "_data_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.raw_data()); })
      .def_property_readonly(
          "_storage_id",
          [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.storage().get()); })
      .def("_is_contiguous", &Tensor::is_contiguous)
      .def("_is_same", &Tensor::is_same)
      .def("__len__",
           [](const Tensor& t) {
             CORTEN_CHECK_TYPE(t.ndim() > 0, "len() of a 0-d tensor");
             CORTEN_CHECK_TYPE(t.dim(0) != kUnknownDim,
                               "len() of a tensor whose first dimension is unknown");
             return t.dim(0);
           })
      .def("__getitem__",
           [](const Tensor& t, py::handle key) { return index(t, to_index_items(key)); })
      .def("__bool__",
           [](const Tensor& t) {
             Tensor s = cast(scalar_item_check(t, "bool"), DType::Bool);
             return *s.data<bool>();
           })
      .def("__float__",
           [](const Tensor& t) {
             return *cast(scalar_item_check(t, "float"), DType::Float64).data<double>();
           })
      .def("__int__",
           [](const Tensor& t) {
             return *cast(scalar_item_check(t, "int"), DType::Int64).data<int64_t>();
           })
      .def("__index__",
           [](const Tensor& t) {
             check_not_traced(t, "index");
             CORTEN_CHECK_TYPE(is_integral(t.dtype()) && t.ndim() == 0 && !t.is_meta(),
                               "only 0-d integer tensors with values can be used as an index; got "
                               "shape ",
                               show(t.shape()), ", dtype ", dtype_name(t.dtype()),
                               t.is_meta() ? " (symbolic)" : "");
             return int_values(t, "an index")[0];
           })
      .def("__add__", &binary_operator<BinaryOp::Add, false>)
      .def("__radd__", &binary_operator<BinaryOp::Add, true>)
      .def("__sub__", &binary_operator<BinaryOp::Subtract, false>)
      .def("__rsub__", &binary_operator<BinaryOp::Subtract, true>)
      .def("__mul__", &binary_operator<BinaryOp::Multiply, false>)
      .def("__rmul__", &binary_operator<BinaryOp::Multiply, true>)
      .def("__truediv__", &binary_operator<BinaryOp::Divide, false>)
      .def("__rtruediv__", &binary_operator<BinaryOp::Divide, true>)
      .def("__floordiv__", &binary_operator<BinaryOp::FloorDiv, false>)
      .def("__rfloordiv__", &binary_operator<BinaryOp::FloorDiv, true>)
      .def("__mod__", &binary_operator<BinaryOp::FloorMod, false>)
      .def("__rmod__", &binary_operator<BinaryOp::FloorMod, true>)
      .def("__pow__", &binary_operator<BinaryOp::Pow, false>)
      .def("__rpow__", &binary_operator<BinaryOp::Pow, true>)
      .def("__and__", &binary_operator<BinaryOp::LogicalAnd, false>)
      .def("__rand__", &binary_operator<BinaryOp::LogicalAnd, true>)
      .def("__or__", &binary_operator<BinaryOp::LogicalOr, false>)
      .def("__ror__", &binary_operator<BinaryOp::LogicalOr, true>)
      .def("__eq__", &binary_operator<BinaryOp::Equal, false>)
      .def("__ne__", &binary_operator<BinaryOp::NotEqual, false>)
      .def("__lt__", &binary_operator<BinaryOp::Less, false>)
      .def("__le__", &binary_operator<BinaryOp::LessEqual, false>)
      .def("__gt__", &binary_operator<BinaryOp::Greater, false>)
      .def("__ge__", &binary_operator<BinaryOp::GreaterEqual, false>)
      .def("__matmul__", [](const Tensor& t, py::handle o) { return matmul_operator(t, o, false); })
      .def("__rmatmul__", [](const Tensor& t, py::handle o) { return matmul_operator(t, o, true); })
      .def("__neg__", [](const Tensor& t) { return unary(UnaryOp::Negative, t); })
      .def("__pos__", [](const Tensor& t) { return t; })
      .def("__abs__", [](const Tensor& t) { return unary(UnaryOp::Abs, t); })
      .def("__invert__", [](const Tensor& t) { return unary(UnaryOp::LogicalNot, t); })
      .attr("__hash__") = py::none();
  m.attr("Tensor").attr("__array_priority__") = 100;

  auto* type = reinterpret_cast<PyTypeObject*>(m.attr("Tensor").ptr());
  fast::tensor_type() = type;
  FastSlot<&binary_of<BinaryOp::Add>>::install(type, &PyNumberMethods::nb_add, "__add__",
                                                "__radd__");
  FastSlot<&binary_of<BinaryOp::Subtract>>::install(type, &PyNumberMethods::nb_subtract,
                                                    "__sub__", "__rsub__");
  FastSlot<&binary_of<BinaryOp::Multiply>>::install(type, &PyNumberMethods::nb_multiply,
                                                    "__mul__", "__rmul__");
  FastSlot<&binary_of<BinaryOp::Divide>>::install(type, &PyNumberMethods::nb_true_divide,
                                                  "__truediv__", "__rtruediv__");
  FastSlot<&matmul_of>::install(type, &PyNumberMethods::nb_matrix_multiply, "__matmul__",
                                "__rmatmul__");
}

}  // namespace corten::py_bind
