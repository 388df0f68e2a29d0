// CUDA cross-entropy kernels, with the CPU kernels' signatures (csrc/cpu/losses.h):
// softmax_cross_entropy and sparse_softmax_cross_entropy reduce lines along the class axis,
// sparse_softmax_cross_entropy_grad and sigmoid_cross_entropy are element-wise. Inputs are
// device pointers with element strides, outputs are contiguous. Callers have validated
// dtypes, shapes and the class axis.
//
// The lines map to threads as Note [CUDA line kernels] says. A line takes the CPU kernel's
// passes (the maximum, the float64 sum of exp(z - max), then the float64 sum of y * log_softmax
// or the label's term), with the arithmetic of cpu/loss_functors.h: the lanes layout runs the
// CPU kernel's very function per line. Accuracy as Note [CUDA softmax accuracy] (softmax.cu):
// bit for bit the baseline CPU kernels through the shim in the lanes layout, within rounding
// of the float64 sums in the rows layout; sigmoid_cross_entropy and the gradient are bit for
// bit through the shim, and on a GPU within CUDA's exp, log and log1p.
//
// Note [CUDA sparse label check]
// cpu::sparse_softmax_cross_entropy returns the flat index (in labels' shape) of the first
// label outside [0, n), or -1. Here a line with a bad label writes NaN, as on the CPU, and
// raises a device flag to max(count - line), an integer atomic, so the flag ends at count minus
// the first bad line whatever the order of the threads; the host reads it back after the
// launch (read_device_value, one synchronisation).

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "cpu/loss_functors.h"
#include "cpu/losses.h"
#include "cpu/reduce_functors.h"
#include "cuda/common.cuh"
#include "cuda/lines.cuh"

namespace corten::cuda {
namespace {

using cpu::reduction::MaxF;
using lines::AddF;
using lines::group_fold;
using lines::RowsThread;
namespace loss = cpu::loss;

// The kept dimensions (all but `axis`) of `shape`, in order.
Shape kept_dims(const Shape& shape, int64_t axis) {
  Shape dims;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (static_cast<int64_t>(d) != axis) dims.push_back(static_cast<int64_t>(d));
  }
  return dims;
}

int64_t count_of(const Shape& shape, const Shape& dims) {
  int64_t c = 1;
  for (const int64_t d : dims) c *= shape[static_cast<size_t>(d)];
  return c;
}

// Strides over the kept dimensions (an operand without the axis) widened to `shape`'s rank.
Shape with_axis(const Shape& kept_strides, int64_t axis) {
  Shape s = kept_strides;
  s.insert(s.begin() + axis, 0);
  return s;
}

constexpr int K = lines::kPerThread;

// The group's maximum m of a line and log_sum = log(sum(exp(z - m))) (0 when m is infinite).
// kCached (lines of at most group * K elements): the thread's logits, elements rank + k *
// group, are read once into zv and kept there for the caller; the same sums in the same order.
template <bool kCached, class T>
__device__ __forceinline__ void group_max_and_logsum(const T* z, int64_t zs, int64_t n,
                                                     int64_t rank, int group, T (&zv)[K], T& m,
                                                     double& log_sum) {
  m = MaxF<T>::init();
  double s = 0.0;
  if constexpr (kCached) {
    CORTEN_UNROLL
    for (int k = 0; k < K; ++k) {
      const int64_t i = rank + k * group;
      if (i < n) {
        zv[k] = z[i * zs];
        m = MaxF<T>::step(m, zv[k]);
      }
    }
    m = group_fold<MaxF<T>>(m, group);
    CORTEN_UNROLL
    for (int k = 0; k < K; ++k) {
      if (rank + k * group < n) s += static_cast<double>(std::exp(zv[k] - m));
    }
  } else {
    for (int64_t i = rank; i < n; i += group) m = MaxF<T>::step(m, z[i * zs]);
    m = group_fold<MaxF<T>>(m, group);
    for (int64_t i = rank; i < n; i += group) s += static_cast<double>(std::exp(z[i * zs] - m));
  }
  s = group_fold<AddF>(s, group);
  log_sum = loss::log_of_sum(m, s);
}

// Lines on whose innermost kept dimension the logits step less than along the axis, enough of
// them: one thread per line (Note [CUDA line kernels]).
template <int N>
bool lanes_layout(const Indexer<N>& ix, int k, int64_t axis_stride, int64_t count) {
  return ix.ndim > 0 && std::llabs(ix.stride[k][ix.ndim - 1]) < std::llabs(axis_stride) &&
         count >= lines::kMinLaneLines;
}

// ---- softmax_cross_entropy -------------------------------------------------------------------

// Operands of ix: labels, logits, out.
template <bool kCached, class T>
__global__ void __launch_bounds__(lines::kMaxGroup)
    softmax_xent_rows_kernel(const T* __restrict__ y, const T* __restrict__ z, Indexer<3> ix,
                             int64_t count, int64_t n, int64_t ya, int64_t za, int group,
                             T* __restrict__ out) {
  const RowsThread t{group};
  const int64_t r = t.rank();
  for (int64_t l = t.first(); l < count; l += t.step()) {
    int64_t off[3];
    ix.offsets(l, off);
    const T* yl = y + off[0];
    const T* zl = z + off[1];
    T zv[K] = {}, m;
    double log_sum;
    group_max_and_logsum<kCached>(zl, za, n, r, group, zv, m, log_sum);
    double acc = 0.0;
    if constexpr (kCached) {
      CORTEN_UNROLL
      for (int k = 0; k < K; ++k) {
        const int64_t i = r + k * group;
        if (i < n) acc -= loss::xent_term(yl[i * ya], zv[k], m, log_sum);
      }
    } else {
      for (int64_t i = r; i < n; i += group)
        acc -= loss::xent_term(yl[i * ya], zl[i * za], m, log_sum);
    }
    acc = group_fold<AddF>(acc, group);
    if (r == 0) out[off[2]] = static_cast<T>(acc);
  }
}

template <class T>
__global__ void __launch_bounds__(lines::kLineBlock)
    softmax_xent_lanes_kernel(const T* __restrict__ y, const T* __restrict__ z, Indexer<3> ix,
                              int64_t count, int64_t n, int64_t ya, int64_t za,
                              T* __restrict__ out) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t l = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; l < count;
       l += stride) {
    int64_t off[3];
    ix.offsets(l, off);
    out[off[2]] = loss::softmax_xent_line(y + off[0], ya, z + off[1], za, n);
  }
}

