// CUDA batch normalisation, forward and backward, with the CPU kernels' signatures
// (csrc/cpu/batch_norm.h). x is contiguous, viewed as (outer, C, inner): channels last (inner
// == 1) or NCHW-like (inner = H * W); every pointer is a contiguous device pointer and callers
// have validated dtypes (float32, float64) and shapes. Statistics are float64.
//
// Threads: the per-channel sums over (outer, inner) are the two-stage reduction of Note [CUDA
// normalisation sums] with x seen as outer rows of C * inner columns. The first stage reads 32
// adjacent columns (channels last: 32 adjacent channels) of a chunk of rows per block, or, where
// a channel is a run of 32 or more values (NCHW), sums each run in a warp or a block, so loads
// are coalesced in either layout; it writes float64 partial sums to device scratch. The second
// stage gives each channel a thread or a block that adds its partials in a fixed order and
// computes the channel's statistics, the moving-average update and the coefficients of the
// normalisation. A last grid-stride pass writes y (or dx) elementwise.
//
// Still to come (performance only): the total weight of a masked batch is summed by one block.
//
// Note [CUDA batch norm statistics]
// The training statistics take one pass over x: shifted sums S1 = sum(x - K) and S2 = sum((x -
// K)^2) in float64, with K = the channel's first value, give mean = K + S1 / n and var = S2 / n -
// (S1 / n)^2. The shift keeps the cancellation small: it costs the ratio of (mean - K)^2 to the
// variance, which is at most n (K is one of the values) and usually of order 1, in float64 ulps
// of the variance (float32 inputs keep their full precision; float64 inputs, in the worst case
// of an outlying first value, lose log2(n) bits of the variance); a rounding below zero is
// clamped to zero. The CPU kernel combines blockwise means and squared deviations with
// Chan's formula instead, so the statistics agree within rounding (Note [CUDA normalisation
// sums]), not bit for bit; given them, y, dx and the moving averages follow the CPU's arithmetic
// exactly. With the row weights of a masked batch the sums are weighted and n is sum(weight).

#include <cmath>
#include <cstdint>

#include "cpu/batch_norm.h"
#include "cuda/common.cuh"
#include "cuda/norm_sums.cuh"

