#pragma once
// pybind11 glue shared by the bind_*.cpp files. Bindings convert arguments and results; they
// never loop over tensor data.

#include <corten/tensor.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

namespace corten::py_bind {

namespace py = pybind11;

void bind_tensor(py::module_& m);
void bind_elementwise(py::module_& m);
void bind_creation(py::module_& m);
void bind_reduce(py::module_& m);
void bind_shape_ops(py::module_& m);
void bind_linalg(py::module_& m);
void bind_nn(py::module_& m);
void bind_losses(py::module_& m);
void bind_random(py::module_& m);
void bind_runtime(py::module_& m);
void bind_interop(py::module_& m);
void bind_autograd(py::module_& m);
void bind_optimizers(py::module_& m);
void bind_conv(py::module_& m);
void bind_pooling(py::module_& m);
void bind_rnn(py::module_& m);
void bind_trace(py::module_& m);
void bind_control_flow(py::module_& m);
void bind_devices(py::module_& m);
void bind_hashing(py::module_& m);
void bind_strings(py::module_& m);
void bind_image(py::module_& m);
void bind_distributed(py::module_& m);

/// DType from a corten DType, a string ("float32"), a numpy dtype or type, or Python's
/// float/int/bool. TypeError otherwise.
DType to_dtype(py::handle obj);
/// A shape as a Python tuple, None for unknown dimensions.
py::tuple shape_tuple(const Shape& shape);

/// Converts a Tensor, Python scalar, nested sequence, numpy array or buffer to a Tensor.
/// With `dtype`, the result has that dtype: Python and numpy values are converted to it (a
/// float value for an integer dtype is a TypeError, as in TensorFlow); a Tensor of another
/// dtype is a TypeError. Contiguous numpy arrays of a supported dtype are shared, not copied.
Tensor to_tensor(py::handle obj, std::optional<DType> dtype = std::nullopt);

/// Like to_tensor, but returns nullopt (instead of raising) for objects that are not
/// tensor-like at all, so that Python operators can return NotImplemented.
std::optional<Tensor> try_to_tensor(py::handle obj, std::optional<DType> dtype);

/// Converts the second operand of a binary op: a Tensor as is, anything else with the first
/// operand's dtype as a hint.
std::pair<Tensor, Tensor> binary_operands(py::handle x, py::handle y);

/// A Python or numpy integer as int64: TypeError for other types (bool included), ValueError
/// when it does not fit. `what` names the argument in messages.
int64_t to_int64(py::handle obj, const char* what);
/// The values of a small integer tensor passed as an argument (axes, shapes, paddings):
/// TypeError for non-integer dtypes, ValueError for meta tensors, whose values are unknown.
std::vector<int64_t> int_values(const Tensor& t, const char* what);
/// An int, a sequence of ints or None as a list of axes (empty for None).
std::vector<int64_t> to_axes(py::handle obj);
/// A shape from a sequence of ints (None for an unknown dimension), a TensorShape, or a 1-D
/// integer Tensor.
Shape to_shape(py::handle obj);

}  // namespace corten::py_bind
