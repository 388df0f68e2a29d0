#include <corten/trace.h>
#include <corten/trace_control.h>

#include <memory>

#include "bindings/bindings.h"

namespace corten::py_bind {

void bind_control_flow(py::module_& m) {
  py::class_<trace::TracedFn, std::shared_ptr<trace::TracedFn>>(
      m, "TracedFn", "A traced branch or loop body and its gradient plan (corten.cond).")
      .def_property_readonly("num_results", [](const trace::TracedFn& f) { return f.num_results; })
      .def_property_readonly("forward", [](const trace::TracedFn& f) {
        return std::const_pointer_cast<trace::Plan>(f.fwd);
      });

  m.def("trace_sub_begin", &trace::begin_sub, py::arg("inputs"), py::arg("zeros_like"));
  m.def(
      "trace_sub_end",
      [](const std::vector<Tensor>& outputs) {
        trace::SubPlan sub = trace::end_sub(outputs);
        return py::make_tuple(sub.plan, sub.implicit);
      },
      py::arg("outputs"));
  m.def("trace_sub_cancel", &trace::cancel_sub);
  m.def("trace_sub_implicit", &trace::sub_implicit);
  m.def("trace_sub_variables", &trace::sub_variables);
  m.def(
      "make_traced_fn",
      [](const std::shared_ptr<trace::Plan>& fwd, int64_t num_results,
         const std::shared_ptr<trace::Plan>& grad, const std::vector<Tensor>& sources,
         int64_t num_implicit_sources, const std::vector<int64_t>& grad_source) {
        return std::const_pointer_cast<trace::TracedFn>(trace::make_traced_fn(
            fwd, num_results, grad, sources, num_implicit_sources, grad_source));
      },
      py::arg("forward"), py::arg("num_results"), py::arg("grad"), py::arg("sources"),
      py::arg("num_implicit_sources"), py::arg("grad_source"));
  m.def(
      "cond",
      [](const Tensor& pred, const std::shared_ptr<trace::TracedFn>& t,
         const std::shared_ptr<trace::TracedFn>& f, const std::vector<Tensor>& ti,
         const std::vector<Tensor>& fi) { return trace::cond(pred, t, f, ti, fi); },
      py::arg("pred"), py::arg("true_fn"), py::arg("false_fn"), py::arg("true_inputs"),
      py::arg("false_inputs"));
  m.def(
      "while_loop",
      [](const std::shared_ptr<trace::TracedFn>& c, const std::shared_ptr<trace::TracedFn>& b,
         const std::vector<Tensor>& vars, const std::vector<Tensor>& ci,
         const std::vector<Tensor>& bi, std::optional<Tensor> max_iter) {
        return trace::while_loop(c, b, vars, ci, bi, max_iter ? *max_iter : Tensor());
      },
      py::arg("cond"), py::arg("body"), py::arg("loop_vars"), py::arg("cond_inputs"),
      py::arg("body_inputs"), py::arg("maximum_iterations"));
}

}  // namespace corten::py_bind
