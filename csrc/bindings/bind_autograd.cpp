#include <corten/autograd.h>
#include <corten/devices.h>
#include <corten/ops.h>

#include <memory>

#include "bindings/bindings.h"

namespace corten::py_bind {
namespace {

std::vector<Tensor> to_tensor_list(py::handle seq, bool allow_none) {
  std::vector<Tensor> out;
  for (py::handle item : py::iter(seq)) {
    if (item.is_none()) {
      CORTEN_CHECK_TYPE(allow_none, "expected a tensor; got None");
      out.emplace_back();
    } else {
      out.push_back(to_tensor(item));
    }
  }
  return out;
}

py::list to_py_list(const std::vector<Tensor>& ts) {
  py::list l;
  for (const Tensor& t : ts) {
    if (t.defined()) {
      l.append(py::cast(t));
    } else {
      l.append(py::none());
    }
  }
  return l;
}

struct PyPause {
  std::unique_ptr<autograd::PauseRecording> pause;
};

}  // namespace

void bind_autograd(py::module_& m) {
  py::class_<autograd::GradientObserver>(m, "GradientObserver",
                                         "Hears of each gradient as the backward pass ends it.");
  py::class_<autograd::Tape>(m, "Tape", "The C++ tape behind corten.GradientTape.")
      .def(py::init<bool, bool>(), py::arg("persistent"), py::arg("watch_accessed_variables"))
      .def("push", &autograd::Tape::push)
      .def("pop", &autograd::Tape::pop)
      .def("pause", &autograd::Tape::pause)
      .def("resume", &autograd::Tape::resume)
      .def_property_readonly("recording", &autograd::Tape::recording)
      .def("watch", [](autograd::Tape& t, const Tensor& x) { t.watch(x); })
      .def("watched_variables", &autograd::Tape::watched_variables)
      .def("set_watch_all", &autograd::Tape::set_watch_all, py::arg("watch_all"))
      .def("reset", &autograd::Tape::reset)
      .def_property_readonly("num_records", &autograd::Tape::num_records)
      .def(
          "gradient",
          [](autograd::Tape& t, py::handle targets, py::handle sources, py::handle output_gradients,
             bool unconnected_zero, autograd::GradientObserver* observer) {
            const std::vector<Tensor> tg = to_tensor_list(targets, false);
            const std::vector<Tensor> src = to_tensor_list(sources, false);
            std::vector<Tensor> og;
            if (!output_gradients.is_none()) og = to_tensor_list(output_gradients, true);
            return to_py_list(t.gradient(tg, src, og, unconnected_zero, observer));
          },
          py::arg("targets"), py::arg("sources"), py::arg("output_gradients"),
          py::arg("unconnected_zero"), py::arg("observer") = nullptr);

  py::class_<PyPause>(m, "PauseRecording", "Context manager: no tape records inside it.")
      .def(py::init<>())
      .def("__enter__", [](PyPause& p) { p.pause = std::make_unique<autograd::PauseRecording>(); })
      .def("__exit__", [](PyPause& p, py::args) { p.pause.reset(); });

  m.def("is_recording", &autograd::is_recording);
  m.def("records_created", &autograd::records_created);
  m.def("differentiable_ops", &autograd::differentiable_ops);
  m.def(
      "make_variable",
      [](py::handle value, py::handle dtype, bool trainable) {
        const Tensor v = to_tensor(value, dtype.is_none() ? std::nullopt
                                                          : std::optional<DType>(to_dtype(dtype)));
        return autograd::make_variable(place_on_scope_device(v, "Variable"), trainable);
      },
      py::arg("value"), py::arg("dtype"), py::arg("trainable"));
  m.def(
      "assign_variable",
      [](const Tensor& variable, py::handle value, const std::string& mode) {
        autograd::AssignMode m = autograd::AssignMode::Assign;
        if (mode == "assign_add") m = autograd::AssignMode::Add;
        else if (mode == "assign_sub") m = autograd::AssignMode::Subtract;
        else CORTEN_CHECK_VALUE(mode == "assign", "assign_variable: unknown mode ", mode);
        Tensor v;
        if (py::isinstance<Tensor>(value)) {
          v = value.cast<Tensor>();  // a dtype mismatch is reported by assign_variable
        } else {
          try {
            v = to_tensor(value, variable.dtype());
          } catch (const TypeError& e) {
            throw TypeError(mode + ": " + e.what());
          } catch (const ValueError& e) {
            throw ValueError(mode + ": " + e.what());
          }
        }
        autograd::assign_variable(variable, v, m);
      },
      py::arg("variable"), py::arg("value"), py::arg("mode"),
      "Variable.assign / assign_add / assign_sub (mode names which), in place.");
  m.def("set_trainable", &autograd::set_trainable, py::arg("variable"), py::arg("trainable"));
  m.def(
      "stop_gradient", [](py::handle x) { return autograd::stop_gradient(to_tensor(x)); },
      py::arg("input"));
  m.def(
      "record_custom",
      [](const std::string& name, py::handle inputs, py::handle outputs, py::function backward) {
        const std::vector<Tensor> ins = to_tensor_list(inputs, false);
        const std::vector<Tensor> outs = to_tensor_list(outputs, false);
        const size_t n_in = ins.size();
        // The callback owns a reference to the Python function; it is released with the GIL.
        auto fn = std::shared_ptr<py::function>(new py::function(std::move(backward)),
                                                [](py::function* f) {
                                                  py::gil_scoped_acquire gil;
                                                  delete f;
                                                });
        autograd::record("custom_gradient", ins, outs, [&]() -> autograd::BackwardFn {
          return [fn, n_in, name](const std::vector<Tensor>& grads) {
            py::gil_scoped_acquire gil;
            py::tuple args(grads.size());
            for (size_t i = 0; i < grads.size(); ++i) args[i] = py::cast(grads[i]);
            py::object result = (*fn)(*args);
            std::vector<Tensor> gs;
            if (py::isinstance<py::list>(result) || py::isinstance<py::tuple>(result)) {
              gs = to_tensor_list(result, true);
            } else {
              gs.push_back(result.is_none() ? Tensor() : to_tensor(result));
            }
            CORTEN_CHECK_VALUE(gs.size() == n_in, "custom_gradient: the gradient function of ",
                               name, " returned ", gs.size(), " gradients for ", n_in, " inputs");
            return gs;
          };
        });
      },
      py::arg("name"), py::arg("inputs"), py::arg("outputs"), py::arg("backward"));
}

}  // namespace corten::py_bind
