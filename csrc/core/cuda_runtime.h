#pragma once
// The CUDA runtime seam of the device model (Note [Device placement] in core/devices.cpp).
// A build without CORTEN_CUDA links core/cuda_runtime_stub.cpp, which reports no device and
// why; the CUDA build provides these functions from csrc/cuda/runtime.cu instead (device count
// from cudaGetDeviceCount, memory from its caching allocator, copies through its stream).

#include <corten/devices.h>
#include <corten/tensor.h>

#include <memory>
#include <string>

namespace corten::detail {

/// Number of usable CUDA devices (0 when the driver or the device is missing). Called once per
/// process; must not throw.
int cuda_runtime_device_count() noexcept;
/// Why cuda_runtime_device_count() is 0, in the words tf.config.experimental.
/// gpu_unavailable_reason() shows: "this build of corten has no CUDA support" (the stub),
/// "no CUDA driver" or "no CUDA device" (the CUDA build, optionally followed by ": " and the
/// driver's own message); empty when there are devices.
std::string cuda_runtime_unavailable_reason();
/// A copy of `src` on `dst`, where `src` or `dst` is a cuda device (the other may be the cpu).
Tensor cuda_runtime_copy(const Tensor& src, DeviceId dst, const char* op);
/// `nbytes` of device memory on cuda device `index` from the caching allocator, released to it
/// when the storage dies. MemoryError naming `op` when the device is out of memory.
std::shared_ptr<Storage> cuda_runtime_allocate(size_t nbytes, int index, const char* op);
/// The device caching allocator's counters for cuda device `index` (< device count).
DeviceMemoryInfo cuda_runtime_memory_info(int index);
/// The name and compute capability of cuda device `index` (< device count).
struct CudaDeviceDetails {
  std::string name;
  int major = 0, minor = 0;
};
CudaDeviceDetails cuda_runtime_device_details(int index);
/// A directory searched first for the NVIDIA libraries loaded at run time (cuBLASLt).
void cuda_runtime_add_library_dir(const std::string& dir);
/// Whether the run-time libraries load (trying them if no product has), or why not.
std::string cuda_runtime_library_status();
/// Waits for the work queued on every cuda device's stream.
void cuda_runtime_synchronize();
/// Sets the peak counter of cuda device `index` to its current bytes.
void cuda_runtime_reset_peak(int index);

}  // namespace corten::detail
