#pragma once
// Kernel launches and CUDA error checks, shared by the CUDA build (nvcc) and the test shim
// (tests/cuda_shim/, g++), so that the same kernel sources compile in both.
//
// Note [Kernel launches]
// Every kernel is started through launch(name, kernel, grid, block, shared_bytes, args...):
// under nvcc it is `kernel<<<grid, block, shared_bytes, stream>>>(args...)` followed by the
// launch-error check, which throws corten::Error naming the kernel; under the shim it runs the
// grid's blocks on CPU threads (tests/cuda_shim/cuda_runtime.h). Arguments are converted to the
// kernel's parameter types first, as the <<<>>> syntax does. An empty grid launches nothing
// (CUDA rejects it as an invalid configuration, but an empty tensor is not an error).
// Kernels run on current_stream(): one stream per device (csrc/cuda/runtime.cu, Note [CUDA
// streams and memory]); through the shim, the launching thread.

#include <corten/errors.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <string>

/// Declares `name` as a T* to the block's dynamic shared memory (the launch's shared_bytes).
#ifdef __CUDACC__
#define CORTEN_DYNAMIC_SHARED(T, name)                        \
  extern __shared__ __align__(16) unsigned char name##_raw[]; \
  T* name = reinterpret_cast<T*>(name##_raw)
#else
#define CORTEN_DYNAMIC_SHARED(T, name) T* name = ::cuda_shim::dynamic_shared<T>()
#endif

namespace corten::cuda {

/// Throws corten::Error "<what>: <CUDA error string> (<file>:<line>)".
[[noreturn]] inline void throw_cuda_error(const std::string& what, cudaError_t err,
                                          const char* file, int line) {
  throw Error(what + ": " + cudaGetErrorString(err) + " (" + file + ":" + std::to_string(line) +
              ")");
}

/// The stream every kernel of this build runs on: the current device's.
#ifdef CORTEN_CUDA_SHIM
inline cudaStream_t current_stream() { return cudaStream_t{}; }
#else
cudaStream_t current_stream();
#endif

/// Starts `kernel` on `grid` x `block` threads (Note [Kernel launches]).
template <class... Params, class... Args>
void launch(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes,
            Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "launch: wrong number of kernel arguments");
  if (static_cast<size_t>(grid.x) * grid.y * grid.z == 0) return;
#ifdef __CUDACC__
  kernel<<<grid, block, shared_bytes, current_stream()>>>(static_cast<Params>(args)...);
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) {
    throw_cuda_error(std::string(name) + ": kernel launch failed", err, __FILE__, __LINE__);
  }
#else
  ::cuda_shim::launch(name, kernel, grid, block, shared_bytes, static_cast<Params>(args)...);
#endif
}

}  // namespace corten::cuda

/// Throws corten::Error naming the failed CUDA runtime call and where it was made.
#define CORTEN_CUDA_CHECK(expr)                                                      \
  do {                                                                               \
    const cudaError_t corten_cuda_err_ = (expr);                                     \
    if (corten_cuda_err_ != cudaSuccess) {                                           \
      ::corten::cuda::throw_cuda_error(#expr, corten_cuda_err_, __FILE__, __LINE__); \
    }                                                                                \
  } while (0)
