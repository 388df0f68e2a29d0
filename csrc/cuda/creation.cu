// CUDA creation kernels with the CPU kernels' signatures (csrc/cpu/creation.h): range, eye and
// one_hot. Outputs are contiguous device buffers; callers have validated the arguments.
//
// Each is one grid-stride loop over the output, one thread per element, computing the
// element from its index alone, by the CPU kernel's formula and in its types, so results are
// bit for bit the CPU's:
// - range: integers as start + i * delta in wrapping uint64 arithmetic, floats as
//   start + double(i) * delta in double (a product and a sum, never fused: --fmad=false) and
//   then rounded to the dtype;
// - eye: 1 where row == column in each batch entry;
// - one_hot: out[a, d, i] = on if indices[a, i] == d else off, the values converted by
//   cpu::convert as on the CPU; consecutive threads take consecutive i, so the index reads and
//   the output writes are coalesced.

#include <cstdint>
#include <type_traits>

#include "cpu/convert.h"
#include "cpu/creation.h"
#include "cuda/common.cuh"

namespace corten::cuda {
namespace {

template <class T>
__global__ void __launch_bounds__(kThreads)
    range_kernel(int64_t n, double start, double delta, uint64_t istart, uint64_t idelta,
                 T* __restrict__ out) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    if constexpr (std::is_integral_v<T>) {
      // As on the CPU: unsigned arithmetic wraps instead of overflowing.
      out[i] = static_cast<T>(static_cast<int64_t>(istart + static_cast<uint64_t>(i) * idelta));
    } else {
      out[i] = static_cast<T>(start + static_cast<double>(i) * delta);
    }
  }
}

template <class T>
__global__ void __launch_bounds__(kThreads)
    eye_kernel(int64_t rows, int64_t cols, T* __restrict__ out, int64_t n) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  const int64_t per = rows * cols;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    const int64_t k = i % per;
    out[i] = k / cols == k % cols ? T(1) : T(0);
  }
}

template <class T, class I>
__global__ void __launch_bounds__(kThreads)
    one_hot_kernel(const I* __restrict__ idx, int64_t depth, int64_t inner, T on, T off,
                   T* __restrict__ out, int64_t n) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n;
       e += stride) {
    const int64_t i = e % inner;
    const int64_t ad = e / inner;  // a * depth + d
    const int64_t d = ad % depth, a = ad / depth;
    out[e] = static_cast<int64_t>(idx[a * inner + i]) == d ? on : off;
  }
}

}  // namespace

void range(DType dtype, int64_t n, double start, double delta, void* out) {
  if (n <= 0) return;
  visit_numeric(dtype, "range", [&](auto tag) {
    using T = typename decltype(tag)::type;
    uint64_t istart = 0, idelta = 0;  // integer dtypes: start and delta as the CPU converts them
    if constexpr (std::is_integral_v<T>) {
      istart = static_cast<uint64_t>(static_cast<int64_t>(start));
      idelta = static_cast<uint64_t>(static_cast<int64_t>(delta));
    }
    launch("range", &range_kernel<T>, dim3(blocks_for(n, kThreads)), dim3(kThreads), 0, n, start,
           delta, istart, idelta, static_cast<T*>(out));
  });
}

void eye(DType dtype, int64_t batch, int64_t rows, int64_t cols, void* out) {
  const int64_t n = batch * rows * cols;
  if (n == 0) return;
  visit_dtype(dtype, "eye", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch("eye", &eye_kernel<T>, dim3(blocks_for(n, kThreads)), dim3(kThreads), 0, rows, cols,
           static_cast<T*>(out), n);
  });
}

void one_hot(DType index_dtype, DType dtype, const void* indices, int64_t outer, int64_t depth,
             int64_t inner, double on, double off, void* out) {
  const int64_t n = outer * depth * inner;
  if (n == 0) return;
  visit_dtype(dtype, "one_hot", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T on_v = cpu::convert<T>(on), off_v = cpu::convert<T>(off);
    auto run = [&](const auto* idx) {
      using I = std::remove_cv_t<std::remove_pointer_t<decltype(idx)>>;
      launch("one_hot", &one_hot_kernel<T, I>, dim3(blocks_for(n, kThreads)), dim3(kThreads), 0,
             idx, depth, inner, on_v, off_v, static_cast<T*>(out), n);
    };
    if (index_dtype == DType::Int32) {
      run(static_cast<const int32_t*>(indices));
    } else {
      run(static_cast<const int64_t*>(indices));
    }
  });
}

}  // namespace corten::cuda
