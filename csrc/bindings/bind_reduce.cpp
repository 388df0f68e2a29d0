#include <corten/ops.h>

#include "bindings/bindings.h"

namespace corten::py_bind {
namespace {

// to_axes with a TypeError naming the op for values that are not integers.
std::vector<int64_t> op_axes(py::handle axis, const char* op) {
  const bool is_str = py::isinstance<py::str>(axis) || py::isinstance<py::bytes>(axis);
  try {
    if (!is_str) return to_axes(axis);
  } catch (const py::cast_error&) {
  } catch (const TypeError&) {
  } catch (const py::error_already_set&) {
  }
  throw TypeError(detail::str_cat(op, ": axis must be an int, a sequence of ints or an integer "
                                  "tensor; got ", py::repr(axis).cast<std::string>()));
}

// argmax/argmin take one axis: an int or a scalar (or one-element) integer tensor.
int64_t to_single_axis(py::handle axis, const char* op) {
  const std::vector<int64_t> axes = op_axes(axis, op);
  CORTEN_CHECK_VALUE(axes.size() == 1, op, ": axis must be a single integer; got ",
                     py::repr(axis).cast<std::string>());
  return axes[0];
}

}  // namespace

void bind_reduce(py::module_& m) {
  for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min, ReduceOp::Prod,
                      ReduceOp::Any, ReduceOp::All, ReduceOp::LogSumExp}) {
    m.def(
        reduce_op_name(op),
        [op](py::handle x, py::handle axis, bool keepdims) {
          // axis=None reduces every axis; an explicit empty list reduces none (TensorFlow).
          if (axis.is_none()) return reduce(op, to_tensor(x), {}, keepdims);
          return reduce(op, to_tensor(x), op_axes(axis, reduce_op_name(op)), keepdims,
                        /*all_axes_if_empty=*/false);
        },
        py::arg("input_tensor"), py::arg("axis") = py::none(), py::arg("keepdims") = false);
  }
  m.def(
      "reduce_grad",
      [](const std::string& op, py::handle g, py::handle x, const std::vector<uint8_t>& reduced,
         bool keepdims) {
        CORTEN_CHECK_VALUE(op == "sum" || op == "mean", "reduce_grad: op must be 'sum' or ",
                           "'mean'; got '", op, "'");
        return reduce_grad(op == "sum" ? ReduceOp::Sum : ReduceOp::Mean, to_tensor(g), to_tensor(x),
                           reduced, keepdims);
      },
      py::arg("op"), py::arg("g"), py::arg("x"), py::arg("reduced"), py::arg("keepdims"),
      "The gradient of reduce_sum / reduce_mean spread over x's shape.");
  m.def(
      "argmax",
      [](py::handle x, py::handle axis, py::handle output_type) {
        return argmax(to_tensor(x), to_single_axis(axis, "argmax"), to_dtype(output_type));
      },
      py::arg("input"), py::arg("axis") = 0, py::arg("output_type") = DType::Int64);
  m.def(
      "argmin",
      [](py::handle x, py::handle axis, py::handle output_type) {
        return argmin(to_tensor(x), to_single_axis(axis, "argmin"), to_dtype(output_type));
      },
      py::arg("input"), py::arg("axis") = 0, py::arg("output_type") = DType::Int64);
}

}  // namespace corten::py_bind
