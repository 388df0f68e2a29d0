// The CUDA runtime seam of the CUDA build (core/cuda_runtime.h): which devices exist and why
// none do, one stream per device, the caching device allocator, and copies between devices.
//
// Note [CUDA streams and memory]
// - Devices. cudaGetDeviceCount is asked once; an error (no driver, a driver older than the
//   runtime, no device) is kept as the reason tf.config.experimental.gpu_unavailable_reason()
//   gives, and the library runs on the CPU. cudart is linked statically, so the library loads
//   on machines with no CUDA at all.
// - Streams. Every kernel and copy of a device goes to that device's one stream, created at its
//   first use. It is a blocking stream (ordered with the legacy default stream), so work that
//   other libraries queue on their default stream, and the test's own cudaMemcpy, see corten's
//   results without an explicit synchronisation. The host waits for the stream only when it
//   reads a value (a copy to the host, read_device_value).
// - Memory. Blocks come in the CPU allocator's size classes (allocator_size_class) and are
//   cached per device when freed. Because one stream runs all of a device's work in order, a
//   block freed by the host can serve the next allocation at once: any kernel still reading it
//   was queued before any kernel that will write it (stream-ordered reuse, as PyTorch's caching
//   allocator does for a single stream). When cudaMalloc fails the cache is given back to the
//   driver (after synchronising the stream) and the allocation tried once more; then a
//   MemoryError names the op, the bytes asked for and the device's current and peak bytes.
//   get_memory_info reports live bytes (size-class rounded) and their peak, as TF reports its
//   allocator's.
// - Scope. Ops run on GPU:0's stream; tensors can live on GPU:N (copies), and running ops on
//   another device is the multi-GPU work of a later increment (cuda_runtime_copy says so).

#include <corten/allocator.h>
#include <corten/errors.h>
#include <corten/tensor.h>
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/cuda_runtime.h"
#include "cuda/common.cuh"
#include "cuda/cublaslt_loader.h"

namespace corten::cuda {
namespace {

constexpr int kMaxDevices = 64;

struct DeviceStatus {
  int count = 0;
  std::string reason;
};

bool driver_library_present() {
  void* handle = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (handle) dlclose(handle);
  return handle != nullptr;
}

const DeviceStatus& device_status() {
  static const DeviceStatus status = [] {
    DeviceStatus s;
    int n = 0;
    const cudaError_t err = cudaGetDeviceCount(&n);
    if (err == cudaSuccess && n > 0) {
      s.count = n < kMaxDevices ? n : kMaxDevices;
      return s;
    }
    (void)cudaGetLastError();  // the error is reported here, not by the next call
    if (err == cudaSuccess || err == cudaErrorNoDevice) {
      s.reason = "no CUDA device";
    } else if (err == cudaErrorInsufficientDriver && !driver_library_present()) {
      // cudart says "insufficient driver" also when there is no driver at all.
      s.reason = "no CUDA driver: libcuda.so.1 is not installed";
    } else if (err == cudaErrorInsufficientDriver) {
      s.reason = std::string("no CUDA driver: ") + cudaGetErrorString(err);
    } else {
      s.reason = std::string("no CUDA driver: ") + cudaGetErrorName(err) + ": " +
                 cudaGetErrorString(err);
    }
    return s;
  }();
  return status;
}

// One device's stream and cached blocks. The lock guards the free lists and counters.
class DeviceState {
 public:
  explicit DeviceState(int index) : index_(index) {}

  cudaStream_t stream() {
    std::call_once(stream_once_, [&] {
      int previous = 0;
      CORTEN_CUDA_CHECK(cudaGetDevice(&previous));
      CORTEN_CUDA_CHECK(cudaSetDevice(index_));
      CORTEN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamDefault));
      CORTEN_CUDA_CHECK(cudaSetDevice(previous));
    });
    return stream_;
  }

  void* allocate(size_t nbytes, const char* op) {
    const size_t cls = allocator_size_class(nbytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& bin = free_[cls];
      if (!bin.empty()) {
        void* p = bin.back();
        bin.pop_back();
        note_live(static_cast<int64_t>(cls));
        return p;
      }
    }
    void* p = system_allocate(cls);
    if (!p) {
      empty_cache();
      p = system_allocate(cls);
    }
    if (!p) {
      const DeviceMemoryInfo info = memory_info();
      throw MemoryError(detail::str_cat(op, ": out of memory on GPU:", index_, " allocating ",
                                        nbytes, " bytes (", info.current, " bytes in use, peak ",
                                        info.peak, ")"));
    }
    std::lock_guard<std::mutex> lock(mu_);
    note_live(static_cast<int64_t>(cls));
    return p;
  }

