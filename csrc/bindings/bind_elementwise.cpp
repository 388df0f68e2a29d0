#include <corten/ops.h>

#include <array>
#include <utility>

#include "bindings/bindings.h"
#include "bindings/fastcall.h"

namespace corten::py_bind {
namespace {

// Note [Binding fast path]: f(x) and f(x, y) with exact Tensors, positional arguments only.
template <int kOp>
PyObject* fast_unary(PyObject* fallback, PyObject* const* args, Py_ssize_t nargs,
                     PyObject* kwnames) {
  if (nargs == 1 && !kwnames) {
    if (const Tensor* x = fast::exact_tensor(args[0])) {
      try {
        return fast::wrap(unary(static_cast<UnaryOp>(kOp), *x, 0.0));
      } catch (...) {  // repeated below, where pybind11 translates the exception
      }
    }
  }
  return fast::forward(fallback, args, nargs, kwnames);
}

template <int kOp>
PyObject* fast_binary(PyObject* fallback, PyObject* const* args, Py_ssize_t nargs,
                      PyObject* kwnames) {
  if (nargs == 2 && !kwnames) {
    const Tensor* a = fast::exact_tensor(args[0]);
    const Tensor* b = a ? fast::exact_tensor(args[1]) : nullptr;
    if (b) {
      try {
        return fast::wrap(binary(static_cast<BinaryOp>(kOp), *a, *b));
      } catch (...) {
      }
    }
  }
  return fast::forward(fallback, args, nargs, kwnames);
}

using FastFn = PyObject* (*)(PyObject*, PyObject* const*, Py_ssize_t, PyObject*);

template <int... I>
constexpr std::array<FastFn, sizeof...(I)> unary_fns(std::integer_sequence<int, I...>) {
  return {&fast_unary<I>...};
}
template <int... I>
constexpr std::array<FastFn, sizeof...(I)> binary_fns(std::integer_sequence<int, I...>) {
  return {&fast_binary<I>...};
}

}  // namespace

void bind_elementwise(py::module_& m) {
  for (int i = 0; i < static_cast<int>(UnaryOp::kCount); ++i) {
    const auto op = static_cast<UnaryOp>(i);
    m.def(
        unary_op_name(op),
        [op](py::handle x, double alpha) { return unary(op, to_tensor(x), alpha); },
        py::arg("x"), py::arg("alpha") = 0.0);
  }
  for (int i = 0; i < static_cast<int>(BinaryOp::kCount); ++i) {
    const auto op = static_cast<BinaryOp>(i);
    m.def(
        binary_op_name(op),
        [op](py::handle x, py::handle y) {
          auto [a, b] = binary_operands(x, y);
          return binary(op, a, b);
        },
        py::arg("x"), py::arg("y"));
  }
  m.def(
      "elementwise_ops",
      [] {
        static const char* const accepts[] = {"numeric", "floating", "bool", "all"};
        py::list ops;
        auto row = [&](const ElementwiseOpInfo& info, int arity) {
          py::dict d;
          d["name"] = info.name;
          d["arity"] = arity;
          d["accepts"] = accepts[static_cast<int>(info.accepts)];
          d["cost"] = info.cost == OpCost::Cheap ? "cheap" : "costly";
          d["differentiable"] = info.differentiable;
          d["returns_bool"] = info.returns_bool;
          ops.append(d);
        };
        for (const ElementwiseOpInfo& info : detail::kUnaryOps) row(info, 1);
        for (const ElementwiseOpInfo& info : detail::kBinaryOps) row(info, 2);
        return ops;
      },
      "The elementwise op table (Note [Elementwise op table]): one dict per op.");
  m.def(
      "where",
      [](py::handle cond, py::handle x, py::handle y) {
        auto [a, b] = binary_operands(x, y);
        return where(to_tensor(cond), a, b);
      },
      py::arg("condition"), py::arg("x"), py::arg("y"));
  m.def(
      "clip_by_value",
      [](py::handle t, py::handle lo, py::handle hi) {
        Tensor x = to_tensor(t);
        return clip_by_value(x, to_tensor(lo, x.dtype()), to_tensor(hi, x.dtype()));
      },
      py::arg("t"), py::arg("clip_value_min"), py::arg("clip_value_max"));
  m.def(
      "cast", [](py::handle x, py::handle dtype) { return cast(to_tensor(x), to_dtype(dtype)); },
      py::arg("x"), py::arg("dtype"));
  m.def(
      "assign_",
      [](const Tensor& dst, py::handle value) { copy_(dst, to_tensor(value, dst.dtype())); },
      py::arg("dst"), py::arg("value"), "Copies value into dst in place (same shape).");

  // Note [Binding fast path]. The method tables are leaked: they must outlive the module.
  constexpr int nu = static_cast<int>(UnaryOp::kCount), nb = static_cast<int>(BinaryOp::kCount);
  static constexpr auto ufns = unary_fns(std::make_integer_sequence<int, nu>());
  static constexpr auto bfns = binary_fns(std::make_integer_sequence<int, nb>());
  auto* defs = new PyMethodDef[nu + nb]();
  for (int i = 0; i < nu; ++i) {
    defs[i].ml_meth = reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(ufns[i]));
    fast::install(m, unary_op_name(static_cast<UnaryOp>(i)), &defs[i]);
  }
  for (int i = 0; i < nb; ++i) {
    defs[nu + i].ml_meth = reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(bfns[i]));
    fast::install(m, binary_op_name(static_cast<BinaryOp>(i)), &defs[nu + i]);
  }
}

}  // namespace corten::py_bind
