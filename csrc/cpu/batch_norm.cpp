#include "cpu/batch_norm.h"

#include <corten/parallel.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/isa_table.h"

#define CORTEN_ISA_NS baseline
#include "cpu/norm_kernels.inc"
#undef CORTEN_ISA_NS

// Note [Batch norm variance]
// Keras 2 normalises a training batch with its biased variance (divided by n) on every path,
// but the variance it feeds into the moving average differs by path. The fused path
// (tf.nn.fused_batch_norm: float32 inputs of rank 4 or 5 with the channel axis 1 or last, no
// virtual batches, no renorm) stores the Bessel-corrected variance, var * n / (n - 1), with n
// the values per channel; the unfused path (every other case: other ranks or axes, several
// axes, float64 inputs, fused=False) stores the biased one. tf_keras's
// test_bessels_correction pins the fused case: inputs [0, 2] of shape (2, 1, 1, 1), momentum
// 0.5 and a zero moving variance give 0 - (0 - 2) * 0.5 = 1.0; the unfused case gives 0.5.
// corten's kernel takes the choice as an argument (`bessel`), and the BatchNormalization layer
// decides it with Keras's rule. A batch of one value per channel keeps the biased variance
// (n / (n - 1) is undefined), as TensorFlow's kernel does.

namespace corten::cpu {

const NormTable& norm_table() {
  return table_for_isa(&baseline::norm_table, &baseline::norm_table, &avx512::norm_table);
}

void batch_norm(DType dtype, NormShape s, const void* x, const void* weight, const void* gamma,
                const void* beta, void* moving_mean, void* moving_variance, bool training,
                double momentum, double epsilon, bool bessel, void* y, double* mean,
                double* invstd) {
  auto run = [&](auto tag, const auto& k) {
    using T = decltype(tag);
    k.batch_norm(s, static_cast<const T*>(x), static_cast<const T*>(weight),
                 static_cast<const T*>(gamma), static_cast<const T*>(beta),
                 static_cast<T*>(moving_mean),
                 static_cast<T*>(moving_variance), training, momentum, epsilon, bessel,
                 static_cast<T*>(y), mean, invstd);
  };
  if (dtype == DType::Float64) run(double{}, norm_table().f64);
  else run(float{}, norm_table().f32);
}

void batch_norm_backward(DType dtype, NormShape s, const void* x, const void* weight,
                         const void* gamma, const double* mean, const double* invstd,
                         bool training, const void* dy, void* dx, void* dgamma, void* dbeta) {
  auto run = [&](auto tag, const auto& k) {
    using T = decltype(tag);
    k.batch_norm_backward(s, static_cast<const T*>(x), static_cast<const T*>(weight),
                          static_cast<const T*>(gamma), mean, invstd, training,
                          static_cast<const T*>(dy), static_cast<T*>(dx),
                          static_cast<T*>(dgamma), static_cast<T*>(dbeta));
  };
  if (dtype == DType::Float64) run(double{}, norm_table().f64);
  else run(float{}, norm_table().f32);
}

void group_norm(DType dtype, GroupShape s, const void* x, const void* gamma, const void* beta,
                double epsilon, void* y, double* mean, double* rstd) {
  auto run = [&](auto tag, const auto& k) {
    using T = decltype(tag);
    k.group_norm(s, static_cast<const T*>(x), static_cast<const T*>(gamma),
                 static_cast<const T*>(beta), epsilon, static_cast<T*>(y), mean, rstd);
  };
  if (dtype == DType::Float64) run(double{}, norm_table().f64);
  else run(float{}, norm_table().f32);
}

void group_norm_backward(DType dtype, GroupShape s, const void* x, const void* gamma,
                         const double* mean, const double* rstd, const void* dy, void* dx,
                         void* dgamma, void* dbeta) {
  auto run = [&](auto tag, const auto& k) {
    using T = decltype(tag);
    k.group_norm_backward(s, static_cast<const T*>(x), static_cast<const T*>(gamma), mean, rstd,
                          static_cast<const T*>(dy), static_cast<T*>(dx),
                          static_cast<T*>(dgamma), static_cast<T*>(dbeta));
  };
  if (dtype == DType::Float64) run(double{}, norm_table().f64);
  else run(float{}, norm_table().f32);
}

void unit_norm(DType dtype, int64_t rows, int64_t cols, const void* x, double epsilon, void* y,
               double* inv, double* cube) {
  auto run = [&](auto tag, const auto& k) {
    using T = decltype(tag);
    k.unit_norm(rows, cols, static_cast<const T*>(x), epsilon, static_cast<T*>(y), inv, cube);
  };
  if (dtype == DType::Float64) run(double{}, norm_table().f64);
  else run(float{}, norm_table().f32);
}

void unit_norm_backward(DType dtype, int64_t rows, int64_t cols, const void* x,
                        const double* inv, const double* cube, const void* dy, void* dx) {
  auto run = [&](auto tag, const auto& k) {
    using T = decltype(tag);
    k.unit_norm_backward(rows, cols, static_cast<const T*>(x), inv, cube,
                         static_cast<const T*>(dy), static_cast<T*>(dx));
  };
  if (dtype == DType::Float64) run(double{}, norm_table().f64);
  else run(float{}, norm_table().f32);
}

}  // namespace corten::cpu