  void release(void* p, size_t nbytes) noexcept {
    const size_t cls = allocator_size_class(nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    live_ -= static_cast<int64_t>(cls);
    try {
      free_[cls].push_back(p);
    } catch (...) {  // no room to remember it: give it back once the stream is done with it
      (void)cudaStreamSynchronize(stream_);
      (void)cudaFree(p);
    }
  }

  DeviceMemoryInfo memory_info() {
    std::lock_guard<std::mutex> lock(mu_);
    return {live_, peak_};
  }
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mu_);
    peak_ = live_;
  }

 private:
  void* system_allocate(size_t bytes) {
    int previous = 0;
    if (cudaGetDevice(&previous) != cudaSuccess) return nullptr;
    void* p = nullptr;
    const bool ok = cudaSetDevice(index_) == cudaSuccess && cudaMalloc(&p, bytes) == cudaSuccess;
    (void)cudaGetLastError();  // an out-of-memory error is answered here
    (void)cudaSetDevice(previous);
    return ok ? p : nullptr;
  }

  void empty_cache() {
    std::vector<void*> blocks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [cls, bin] : free_) blocks.insert(blocks.end(), bin.begin(), bin.end());
      free_.clear();
    }
    if (blocks.empty()) return;
    CORTEN_CUDA_CHECK(cudaStreamSynchronize(stream()));
    for (void* p : blocks) (void)cudaFree(p);
  }

  void note_live(int64_t n) {
    live_ += n;
    if (live_ > peak_) peak_ = live_;
  }

  const int index_;
  std::once_flag stream_once_;
  cudaStream_t stream_{};
  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  int64_t live_ = 0, peak_ = 0;
};

// Never destroyed: storages released during interpreter shutdown still find their device.
DeviceState& device_state(int index) {
  static std::array<DeviceState*, kMaxDevices>* states = [] {
    auto* a = new std::array<DeviceState*, kMaxDevices>();
    for (int i = 0; i < kMaxDevices; ++i) (*a)[i] = new DeviceState(i);
    return a;
  }();
  return *(*states)[index];
}

}  // namespace

cudaStream_t current_stream() { return device_state(0).stream(); }

void* device_allocate(size_t nbytes, const char* op) {
  return device_state(0).allocate(nbytes, op);
}
void device_release(void* p, size_t nbytes) noexcept { device_state(0).release(p, nbytes); }

}  // namespace corten::cuda

namespace corten::detail {

int cuda_runtime_device_count() noexcept {
  try {
    return cuda::device_status().count;
  } catch (...) {
    return 0;
  }
}

std::string cuda_runtime_unavailable_reason() { return cuda::device_status().reason; }

std::shared_ptr<Storage> cuda_runtime_allocate(size_t nbytes, int index, const char* op) {
  CORTEN_CHECK_VALUE(index >= 0 && index < cuda_runtime_device_count(), op, ": no device GPU:",
                     index);
  cuda::DeviceState& state = cuda::device_state(index);
  void* p = state.allocate(nbytes, op);
  std::shared_ptr<void> owner(p, [&state, nbytes](void* q) { state.release(q, nbytes); });
  return Storage::borrow(p, nbytes, std::move(owner));
}

Tensor cuda_runtime_copy(const Tensor& src, DeviceId dst, const char* op) {
  const DeviceId from = device_of(src);
  if (dst.type == Device::CUDA && dst.index != 0) {
    throw NotImplementedError(str_cat(op, ": ops run on GPU:0 in this version of corten; ",
                                      device_full_name(dst), " is not supported yet"));
  }
  // A strided source is made dense on its own device first (the copy kernel of that device).
  const Tensor dense = src.contiguous();
  Tensor out = empty_on(src.shape(), src.dtype(), dst, op);
  const size_t bytes = static_cast<size_t>(src.numel()) * itemsize(src.dtype());
  if (bytes == 0) return out;
  const int gpu = from.type == Device::CUDA ? from.index : dst.index;
  cudaStream_t stream = cuda::device_state(gpu).stream();
  if (from.type == Device::CUDA && dst.type == Device::CUDA && from.index != dst.index) {
    CORTEN_CUDA_CHECK(cudaMemcpyPeerAsync(out.raw_data(), dst.index, dense.raw_data(), from.index,
                                          bytes, stream));
  } else {
    // Unified addressing: the runtime tells host from device pointers.
    CORTEN_CUDA_CHECK(
        cudaMemcpyAsync(out.raw_data(), dense.raw_data(), bytes, cudaMemcpyDefault, stream));
  }
  // The host waits only to read what it copied back: a pageable host source is staged before
  // cudaMemcpyAsync returns, and device blocks are reused in stream order.
  if (dst.type == Device::CPU || from.index != dst.index) {
    CORTEN_CUDA_CHECK(cudaStreamSynchronize(stream));
  }
  return out;
}

DeviceMemoryInfo cuda_runtime_memory_info(int index) {
  return cuda::device_state(index).memory_info();
}

CudaDeviceDetails cuda_runtime_device_details(int index) {
  cudaDeviceProp prop{};
  CORTEN_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
  return {prop.name, prop.major, prop.minor};
}

void cuda_runtime_add_library_dir(const std::string& dir) { cuda::add_library_dir(dir); }

std::string cuda_runtime_library_status() { return cuda::cublaslt_status(); }

void cuda_runtime_synchronize() {
  for (int i = 0; i < cuda_runtime_device_count(); ++i) {
    CORTEN_CUDA_CHECK(cudaStreamSynchronize(cuda::device_state(i).stream()));
  }
}

void cuda_runtime_reset_peak(int index) { cuda::device_state(index).reset_peak(); }

}  // namespace corten::detail
