#include <corten/devices.h>
#include <corten/ops.h>

#include "bindings/bindings.h"

namespace corten::py_bind {
namespace {

// offset None: a stateful draw from the stream `key` (its offset kept in C++).
template <class Draw>
Tensor draw(uint64_t key, py::handle offset, const Draw& fn) {
  if (offset.is_none()) return fn(PhiloxStream{key});
  return fn(PhiloxSeed{key, offset.cast<uint64_t>()});
}

}  // namespace

// Note [Device placement]: the random draws are creation ops, placed on the tf.device scope's
// device here (not in the C++ ops, which internal code also calls); dropout runs where x is.
void bind_random(py::module_& m) {
  m.def(
      "random_normal",
      [](py::handle shape, double mean, double stddev, py::handle dtype, uint64_t key,
         py::handle offset) {
        const Shape s = to_shape(shape);
        const DType t = to_dtype(dtype);
        return place_on_scope_device(
            draw(key, offset, [&](auto seed) { return random_normal(s, mean, stddev, t, seed); }),
            "random_normal");
      },
      py::arg("shape"), py::arg("mean"), py::arg("stddev"), py::arg("dtype"), py::arg("key"),
      py::arg("offset") = py::none());
  m.def(
      "truncated_normal",
      [](py::handle shape, double mean, double stddev, py::handle dtype, uint64_t key,
         py::handle offset) {
        const Shape s = to_shape(shape);
        const DType t = to_dtype(dtype);
        const auto fn = [&](auto seed) { return truncated_normal(s, mean, stddev, t, seed); };
        return place_on_scope_device(draw(key, offset, fn), "truncated_normal");
      },
      py::arg("shape"), py::arg("mean"), py::arg("stddev"), py::arg("dtype"), py::arg("key"),
      py::arg("offset") = py::none());
  m.def(
      "random_uniform",
      [](py::handle shape, py::handle minval, py::handle maxval, py::handle dtype, uint64_t key,
         py::handle offset) {
        const DType t = to_dtype(dtype);
        const Shape s = to_shape(shape);
        // Python ints go through int64 so that int64 bounds stay exact.
        if (is_integral(t) && PyLong_Check(minval.ptr()) && PyLong_Check(maxval.ptr())) {
          const int64_t lo = to_int64(minval, "minval"), hi = to_int64(maxval, "maxval");
          return place_on_scope_device(
              draw(key, offset, [&](auto seed) { return random_uniform_int(s, lo, hi, t, seed); }),
              "random_uniform");
        }
        const double lo = minval.cast<double>(), hi = maxval.cast<double>();
        return place_on_scope_device(
            draw(key, offset, [&](auto seed) { return random_uniform(s, lo, hi, t, seed); }),
            "random_uniform");
      },
      py::arg("shape"), py::arg("minval"), py::arg("maxval"), py::arg("dtype"), py::arg("key"),
      py::arg("offset") = py::none());
  m.def(
      "random_permutation",
      [](int64_t n, uint64_t key, py::handle offset) {
        return draw(key, offset, [&](auto seed) { return random_permutation(n, seed); });
      },
      py::arg("n"), py::arg("key"), py::arg("offset") = py::none());
  m.def(
      "dropout",
      [](py::handle x, double rate, py::handle noise_shape, uint64_t key, py::handle offset) {
        std::optional<Shape> ns;
        if (!noise_shape.is_none()) ns = to_shape(noise_shape);
        const Tensor t = to_tensor(x);
        return draw(key, offset, [&](auto seed) { return dropout(t, rate, ns, seed); });
      },
      py::arg("x"), py::arg("rate"), py::arg("noise_shape"), py::arg("key"),
      py::arg("offset") = py::none());
  m.def("philox_stream_offset", &philox_stream_offset, py::arg("key"));
  m.def("set_philox_stream_offset", &set_philox_stream_offset, py::arg("key"), py::arg("offset"));
  m.def("philox_stream_offsets", &philox_stream_offsets);
  m.def("reset_philox_streams", &reset_philox_streams);
  m.def("philox_counters_used", &philox_counters_used, py::arg("numel"),
        "Upper bound of the Philox counters a random draw of numel elements consumes.");
  m.def("_philox4x32", &philox4x32, py::arg("counter"), py::arg("key"),
        "Philox4x32-10 of 4 counter words under 2 key words (test hook).");
}

}  // namespace corten::py_bind
