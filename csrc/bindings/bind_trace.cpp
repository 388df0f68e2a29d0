#include <corten/model.h>
#include <corten/trace.h>

#include <memory>
#include <unordered_map>

#include "bindings/bindings.h"
#include "bindings/fastcall.h"

namespace corten::py_bind {
namespace {

struct PyTracePause {
  std::unique_ptr<trace::Pause> pause;
};

}  // namespace

void bind_trace(py::module_& m) {
  py::class_<trace::Plan, std::shared_ptr<trace::Plan>>(
      m, "Plan", "A traced function's op calls, replayed in C++ (corten.function).")
      .def("run", &trace::Plan::run, py::arg("inputs"),
           "Runs the plan on tensors of the traced shapes and dtypes; returns its outputs.")
      .def(
          "run_if_traced_for",
          [](const trace::Plan& p, const py::tuple& args) -> py::object {
            // Note [Replaying the last signature] (python/corten/ops/function.py).
            const auto& shapes = p.input_shapes();
            const auto& dtypes = p.input_dtypes();
            if (args.size() != shapes.size()) return py::none();
            trace::Tensors inputs;
            inputs.reserve(shapes.size());
            for (size_t i = 0; i < shapes.size(); ++i) {
              const Tensor* t = fast::exact_tensor(args[i].ptr());
              if (t == nullptr || !t->defined() || t->is_variable() ||
                  t->dtype() != dtypes[i] || t->shape() != shapes[i])
                return py::none();
              inputs.push_back(*t);
            }
            return py::cast(p.run(inputs));
          },
          py::arg("args"),
          "Runs the plan when `args` are exactly tensors (not variables) of its traced shapes "
          "and dtypes and returns its outputs; None otherwise (nothing run).")
      .def(
          "run_batches",
          [](const trace::Plan& p, const std::vector<Tensor>& sources,
             const std::vector<int64_t>& input_source, py::handle order, int64_t batch_rows,
             int64_t first_row, int64_t num_steps, bool stack) {
            return p.run_batches(sources, input_source,
                                 order.is_none() ? Tensor() : to_tensor(order), batch_rows,
                                 first_row, num_steps, stack);
          },
          py::arg("sources"), py::arg("input_source"), py::arg("order"), py::arg("batch_rows"),
          py::arg("first_row"), py::arg("num_steps"), py::arg("stack") = false,
          "Replays the plan once per batch of rows cut from `sources` (Note [Epoch replay]); "
          "returns the last replay's outputs.")
      .def("same_computation", &trace::Plan::same_computation, py::arg("other"),
           "Whether `other` runs the same computation, input sizes aside (Note [Relaxed plans]).")
      .def("relaxed", &trace::Plan::relaxed, py::arg("other"),
           "This plan for any size where `other`'s input sizes differ from this one's.")
      .def_property_readonly("input_shapes",
                             [](const trace::Plan& p) {
                               py::list shapes;
                               for (const Shape& s : p.input_shapes())
                                 shapes.append(shape_tuple(s));
                               return shapes;
                             })
      .def("summary", &trace::Plan::summary)
      .def_property_readonly("captures", &trace::Plan::captures)
      .def("to_json", &trace::Plan::to_json, py::arg("capture_names"),
           "The plan as a saved-plan JSON document (docs/model_format.md).")
      .def_property_readonly("num_nodes", &trace::Plan::num_nodes)
      .def_property_readonly("num_inputs", &trace::Plan::num_inputs)
      .def_property_readonly("num_outputs", &trace::Plan::num_outputs)
      .def_property_readonly("num_captures", &trace::Plan::num_captures)
      .def_property_readonly("num_dead", &trace::Plan::num_dead)
      .def_property_readonly("num_folded", &trace::Plan::num_folded)
      .def_property_readonly("peak_bytes", &trace::Plan::peak_bytes)
      .def_property_readonly("num_fused_groups", &trace::Plan::num_fused_groups)
      .def_property_readonly("num_fused_nodes", &trace::Plan::num_fused_nodes)
      .def("profile", &trace::Plan::profile, py::arg("inputs"), py::arg("runs"),
           "Each node's mean wall time in seconds over `runs` runs.")
      .def_property_readonly("ops", [](const trace::Plan& p) {
        std::vector<std::string> ops;
        for (const auto& node : p.nodes()) ops.push_back(node.op);
        return ops;
      });

  py::class_<PyTracePause>(m, "TracePause",
                           "Context manager: ops inside it are not traced (init_scope).")
      .def(py::init<>())
      .def("__enter__", [](PyTracePause& p) { p.pause = std::make_unique<trace::Pause>(); })
      .def("__exit__", [](PyTracePause& p, py::args) { p.pause.reset(); });

  m.def(
      "plan_from_json",
      [](const std::string& text, const std::string& source, const py::dict& captures) {
        std::unordered_map<std::string, Tensor> by_name;
        for (const auto& [k, v] : captures) by_name[k.cast<std::string>()] = v.cast<Tensor>();
        return trace::Plan::from_json(text, source, [&](size_t, const std::string& name) {
          const auto it = by_name.find(name);
          return it == by_name.end() ? Tensor() : it->second;
        });
      },
      py::arg("text"), py::arg("source"), py::arg("captures"),
      "A plan read from a saved-plan JSON document, its captures given by name.");
  py::class_<Model>(m, "SavedModel",
                    "A saved model's inference graph run by the C++ API (corten::Model).")
      .def(py::init(static_cast<Model (*)(const std::string&, const std::string&)>(&Model::load)),
           py::arg("path"), py::arg("signature") = "serving_default")
      .def("predict",
           static_cast<std::vector<Tensor> (Model::*)(const std::vector<Tensor>&) const>(
               &Model::predict),
           py::arg("inputs"), py::call_guard<py::gil_scoped_release>())
      .def("predict",
           static_cast<std::vector<Tensor> (Model::*)(const std::map<std::string, Tensor>&) const>(
               &Model::predict),
           py::arg("inputs"), py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("input_names", &Model::input_names)
      .def_property_readonly("output_names", &Model::output_names)
      .def_property_readonly("num_inputs", &Model::num_inputs)
      .def_property_readonly("num_outputs", &Model::num_outputs)
      .def_property_readonly("input_shapes",
                             [](const Model& model) {
                               py::list out;
                               for (const Shape& s : model.input_shapes())
                                 out.append(shape_tuple(s));
                               return out;
                             })
      .def_property_readonly("input_dtypes", &Model::input_dtypes);
  m.def("saved_model_signatures", &Model::signatures, py::arg("path"),
        "The signatures saved at a model path (metadata.json's list).");
  m.def("saved_model_signature_entry", &Model::signature_entry, py::arg("signature"),
        "The file entry of a signature's inference graph.");
  m.def("trace_begin", &trace::begin, py::arg("inputs"));
  m.def("trace_end", &trace::end, py::arg("outputs"), py::arg("fuse") = true);
  m.def("trace_cancel", &trace::cancel);
  m.def("trace_active", &trace::active);
  m.def("trace_holds", &trace::holds, py::arg("tensor"));
}

}  // namespace corten::py_bind
