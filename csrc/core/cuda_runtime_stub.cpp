// The CUDA runtime seam on a build without CUDA (core/cuda_runtime.h): no device, and why.
// The CUDA build compiles csrc/cuda/runtime.cu instead of this file (CMakeLists.txt).
#include <corten/errors.h>

#include "core/cuda_runtime.h"

namespace corten::detail {

namespace {
constexpr const char* kNoCudaBuild = "this build of corten has no CUDA support";
}  // namespace

int cuda_runtime_device_count() noexcept { return 0; }

std::string cuda_runtime_unavailable_reason() { return kNoCudaBuild; }

Tensor cuda_runtime_copy(const Tensor& src, DeviceId dst, const char* op) {
  throw NotImplementedError(str_cat(op, ": cannot copy a tensor from ",
                                    device_full_name(device_of(src)), " to ", device_full_name(dst),
                                    ": ", kNoCudaBuild));
}

std::shared_ptr<Storage> cuda_runtime_allocate(size_t, int, const char* op) {
  throw NotImplementedError(str_cat(op, ": ", kNoCudaBuild));
}

CudaDeviceDetails cuda_runtime_device_details(int index) {
  throw ValueError(str_cat("get_device_details: no GPU:", index, ": ", kNoCudaBuild));
}

void cuda_runtime_add_library_dir(const std::string&) {}

std::string cuda_runtime_library_status() { return kNoCudaBuild; }

void cuda_runtime_synchronize() {}

void cuda_runtime_reset_peak(int index) {
  throw ValueError(str_cat("reset_memory_stats: no GPU:", index, ": ", kNoCudaBuild));
}

DeviceMemoryInfo cuda_runtime_memory_info(int index) {
  throw ValueError(str_cat("get_memory_info: no GPU:", index, ": ", kNoCudaBuild));
}

}  // namespace corten::detail
