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
}

}  // namespace corten::py_bind
