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
// weight: null, or one value per outer index (channels last only, inner == 1): a mask of the
// rows whose weighted mean and variance are the batch statistics (Keras's masked moments).
void batch_norm(DType dtype, NormShape s, const void* x, const void* weight, const void* gamma,
                const void* beta,
                void* moving_mean, void* moving_variance, bool training, double momentum,
                double epsilon, bool bessel, void* y, double* mean, double* invstd);

// batch_norm's backward from the saved mean and invstd. With xhat = (x - mean) * invstd:
// dgamma = sum(dy * xhat), dbeta = sum(dy) over (outer, inner); dx = gamma * invstd * (dy -
// mean(dy) - xhat * mean(dy * xhat)) in training (the batch statistics depend on x) and
// gamma * invstd * dy in inference. Null outputs are skipped.
void batch_norm_backward(DType dtype, NormShape s, const void* x, const void* weight,
                         const void* gamma, const double* mean, const double* invstd,
                         bool training, const void* dy, void* dx, void* dgamma, void* dbeta);

// Group normalisation: x viewed as (n, p, groups, group_size, q) (batch, the axes before the
// channel axis, the channel axis split in groups, the axes after it). mean, rstd: (n, groups).
struct GroupShape {
  int64_t n = 0;
  int64_t p = 0;
  int64_t groups = 0;
  int64_t group_size = 0;
  int64_t q = 0;
};

// y = (x - mean) * rstd * gamma[c] + beta[c] with the statistics of each (n, group) over p,
// group_size and q (biased variance); gamma, beta: (groups * group_size,) or null.
void group_norm(DType dtype, GroupShape s, const void* x, const void* gamma, const void* beta,
                double epsilon, void* y, double* mean, double* rstd);

// group_norm's backward from the saved statistics; null outputs are skipped.
void group_norm_backward(DType dtype, GroupShape s, const void* x, const void* gamma,
                         const double* mean, const double* rstd, const void* dy, void* dx,
                         void* dgamma, void* dbeta);

// x: (rows, cols) -> y = x / sqrt(max(sum(x^2), epsilon)) per row (tf.math.l2_normalize);
// inv: that factor, cube: inv^3 where the sum exceeds epsilon, else 0 (both (rows,) float64).
void unit_norm(DType dtype, int64_t rows, int64_t cols, const void* x, double epsilon, void* y,
               double* inv, double* cube);

// unit_norm's backward: dx = inv * dy - x * cube * sum(dy * x) per row.
void unit_norm_backward(DType dtype, int64_t rows, int64_t cols, const void* x,
                        const double* inv, const double* cube, const void* dy, void* dx);

template <typename T>
struct NormKernels {
  void (*batch_norm)(NormShape, const T*, const T*, const T*, const T*, T*, T*, bool, double,
                     double, bool, T*, double*, double*);
  void (*batch_norm_backward)(NormShape, const T*, const T*, const T*, const double*,
                              const double*, bool, const T*, T*, T*, T*);
  void (*layer_norm)(int64_t, int64_t, const T*, const T*, const T*, double, T*, double*,
                     double*);
  void (*layer_norm_backward)(int64_t, int64_t, const T*, const T*, const double*,
                              const double*, const T*, T*, T*, T*);
  void (*group_norm)(GroupShape, const T*, const T*, const T*, double, T*, double*, double*);
  void (*group_norm_backward)(GroupShape, const T*, const T*, const double*, const double*,
                              const T*, T*, T*, T*);
  void (*unit_norm)(int64_t, int64_t, const T*, double, T*, double*, double*);
  void (*unit_norm_backward)(int64_t, int64_t, const T*, const double*, const double*, const T*,
                             T*);
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
