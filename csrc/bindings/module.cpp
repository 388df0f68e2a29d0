#include <corten/errors.h>

#include "bindings/bindings.h"

namespace corten::py_bind {

PYBIND11_MODULE(_C, m) {
  m.doc() = "corten C++ core";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const IndexError& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const MemoryError& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    } catch (const NotImplementedError& e) {
      PyErr_SetString(PyExc_NotImplementedError, e.what());
    } catch (const Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });
  bind_tensor(m);
  bind_runtime(m);
  bind_elementwise(m);
  bind_creation(m);
  bind_reduce(m);
  bind_shape_ops(m);
  bind_linalg(m);
  bind_nn(m);
  bind_losses(m);
  bind_random(m);
  bind_interop(m);
  bind_autograd(m);
  bind_optimizers(m);
  bind_conv(m);
  bind_pooling(m);
  bind_rnn(m);
  bind_trace(m);
  bind_distributed(m);
  bind_control_flow(m);
  bind_devices(m);
  bind_hashing(m);
  bind_strings(m);
  bind_image(m);
}

}  // namespace corten::py_bind
