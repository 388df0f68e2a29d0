#include <corten/allocator.h>
#include <corten/cpu_features.h>
#include <corten/parallel.h>

#include "bindings/bindings.h"

namespace corten::py_bind {

void bind_runtime(py::module_& m) {
  m.def("get_num_threads", &get_num_threads);
  m.def("set_num_threads", &set_num_threads, py::arg("n"));
  m.def("cpu_isa", &cpu_isa_name);
  m.def("cpu_has_avx2", &cpu_has_avx2);
  m.def("cpu_has_avx512", &cpu_has_avx512);
  m.def("cpu_has_avx512_bf16", &cpu_has_avx512_bf16);
  m.def("set_cpu_isa", &set_cpu_isa, py::arg("name"));
  m.def("memory_stats", [] {
    const AllocatorStats s = allocator_stats();
    py::dict d;
    d["live_bytes"] = s.live_bytes;
    d["peak_bytes"] = s.peak_bytes;
    d["cached_bytes"] = s.cached_bytes;
    d["num_allocs"] = s.num_allocs;
    d["num_system_allocs"] = s.num_system_allocs;
    return d;
  });
  m.def("reset_peak_memory", &allocator_reset_peak);
  m.def("empty_cache", &allocator_empty_cache);
  m.def("set_poison_freed", &allocator_set_poison_freed, py::arg("enabled"));
  m.def("poison_freed", &allocator_poison_freed);
  m.def("set_cache_limit", &allocator_set_cache_limit, py::arg("bytes"));
}

}  // namespace corten::py_bind
