#include <corten/ops.h>

#include "bindings/bindings.h"

namespace corten::py_bind {

void bind_hashing(py::module_& m) {
  m.def(
      "hash_bucket",
      [](py::handle x, int64_t num_buckets, bool strong, uint64_t k0, uint64_t k1, bool reference) {
        return hash_bucket(to_tensor(x), num_buckets, strong, k0, k1, reference);
      },
      py::arg("x"), py::arg("num_buckets"), py::arg("strong") = false, py::arg("k0") = 0,
      py::arg("k1") = 0, py::arg("reference") = false);
  m.def(
      "sorted_lookup",
      [](py::handle x, py::handle keys, bool reference) {
        return sorted_lookup(to_tensor(x), to_tensor(keys), reference);
      },
      py::arg("x"), py::arg("keys"), py::arg("reference") = false);
  m.def(
      "bincount",
      [](py::handle x, int64_t depth, py::handle weights, bool binary, py::handle dtype,
         bool reference) {
        const Tensor w = weights.is_none() ? Tensor() : to_tensor(weights);
        return bincount(to_tensor(x), depth, w, binary, to_dtype(dtype), reference);
      },
      py::arg("x"), py::arg("depth"), py::arg("weights") = py::none(), py::arg("binary") = false,
      py::arg("dtype") = "float32", py::arg("reference") = false);
}

}  // namespace corten::py_bind
