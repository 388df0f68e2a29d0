#include <corten/allocator.h>
#include <corten/cpu_features.h>
#include <corten/parallel.h>
#include <corten/weights_file.h>

#include "bindings/bindings.h"

#include <string_view>

namespace corten::py_bind {

namespace {

// The bytes of a Python bytes object, not copied.
std::string_view bytes_view(const py::bytes& b) {
  char* p = nullptr;
  Py_ssize_t n = 0;
  if (PyBytes_AsStringAndSize(b.ptr(), &p, &n) != 0) throw py::error_already_set();
  return {p, static_cast<size_t>(n)};
}

// (names in header order, their tensors, the metadata) of a read weights file.
py::tuple weights_file_tuple(const WeightsFile& w) {
  py::list names, tensors;
  for (const std::string& name : w.names()) {
    names.append(name);
    tensors.append(w.at(name));
  }
  py::dict metadata;
  for (const auto& [k, v] : w.metadata()) metadata[py::str(k)] = v;
  return py::make_tuple(names, tensors, metadata);
}

}  // namespace

void bind_runtime(py::module_& m) {
  // The one reader of the weights file format (corten/weights_file.h), for
  // corten/keras/saving/weights_file.py.
  m.attr("weights_file_max_header") = WeightsFile::kMaxHeaderBytes;
  m.def("weights_file_load", [](const std::string& path) {
    WeightsFile w = [&] {
      py::gil_scoped_release nogil;
      return WeightsFile::load(path);
    }();
    return weights_file_tuple(w);
  }, py::arg("path"));
  m.def("weights_file_parse", [](const py::bytes& data, const std::string& source) {
    const std::string_view v = bytes_view(data);
    WeightsFile w = [&] {
      py::gil_scoped_release nogil;
      return WeightsFile::parse(v.data(), v.size(), source);
    }();
    return weights_file_tuple(w);
  }, py::arg("data"), py::arg("source"));
  m.def("weights_file_header", [](const py::bytes& data, uint64_t file_size,
                                  const std::string& source) {
    const std::string_view v = bytes_view(data);
    const WeightsFileHeader h = WeightsFile::parse_header(v.data(), v.size(), file_size, source);
    py::list entries;
    for (const WeightsFileEntry& e : h.entries) {
      py::tuple shape(e.shape.size());
      for (size_t i = 0; i < e.shape.size(); ++i) shape[i] = e.shape[i];
      entries.append(py::make_tuple(e.name, e.code, shape, e.begin, e.end));
    }
    py::dict metadata;
    for (const auto& [k, v2] : h.metadata) metadata[py::str(k)] = v2;
    return py::make_tuple(entries, metadata, h.data_start);
  }, py::arg("data"), py::arg("file_size"), py::arg("source"));

  m.def("get_num_threads", &get_num_threads);
  m.def("set_num_threads", &set_num_threads, py::arg("n"));
  m.def("cpu_isa", &cpu_isa_name);
  m.def("cpu_has_avx2", &cpu_has_avx2);
  m.def("cpu_has_avx512", &cpu_has_avx512);
  m.def("cpu_has_avx512_bf16", &cpu_has_avx512_bf16);
  m.def("set_cpu_isa", &set_cpu_isa, py::arg("name"));
  m.def("cpu_has_amx_bf16", &cpu_has_amx_bf16);
  m.def("cpu_amx_enabled", &cpu_amx_enabled);
  m.def("set_cpu_amx", &set_cpu_amx, py::arg("enabled"));
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
