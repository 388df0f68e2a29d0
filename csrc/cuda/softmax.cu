// CUDA softmax kernels: softmax / log_softmax along one axis and their backward, with the CPU
// kernels' signatures (csrc/cpu/softmax.h). x is a device pointer with element strides, out is
// contiguous; softmax_backward takes contiguous (outer, n, inner) buffers. Callers have
// validated the dtype (floating) and the axis.
//
// The lines along the axis map to threads as Note [CUDA line kernels] says (one warp or one
// block per line, or one thread per line when the lines are side by side in memory). Each line
// takes the CPU kernel's passes: the maximum, then the float64 sum of exp(x - max) (softmax
// stores the exponentials on the way), then the normalisation. Accuracy: Note [CUDA softmax
// accuracy].
//
// Note [CUDA softmax accuracy]
// Every element-wise step is the CPU kernel's expression (exp(x - max) in the input type, the
// sums in float64, one float32 scale or shift per line). Only the order of the float64 sums
// differs when a group of threads shares a line, and only the exp and log of CUDA's math
// library differ from the host's on a GPU. Hence:
// - lanes layout through the test shim: bit for bit the baseline CPU kernels;
// - rows layout through the shim: the float64 sum differs by a few ulp, so a float32 scale or
//   shift by at most one ulp: within rtol = atol = 1e-6 (float32), 1e-12 (float64);
// - on a GPU: within rtol = atol = 1e-5 (float32; expf is within 2 ulp), 1e-12 (float64);
//   the same bounds hold against the AVX2 rows of the CPU kernel (its vector exp).
// The backward's sum(g * y) can cancel; the bounds are relative to the size of g and y.

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "cpu/reduce_functors.h"
#include "cpu/softmax.h"
#include "cuda/common.cuh"
#include "cuda/lines.cuh"

namespace corten::cuda {
namespace {

using cpu::reduction::MaxF;
using lines::AddF;
using lines::group_fold;
using lines::RowsThread;

// ---- forward ------------------------------------------------------------------------------

// Rows layout: line l of n elements starts at x + off[0] (stride xs) and out + off[1] (os).
template <class T>
__global__ void __launch_bounds__(lines::kMaxGroup)
    softmax_rows_kernel(bool log, const T* __restrict__ x, Indexer<2> ix, int64_t count, int64_t n,
                        int64_t xs, int64_t os, int group, T* __restrict__ out) {
  const RowsThread t{group};
  const int64_t r = t.rank();
  for (int64_t l = t.first(); l < count; l += t.step()) {
    int64_t off[2];
    ix.offsets(l, off);
    const T* xl = x + off[0];
    T* ol = out + off[1];
    T m = MaxF<T>::init();
    for (int64_t i = r; i < n; i += group) m = MaxF<T>::step(m, xl[i * xs]);
    m = group_fold<MaxF<T>>(m, group);
    double s = 0.0;
    for (int64_t i = r; i < n; i += group) {
      const T e = std::exp(xl[i * xs] - m);
      if (!log) ol[i * os] = e;
      s += static_cast<double>(e);
    }
    s = group_fold<AddF>(s, group);
    if (log) {
      const T shift = static_cast<T>(std::log(s));
      for (int64_t i = r; i < n; i += group) ol[i * os] = (xl[i * xs] - m) - shift;
    } else {
      // Each thread rescales the exponentials it stored itself.
      const T scale = static_cast<T>(1.0 / s);
      for (int64_t i = r; i < n; i += group) ol[i * os] *= scale;
    }
  }
}

// The rows layout for lines of at most group * kPerThread elements: each thread keeps its
// elements in registers between the passes, so x is read once and out written once (Note
// [CUDA line kernels]). The same arithmetic in the same order as softmax_rows_kernel.
template <class T>
__global__ void __launch_bounds__(lines::kMaxGroup)
    softmax_rows_cached_kernel(bool log, const T* __restrict__ x, Indexer<2> ix, int64_t count,
                               int64_t n, int64_t xs, int64_t os, int group, T* __restrict__ out) {
  constexpr int K = lines::kPerThread;
  const RowsThread t{group};
  const int64_t r = t.rank();
  for (int64_t l = t.first(); l < count; l += t.step()) {
    int64_t off[2];
    ix.offsets(l, off);
    const T* xl = x + off[0];
    T* ol = out + off[1];
    T v[K] = {};
    T m = MaxF<T>::init();
    CORTEN_UNROLL
    for (int k = 0; k < K; ++k) {
      const int64_t i = r + k * group;
      if (i < n) {
        v[k] = xl[i * xs];
        m = MaxF<T>::step(m, v[k]);
      }
    }
    m = group_fold<MaxF<T>>(m, group);
    double s = 0.0;
    CORTEN_UNROLL
    for (int k = 0; k < K; ++k) {
      if (r + k * group < n) {
        const T e = std::exp(v[k] - m);
        if (!log) v[k] = e;
        s += static_cast<double>(e);
      }
    }
    s = group_fold<AddF>(s, group);
    const T shift = log ? static_cast<T>(std::log(s)) : T(0);
    const T scale = log ? T(0) : static_cast<T>(1.0 / s);
    CORTEN_UNROLL
    for (int k = 0; k < K; ++k) {
      const int64_t i = r + k * group;
      if (i < n) ol[i * os] = log ? (v[k] - m) - shift : v[k] * scale;
    }
  }
}

// Lanes layout: one thread per line, the CPU kernel's loop.
template <class T>
__global__ void __launch_bounds__(lines::kLineBlock)
    softmax_lanes_kernel(bool log, const T* __restrict__ x, Indexer<2> ix, int64_t count, int64_t n,
                         int64_t xs, int64_t os, T* __restrict__ out) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t l = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; l < count;
       l += stride) {
    int64_t off[2];
    ix.offsets(l, off);
    const T* xl = x + off[0];
    T* ol = out + off[1];
    T m = MaxF<T>::init();
    for (int64_t i = 0; i < n; ++i) m = MaxF<T>::step(m, xl[i * xs]);
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const T e = std::exp(xl[i * xs] - m);
      if (!log) ol[i * os] = e;
      s += static_cast<double>(e);
    }
    if (log) {
      const T shift = static_cast<T>(std::log(s));
      for (int64_t i = 0; i < n; ++i) ol[i * os] = (xl[i * xs] - m) - shift;
    } else {
      const T scale = static_cast<T>(1.0 / s);
      for (int64_t i = 0; i < n; ++i) ol[i * os] *= scale;
    }
  }
}

