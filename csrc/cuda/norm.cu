// CUDA layer, group and unit normalisation kernels, forward and backward, with the CPU kernels'
// signatures (csrc/cpu/norm.h, csrc/cpu/batch_norm.h). Every pointer is a contiguous device
// pointer; callers have validated dtypes (float32, float64) and shapes. Statistics (mean, rstd,
// inv, cube) are float64, as on the CPU.
//
// Threads: one row group per normalised row (layer_norm and unit_norm: a row of x; group_norm:
// the values of one (batch entry, group)): a warp per row for rows up to 1024 values (8 rows per
// block), a block of 256 threads beyond (row_geometry), in a grid-stride loop over the rows.
// The sums are the CPU kernels' formulas (mean first, then the squared deviations from the mean
// rounded to T), so that the outputs follow the CPU's arithmetic; layer_norm and unit_norm keep
// a warp's row in registers between the passes (Note [Cached norm rows]), group_norm and the
// rows of a block read it again per pass (from L1/L2 where it fits). The column sums of the
// backwards (dgamma, dbeta) are two-stage deterministic reductions through device scratch
// (channel_sums). Accuracy: Note [CUDA normalisation sums] (cuda/norm_sums.cuh).
//
// group_norm rows of more than 16384 values are split over several blocks (Note [Split group
// norm rows]).
//
// Still to come (performance only): vector loads for rows whose pointers are 16-byte aligned,
// and one pass over x for split group_norm statistics (shifted sums, as batch_norm's).

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "cpu/batch_norm.h"
#include "cpu/norm.h"
#include "cuda/common.cuh"
#include "cuda/norm_sums.cuh"