template <class T>
void softmax_xent_impl(const Shape& shape, const T* y, const Shape& ys, const T* z, const Shape& zs,
                       int64_t axis, T* out) {
  const char* op = "softmax_cross_entropy_with_logits";
  const Shape dims = kept_dims(shape, axis);
  const int64_t count = count_of(shape, dims);
  if (count == 0) return;
  Shape kept_shape;
  for (const int64_t d : dims) kept_shape.push_back(shape[static_cast<size_t>(d)]);
  const Shape os = with_axis(contiguous_strides(kept_shape), axis);
  const Indexer<3> ix = make_indexer<3>(op, shape, {&ys, &zs, &os}, dims);
  const size_t a = static_cast<size_t>(axis);
  const int64_t n = shape[a];
  if (lanes_layout(ix, 1, zs[a], count)) {
    launch(op, &softmax_xent_lanes_kernel<T>, lines::lanes_grid(count), dim3(lines::kLineBlock), 0,
           y, z, ix, count, n, ys[a], zs[a], out);
  } else {
    const lines::RowsLaunch rl = lines::rows_launch(count, n);
    const bool cached = n <= rl.group * K;
    launch(op, cached ? &softmax_xent_rows_kernel<true, T> : &softmax_xent_rows_kernel<false, T>,
           rl.grid, rl.block, 0, y, z, ix, count, n, ys[a], zs[a], rl.group, out);
  }
}

// ---- sparse_softmax_cross_entropy ------------------------------------------------------------

// A bad label: NaN, and the flag of Note [CUDA sparse label check].
template <class T>
__device__ __forceinline__ void bad_label(int64_t line, int64_t count, T* out,
                                          long long* first_bad) {
  *out = std::numeric_limits<T>::quiet_NaN();
  atomicMax(first_bad, static_cast<long long>(count - line));
}