template <class T>
void softmax_impl(bool log, const Shape& shape, const T* x, const Shape& x_strides, int64_t axis,
                  T* out) {
  const char* op = log ? "log_softmax" : "softmax";
  const Shape out_strides = contiguous_strides(shape);
  Shape dims;
  int64_t count = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (static_cast<int64_t>(d) == axis) continue;
    dims.push_back(static_cast<int64_t>(d));
    count *= shape[d];
  }
  const size_t a = static_cast<size_t>(axis);
  const int64_t n = shape[a];
  if (n == 0 || count == 0) return;
  const Indexer<2> ix = make_indexer<2>(op, shape, {&x_strides, &out_strides}, dims);
  const int64_t xs = x_strides[a], os = out_strides[a];
  // Lines side by side: the innermost kept dimension steps less than the axis (as the CPU
  // kernel decides), and enough of them (Note [CUDA line kernels]).
  const bool lanes = ix.ndim > 0 && std::llabs(ix.stride[0][ix.ndim - 1]) < std::llabs(xs) &&
                     count >= lines::kMinLaneLines;
  if (lanes) {
    launch(op, &softmax_lanes_kernel<T>, lines::lanes_grid(count), dim3(lines::kLineBlock), 0, log,
           x, ix, count, n, xs, os, out);
  } else {
    const lines::RowsLaunch rl = lines::rows_launch(count, n);
    const bool cached = n <= rl.group * lines::kPerThread;
    launch(op, cached ? &softmax_rows_cached_kernel<T> : &softmax_rows_kernel<T>, rl.grid, rl.block,
           0, log, x, ix, count, n, xs, os, rl.group, out);
  }
}

// ---- backward -----------------------------------------------------------------------------

// The CPU kernel's two steps of one line: t = sum(g * y) (softmax) or sum(g) (log_softmax) in
// float64, then dx.
template <class T>
__device__ __forceinline__ double backward_term(bool log, T y, T g) {
  return log ? static_cast<double>(g) : static_cast<double>(g) * y;
}
template <class T>
__device__ __forceinline__ T backward_dx(bool log, T y, T g, T t) {
  return log ? g - std::exp(y) * t : y * (g - t);
}

