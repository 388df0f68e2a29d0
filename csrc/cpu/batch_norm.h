#pragma once
// CPU batch-normalisation kernels, and the per-ISA tables of every normalisation kernel
// (cpu/norm_kernels.inc: batch_norm here, layer_norm behind cpu/norm.h). All pointers are
// contiguous; callers have validated dtypes (floating) and shapes. Statistics are float64.

#include <corten/dtype.h>

#include <cstdint>

namespace corten::cpu {

// x viewed as (outer, channels, inner): the channel axis of the input, with the product of the
// axes before it and after it (channels last: inner == 1; NCHW: inner == H * W).
struct NormShape {
  int64_t outer = 0;
  int64_t channels = 0;
  int64_t inner = 0;
};

// x: (outer, C, inner), gamma, beta, moving_mean, moving_variance: (C,) or null -> y: same as
// x; mean, invstd: (C,) float64, the statistics y was normalised with (saved for the backward).
// training: mean and the biased variance of each channel over the batch; when moving_mean and
// moving_variance are given they are updated in place, moving -= (moving - batch) * (1 -
// momentum), with the variance times n / (n - 1) when `bessel` (Note [Batch norm variance]),
// and left alone for an empty batch. Inference: the moving statistics, read only.
// y = (x - mean) * invstd * gamma + beta with invstd = 1 / sqrt(var + epsilon).
void batch_norm(DType dtype, NormShape s, const void* x, const void* gamma, const void* beta,
                void* moving_mean, void* moving_variance, bool training, double momentum,
                double epsilon, bool bessel, void* y, double* mean, double* invstd);

// batch_norm's backward from the saved mean and invstd. With xhat = (x - mean) * invstd:
// dgamma = sum(dy * xhat), dbeta = sum(dy) over (outer, inner); dx = gamma * invstd * (dy -
// mean(dy) - xhat * mean(dy * xhat)) in training (the batch statistics depend on x) and
// gamma * invstd * dy in inference. Null outputs are skipped.
void batch_norm_backward(DType dtype, NormShape s, const void* x, const void* gamma,
                         const double* mean, const double* invstd, bool training, const void* dy,
                         void* dx, void* dgamma, void* dbeta);

template <typename T>
struct NormKernels {
  void (*batch_norm)(NormShape, const T*, const T*, const T*, T*, T*, bool, double, double, bool,
                     T*, double*, double*);
  void (*batch_norm_backward)(NormShape, const T*, const T*, const double*, const double*, bool,
                              const T*, T*, T*, T*);
  void (*layer_norm)(int64_t, int64_t, const T*, const T*, const T*, double, T*, double*,
                     double*);
  void (*layer_norm_backward)(int64_t, int64_t, const T*, const T*, const double*,
                              const double*, const T*, T*, T*, T*);
};

struct NormTable {
  NormKernels<float> f32;
  NormKernels<double> f64;
};

// The same kernels (cpu/norm_kernels.inc) compiled for each ISA: portable C++ (the reference)
// and AVX-512 (cpu/avx512/norm_avx512.cpp); norm_table() is the one cpu_isa() selects.
namespace baseline {
const NormTable& norm_table();
}
namespace avx512 {
const NormTable& norm_table();
}
const NormTable& norm_table();

}  // namespace corten::cpu