// Operands of ix: labels, logits, out.
template <bool kCached, class L, class T>
__global__ void __launch_bounds__(lines::kMaxGroup)
    sparse_xent_rows_kernel(const L* __restrict__ labels, const T* __restrict__ z, Indexer<3> ix,
                            int64_t count, int64_t n, int64_t za, int group, T* __restrict__ out,
                            long long* first_bad) {
  const RowsThread t{group};
  const int64_t r = t.rank();
  for (int64_t l = t.first(); l < count; l += t.step()) {
    int64_t off[3];
    ix.offsets(l, off);
    const int64_t label = static_cast<int64_t>(labels[off[0]]);
    if (label < 0 || label >= n) {  // the same for the whole group
      if (r == 0) bad_label(l, count, out + off[2], first_bad);
      continue;
    }
    const T* zl = z + off[1];
    T zv[K] = {}, m;
    double log_sum;
    group_max_and_logsum<kCached>(zl, za, n, r, group, zv, m, log_sum);
    if (r == 0) out[off[2]] = loss::sparse_xent(zl[label * za], m, log_sum);
  }
}

template <class L, class T>
__global__ void __launch_bounds__(lines::kLineBlock)
    sparse_xent_lanes_kernel(const L* __restrict__ labels, const T* __restrict__ z, Indexer<3> ix,
                             int64_t count, int64_t n, int64_t za, T* __restrict__ out,
                             long long* first_bad) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t l = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; l < count;
       l += stride) {
    int64_t off[3];
    ix.offsets(l, off);
    const int64_t label = static_cast<int64_t>(labels[off[0]]);
    if (label < 0 || label >= n) {
      bad_label(l, count, out + off[2], first_bad);
    } else {
      out[off[2]] = loss::sparse_xent_line(z + off[1], za, n, label);
    }
  }
}

template <class L, class T>
int64_t sparse_xent_impl(const Shape& shape, const L* labels, const Shape& labels_strides,
                         const T* z, const Shape& zs, int64_t axis, T* out) {
  const char* op = "sparse_softmax_cross_entropy_with_logits";
  const Shape dims = kept_dims(shape, axis);
  const int64_t count = count_of(shape, dims);
  if (count == 0) return -1;
  Shape kept_shape;
  for (const int64_t d : dims) kept_shape.push_back(shape[static_cast<size_t>(d)]);
  const Shape ls = with_axis(labels_strides, axis);
  const Shape os = with_axis(contiguous_strides(kept_shape), axis);
  const Indexer<3> ix = make_indexer<3>(op, shape, {&ls, &zs, &os}, dims);
  const size_t a = static_cast<size_t>(axis);
  const int64_t n = shape[a];
  DeviceScratch flag(sizeof(long long), op);
  long long* first_bad = flag.as<long long>();
  CORTEN_CUDA_CHECK(cudaMemsetAsync(first_bad, 0, sizeof(long long), current_stream()));
  if (lanes_layout(ix, 1, zs[a], count)) {
    launch(op, &sparse_xent_lanes_kernel<L, T>, lines::lanes_grid(count), dim3(lines::kLineBlock),
           0, labels, z, ix, count, n, zs[a], out, first_bad);
  } else {
    const lines::RowsLaunch rl = lines::rows_launch(count, n);
    const bool cached = n <= rl.group * K;
    launch(op,
           cached ? &sparse_xent_rows_kernel<true, L, T> : &sparse_xent_rows_kernel<false, L, T>,
           rl.grid, rl.block, 0, labels, z, ix, count, n, zs[a], rl.group, out, first_bad);
  }
  const long long f = read_device_value(first_bad, op);
  return f == 0 ? -1 : count - static_cast<int64_t>(f);
}

// ---- sparse_softmax_cross_entropy_grad -------------------------------------------------------

// out: (outer, n, inner) contiguous, labels and g: (outer, inner) contiguous; element-wise.
template <class L, class T>
__global__ void __launch_bounds__(kThreads)
    sparse_xent_grad_kernel(const L* __restrict__ labels, const T* __restrict__ g, int64_t total,
                            int64_t n, int64_t inner, T* __restrict__ out) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < total;
       k += stride) {
    const int64_t i = k % inner, j = k / inner % n, o = k / inner / n;
    const int64_t at = o * inner + i;
    const T hot = static_cast<int64_t>(labels[at]) == j ? T(1) : T(0);
    out[k] = g[at] * (out[k] - hot);
  }
}

