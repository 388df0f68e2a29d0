#pragma once
// Shared pieces of the CUDA kernels: launch geometry, strided indexing, vector loads.
// Compiled by nvcc in the CUDA build and by the host compiler through tests/cuda_shim/.

#include <corten/errors.h>
#include <corten/shape.h>
#include <cuda_runtime.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

#include "cpu/host_device.h"
#include "cpu/loops.h"
#include "cuda/launch.h"

namespace corten::cuda {

/// Threads per block of the elementwise kernels.
constexpr int kThreads = 256;
/// Most blocks of a grid-stride launch: enough to fill an H200 many times over.
constexpr int64_t kMaxBlocks = 65536;
/// Most dimensions of a strided operand after merging (Indexer).
constexpr int kMaxDims = 16;

/// Blocks of `threads` for a grid-stride loop over `n` items.
inline unsigned blocks_for(int64_t n, int64_t threads) {
  const int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < kMaxBlocks ? b : kMaxBlocks);
}

/// Element offsets of N operands at a linear index over a shape (C order), passed to a kernel by
/// value. Dimensions of size 1 are dropped and neighbours that every operand steps through
/// uniformly are merged (make_indexer), so most views need one or two dimensions.
template <int N>
struct Indexer {
  int ndim;
  int64_t size[kMaxDims];
  int64_t stride[N][kMaxDims];

  CORTEN_HD void offsets(int64_t linear, int64_t (&off)[N]) const {
    for (int k = 0; k < N; ++k) off[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t i = linear % size[d];
      linear /= size[d];
      for (int k = 0; k < N; ++k) off[k] += i * stride[k][d];
    }
  }
  CORTEN_HD int64_t offset(int64_t linear) const {
    int64_t off[N];
    offsets(linear, off);
    return off[0];
  }
};

/// The merged Indexer of `shape` with one stride vector per operand; `dims` selects and orders
/// the dimensions (all of them when empty is not wanted: pass 0..rank-1). Throws ValueError
/// naming `op` when more than kMaxDims dimensions remain.
template <int N>
Indexer<N> make_indexer(const char* op, const Shape& shape,
                        const std::array<const Shape*, N>& strides, const Shape& dims) {
  Indexer<N> ix{};
  ix.ndim = 0;
  for (const int64_t d : dims) {
    if (shape[d] == 1) continue;
    if (ix.ndim > 0) {
      const int last = ix.ndim - 1;
      bool mergeable = true;
      for (int k = 0; k < N; ++k) {
        mergeable &= (*strides[k])[d] * shape[d] == ix.stride[k][last];
      }
      if (mergeable) {  // the previous dimension steps over whole rows of this one
        ix.size[last] *= shape[d];
        for (int k = 0; k < N; ++k) ix.stride[k][last] = (*strides[k])[d];
        continue;
      }
    }
    if (ix.ndim == kMaxDims) {
      std::ostringstream msg;
      msg << op << ": the CUDA kernel takes at most " << kMaxDims
          << " dimensions that cannot be merged; got shape=(";
      for (size_t i = 0; i < shape.size(); ++i) msg << (i ? ", " : "") << shape[i];
      msg << ")";
      throw ValueError(msg.str());
    }
    ix.size[ix.ndim] = shape[d];
    for (int k = 0; k < N; ++k) ix.stride[k][ix.ndim] = (*strides[k])[d];
    ++ix.ndim;
  }
  return ix;
}

/// 0, 1, ..., rank-1.
inline Shape all_dims(size_t rank) {
  Shape d(rank);
  for (size_t i = 0; i < rank; ++i) d[i] = static_cast<int64_t>(i);
  return d;
}

using cpu::dense_stride;

/// V elements loaded or stored as one aligned vector access (ld.global.v4 and the like).
template <class T, int V>
struct alignas(sizeof(T) * V) Pack {
  T v[V];
};

template <class T, int V>
__device__ __forceinline__ Pack<T, V> load_pack(const T* p) {
#ifdef __CUDACC__
  return *reinterpret_cast<const Pack<T, V>*>(p);
#else
  Pack<T, V> r;
  std::memcpy(r.v, p, sizeof(r.v));
  return r;
#endif
}

template <class T, int V>
__device__ __forceinline__ void store_pack(T* p, const Pack<T, V>& r) {
#ifdef __CUDACC__
  *reinterpret_cast<Pack<T, V>*>(p) = r;
#else
  std::memcpy(p, r.v, sizeof(r.v));
#endif
}

/// Device memory for a kernel's intermediate results (partial sums, sorted keys), released when
/// it goes out of scope, after the work queued on current_stream() that uses it (Note [Device
/// scratch]). Through the test shim it is host memory.
class DeviceScratch {
 public:
  DeviceScratch(size_t bytes, const char* op);
  ~DeviceScratch();
  DeviceScratch(const DeviceScratch&) = delete;
  DeviceScratch& operator=(const DeviceScratch&) = delete;
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
  [[maybe_unused]] size_t bytes_ = 0;
};

// Note [Device scratch]
// Kernel families take their scratch from DeviceScratch rather than cudaMalloc, so that the
// device caching allocator serves it and its release is ordered on the kernels' stream.
#ifdef CORTEN_CUDA_SHIM
inline DeviceScratch::DeviceScratch(size_t bytes, const char* op)
    : ptr_(std::malloc(bytes ? bytes : 1)), bytes_(bytes) {
  if (!ptr_) throw MemoryError(std::string(op) + ": out of memory for scratch");
}
inline DeviceScratch::~DeviceScratch() { std::free(ptr_); }
#else
/// Device memory from the caching allocator of the current device (csrc/cuda/runtime.cu).
void* device_allocate(size_t nbytes, const char* op);
void device_release(void* p, size_t nbytes) noexcept;
inline DeviceScratch::DeviceScratch(size_t bytes, const char* op)
    : ptr_(device_allocate(bytes, op)), bytes_(bytes) {}
inline DeviceScratch::~DeviceScratch() { device_release(ptr_, bytes_); }
#endif

/// The value at device address `p`, after the work queued before on current_stream(): a host
/// synchronisation, for kernels whose CPU twin returns a value (a bad index, a sum).
template <class T>
T read_device_value(const T* p, const char* op) {
  T v{};
  const cudaError_t err =
      cudaMemcpyAsync(&v, p, sizeof(T), cudaMemcpyDeviceToHost, current_stream());
  if (err != cudaSuccess)
    throw_cuda_error(std::string(op) + ": reading a result", err, __FILE__, __LINE__);
  const cudaError_t sync = cudaStreamSynchronize(current_stream());
  if (sync != cudaSuccess)
    throw_cuda_error(std::string(op) + ": synchronising", sync, __FILE__, __LINE__);
  return v;
}

inline bool aligned_to(const void* p, size_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % bytes == 0;
}

}  // namespace corten::cuda
