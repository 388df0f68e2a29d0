#include <corten/ops.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "bindings/bindings.h"

namespace corten::py_bind {
namespace {

// A list of tensor-likes; Python values take the dtype of the first Tensor in the list.
std::vector<Tensor> to_tensor_list(py::handle values, const char* op) {
  if (py::isinstance<Tensor>(values)) return {values.cast<Tensor>()};
  CORTEN_CHECK_TYPE(py::isinstance<py::sequence>(values) && !py::isinstance<py::str>(values), op,
                    ": values must be a list of tensors; got ",
                    py::type::of(values).attr("__name__").cast<std::string>());
  std::optional<DType> hint;
  for (py::handle v : values) {
    if (py::isinstance<Tensor>(v)) {
      hint = v.cast<const Tensor&>().dtype();
      break;
    }
  }
  std::vector<Tensor> out;
  for (py::handle v : values) {
    out.push_back(py::isinstance<Tensor>(v) ? v.cast<Tensor>() : to_tensor(v, hint));
  }
  return out;
}

PadMode to_pad_mode(const std::string& mode) {
  std::string m = mode;
  std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return std::toupper(c); });
  if (m == "CONSTANT") return PadMode::Constant;
  if (m == "REFLECT") return PadMode::Reflect;
  if (m == "SYMMETRIC") return PadMode::Symmetric;
  throw ValueError("pad: mode must be one of 'CONSTANT', 'REFLECT', 'SYMMETRIC'; got '" + mode +
                   "'");
}

std::vector<std::pair<int64_t, int64_t>> to_paddings(py::handle obj) {
  Tensor t = to_tensor(obj);
  CORTEN_CHECK_TYPE(is_integral(t.dtype()) || t.numel() == 0,
                    "pad: paddings must be integers; got dtype ", dtype_name(t.dtype()));
  CORTEN_CHECK_VALUE((t.ndim() == 2 && t.dim(1) == 2) || t.numel() == 0,
                     "pad: paddings must have shape (rank, 2); got shape ", show(t.shape()));
  if (t.numel() == 0) return {};
  const std::vector<int64_t> p = int_values(t, "pad: paddings");
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int64_t i = 0; i < t.dim(0); ++i) out.emplace_back(p[2 * i], p[2 * i + 1]);
  return out;
}

}  // namespace

void bind_shape_ops(py::module_& m) {
  m.def(
      "reshape", [](py::handle x, py::handle shape) { return reshape(to_tensor(x), to_shape(shape)); },
      py::arg("tensor"), py::arg("shape"));
  m.def(
      "transpose",
      [](py::handle x, py::handle perm) {
        return perm.is_none() ? transpose(to_tensor(x)) : transpose(to_tensor(x), to_axes(perm));
      },
      py::arg("a"), py::arg("perm") = py::none());
  m.def(
      "expand_dims", [](py::handle x, int64_t axis) { return expand_dims(to_tensor(x), axis); },
      py::arg("input"), py::arg("axis"));
  m.def(
      "squeeze", [](py::handle x, py::handle axis) { return squeeze(to_tensor(x), to_axes(axis)); },
      py::arg("input"), py::arg("axis") = py::none());
  m.def(
      "broadcast_to",
      [](py::handle x, py::handle shape) { return broadcast_to(to_tensor(x), to_shape(shape)); },
      py::arg("input"), py::arg("shape"));
  m.def(
      "concat",
      [](py::handle values, int64_t axis) { return concat(to_tensor_list(values, "concat"), axis); },
      py::arg("values"), py::arg("axis"));
  m.def(
      "stack",
      [](py::handle values, int64_t axis) { return stack(to_tensor_list(values, "stack"), axis); },
      py::arg("values"), py::arg("axis") = 0);
  m.def(
      "split",
      [](py::handle x, py::handle sizes, int64_t axis) {
        if (PyLong_Check(sizes.ptr())) return split(to_tensor(x), to_int64(sizes, "num_or_size_splits"), axis);
        return split(to_tensor(x), to_axes(sizes), axis);
      },
      py::arg("value"), py::arg("num_or_size_splits"), py::arg("axis") = 0,
      "An int splits into that many equal pieces; a list gives the piece sizes.");
  m.def(
      "unstack", [](py::handle x, int64_t axis) { return unstack(to_tensor(x), axis); },
      py::arg("value"), py::arg("axis") = 0);
  m.def(
      "tile", [](py::handle x, py::handle multiples) { return tile(to_tensor(x), to_axes(multiples)); },
      py::arg("input"), py::arg("multiples"));
  m.def(
      "gather",
      [](py::handle params, py::handle indices, int64_t axis, int64_t batch_dims) {
        return gather(to_tensor(params), to_tensor(indices), axis, batch_dims);
      },
      py::arg("params"), py::arg("indices"), py::arg("axis") = 0, py::arg("batch_dims") = 0);
  m.def(
      "pad",
      [](py::handle x, py::handle paddings, const std::string& mode, double value) {
        return pad(to_tensor(x), to_paddings(paddings), to_pad_mode(mode), value);
      },
      py::arg("tensor"), py::arg("paddings"), py::arg("mode") = "CONSTANT",
      py::arg("constant_values") = 0.0);
  m.def(
      "identity", [](py::handle x) { return identity(to_tensor(x)); }, py::arg("input"));
  m.def(
      "shape", [](py::handle x, py::handle out_type) { return shape_of(to_tensor(x), to_dtype(out_type)); },
      py::arg("input"), py::arg("out_type") = DType::Int32);
  m.def(
      "rank", [](py::handle x) { return rank_of(to_tensor(x)); }, py::arg("input"));
  m.def(
      "size", [](py::handle x, py::handle out_type) { return size_of(to_tensor(x), to_dtype(out_type)); },
      py::arg("input"), py::arg("out_type") = DType::Int32);
}

}  // namespace corten::py_bind