template <class L, class T>
void sparse_xent_grad_impl(const Shape& shape, const L* labels, const T* g, int64_t axis, T* out) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  const int64_t n = shape[static_cast<size_t>(axis)];
  const int64_t total = outer * n * inner;
  if (total == 0) return;
  launch("sparse_softmax_cross_entropy_grad", &sparse_xent_grad_kernel<L, T>,
         dim3(blocks_for(total, kThreads)), dim3(kThreads), 0, labels, g, total, n, inner, out);
}

// ---- sigmoid_cross_entropy -------------------------------------------------------------------

// Operands of ix: labels, logits; out is contiguous over the same linear index.
template <class T>
__global__ void __launch_bounds__(kThreads)
    sigmoid_xent_kernel(const T* __restrict__ y, const T* __restrict__ z, Indexer<2> ix,
                        int64_t total, T* __restrict__ out) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < total;
       k += stride) {
    int64_t off[2];
    ix.offsets(k, off);
    out[k] = loss::sigmoid_xent(z[off[1]], y[off[0]]);
  }
}

template <class T>
void sigmoid_xent_impl(const Shape& shape, const T* y, const Shape& ys, const T* z, const Shape& zs,
                       T* out) {
  const char* op = "sigmoid_cross_entropy_with_logits";
  const int64_t total = shape_numel(shape);
  if (total == 0) return;
  const Indexer<2> ix = make_indexer<2>(op, shape, {&ys, &zs}, all_dims(shape.size()));
  launch(op, &sigmoid_xent_kernel<T>, dim3(blocks_for(total, kThreads)), dim3(kThreads), 0, y, z,
         ix, total, out);
}

}  // namespace

void softmax_cross_entropy(DType dtype, const Shape& shape, const void* labels,
                           const Shape& labels_strides, const void* logits,
                           const Shape& logits_strides, int64_t axis, void* out) {
  visit_floating(dtype, "softmax_cross_entropy_with_logits", [&](auto tag) {
    using T = typename decltype(tag)::type;
    softmax_xent_impl<T>(shape, static_cast<const T*>(labels), labels_strides,
                         static_cast<const T*>(logits), logits_strides, axis, static_cast<T*>(out));
  });
}

int64_t sparse_softmax_cross_entropy(DType label_dtype, DType dtype, const Shape& shape,
                                     const void* labels, const Shape& labels_strides,
                                     const void* logits, const Shape& logits_strides, int64_t axis,
                                     void* out) {
  const char* op = "sparse_softmax_cross_entropy_with_logits";
  return visit_floating(dtype, op, [&](auto tag) -> int64_t {
    using T = typename decltype(tag)::type;
    if (label_dtype == DType::Int32) {
      return sparse_xent_impl<int32_t, T>(shape, static_cast<const int32_t*>(labels),
                                          labels_strides, static_cast<const T*>(logits),
                                          logits_strides, axis, static_cast<T*>(out));
    }
    return sparse_xent_impl<int64_t, T>(shape, static_cast<const int64_t*>(labels), labels_strides,
                                        static_cast<const T*>(logits), logits_strides, axis,
                                        static_cast<T*>(out));
  });
}

void sparse_softmax_cross_entropy_grad(DType label_dtype, DType dtype, const Shape& shape,
                                       const void* labels, const void* g, int64_t axis, void* out) {
  visit_floating(dtype, "sparse_softmax_cross_entropy_grad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (label_dtype == DType::Int32) {
      sparse_xent_grad_impl(shape, static_cast<const int32_t*>(labels), static_cast<const T*>(g),
                            axis, static_cast<T*>(out));
    } else {
      sparse_xent_grad_impl(shape, static_cast<const int64_t*>(labels), static_cast<const T*>(g),
                            axis, static_cast<T*>(out));
    }
  });
}

void sigmoid_cross_entropy(DType dtype, const Shape& shape, const void* labels,
                           const Shape& labels_strides, const void* logits,
                           const Shape& logits_strides, void* out) {
  visit_floating(dtype, "sigmoid_cross_entropy_with_logits", [&](auto tag) {
    using T = typename decltype(tag)::type;
    sigmoid_xent_impl<T>(shape, static_cast<const T*>(labels), labels_strides,
                         static_cast<const T*>(logits), logits_strides, static_cast<T*>(out));
  });
}

}  // namespace corten::cuda
