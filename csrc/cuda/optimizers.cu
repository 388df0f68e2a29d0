// CUDA kernels of the fused optimizer updates (SGD, Adam, RMSprop, Adagrad, Adadelta, Adamax,
// Nadam) and of sum_of_squares, with the CPU kernels' signatures (csrc/cpu/optimizers.h),
// templates over float and double. Every pointer is a contiguous device array of length n; the
// variable and the slots never overlap (the entry points in ops/optimizers.cpp check it).
//
// Updates: one grid-stride loop, one element per thread and step, running the update functor of
// cpu/optimizer_math.h that the CPU kernels run too; its scalars (bias corrections and the
// hyperparameter roundings of Note [Optimizer scalars]) are computed on the host by the same
// function. With --fmad=false and IEEE division and square root the results are the CPU
// kernels' bit for bit.
//
// Note [CUDA sum of squares]
// sum_of_squares returns a double on the host, as on the CPU: each element is squared in
// double (exact for float32 inputs) and summed in double in two deterministic stages. Stage 1
// gives each of a fixed number of blocks (a function of n only) a contiguous range of
// kSumChunk elements per grid step; its threads stride through the range, then a warp-shuffle
// tree and a shared-memory tree merge them into one partial per block. Stage 2 (one block)
// merges the partials in the same way, and read_device_value brings the total back. The order
// differs from the CPU kernel's (sequential blocks of 4096), so the results agree within
// summation rounding: each order is within about n * 2^-53 of the exact sum relative to it
// (every term is non-negative, so nothing cancels), and the shim case checks
// |cuda - cpu| <= max(1e-12, 2 n 2^-53) * |cpu|.
// NaN and infinities propagate as in any sum.

#include <algorithm>
#include <cstdint>

#include "cpu/optimizer_math.h"
#include "cpu/optimizers.h"
#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace corten::cuda {
namespace {

// Every thread updates elements first, first + stride, ... of [0, n).
template <class Step>
__global__ void __launch_bounds__(kThreads) update_kernel(int64_t n, Step step) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    step(i);
  }
}

// The `run` of the cpu::optim dispatchers: launches the update functor over n elements.
struct Launch {
  int64_t n;
  const char* name;
  template <class Step>
  void operator()(const Step& step) const {
    launch(name, &update_kernel<Step>, dim3(blocks_for(n, kThreads)), dim3(kThreads), 0, n, step);
  }
};

// ---- sum of squares (Note [CUDA sum of squares]) ---------------------------------------------

constexpr int kSumThreads = 256;
constexpr int64_t kSumChunk = 4096;
constexpr int64_t kSumMaxBlocks = 1024;
constexpr unsigned kFullMask = 0xffffffffu;

// The block's sum of `v` (one value per thread) in thread 0, in a fixed order.
__device__ __forceinline__ double block_sum(double v) {
  __shared__ double warp_sums[kSumThreads / 32];
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(kFullMask, v, offset);
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < kSumThreads / 32 ? warp_sums[lane] : 0.0;
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(kFullMask, v, offset);
  }
  return v;
}

// x: (n,) -> partial[b] for each block b: its chunks b, b + gridDim.x, ... of kSumChunk elements.
template <class T>
__global__ void __launch_bounds__(kSumThreads)
    sum_squares_partial_kernel(int64_t n, const T* __restrict__ x, double* __restrict__ partial) {
  double s = 0.0;
  for (int64_t c = blockIdx.x; c * kSumChunk < n; c += gridDim.x) {
    const int64_t end = std::min(n, (c + 1) * kSumChunk);
    for (int64_t i = c * kSumChunk + threadIdx.x; i < end; i += kSumThreads) {
      const double xi = static_cast<double>(x[i]);
      s += xi * xi;
    }
  }
  s = block_sum(s);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// partial: (count,) -> *total.
__global__ void __launch_bounds__(kSumThreads)
    sum_partials_kernel(int64_t count, const double* __restrict__ partial,
                        double* __restrict__ total) {
  double s = 0.0;
  for (int64_t i = threadIdx.x; i < count; i += kSumThreads) s += partial[i];
  s = block_sum(s);
  if (threadIdx.x == 0) *total = s;
}

}  // namespace