// Rows layout: line l = (o, v) of (outer, n, inner) at o * n * inner + v, stride inner.
template <class T>
__global__ void __launch_bounds__(lines::kMaxGroup)
    softmax_backward_rows_kernel(bool log, int64_t count, int64_t n, int64_t inner,
                                 const T* __restrict__ y, const T* __restrict__ g, int group,
                                 T* __restrict__ dx) {
  const RowsThread t{group};
  const int64_t r = t.rank();
  for (int64_t l = t.first(); l < count; l += t.step()) {
    const int64_t at = l / inner * n * inner + l % inner;
    double s = 0.0;
    for (int64_t i = r; i < n; i += group) {
      s += backward_term(log, y[at + i * inner], g[at + i * inner]);
    }
    const T sum = static_cast<T>(group_fold<AddF>(s, group));
    for (int64_t i = r; i < n; i += group) {
      const int64_t k = at + i * inner;
      dx[k] = backward_dx(log, y[k], g[k], sum);
    }
  }
}

// softmax_backward_rows_kernel with y and g held in registers between the two passes (lines
// of at most group * kPerThread elements).
template <class T>
__global__ void __launch_bounds__(lines::kMaxGroup)
    softmax_backward_rows_cached_kernel(bool log, int64_t count, int64_t n, int64_t inner,
                                        const T* __restrict__ y, const T* __restrict__ g, int group,
                                        T* __restrict__ dx) {
  constexpr int K = lines::kPerThread;
  const RowsThread t{group};
  const int64_t r = t.rank();
  for (int64_t l = t.first(); l < count; l += t.step()) {
    const int64_t at = l / inner * n * inner + l % inner;
    T yv[K] = {}, gv[K] = {};
    double s = 0.0;
    CORTEN_UNROLL
    for (int k = 0; k < K; ++k) {
      const int64_t i = r + k * group;
      if (i < n) {
        yv[k] = y[at + i * inner];
        gv[k] = g[at + i * inner];
        s += backward_term(log, yv[k], gv[k]);
      }
    }
    const T sum = static_cast<T>(group_fold<AddF>(s, group));
    CORTEN_UNROLL
    for (int k = 0; k < K; ++k) {
      const int64_t i = r + k * group;
      if (i < n) dx[at + i * inner] = backward_dx(log, yv[k], gv[k], sum);
    }
  }
}

template <class T>
__global__ void __launch_bounds__(lines::kLineBlock)
    softmax_backward_lanes_kernel(bool log, int64_t count, int64_t n, int64_t inner,
                                  const T* __restrict__ y, const T* __restrict__ g,
                                  T* __restrict__ dx) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t l = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; l < count;
       l += stride) {
    const int64_t at = l / inner * n * inner + l % inner;
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) s += backward_term(log, y[at + i * inner], g[at + i * inner]);
    const T sum = static_cast<T>(s);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = at + i * inner;
      dx[k] = backward_dx(log, y[k], g[k], sum);
    }
  }
}

template <class T>
void softmax_backward_impl(bool log, int64_t outer, int64_t n, int64_t inner, const T* y,
                           const T* g, T* dx) {
  const char* op = log ? "log_softmax_grad" : "softmax_grad";
  if (outer == 0 || n == 0 || inner == 0) return;
  const int64_t count = outer * inner;
  if (inner > 1 && count >= lines::kMinLaneLines) {
    launch(op, &softmax_backward_lanes_kernel<T>, lines::lanes_grid(count), dim3(lines::kLineBlock),
           0, log, count, n, inner, y, g, dx);
  } else {
    const lines::RowsLaunch rl = lines::rows_launch(count, n);
    const bool cached = n <= rl.group * lines::kPerThread;
    launch(op, cached ? &softmax_backward_rows_cached_kernel<T> : &softmax_backward_rows_kernel<T>,
           rl.grid, rl.block, 0, log, count, n, inner, y, g, rl.group, dx);
  }
}

}  // namespace

void softmax(bool log, DType dtype, const Shape& shape, const void* x, const Shape& x_strides,
             int64_t axis, void* out) {
  visit_floating(dtype, log ? "log_softmax" : "softmax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    softmax_impl<T>(log, shape, static_cast<const T*>(x), x_strides, axis, static_cast<T*>(out));
  });
}

void softmax_backward(bool log, DType dtype, int64_t outer, int64_t n, int64_t inner, const void* y,
                      const void* g, void* dx) {
  visit_floating(dtype, log ? "log_softmax_grad" : "softmax_grad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    softmax_backward_impl<T>(log, outer, n, inner, static_cast<const T*>(y),
                             static_cast<const T*>(g), static_cast<T*>(dx));
  });
}

}  // namespace corten::cuda
