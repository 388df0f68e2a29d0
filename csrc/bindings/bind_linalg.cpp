#include <corten/ops.h>

#include <corten/cpu_features.h>

#include <optional>
#include <string>

#include "bindings/bindings.h"
#include "bindings/fastcall.h"
#include "cpu/matmul.h"

namespace corten::py_bind {
namespace {

// Note [Binding fast path]: matmul(a, b[, transpose_a[, transpose_b]]) with exact Tensors and
// bool flags, positional (how corten.matmul calls it). The small products of an MLP step pay
// the pybind11 dispatch otherwise (bench/bench_gemm.py, mlp cases).
PyObject* fast_matmul(PyObject* fallback, PyObject* const* args, Py_ssize_t nargs,
                      PyObject* kwnames) {
  if (nargs >= 2 && nargs <= 4 && !kwnames) {
    const Tensor* a = fast::exact_tensor(args[0]);
    const Tensor* b = a ? fast::exact_tensor(args[1]) : nullptr;
    const bool flags = (nargs < 3 || PyBool_Check(args[2])) && (nargs < 4 || PyBool_Check(args[3]));
    if (b && flags) {
      try {
        return fast::wrap(matmul(*a, *b, nargs >= 3 && args[2] == Py_True,
                                 nargs >= 4 && args[3] == Py_True));
      } catch (...) {  // repeated below, where pybind11 translates the exception
      }
    }
  }
  return fast::forward(fallback, args, nargs, kwnames);
}

}  // namespace

void bind_linalg(py::module_& m) {
  m.def(
      "matmul",
      [](py::handle a, py::handle b, bool transpose_a, bool transpose_b) {
        auto [x, y] = binary_operands(a, b);
        return matmul(x, y, transpose_a, transpose_b);
      },
      py::arg("a"), py::arg("b"), py::arg("transpose_a") = false,
      py::arg("transpose_b") = false);
  static PyMethodDef matmul_def{};  // must outlive the module
  matmul_def.ml_meth = reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&fast_matmul));
  fast::install(m, "matmul", &matmul_def);
  m.def(
      "linear",
      [](py::handle x, py::handle w, py::handle bias, const std::string& activation) {
        const Activation act = activation_from_name(activation);
        const Tensor xt = to_tensor(x);
        return linear(xt, to_tensor(w), bias.is_none() ? Tensor() : to_tensor(bias), act);
      },
      py::arg("x"), py::arg("w"), py::arg("bias") = py::none(),
      py::arg("activation") = "linear");
  m.def(
      "linear_activations",
      [] {
        py::list names;
        for (int i = 0; i < static_cast<int>(Activation::kCount); ++i)
          names.append(activation_name(static_cast<Activation>(i)));
        return py::tuple(names);
      },
      "The activation names linear() fuses into the GEMM epilogue.");
  m.def(
      "gemm_info",
      [](const std::string& dtype) {
        const DType t = dtype == "float64"    ? DType::Float64
                        : dtype == "bfloat16" ? DType::BFloat16
                                              : DType::Float32;
        CORTEN_CHECK_VALUE(dtype == "float32" || dtype == "float64" || dtype == "bfloat16",
                           "gemm_info: dtype must be 'float32', 'float64' or 'bfloat16'; got '",
                           dtype, "'");
        const cpu::GemmInfo g = cpu::gemm_info(t);
        py::dict d;
        d["kernel"] = g.kernel;
        d["mr"] = g.mr;
        d["nr"] = g.nr;
        d["kc"] = g.kc;
        d["mc"] = g.mc;
        d["nc"] = g.nc;
        d["l1d_bytes"] = g.l1d;
        d["l2_bytes"] = g.l2;
        d["l3_bytes"] = g.l3;
        d["caches_detected"] = g.caches_detected;
        d["isa"] = cpu_isa_name();
        return d;
      },
      py::arg("dtype") = "float32");
  m.def(
      "matmul_activation_grad",
      [](py::handle a, py::handle b, bool transpose_a, bool transpose_b,
         const std::string& activation, py::handle out) {
        const Activation act = activation_from_name(activation);
        const Tensor at = to_tensor(a), bt = to_tensor(b), ot = to_tensor(out);
        return matmul_activation_grad(at, bt, transpose_a, transpose_b, act, ot);
      },
      py::arg("a"), py::arg("b"), py::arg("transpose_a"), py::arg("transpose_b"),
      py::arg("activation"), py::arg("out"));
}

}  // namespace corten::py_bind
