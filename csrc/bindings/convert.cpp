#include <corten/errors.h>
#include <corten/ops.h>
#include <corten/strings.h>
#include <corten/trace.h>

#include <climits>
#include <cstring>
#include <limits>

#include "bindings/bindings.h"

namespace corten::py_bind {
namespace {

std::optional<DType> dtype_from_name(const std::string& s) {
  if (s == "float32" || s == "float") return DType::Float32;
  if (s == "float64" || s == "double") return DType::Float64;
  if (s == "float16" || s == "half") return DType::Float16;
  if (s == "bfloat16") return DType::BFloat16;
  if (s == "int32") return DType::Int32;
  if (s == "int64") return DType::Int64;
  if (s == "bool") return DType::Bool;
  if (s == "string") return DType::String;
  return std::nullopt;
}

// Leaked on purpose: a static py::object would be destroyed after the interpreter is gone.
py::module_& numpy() {
  static py::module_* np = new py::module_(py::module_::import("numpy"));
  return *np;
}

// numpy's bfloat16 is ml_dtypes' (a dtype of kind 'V' named "bfloat16").
bool is_numpy_bfloat16(const py::dtype& dt) {
  return dt.kind() == 'V' && py::str(dt.attr("name")).cast<std::string>() == "bfloat16";
}

// The corten dtype that holds a numpy dtype's values, and whether numpy must convert first
// (for dtypes corten lacks: small and unsigned integers).
struct NumpyMapping {
  DType dtype;
  bool needs_numpy_cast;
};

NumpyMapping map_numpy_dtype(const py::dtype& dt) {
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (kind == 'b') return {DType::Bool, false};
  if (kind == 'f') {
    if (size == 4) return {DType::Float32, false};
    if (size == 8) return {DType::Float64, false};
    if (size == 2) return {DType::Float16, false};
  }
  if (is_numpy_bfloat16(dt)) return {DType::BFloat16, false};
  if (kind == 'i') {
    if (size == 4) return {DType::Int32, false};
    if (size == 8) return {DType::Int64, false};
    if (size < 4) return {DType::Int32, true};
  }
  if (kind == 'u') {
    if (size < 4) return {DType::Int32, true};
    return {DType::Int64, true};
  }
  throw TypeError(detail::str_cat("cannot convert a numpy array of dtype ",
                                  py::str(static_cast<py::object>(dt)).cast<std::string>(),
                                  " to a corten tensor (supported: bool, int32, int64, float16, "
                                  "bfloat16, float32, float64 and the integer types that fit "
                                  "them)"));
}

py::dtype numpy_dtype_of(DType t) {
  if (t == DType::BFloat16)
    return py::dtype::from_args(py::module_::import("ml_dtypes").attr("bfloat16"));
  return py::dtype(dtype_name(t));
}

// Borrows the memory of a C-contiguous, aligned numpy array of a corten dtype.
Tensor borrow_array(const py::array& arr, DType dtype) {
  Shape shape(arr.shape(), arr.shape() + arr.ndim());
  auto* owner = new py::object(arr);
  std::shared_ptr<void> keep(owner, [](void* p) {
    py::gil_scoped_acquire gil;
    delete static_cast<py::object*>(p);
  });
  void* data = const_cast<void*>(arr.data());
  auto storage = Storage::borrow(data, static_cast<size_t>(arr.nbytes()), std::move(keep));
  return Tensor::view_of(std::move(storage), 0, shape, contiguous_strides(shape), dtype);
}

Tensor scalar_tensor(double v, DType dtype) { return full({}, v, dtype); }

Tensor from_python_int(py::handle obj, std::optional<DType> dtype) {
  CORTEN_CHECK_TYPE(!dtype || *dtype != DType::Bool, "cannot convert the Python int ",
                    py::repr(obj).cast<std::string>(), " to bool implicitly; use corten.cast");
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(obj.ptr(), &overflow);
  CORTEN_CHECK_VALUE(overflow == 0, "cannot convert the Python int ",
                     py::repr(obj).cast<std::string>(), " to a tensor: it does not fit in int64");
  DType t = dtype.value_or(v >= INT32_MIN && v <= INT32_MAX ? DType::Int32 : DType::Int64);
  if (t == DType::Int32) {
    CORTEN_CHECK_VALUE(v >= INT32_MIN && v <= INT32_MAX, "cannot convert the Python int ", v,
                       " to int32: out of range");
  }
  Tensor out = Tensor::empty({}, t);
  switch (t) {
    case DType::Int32: *out.data<int32_t>() = static_cast<int32_t>(v); break;
    case DType::Int64: *out.data<int64_t>() = static_cast<int64_t>(v); break;
    case DType::Bool: *out.data<bool>() = v != 0; break;
    case DType::Float32: *out.data<float>() = static_cast<float>(v); break;
    case DType::Float64: *out.data<double>() = static_cast<double>(v); break;
    case DType::Float16:
      *out.data<float16>() = float16::from_float(static_cast<float>(v));
      break;
    case DType::BFloat16:
      *out.data<bfloat16>() = bfloat16::from_float(static_cast<float>(v));
      break;
    case DType::String:
      break;  // excluded above
  }
  return out;
}

// A string tensor of a numpy array of str, bytes or objects that are all str or bytes: str is
// stored as its UTF-8 bytes (Note [String tensors]).
Tensor from_string_array(py::handle obj, const py::array& arr) {
  Shape shape(arr.shape(), arr.shape() + arr.ndim());
  const py::list items = arr.attr("ravel")().attr("tolist")();
  StringBuilder b(items.size());
  for (py::handle item : items) {
    if (PyUnicode_Check(item.ptr())) {
      Py_ssize_t n = 0;
      const char* p = PyUnicode_AsUTF8AndSize(item.ptr(), &n);
      if (!p) throw py::error_already_set();
      b.append(std::string_view(p, static_cast<size_t>(n)));
    } else if (PyBytes_Check(item.ptr())) {
      b.append(std::string_view(PyBytes_AS_STRING(item.ptr()),
                                static_cast<size_t>(PyBytes_GET_SIZE(item.ptr()))));
    } else {
      throw TypeError(detail::str_cat(
          "cannot convert a ", py::type::of(obj).attr("__name__").cast<std::string>(),
          " holding a ", py::type::of(item).attr("__name__").cast<std::string>(),
          " to a tensor: an object array converts only when every element is a str or bytes"));
    }
  }
  return b.finish(shape, "constant");
}

Tensor from_array(py::handle obj, std::optional<DType> dtype) {
  const bool is_python_seq = py::isinstance<py::list>(obj) || py::isinstance<py::tuple>(obj);
  py::array arr;
  try {
    // An ndarray itself (not a subclass) is already what asarray would return.
    arr = Py_TYPE(obj.ptr()) == py::detail::npy_api::get().PyArray_Type_
              ? py::reinterpret_borrow<py::array>(obj)
              : py::array(numpy().attr("asarray")(obj));
  } catch (py::error_already_set& e) {
    if (!is_python_seq || !e.matches(PyExc_ValueError)) throw;
    throw ValueError(
        "cannot convert a ragged nested list (rows of different lengths) to a tensor: pad the "
        "rows to one length, or pass a numpy array");
  }
  const py::dtype dt = arr.dtype();
  const char kind = dt.kind();
  const bool text = kind == 'U' || kind == 'S' || (kind == 'O' && arr.size() > 0);
  if (text || (dtype == DType::String && arr.size() == 0)) {
    CORTEN_CHECK_TYPE(!dtype || *dtype == DType::String, "cannot convert ",
                      kind == 'O' ? "objects" : "strings", " to ", dtype_name(*dtype),
                      " implicitly; use corten.strings.to_number");
    return from_string_array(obj, arr);
  }
  CORTEN_CHECK_TYPE(dtype != DType::String, "cannot convert a ",
                    py::str(static_cast<py::object>(dt)).cast<std::string>(),
                    " value to string implicitly; use corten.strings.as_string");
  if (kind == 'O' || kind == 'U' || kind == 'S' || (kind == 'V' && !is_numpy_bfloat16(dt)) ||
      kind == 'c' || kind == 'M' || kind == 'm') {
    throw TypeError(detail::str_cat(
        "cannot convert a value of type ", py::type::of(obj).attr("__name__").cast<std::string>(),
        " (numpy dtype ", py::str(static_cast<py::object>(dt)).cast<std::string>(),
        ") to a tensor"));
  }
  NumpyMapping map = map_numpy_dtype(dt);
  if (is_python_seq) {
    // Python values follow TensorFlow's defaults: floats are float32, ints int32 when they fit;
    // a requested dtype is converted to directly (no float32 round trip for float64).
    if (map.dtype == DType::Float64) {
      map.dtype = (dtype && is_floating(*dtype)) ? *dtype : DType::Float32;
    }
    if (map.dtype == DType::Int64 && arr.size() > 0) {
      const py::object lo = arr.attr("min")(), hi = arr.attr("max")();
      if (lo.cast<int64_t>() >= INT32_MIN && hi.cast<int64_t>() <= INT32_MAX) map.dtype = DType::Int32;
    }
    map.needs_numpy_cast = true;
  }
  if (dtype && ((is_integral(*dtype) && kind == 'f') || ((*dtype == DType::Bool) != (kind == 'b')))) {
    throw TypeError(detail::str_cat("cannot convert ", kind == 'f' ? "floating-point" : kind == 'b' ? "bool" : "integer",
                                    " values to ", dtype_name(*dtype), " implicitly; use corten.cast"));
  }
  if (map.needs_numpy_cast) {
    arr = numpy().attr("array")(arr, numpy_dtype_of(map.dtype), py::arg("order") = "C");
  } else if (!(arr.flags() & py::array::c_style) || !(arr.flags() & 0x0100 /* NPY_ARRAY_ALIGNED */)) {
    arr = numpy().attr("array")(arr, py::arg("order") = "C");
  }
  Tensor t = borrow_array(arr, map.dtype);
  if (dtype && *dtype != t.dtype()) t = cast(t, *dtype);
  return t;
}

}  // namespace

DType to_dtype(py::handle obj) {
  if (py::isinstance<DType>(obj)) return obj.cast<DType>();
  if (obj.ptr() == reinterpret_cast<PyObject*>(&PyFloat_Type)) return DType::Float32;
  if (obj.ptr() == reinterpret_cast<PyObject*>(&PyLong_Type)) return DType::Int32;
  if (obj.ptr() == reinterpret_cast<PyObject*>(&PyBool_Type)) return DType::Bool;
  if (obj.ptr() == reinterpret_cast<PyObject*>(&PyUnicode_Type) ||
      obj.ptr() == reinterpret_cast<PyObject*>(&PyBytes_Type)) {
    return DType::String;
  }
  if (py::isinstance<py::str>(obj)) {
    if (auto t = dtype_from_name(obj.cast<std::string>())) return *t;
  } else if (py::hasattr(obj, "as_numpy_dtype") || py::isinstance<py::dtype>(obj) ||
             py::isinstance<py::type>(obj)) {
    try {
      const py::dtype dt = numpy().attr("dtype")(obj);
      if (dt.kind() == 'U' || dt.kind() == 'S' || dt.kind() == 'O') return DType::String;
      if (auto t = dtype_from_name(py::str(dt.attr("name")).cast<std::string>())) return *t;
    } catch (const py::error_already_set&) {
    }
  }
  throw TypeError("unsupported dtype " + py::repr(obj).cast<std::string>() +
                  "; expected one of float32, float64, float16, bfloat16, int32, int64, bool, "
                  "string");
}

Tensor to_tensor(py::handle obj, std::optional<DType> dtype) {
  if (py::isinstance<Tensor>(obj)) {
    const Tensor& t = obj.cast<const Tensor&>();
    CORTEN_CHECK_TYPE(!dtype || *dtype == t.dtype(), "expected a tensor of dtype ",
                      dtype_name(*dtype), "; got a tensor of dtype ", dtype_name(t.dtype()),
                      " (use corten.cast to convert it)");
    return t;
  }
  // Python data becomes a constant of a traced function, never one of its nodes.
  const trace::Pause constant;
  if (PyBool_Check(obj.ptr())) {
    CORTEN_CHECK_TYPE(!dtype || *dtype == DType::Bool, "cannot convert the Python bool ",
                      obj.ptr() == Py_True ? "True" : "False", " to ", dtype_name(*dtype),
                      " implicitly; use corten.cast");
    return scalar_tensor(obj.ptr() == Py_True ? 1.0 : 0.0, DType::Bool);
  }
  if (PyUnicode_Check(obj.ptr()) || PyBytes_Check(obj.ptr())) {
    CORTEN_CHECK_TYPE(!dtype || *dtype == DType::String, "cannot convert the string ",
                      py::repr(obj).cast<std::string>().substr(0, 64), " to ", dtype_name(*dtype),
                      " implicitly; use corten.strings.to_number");
    return from_string_array(obj, numpy().attr("array")(obj, py::arg("dtype") = "O"));
  }
  CORTEN_CHECK_TYPE(
      dtype != DType::String || !(PyLong_Check(obj.ptr()) || PyFloat_Check(obj.ptr())),
      "cannot convert the number ", py::repr(obj).cast<std::string>(),
      " to string implicitly; use corten.strings.as_string");
  if (PyLong_Check(obj.ptr())) return from_python_int(obj, dtype);
  // numpy's float64 scalar subclasses Python float, but keeps its dtype (as in TensorFlow).
  if (PyFloat_CheckExact(obj.ptr())) {
    const double v = PyFloat_AS_DOUBLE(obj.ptr());
    if (dtype && is_integral(*dtype)) {
      throw TypeError(detail::str_cat("cannot convert the Python float ", v, " to ",
                                      dtype_name(*dtype), " implicitly; use corten.cast"));
    }
    return scalar_tensor(v, dtype.value_or(DType::Float32));
  }
  return from_array(obj, dtype);
}

std::optional<Tensor> try_to_tensor(py::handle obj, std::optional<DType> dtype) {
  if (py::isinstance<Tensor>(obj) || PyFloat_Check(obj.ptr()) || PyLong_Check(obj.ptr()) ||
      py::isinstance<py::array>(obj) || py::isinstance<py::list>(obj) ||
      py::isinstance<py::tuple>(obj) || PyObject_CheckBuffer(obj.ptr()) ||
      PyUnicode_Check(obj.ptr()) || PyBytes_Check(obj.ptr()) ||
      py::isinstance(obj, numpy().attr("generic"))) {
    return to_tensor(obj, dtype);
  }
  return std::nullopt;
}

std::pair<Tensor, Tensor> binary_operands(py::handle x, py::handle y) {
  const bool xt = py::isinstance<Tensor>(x), yt = py::isinstance<Tensor>(y);
  if (xt && yt) return {x.cast<Tensor>(), y.cast<Tensor>()};
  if (xt) {
    Tensor a = x.cast<Tensor>();
    return {a, to_tensor(y, a.dtype())};
  }
  if (yt) {
    Tensor b = y.cast<Tensor>();
    return {to_tensor(x, b.dtype()), b};
  }
  Tensor a = to_tensor(x);
  return {a, to_tensor(y, a.dtype())};
}

int64_t to_int64(py::handle obj, const char* what) {
  CORTEN_CHECK_TYPE(!PyBool_Check(obj.ptr()) && PyIndex_Check(obj.ptr()), what,
                    " must be an integer; got ", py::repr(obj).cast<std::string>());
  py::object index = py::reinterpret_steal<py::object>(PyNumber_Index(obj.ptr()));
  if (!index) throw py::error_already_set();
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
  CORTEN_CHECK_VALUE(overflow == 0, what, " ", py::repr(obj).cast<std::string>(),
                     " does not fit in int64");
  return static_cast<int64_t>(v);
}

std::vector<int64_t> int_values(const Tensor& t, const char* what) {
  CORTEN_CHECK_TYPE(is_integral(t.dtype()) || t.numel() == 0, what,
                    " must be integers; got a tensor of dtype ", dtype_name(t.dtype()));
  CORTEN_CHECK_VALUE(!t.is_meta(), what,
                     " must have known values; got a symbolic (meta) tensor of shape ",
                     show(t.shape()));
  const Tensor c = cast(t, DType::Int64).contiguous();
  const int64_t* p = c.data<int64_t>();
  return std::vector<int64_t>(p, p + c.numel());
}

std::vector<int64_t> to_axes(py::handle obj) {
  if (obj.is_none()) return {};
  if (py::isinstance<Tensor>(obj)) {
    const Tensor t = obj.cast<Tensor>();
    CORTEN_CHECK_VALUE(t.ndim() <= 1, "axis must be a scalar or a 1-D tensor; got shape ",
                       show(t.shape()));
    return int_values(t, "axis");
  }
  if (PyIndex_Check(obj.ptr())) return {to_int64(obj, "axis")};
  std::vector<int64_t> axes;
  for (py::handle a : py::iter(obj)) axes.push_back(to_int64(a, "axis"));
  return axes;
}

Shape to_shape(py::handle obj) {
  if (py::isinstance<Tensor>(obj)) {
    const Tensor t = obj.cast<Tensor>();
    CORTEN_CHECK_VALUE(t.ndim() <= 1, "a shape must be a 1-D tensor; got shape ", show(t.shape()));
    // A symbolic shape tensor of known length: that many unknown dimensions.
    if (t.is_meta() && t.ndim() == 1 && t.dim(0) != kUnknownDim) return Shape(t.dim(0), kUnknownDim);
    return int_values(t, "a shape");
  }
  if (PyIndex_Check(obj.ptr())) return {to_int64(obj, "a shape dimension")};
  CORTEN_CHECK_TYPE(py::isinstance<py::iterable>(obj), "a shape must be a sequence of integers; got ",
                    py::repr(obj).cast<std::string>());
  Shape shape;
  for (py::handle d : py::iter(obj)) {
    if (d.is_none()) {
      shape.push_back(kUnknownDim);
    } else if (py::isinstance<Tensor>(d)) {
      const Tensor t = d.cast<Tensor>();
      CORTEN_CHECK_VALUE(t.ndim() == 0, "a shape entry must be a scalar; got shape ", show(t.shape()));
      shape.push_back(t.is_meta() ? kUnknownDim : int_values(t, "a shape entry")[0]);
    } else {
      shape.push_back(to_int64(d, "a shape dimension"));
    }
  }
  return shape;
}

}  // namespace corten::py_bind