namespace corten::cuda {
namespace {

// ---------------------------------------------------------------------------------- layer norm

#ifdef __CUDACC__
#define CORTEN_NORM_UNROLL _Pragma("unroll")
#else
#define CORTEN_NORM_UNROLL
#endif

// Note [Cached norm rows]
// A row of up to 1024 values, one warp's, is read from global memory once: the lanes keep it in
// registers (lane l holds columns l, l + 32, ..., V values, V a power of two) for the sums and
// the output, where a longer row (a block's) is read again for each pass. Either way a lane
// takes the same columns in the same order, so the results do not depend on the choice.
// RowCache<T, 0> is the uncached row.
template <class T, int V>
struct RowCache {
  T v[V > 0 ? V : 1];
  const T* p;
  __device__ __forceinline__ void load(const T* row, int64_t cols) {
    p = row;
    if constexpr (V > 0) {
      CORTEN_NORM_UNROLL
      for (int k = 0; k < V; ++k) {
        const int64_t c = threadIdx.x + 32 * k;
        v[k] = c < cols ? row[c] : T(0);
      }
    }
  }
  // The value of column c, the lane's k-th (for_cols).
  __device__ __forceinline__ T get(int k, int64_t c) const {
    if constexpr (V > 0) {
      return v[k];
    } else {
      return p[c];
    }
  }
};

// Calls f(k, c) for the lane's columns c of a row, k counting them (Note [Cached norm rows]).
template <int V, class F>
__device__ __forceinline__ void for_cols(int64_t cols, F f) {
  if constexpr (V > 0) {
    CORTEN_NORM_UNROLL
    for (int k = 0; k < V; ++k) {
      const int64_t c = threadIdx.x + 32 * k;
      if (c < cols) f(k, c);
    }
  } else {
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) f(0, c);
  }
}

// Calls f(std::integral_constant<int, V>) with the register cache width V for rows of `cols`
// values of kBytes cached bytes per value: 0 (no cache) beyond 256 bytes per lane, and for rows
// over 1024 values, which row_geometry gives a block (V > 0 needs a warp per row).
template <int kBytes, class F>
void with_row_cache(int64_t cols, F f) {
  int v = 1;
  while (v < 32 && 32 * v < cols) v *= 2;
  if (cols > 1024 || v * kBytes > 256) return f(std::integral_constant<int, 0>{});
  switch (v) {
    case 1:
      return f(std::integral_constant<int, 1>{});
    case 2:
      return f(std::integral_constant<int, 2>{});
    case 4:
      return f(std::integral_constant<int, 4>{});
    case 8:
      return f(std::integral_constant<int, 8>{});
    case 16:
      return f(std::integral_constant<int, (16 * kBytes <= 256 ? 16 : 0)>{});
    default:
      return f(std::integral_constant<int, (32 * kBytes <= 256 ? 32 : 0)>{});
  }
}

// x: (rows, cols), gamma, beta: (cols,) or null -> y: (rows, cols), mean, rstd: (rows,).
template <class T, int V>
__global__ void __launch_bounds__(256)
    layer_norm_kernel(int64_t rows, int64_t cols, const T* __restrict__ x,
                      const T* __restrict__ gamma, const T* __restrict__ beta, double epsilon,
                      T* __restrict__ y, double* __restrict__ mean, double* __restrict__ rstd) {
  const double nc = static_cast<double>(cols);
  for (int64_t r = first_row(); r < rows; r += row_step()) {
    RowCache<T, V> xr;
    xr.load(x + r * cols, cols);
    double s[1] = {0.0};
    for_cols<V>(cols, [&](int k, int64_t c) { s[0] += static_cast<double>(xr.get(k, c)); });
    group_sum<1>(s);
    const double m = cols ? s[0] / nc : 0.0;
    const T mt = static_cast<T>(m);
    double q[1] = {0.0};
    for_cols<V>(cols, [&](int k, int64_t c) {
      const T d = xr.get(k, c) - mt;
      q[0] += static_cast<double>(d * d);
    });
    group_sum<1>(q);
    const double var = cols ? q[0] / nc : 0.0;
    const double sd = 1.0 / std::sqrt(var + epsilon);
    if (threadIdx.x == 0) {
      mean[r] = m;
      rstd[r] = sd;
    }
    T* yr = y + r * cols;
    const T st = static_cast<T>(sd);
    // The CPU kernel's four cases: no `+ 0` or `* 1` where it has none (-0 stays -0).
    for_cols<V>(cols, [&](int k, int64_t c) {
      const T v = (xr.get(k, c) - mt) * st;
      if (gamma && beta)
        yr[c] = v * gamma[c] + beta[c];
      else if (gamma)
        yr[c] = v * gamma[c];
      else if (beta)
        yr[c] = v + beta[c];
      else
        yr[c] = v;
    });
  }
}

// dx of layer_norm for each row (dx non-null).
template <class T, int V>
__global__ void __launch_bounds__(256)
    layer_norm_dx_kernel(int64_t rows, int64_t cols, const T* __restrict__ x,
                         const T* __restrict__ gamma, const double* __restrict__ mean,
                         const double* __restrict__ rstd, const T* __restrict__ dy,
                         T* __restrict__ dx) {
  const double nc = static_cast<double>(cols);
  for (int64_t r = first_row(); r < rows; r += row_step()) {
    RowCache<T, V> xr, gr;
    xr.load(x + r * cols, cols);
    gr.load(dy + r * cols, cols);
    const T mt = static_cast<T>(mean[r]);
    double s[2] = {0.0, 0.0};  // sum(dy * gamma), sum(dy * gamma * (x - mean))
    for_cols<V>(cols, [&](int k, int64_t c) {
      const T d = gamma ? gr.get(k, c) * gamma[c] : gr.get(k, c);
      s[0] += static_cast<double>(d);
      s[1] += static_cast<double>(d * (xr.get(k, c) - mt));
    });
    group_sum<2>(s);
    const double sd = rstd[r];
    // dx = s * (d - sum_d / n - (x - m) * s^2 * sum_dx / n), as the CPU kernel rounds it.
    const T a = static_cast<T>(sd);
    const T off = static_cast<T>(-sd * s[0] / nc);
    const T kf = static_cast<T>(-sd * sd * sd * s[1] / nc);
    T* out = dx + r * cols;
    for_cols<V>(cols, [&](int k, int64_t c) {
      const T ag = gamma ? a * gr.get(k, c) * gamma[c] : a * gr.get(k, c);
      out[c] = ag + off + (xr.get(k, c) - mt) * kf;
    });
  }
}

// The terms of dgamma and dbeta of layer_norm and group_norm over rows of x viewed as (rows,
// cols) with cols = channels * q: the statistics of (row, channel c) are at (row / p) * groups +
// c / group_size (layer_norm: p = groups = q = 1).
template <class T>
struct AffineGradTerm {
  static constexpr int kSums = 2;
  const T* x;
  const T* dy;
  const double* mean;
  const double* rstd;
  int64_t cols, p, groups, group_size, q;
  __device__ void operator()(int64_t r, int64_t j, int64_t c, double (&acc)[2]) const {
    const int64_t t = (p == 1 ? r : r / p) * groups + (groups == 1 ? 0 : c / group_size);
    const T mt = static_cast<T>(mean[t]);
    const T g = dy[r * cols + j], v = x[r * cols + j];
    if (q == 1) {
      acc[0] += static_cast<double>(g * ((v - mt) * static_cast<T>(rstd[t])));
    } else {  // group_norm sums dy * (x - mean) over q first, then scales by rstd in float64
      acc[0] += static_cast<double>(g * (v - mt)) * rstd[t];
    }
    acc[1] += static_cast<double>(g);
  }
};

template <class T>
struct AffineGradFinish {
  T* dgamma;
  T* dbeta;
  __device__ void operator()(int64_t c, const double (&s)[2]) const {
    if (dgamma) dgamma[c] = static_cast<T>(s[0]);
    if (dbeta) dbeta[c] = static_cast<T>(s[1]);
  }
};

template <class T>
void run_layer_norm(int64_t rows, int64_t cols, const T* x, const T* gamma, const T* beta,
                    double epsilon, T* y, double* mean, double* rstd) {
  const RowGeometry g = row_geometry(rows, cols);
  with_row_cache<sizeof(T)>(cols, [&](auto v) {
    launch("layer_norm", &layer_norm_kernel<T, decltype(v)::value>, g.grid, g.block, 0, rows, cols,
           x, gamma, beta, epsilon, y, mean, rstd);
  });
}

template <class T>
void run_layer_norm_backward(int64_t rows, int64_t cols, const T* x, const T* gamma,
                             const double* mean, const double* rstd, const T* dy, T* dx, T* dgamma,
                             T* dbeta) {
  if (dx && rows > 0 && cols > 0) {
    const RowGeometry g = row_geometry(rows, cols);
    with_row_cache<2 * sizeof(T)>(cols, [&](auto v) {
      launch("layer_norm_backward", &layer_norm_dx_kernel<T, decltype(v)::value>, g.grid, g.block,
             0, rows, cols, x, gamma, mean, rstd, dy, dx);
    });
  }
  if (dgamma || dbeta) {
    channel_sums("layer_norm_backward", AffineGradTerm<T>{x, dy, mean, rstd, cols, 1, 1, 1, 1},
                 AffineGradFinish<T>{dgamma, dbeta}, rows, cols, 1, cols == 0);
  }
}

// ---------------------------------------------------------------------------------- group norm

// x: (n, p, groups, group_size, q); the row of task t = (ni, g) is its p segments of len =
// group_size * q contiguous values, each groups * len values after the previous one.
struct GroupIndex {
  int64_t p, groups, len, q;
};

// A thread's walk over its values of task t: the i-th value of the row (i = start, then every
// step-th) is at position i / len of the segments and offset i % len in its segment; the walk
// keeps both and steps them without dividing (64-bit divisions would cost more than the memory
// traffic).
struct GroupWalk {
  int64_t base, seg_stride, cbase;  // the task's first value, segment stride, first channel
  int64_t i, p, j, di, dp, dj, len, q;
  __device__ GroupWalk(const GroupIndex& ix, int64_t t, int64_t start, int64_t step)
      : i(start), di(step), len(ix.len), q(ix.q) {
    const int64_t ni = t / ix.groups, g = t % ix.groups;
    base = (ni * ix.p * ix.groups + g) * ix.len;
    seg_stride = ix.groups * ix.len;
    cbase = ix.len > 0 ? g * (ix.len / ix.q) : 0;
    p = ix.len > 0 ? start / ix.len : ix.p;  // no values: the walk is over at once
    j = ix.len > 0 ? start % ix.len : 0;
    dp = ix.len > 0 ? step / ix.len : 0;
    dj = ix.len > 0 ? step % ix.len : 0;
  }
  // The row group's walk over the whole row.
  __device__ GroupWalk(const GroupIndex& ix, int64_t t)
      : GroupWalk(ix, t, threadIdx.x, blockDim.x) {}
  __device__ int64_t offset() const { return base + p * seg_stride + j; }
  __device__ int64_t channel() const { return cbase + (q == 1 ? j : j / q); }
  __device__ void next() {
    i += di;
    p += dp;
    j += dj;
    if (j >= len) {
      j -= len;
      ++p;
    }
  }
};

// The terms of group_norm's dx sums, sum(dy * gamma) and sum(dy * gamma * (x - mean)), as the
// CPU kernel rounds them: for q > 1 it sums over q first and scales by gamma in float64.
template <class T>
__device__ __forceinline__ void group_dx_terms(int64_t q, T g, T w, T v, T mt, double (&s)[2]) {
  if (q == 1) {
    s[0] += static_cast<double>(g * w);
    s[1] += static_cast<double>(g * w * (v - mt));
  } else {
    s[0] += static_cast<double>(g) * static_cast<double>(w);
    s[1] += static_cast<double>(g * (v - mt)) * static_cast<double>(w);
  }
}

template <class T>
__global__ void __launch_bounds__(256)
    group_norm_kernel(GroupIndex ix, int64_t tasks, const T* __restrict__ x,
                      const T* __restrict__ gamma, const T* __restrict__ beta, double epsilon,
                      T* __restrict__ y, double* __restrict__ mean, double* __restrict__ rstd) {
  const int64_t n = ix.p * ix.len;
  const double M = static_cast<double>(n);
  for (int64_t t = first_row(); t < tasks; t += row_step()) {
    double s[1] = {0.0};
    for (GroupWalk w(ix, t); w.p < ix.p; w.next()) s[0] += static_cast<double>(x[w.offset()]);
    group_sum<1>(s);
    const double m = M > 0 ? s[0] / M : 0.0;
    const T mt = static_cast<T>(m);
    double q[1] = {0.0};
    for (GroupWalk w(ix, t); w.p < ix.p; w.next()) {
      const T d = x[w.offset()] - mt;
      q[0] += static_cast<double>(d * d);
    }
    group_sum<1>(q);
    const double sd = 1.0 / std::sqrt((M > 0 ? q[0] / M : 0.0) + epsilon);
    if (threadIdx.x == 0) {
      mean[t] = m;
      rstd[t] = sd;
    }
    const T st = static_cast<T>(sd);
    for (GroupWalk w(ix, t); w.p < ix.p; w.next()) {
      const int64_t o = w.offset(), c = w.channel();
      const T k = st * (gamma ? gamma[c] : T(1));
      const T d = beta ? beta[c] : T(0);
      y[o] = (x[o] - mt) * k + d;
    }
  }
}

template <class T>
__global__ void __launch_bounds__(256)
    group_norm_dx_kernel(GroupIndex ix, int64_t tasks, const T* __restrict__ x,
                         const T* __restrict__ gamma, const double* __restrict__ mean,
                         const double* __restrict__ rstd, const T* __restrict__ dy,
                         T* __restrict__ dx) {
  const int64_t n = ix.p * ix.len;
  const double M = static_cast<double>(n);
  for (int64_t t = first_row(); t < tasks; t += row_step()) {
    const T mt = static_cast<T>(mean[t]);
    const double sd = rstd[t];
    const T st = static_cast<T>(sd);
    double s[2] = {0.0, 0.0};  // sum(dy * gamma), sum(dy * gamma * (x - mean))
    for (GroupWalk it(ix, t); it.p < ix.p; it.next()) {
      const int64_t o = it.offset();
      const T w = gamma ? gamma[it.channel()] : T(1);
      group_dx_terms(ix.q, dy[o], w, x[o], mt, s);
    }
    group_sum<2>(s);
    const T off = static_cast<T>(M > 0 ? -sd * s[0] / M : 0.0);
    const T kf = static_cast<T>(M > 0 ? -sd * sd * sd * s[1] / M : 0.0);
    for (GroupWalk w(ix, t); w.p < ix.p; w.next()) {
      const int64_t o = w.offset();
      const T a = st * (gamma ? gamma[w.channel()] : T(1));
      dx[o] = a * dy[o] + off + (x[o] - mt) * kf;
    }
  }
}

// Note [Split group norm rows]
// Rows of more than kSplitValues values (a few large (batch entry, group) pairs, as in image
// models trained on small batches) are cut in slices of kSliceValues values, a block each, so
// that every SM has work where a block per row would leave most of them idle: one kernel per sum
// writes a float64 partial sum per slice to device scratch, and the blocks of the next kernel
// each add their row's partials in slice order (every block in the same order, so they agree
// to the bit). The terms are those of the unsplit kernels; only the order of the sums differs.
constexpr int64_t kSplitValues = 16384;
constexpr int64_t kSliceValues = 4096;

__device__ __forceinline__ double slices_total(const double* part, int64_t t, int64_t slices) {
  double s = 0.0;
  for (int64_t k = 0; k < slices; ++k) s += part[t * slices + k];
  return s;
}

// Stage 0: the slices' sums of x into part[0, items); stage 1: their sums of (x - mean)^2, the
// mean from stage 0's sums, into part[items, 2 * items).
template <class T, int Stage>
__global__ void __launch_bounds__(256)
    group_slice_stats(GroupIndex ix, int64_t tasks, int64_t slices, const T* __restrict__ x,
                      double* __restrict__ part) {
  const int64_t n = ix.p * ix.len, items = tasks * slices;
  const double M = static_cast<double>(n);
  for (int64_t b = blockIdx.x; b < items; b += gridDim.x) {
    const int64_t t = b / slices, begin = (b % slices) * kSliceValues;
    const int64_t end = begin + kSliceValues < n ? begin + kSliceValues : n;
    double acc[1] = {0.0};
    if constexpr (Stage == 0) {
      for (GroupWalk w(ix, t, begin + threadIdx.x, blockDim.x); w.i < end; w.next()) {
        acc[0] += static_cast<double>(x[w.offset()]);
      }
    } else {
      const T mt = static_cast<T>(slices_total(part, t, slices) / M);
      for (GroupWalk w(ix, t, begin + threadIdx.x, blockDim.x); w.i < end; w.next()) {
        const T d = x[w.offset()] - mt;
        acc[0] += static_cast<double>(d * d);
      }
    }
    group_sum<1>(acc);
    if (threadIdx.x == 0) part[Stage * items + b] = acc[0];
  }
}

template <class T>
__global__ void __launch_bounds__(256)
    group_slice_apply(GroupIndex ix, int64_t tasks, int64_t slices, const T* __restrict__ x,
                      const T* __restrict__ gamma, const T* __restrict__ beta, double epsilon,
                      T* __restrict__ y, double* __restrict__ mean, double* __restrict__ rstd,
                      const double* __restrict__ part) {
  const int64_t n = ix.p * ix.len, items = tasks * slices;
  const double M = static_cast<double>(n);
  for (int64_t b = blockIdx.x; b < items; b += gridDim.x) {
    const int64_t t = b / slices, begin = (b % slices) * kSliceValues;
    const int64_t end = begin + kSliceValues < n ? begin + kSliceValues : n;
    const double m = slices_total(part, t, slices) / M;
    const double sd = 1.0 / std::sqrt(slices_total(part + items, t, slices) / M + epsilon);
    if (begin == 0 && threadIdx.x == 0) {
      mean[t] = m;
      rstd[t] = sd;
    }
    const T mt = static_cast<T>(m), st = static_cast<T>(sd);
    for (GroupWalk w(ix, t, begin + threadIdx.x, blockDim.x); w.i < end; w.next()) {
      const int64_t o = w.offset(), c = w.channel();
      const T k = st * (gamma ? gamma[c] : T(1));
      const T d = beta ? beta[c] : T(0);
      y[o] = (x[o] - mt) * k + d;
    }
  }
}

// The slices' dx sums into part[0, items) and part[items, 2 * items).
template <class T>
__global__ void __launch_bounds__(256)
    group_slice_dx_sums(GroupIndex ix, int64_t tasks, int64_t slices, const T* __restrict__ x,
                        const T* __restrict__ gamma, const double* __restrict__ mean,
                        const T* __restrict__ dy, double* __restrict__ part) {
  const int64_t n = ix.p * ix.len, items = tasks * slices;
  for (int64_t b = blockIdx.x; b < items; b += gridDim.x) {
    const int64_t t = b / slices, begin = (b % slices) * kSliceValues;
    const int64_t end = begin + kSliceValues < n ? begin + kSliceValues : n;
    const T mt = static_cast<T>(mean[t]);
    double s[2] = {0.0, 0.0};
    for (GroupWalk w(ix, t, begin + threadIdx.x, blockDim.x); w.i < end; w.next()) {
      const int64_t o = w.offset();
      group_dx_terms(ix.q, dy[o], gamma ? gamma[w.channel()] : T(1), x[o], mt, s);
    }
    group_sum<2>(s);
    if (threadIdx.x == 0) {
      part[b] = s[0];
      part[items + b] = s[1];
    }
  }
}

template <class T>
__global__ void __launch_bounds__(256)
    group_slice_dx_apply(GroupIndex ix, int64_t tasks, int64_t slices, const T* __restrict__ x,
                         const T* __restrict__ gamma, const double* __restrict__ mean,
                         const double* __restrict__ rstd, const T* __restrict__ dy,
                         T* __restrict__ dx, const double* __restrict__ part) {
  const int64_t n = ix.p * ix.len, items = tasks * slices;
  const double M = static_cast<double>(n);
  for (int64_t b = blockIdx.x; b < items; b += gridDim.x) {
    const int64_t t = b / slices, begin = (b % slices) * kSliceValues;
    const int64_t end = begin + kSliceValues < n ? begin + kSliceValues : n;
    const T mt = static_cast<T>(mean[t]);
    const double sd = rstd[t];
    const T st = static_cast<T>(sd);
    const double s0 = slices_total(part, t, slices), s1 = slices_total(part + items, t, slices);
    const T off = static_cast<T>(-sd * s0 / M);
    const T kf = static_cast<T>(-sd * sd * sd * s1 / M);
    for (GroupWalk w(ix, t, begin + threadIdx.x, blockDim.x); w.i < end; w.next()) {
      const int64_t o = w.offset();
      const T a = st * (gamma ? gamma[w.channel()] : T(1));
      dx[o] = a * dy[o] + off + (x[o] - mt) * kf;
    }
  }
}

// Blocks for the items of the split kernels.
inline dim3 slice_blocks(int64_t items) {
  return dim3(static_cast<unsigned>(items < kMaxBlocks ? items : kMaxBlocks));
}

template <class T>
void run_group_norm(cpu::GroupShape s, const T* x, const T* gamma, const T* beta, double epsilon,
                    T* y, double* mean, double* rstd) {
  const GroupIndex ix{s.p, s.groups, s.group_size * s.q, s.q};
  const int64_t tasks = s.n * s.groups;
  const int64_t n = s.p * ix.len;
  if (n > kSplitValues) {  // Note [Split group norm rows]
    const int64_t slices = (n + kSliceValues - 1) / kSliceValues, items = tasks * slices;
    DeviceScratch part(static_cast<size_t>(2 * items) * sizeof(double), "group_norm");
    double* pp = part.as<double>();
    const dim3 grid = slice_blocks(items), block(kThreads);
    launch("group_norm", &group_slice_stats<T, 0>, grid, block, 0, ix, tasks, slices, x, pp);
    launch("group_norm", &group_slice_stats<T, 1>, grid, block, 0, ix, tasks, slices, x, pp);
    launch("group_norm", &group_slice_apply<T>, grid, block, 0, ix, tasks, slices, x, gamma, beta,
           epsilon, y, mean, rstd, pp);
    return;
  }
  const RowGeometry g = row_geometry(tasks, n);
  launch("group_norm", &group_norm_kernel<T>, g.grid, g.block, 0, ix, tasks, x, gamma, beta,
         epsilon, y, mean, rstd);
}

template <class T>
void run_group_norm_backward(cpu::GroupShape s, const T* x, const T* gamma, const double* mean,
                             const double* rstd, const T* dy, T* dx, T* dgamma, T* dbeta) {
  const GroupIndex ix{s.p, s.groups, s.group_size * s.q, s.q};
  const int64_t tasks = s.n * s.groups;
  const int64_t n = s.p * ix.len;
  if (dx && n > kSplitValues) {  // Note [Split group norm rows]
    const int64_t slices = (n + kSliceValues - 1) / kSliceValues, items = tasks * slices;
    DeviceScratch part(static_cast<size_t>(2 * items) * sizeof(double), "group_norm_backward");
    double* pp = part.as<double>();
    const dim3 grid = slice_blocks(items), block(kThreads);
    launch("group_norm_backward", &group_slice_dx_sums<T>, grid, block, 0, ix, tasks, slices, x,
           gamma, mean, dy, pp);
    launch("group_norm_backward", &group_slice_dx_apply<T>, grid, block, 0, ix, tasks, slices, x,
           gamma, mean, rstd, dy, dx, pp);
  } else if (dx) {
    const RowGeometry g = row_geometry(tasks, n);
    launch("group_norm_backward", &group_norm_dx_kernel<T>, g.grid, g.block, 0, ix, tasks, x, gamma,
           mean, rstd, dy, dx);
  }
  if (dgamma || dbeta) {
    const int64_t channels = s.groups * s.group_size;
    const bool empty = ix.len == 0 || s.p == 0;
    channel_sums("group_norm_backward",
                 AffineGradTerm<T>{x, dy, mean, rstd, channels * s.q, s.p > 0 ? s.p : 1, s.groups,
                                   s.group_size > 0 ? s.group_size : 1, s.q},
                 AffineGradFinish<T>{dgamma, dbeta}, s.n * s.p, channels, s.q, empty);
  }
}

// ----------------------------------------------------------------------------------- unit norm

template <class T, int V>
__global__ void __launch_bounds__(256)
    unit_norm_kernel(int64_t rows, int64_t cols, const T* __restrict__ x, double epsilon,
                     T* __restrict__ y, double* __restrict__ inv, double* __restrict__ cube) {
  for (int64_t r = first_row(); r < rows; r += row_step()) {
    RowCache<T, V> xr;
    xr.load(x + r * cols, cols);
    double s[1] = {0.0};
    for_cols<V>(cols, [&](int k, int64_t c) {
      const T v = xr.get(k, c);
      s[0] += static_cast<double>(v * v);
    });
    group_sum<1>(s);
    const double ss = s[0];
    const double iv = 1.0 / std::sqrt(ss > epsilon ? ss : epsilon);
    if (threadIdx.x == 0) {
      inv[r] = iv;
      cube[r] = ss > epsilon ? iv * iv * iv : 0.0;
    }
    const T it = static_cast<T>(iv);
    T* yr = y + r * cols;
    for_cols<V>(cols, [&](int k, int64_t c) { yr[c] = xr.get(k, c) * it; });
  }
}

template <class T, int V>
__global__ void __launch_bounds__(256)
    unit_norm_dx_kernel(int64_t rows, int64_t cols, const T* __restrict__ x,
                        const double* __restrict__ inv, const double* __restrict__ cube,
                        const T* __restrict__ dy, T* __restrict__ dx) {
  for (int64_t r = first_row(); r < rows; r += row_step()) {
    RowCache<T, V> xr, gr;
    xr.load(x + r * cols, cols);
    gr.load(dy + r * cols, cols);
    double s[1] = {0.0};
    const double cb = cube[r];
    if (cb != 0.0) {  // the same for the whole row group
      for_cols<V>(cols, [&](int k, int64_t c) {
        s[0] += static_cast<double>(gr.get(k, c) * xr.get(k, c));
      });
      group_sum<1>(s);
    }
    const T a = static_cast<T>(inv[r]);
    const T kf = static_cast<T>(-cb * s[0]);
    T* out = dx + r * cols;
    for_cols<V>(cols, [&](int k, int64_t c) { out[c] = a * gr.get(k, c) + xr.get(k, c) * kf; });
  }
}

// Calls f(T{}) with T the element type of dtype (float32 or float64: the callers' validation).
template <class F>
void dispatch_floating(DType dtype, F&& f) {
  if (dtype == DType::Float64)
    f(double{});
  else
    f(float{});
}

}  // namespace

