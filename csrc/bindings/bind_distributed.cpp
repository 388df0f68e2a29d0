#include <corten/distributed.h>

#include "bindings/bindings.h"

namespace corten::py_bind {

void bind_distributed(py::module_& m) {
  py::enum_<dist::ReduceOp>(m, "DistReduceOp")
      .value("SUM", dist::ReduceOp::Sum)
      .value("MAX", dist::ReduceOp::Max)
      .value("MIN", dist::ReduceOp::Min);
  m.def("dist_init", &dist::init, py::arg("library"), py::call_guard<py::gil_scoped_release>(),
        "Loads the MPI library (standard ABI) and initialises MPI once.");
  m.def("dist_initialized", &dist::initialized);
  m.def("dist_finalize", &dist::finalize, py::call_guard<py::gil_scoped_release>());
  m.def("dist_rank", &dist::rank);
  m.def("dist_size", &dist::size);
  m.def("dist_all_reduce", &dist::all_reduce, py::arg("x"), py::arg("op"),
        py::call_guard<py::gil_scoped_release>());
  m.def("dist_broadcast_", &dist::broadcast_, py::arg("x"), py::arg("root"),
        py::call_guard<py::gil_scoped_release>());
  m.def("dist_barrier", &dist::barrier, py::call_guard<py::gil_scoped_release>());
  m.def("dist_set_timeout", &dist::set_timeout, py::arg("seconds"));
  m.def("dist_timeout", &dist::timeout);
  m.def("dist_stats", [] {
    const dist::Stats st = dist::stats();
    py::dict d;
    d["collectives"] = st.collectives;
    d["bytes"] = st.bytes;
    d["wait_seconds"] = st.wait_seconds;
    return d;
  });
  m.def("dist_all_reduce_start", &dist::all_reduce_start, py::arg("parts"), py::arg("op"),
        py::call_guard<py::gil_scoped_release>());
  m.def("dist_all_reduce_wait", &dist::all_reduce_wait, py::arg("packed"),
        py::call_guard<py::gil_scoped_release>());
  py::class_<dist::GradientReducer, autograd::GradientObserver>(
      m, "GradientReducer", "Sums gradients over the ranks while the backward pass runs.")
      .def(py::init([](py::handle sources, int64_t bytes_per_pack) {
             std::vector<Tensor> src;
             for (py::handle s : py::iter(sources)) src.push_back(to_tensor(s));
             return std::make_unique<dist::GradientReducer>(src, bytes_per_pack);
           }),
           py::arg("sources"), py::arg("bytes_per_pack"))
      .def_property_readonly("local", &dist::GradientReducer::local)
      .def_property_readonly("num_buckets", &dist::GradientReducer::num_buckets)
      .def("finish", &dist::GradientReducer::finish, py::call_guard<py::gil_scoped_release>());
}

}  // namespace corten::py_bind