namespace corten::cuda {
namespace {

using cpu::NormShape;

// Sum of weight[0, n) in float64 by one block (the total weight of a masked batch).
template <class T>
__global__ void __launch_bounds__(256)
    total_weight_kernel(const T* __restrict__ weight, int64_t n, double* __restrict__ out) {
  double s[1] = {0.0};
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s[0] += static_cast<double>(weight[i]);
  group_sum<1>(s);
  if (threadIdx.x == 0) *out = s[0];
}

// The float64 total of weight (null: none) in scratch.
template <class T>
const double* total_weight(const char* op, const T* weight, int64_t outer,
                           const DeviceScratch& out) {
  if (!weight) return nullptr;
  launch(op, &total_weight_kernel<T>, dim3(1), dim3(static_cast<unsigned>(kThreads)), 0, weight,
         outer, out.as<double>());
  return out.as<double>();
}

// ------------------------------------------------------------------------------------- forward

// Shifted sums of (weighted) x per column (Note [CUDA batch norm statistics]).
template <class T>
struct StatTerm {
  static constexpr int kSums = 2;
  const T* x;
  const T* weight;
  int64_t cols, inner;
  __device__ void operator()(int64_t r, int64_t j, int64_t c, double (&acc)[2]) const {
    const double k = static_cast<double>(x[c * inner]);
    const double v = static_cast<double>(x[r * cols + j]) - k;
    if (weight) {
      const double w = static_cast<double>(weight[r]);
      acc[0] += w * v;
      acc[1] += w * v * v;
    } else {
      acc[0] += v;
      acc[1] += v * v;
    }
  }
};

enum class StatMode : int { Batch, EmptyBatch, Moving };

// A channel's statistics, moving-average update and coefficients m, k, d of y = (x - m) * k +
// d (coef: (3, C)).
template <class T>
struct StatFinish {
  StatMode mode;
  const T* x;
  int64_t channels, inner;
  double count;                // values per channel
  const double* total_weight;  // weighted batches: sum(weight), else null
  const T* gamma;
  const T* beta;
  T* moving_mean;
  T* moving_variance;
  double momentum, epsilon;
  bool bessel;
  double* mean;
  double* invstd;
  T* coef;
  __device__ void operator()(int64_t c, const double (&s)[2]) const {
    if (mode == StatMode::Batch) {
      const double cnt = total_weight ? *total_weight : count;
      double m = 0.0, var = 0.0;
      // A batch whose weights are all zero has no statistics: mean 0 and variance 0, and the
      // moving statistics are left alone, as on the CPU.
      if (cnt > 0) {
        const double mu = s[0] / cnt;
        m = static_cast<double>(x[c * inner]) + mu;
        var = s[1] / cnt - mu * mu;
        if (var < 0) var = 0;
      }
      mean[c] = m;
      invstd[c] = 1.0 / std::sqrt(var + epsilon);
      if (moving_mean && moving_variance && cnt > 0) {
        // Note [Batch norm variance] (cpu/batch_norm.cpp).
        const double unbiased = bessel && cnt > 1 ? var * cnt / (cnt - 1.0) : var;
        const T decay = static_cast<T>(1.0 - momentum);
        moving_mean[c] -= (moving_mean[c] - static_cast<T>(m)) * decay;
        moving_variance[c] -= (moving_variance[c] - static_cast<T>(unbiased)) * decay;
      }
    } else if (mode == StatMode::EmptyBatch) {
      mean[c] = 0.0;
      invstd[c] = 1.0 / std::sqrt(epsilon);
    } else {
      mean[c] = moving_mean ? static_cast<double>(moving_mean[c]) : 0.0;
      const double v = moving_variance ? static_cast<double>(moving_variance[c]) : 1.0;
      invstd[c] = 1.0 / std::sqrt(v + epsilon);
    }
    coef[c] = static_cast<T>(mean[c]);
    coef[channels + c] = static_cast<T>(invstd[c]) * (gamma ? gamma[c] : T(1));
    coef[2 * channels + c] = beta ? beta[c] : T(0);
  }
};

// A thread's grid-stride walk over x: (outer, C, inner): index i = (o * C + c) * inner + r with o,
// c and r stepped by carries instead of divided out at every element (64-bit divisions cost
// more than the memory traffic), the divisions done once per thread.
struct ChannelWalk {
  int64_t i, o, c, r;
  int64_t step, dr, dc, dout, channels, inner;
  __device__ ChannelWalk(int64_t channels_, int64_t inner_) : channels(channels_), inner(inner_) {
    i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    step = static_cast<int64_t>(gridDim.x) * blockDim.x;
    r = i % inner;
    c = (i / inner) % channels;
    o = i / inner / channels;
    dr = step % inner;
    dc = (step / inner) % channels;
    dout = step / inner / channels;
  }
  __device__ void next() {
    i += step;
    r += dr;
    int64_t carry = 0;
    if (r >= inner) {
      r -= inner;
      carry = 1;
    }
    c += dc + carry;
    carry = 0;
    if (c >= channels) {
      c -= channels;
      carry = 1;
    }
    o += dout + carry;
  }
};

// Blocks of the elementwise passes: each thread takes at least 4 values (a grid-stride loop),
// so that ChannelWalk's divisions are amortised.
inline dim3 walk_blocks(int64_t n) { return dim3(blocks_for((n + 3) / 4, kThreads)); }

// y = (x - m[c]) * k[c] + d[c] over (outer, C, inner).
template <class T>
__global__ void __launch_bounds__(256)
    normalize_kernel(int64_t n, int64_t channels, int64_t inner, const T* __restrict__ x,
                     const T* __restrict__ coef, T* __restrict__ y) {
  for (ChannelWalk w(channels, inner); w.i < n; w.next()) {
    const int64_t i = w.i, c = w.c;
    y[i] = (x[i] - coef[c]) * coef[channels + c] + coef[2 * channels + c];
  }
}

template <class T>
void run_batch_norm(NormShape s, const T* x, const T* weight, const T* gamma, const T* beta,
                    T* moving_mean, T* moving_variance, bool training, double momentum,
                    double epsilon, bool bessel, T* y, double* mean, double* invstd) {
  const char* op = "batch_norm";
  const int64_t C = s.channels, n = s.outer * s.inner;
  if (C == 0) return;
  const StatMode mode = !training ? StatMode::Moving
                        : n > 0   ? StatMode::Batch
                                  : StatMode::EmptyBatch;
  DeviceScratch coef(static_cast<size_t>(3 * C) * sizeof(T), op);
  DeviceScratch weight_sum(sizeof(double), op);
  const double* tw =
      mode == StatMode::Batch ? total_weight(op, weight, s.outer, weight_sum) : nullptr;
  const StatFinish<T> finish{mode,        x,       C,      s.inner,     static_cast<double>(n),
                             tw,          gamma,   beta,   moving_mean, moving_variance,
                             momentum,    epsilon, bessel, mean,        invstd,
                             coef.as<T>()};
  channel_sums(op, StatTerm<T>{x, weight, C * s.inner, s.inner > 0 ? s.inner : 1}, finish, s.outer,
               C, s.inner, mode != StatMode::Batch);
  if (n == 0) return;
  const int64_t total = n * C;
  launch(op, &normalize_kernel<T>, walk_blocks(total), dim3(kThreads), 0, total, C, s.inner, x,
         coef.as<T>(), y);
}

// ------------------------------------------------------------------------------------ backward

// sum(dy) and sum(dy * (x - mean)) per column, the terms computed in T as on the CPU.
template <class T>
struct GradTerm {
  static constexpr int kSums = 2;
  const T* x;
  const T* dy;
  const double* mean;
  int64_t cols;
  __device__ void operator()(int64_t r, int64_t j, int64_t c, double (&acc)[2]) const {
    const T m = static_cast<T>(mean[c]);
    const T g = dy[r * cols + j];
    acc[0] += static_cast<double>(g);
    acc[1] += static_cast<double>(g * (x[r * cols + j] - m));
  }
};

// dgamma, dbeta and the coefficients of dx = (x - m) * k + d + e * dy (times the row weight
// for the first terms when weighted), coef: (4, C).
template <class T>
struct GradFinish {
  int64_t channels;
  const T* gamma;
  const double* mean;
  const double* invstd;
  bool training;
  double count;
  const double* total_weight;
  T* dgamma;
  T* dbeta;
  T* coef;
  __device__ void operator()(int64_t c, const double (&s)[2]) const {
    const double sdy = s[0], sdyx = s[1];
    const double g = gamma ? static_cast<double>(gamma[c]) : 1.0;
    const double a = g * invstd[c];
    if (dgamma) dgamma[c] = static_cast<T>(sdyx * invstd[c]);
    if (dbeta) dbeta[c] = static_cast<T>(sdy);
    const double nn = total_weight ? *total_weight : count;
    T d = 0, k = 0;
    if (training && nn > 0) {
      d = static_cast<T>(-a * sdy / nn);
      k = static_cast<T>(-a * invstd[c] * invstd[c] * sdyx / nn);
    }
    coef[c] = static_cast<T>(mean[c]);
    coef[channels + c] = k;
    coef[2 * channels + c] = d;
    coef[3 * channels + c] = static_cast<T>(a);
  }
};

template <class T>
__global__ void __launch_bounds__(256)
    batch_norm_dx_kernel(int64_t n, int64_t channels, int64_t inner, const T* __restrict__ x,
                         const T* __restrict__ weight, const T* __restrict__ dy,
                         const T* __restrict__ coef, T* __restrict__ dx) {
  for (ChannelWalk w(channels, inner); w.i < n; w.next()) {
    const int64_t i = w.i, c = w.c;
    const T t = (x[i] - coef[c]) * coef[channels + c] + coef[2 * channels + c];
    const T e = coef[3 * channels + c] * dy[i];
    // Weighted batches are channels last: the weight of row o.
    dx[i] = weight ? t * weight[w.o] + e : t + e;
  }
}

template <class T>
void run_batch_norm_backward(NormShape s, const T* x, const T* weight, const T* gamma,
                             const double* mean, const double* invstd, bool training, const T* dy,
                             T* dx, T* dgamma, T* dbeta) {
  const char* op = "batch_norm_backward";
  const int64_t C = s.channels, n = s.outer * s.inner;
  if (C == 0) return;
  DeviceScratch coef(static_cast<size_t>(4 * C) * sizeof(T), op);
  DeviceScratch weight_sum(sizeof(double), op);
  const double* tw = total_weight(op, weight, s.outer, weight_sum);
  const bool sums = n > 0 && (training || dgamma || dbeta);
  const GradFinish<T> finish{C,  gamma,  mean,  invstd,      training, static_cast<double>(n),
                             tw, dgamma, dbeta, coef.as<T>()};
  channel_sums(op, GradTerm<T>{x, dy, mean, C * s.inner}, finish, s.outer, C, s.inner, !sums);
  if (!dx || n == 0) return;
  const int64_t total = n * C;
  launch(op, &batch_norm_dx_kernel<T>, walk_blocks(total), dim3(kThreads), 0, total, C, s.inner, x,
         weight, dy, coef.as<T>(), dx);
}

}  // namespace

void batch_norm(DType dtype, NormShape s, const void* x, const void* weight, const void* gamma,
                const void* beta, void* moving_mean, void* moving_variance, bool training,
                double momentum, double epsilon, bool bessel, void* y, double* mean,
                double* invstd) {
  auto run = [&](auto tag) {
    using T = decltype(tag);
    run_batch_norm<T>(s, static_cast<const T*>(x), static_cast<const T*>(weight),
                      static_cast<const T*>(gamma), static_cast<const T*>(beta),
                      static_cast<T*>(moving_mean), static_cast<T*>(moving_variance), training,
                      momentum, epsilon, bessel, static_cast<T*>(y), mean, invstd);
  };
  if (dtype == DType::Float64)
    run(double{});
  else
    run(float{});
}

void batch_norm_backward(DType dtype, NormShape s, const void* x, const void* weight,
                         const void* gamma, const double* mean, const double* invstd, bool training,
                         const void* dy, void* dx, void* dgamma, void* dbeta) {
  auto run = [&](auto tag) {
    using T = decltype(tag);
    run_batch_norm_backward<T>(s, static_cast<const T*>(x), static_cast<const T*>(weight),
                               static_cast<const T*>(gamma), mean, invstd, training,
                               static_cast<const T*>(dy), static_cast<T*>(dx),
                               static_cast<T*>(dgamma), static_cast<T*>(dbeta));
  };
  if (dtype == DType::Float64)
    run(double{});
  else
    run(float{});
}

}  // namespace corten::cuda