void layer_norm(DType dtype, int64_t rows, int64_t cols, const void* x, const void* gamma,
                const void* beta, double epsilon, void* y, double* mean, double* rstd) {
  dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    run_layer_norm<T>(rows, cols, static_cast<const T*>(x), static_cast<const T*>(gamma),
                      static_cast<const T*>(beta), epsilon, static_cast<T*>(y), mean, rstd);
  });
}

void layer_norm_backward(DType dtype, int64_t rows, int64_t cols, const void* x, const void* gamma,
                         const double* mean, const double* rstd, const void* dy, void* dx,
                         void* dgamma, void* dbeta) {
  dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    run_layer_norm_backward<T>(rows, cols, static_cast<const T*>(x), static_cast<const T*>(gamma),
                               mean, rstd, static_cast<const T*>(dy), static_cast<T*>(dx),
                               static_cast<T*>(dgamma), static_cast<T*>(dbeta));
  });
}

void group_norm(DType dtype, cpu::GroupShape s, const void* x, const void* gamma, const void* beta,
                double epsilon, void* y, double* mean, double* rstd) {
  dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    run_group_norm<T>(s, static_cast<const T*>(x), static_cast<const T*>(gamma),
                      static_cast<const T*>(beta), epsilon, static_cast<T*>(y), mean, rstd);
  });
}

