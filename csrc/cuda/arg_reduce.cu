// CUDA argmax / argmin along one axis, with the CPU kernel's signature (cpu::arg_reduce,
// csrc/cpu/reduce.h): x is a device pointer with element strides, out is contiguous over the
// other dimensions, int32 or int64. Callers have validated the dtypes and shape[axis] > 0.
//
// The lines map to threads as Note [CUDA line kernels] says. Each thread scans its elements in
// index order with the CPU kernel's test (cpu::reduction::arg_better: only a strictly better
// value replaces the best, NaN counts as the extreme and the first NaN stays); a group merges
// its (value, index) pairs keeping the better value and, between values that neither beats
// (equal ones, or two NaNs), the smaller index. The result is therefore the CPU kernel's, the
// first index of the extreme, bit for bit on every device.

#include <cstdint>
#include <cstdlib>

#include "cpu/reduce.h"
#include "cpu/reduce_functors.h"
#include "cuda/common.cuh"
#include "cuda/lines.cuh"

namespace corten::cuda {
namespace {

using cpu::reduction::arg_better;
using lines::group_fold;
using lines::RowsThread;

// The best element seen so far and its index; index -1 before any element.
template <class T>
struct ArgAcc {
  T v;
  int64_t i;
};

template <class T>
__device__ __forceinline__ ArgAcc<T> shfl_down(ArgAcc<T> a, int offset) {
  return {lines::shfl_down(a.v, offset), lines::shfl_down(a.i, offset)};
}
template <class T>
__device__ __forceinline__ ArgAcc<T> shfl_first(ArgAcc<T> a) {
  return {lines::shfl_first(a.v), lines::shfl_first(a.i)};
}

template <bool kMax>
struct ArgF {
  template <class T>
  static __device__ __forceinline__ ArgAcc<T> merge(ArgAcc<T> a, ArgAcc<T> b) {
    if (b.i < 0) return a;
    if (a.i < 0) return b;
    if (arg_better<kMax>(b.v, a.v)) return b;
    if (arg_better<kMax>(a.v, b.v)) return a;
    return b.i < a.i ? b : a;
  }
};

template <bool kMax, class T, class I>
__global__ void __launch_bounds__(lines::kMaxGroup)
    arg_rows_kernel(const T* __restrict__ x, Indexer<1> ix, int64_t count, int64_t n, int64_t rs,
                    int group, I* __restrict__ out) {
  const RowsThread t{group};
  const int64_t r = t.rank();
  for (int64_t l = t.first(); l < count; l += t.step()) {
    const T* xl = x + ix.offset(l);
    ArgAcc<T> acc{T(0), -1};
    if (r < n) acc = {xl[r * rs], r};
    for (int64_t i = r + group; i < n; i += group) {
      const T v = xl[i * rs];
      if (arg_better<kMax>(v, acc.v)) acc = {v, i};
    }
    acc = group_fold<ArgF<kMax>>(acc, group);
    if (r == 0) out[l] = static_cast<I>(acc.i);
  }
}

template <bool kMax, class T, class I>
__global__ void __launch_bounds__(lines::kLineBlock)
    arg_lanes_kernel(const T* __restrict__ x, Indexer<1> ix, int64_t count, int64_t n, int64_t rs,
                     I* __restrict__ out) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t l = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; l < count;
       l += stride) {
    const T* xl = x + ix.offset(l);
    T best = xl[0];
    int64_t idx = 0;
    for (int64_t i = 1; i < n; ++i) {
      const T v = xl[i * rs];
      if (arg_better<kMax>(v, best)) {
        best = v;
        idx = i;
      }
    }
    out[l] = static_cast<I>(idx);
  }
}

template <bool kMax, class T, class I>
void arg_reduce_impl(const Shape& shape, const T* x, const Shape& x_strides, int64_t axis, I* out) {
  const char* op = kMax ? "argmax" : "argmin";
  Shape dims;
  int64_t count = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (static_cast<int64_t>(d) == axis) continue;
    dims.push_back(static_cast<int64_t>(d));
    count *= shape[d];
  }
  const size_t a = static_cast<size_t>(axis);
  const int64_t n = shape[a], rs = x_strides[a];
  if (count == 0 || n == 0) return;
  const Indexer<1> ix = make_indexer<1>(op, shape, {&x_strides}, dims);
  const bool lanes = ix.ndim > 0 && std::llabs(ix.stride[0][ix.ndim - 1]) < std::llabs(rs) &&
                     count >= lines::kMinLaneLines;
  if (lanes) {
    launch(op, &arg_lanes_kernel<kMax, T, I>, lines::lanes_grid(count), dim3(lines::kLineBlock), 0,
           x, ix, count, n, rs, out);
  } else {
    const lines::RowsLaunch rl = lines::rows_launch(count, n);
    launch(op, &arg_rows_kernel<kMax, T, I>, rl.grid, rl.block, 0, x, ix, count, n, rs, rl.group,
           out);
  }
}

}  // namespace

void arg_reduce(bool is_max, DType dtype, const Shape& shape, const void* x, const Shape& x_strides,
                int64_t axis, DType index_dtype, void* out) {
  visit_numeric(dtype, is_max ? "argmax" : "argmin", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xp = static_cast<const T*>(x);
    auto go = [&](auto* o) {
      if (is_max) {
        arg_reduce_impl<true>(shape, xp, x_strides, axis, o);
      } else {
        arg_reduce_impl<false>(shape, xp, x_strides, axis, o);
      }
    };
    if (index_dtype == DType::Int32) {
      go(static_cast<int32_t*>(out));
    } else {
      go(static_cast<int64_t*>(out));
    }
  });
}

}  // namespace corten::cuda