template <typename T>
void sgd_update(int64_t n, T* var, const T* grad, T* momentum, const SgdOptions& opt) {
  cpu::optim::dispatch_sgd(var, grad, momentum, opt, Launch{n, "sgd_update"});
}

template <typename T>
void adam_update(int64_t n, T* var, const T* grad, T* m, T* v, T* vhat, const AdamOptions& opt) {
  cpu::optim::dispatch_adam(var, grad, m, v, vhat, opt, Launch{n, "adam_update"});
}

template <typename T>
void rmsprop_update(int64_t n, T* var, const T* grad, T* velocity, T* momentum, T* average_grad,
                    const RmspropOptions& opt) {
  cpu::optim::dispatch_rmsprop(var, grad, velocity, momentum, average_grad, opt,
                               Launch{n, "rmsprop_update"});
}

template <typename T>
void adagrad_update(int64_t n, T* var, const T* grad, T* accumulator, const AdagradOptions& opt) {
  cpu::optim::dispatch_adagrad(var, grad, accumulator, opt, Launch{n, "adagrad_update"});
}

template <typename T>
void adadelta_update(int64_t n, T* var, const T* grad, T* accumulated_grad,
                     T* accumulated_delta_var, const AdadeltaOptions& opt) {
  cpu::optim::dispatch_adadelta(var, grad, accumulated_grad, accumulated_delta_var, opt,
                                Launch{n, "adadelta_update"});
}

template <typename T>
void adamax_update(int64_t n, T* var, const T* grad, T* m, T* u, const AdamaxOptions& opt) {
  cpu::optim::dispatch_adamax(var, grad, m, u, opt, Launch{n, "adamax_update"});
}

template <typename T>
void nadam_update(int64_t n, T* var, const T* grad, T* m, T* v, const NadamOptions& opt) {
  cpu::optim::dispatch_nadam(var, grad, m, v, opt, Launch{n, "nadam_update"});
}

template <typename T>
double sum_of_squares(int64_t n, const T* x) {
  if (n <= 0) return 0.0;
  const int64_t chunks = (n + kSumChunk - 1) / kSumChunk;
  const int64_t blocks = std::min(chunks, kSumMaxBlocks);
  DeviceScratch scratch(static_cast<size_t>(blocks + 1) * sizeof(double), "sum_of_squares");
  double* partial = scratch.as<double>();
  launch("sum_of_squares", &sum_squares_partial_kernel<T>, dim3(static_cast<unsigned>(blocks)),
         dim3(kSumThreads), 0, n, x, partial);
  launch("sum_of_squares", &sum_partials_kernel, dim3(1), dim3(kSumThreads), 0, blocks, partial,
         partial + blocks);
  return read_device_value(partial + blocks, "sum_of_squares");
}

#define CORTEN_INSTANTIATE_CUDA_OPTIMIZERS_(T)                                               \
  template void sgd_update<T>(int64_t, T*, const T*, T*, const SgdOptions&);                 \
  template void adam_update<T>(int64_t, T*, const T*, T*, T*, T*, const AdamOptions&);       \
  template void rmsprop_update<T>(int64_t, T*, const T*, T*, T*, T*, const RmspropOptions&); \
  template void adagrad_update<T>(int64_t, T*, const T*, T*, const AdagradOptions&);         \
  template void adadelta_update<T>(int64_t, T*, const T*, T*, T*, const AdadeltaOptions&);   \
  template void adamax_update<T>(int64_t, T*, const T*, T*, T*, const AdamaxOptions&);       \
  template void nadam_update<T>(int64_t, T*, const T*, T*, T*, const NadamOptions&);         \
  template double sum_of_squares<T>(int64_t, const T*);

CORTEN_INSTANTIATE_CUDA_OPTIMIZERS_(float)
CORTEN_INSTANTIATE_CUDA_OPTIMIZERS_(double)
#undef CORTEN_INSTANTIATE_CUDA_OPTIMIZERS_

}  // namespace corten::cuda