void group_norm_backward(DType dtype, cpu::GroupShape s, const void* x, const void* gamma,
                         const double* mean, const double* rstd, const void* dy, void* dx,
                         void* dgamma, void* dbeta) {
  dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    run_group_norm_backward<T>(s, static_cast<const T*>(x), static_cast<const T*>(gamma), mean,
                               rstd, static_cast<const T*>(dy), static_cast<T*>(dx),
                               static_cast<T*>(dgamma), static_cast<T*>(dbeta));
  });
}

void unit_norm(DType dtype, int64_t rows, int64_t cols, const void* x, double epsilon, void* y,
               double* inv, double* cube) {
  dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    const RowGeometry g = row_geometry(rows, cols);
    with_row_cache<sizeof(T)>(cols, [&](auto v) {
      launch("unit_norm", &unit_norm_kernel<T, decltype(v)::value>, g.grid, g.block, 0, rows, cols,
             static_cast<const T*>(x), epsilon, static_cast<T*>(y), inv, cube);
    });
  });
}

void unit_norm_backward(DType dtype, int64_t rows, int64_t cols, const void* x, const double* inv,
                        const double* cube, const void* dy, void* dx) {
  dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    const RowGeometry g = row_geometry(rows, cols);
    with_row_cache<2 * sizeof(T)>(cols, [&](auto v) {
      launch("unit_norm_backward", &unit_norm_dx_kernel<T, decltype(v)::value>, g.grid, g.block, 0,
             rows, cols, static_cast<const T*>(x), inv, cube, static_cast<const T*>(dy),
             static_cast<T*>(dx));
    });
  });
}

}  // namespace corten::cuda
