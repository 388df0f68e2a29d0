#include "cpu/norm.h"

#include "cpu/batch_norm.h"

namespace corten::cpu {

// The kernels are in cpu/norm_kernels.inc, compiled per ISA (cpu/batch_norm.h's norm_table).

void layer_norm(DType dtype, int64_t rows, int64_t cols, const void* x, const void* gamma,
                const void* beta, double epsilon, void* y, double* mean, double* rstd) {
  auto run = [&](auto tag, const auto& k) {
    using T = decltype(tag);
    k.layer_norm(rows, cols, static_cast<const T*>(x), static_cast<const T*>(gamma),
                 static_cast<const T*>(beta), epsilon, static_cast<T*>(y), mean, rstd);
  };
  if (dtype == DType::Float64) run(double{}, norm_table().f64);
  else run(float{}, norm_table().f32);
}

void layer_norm_backward(DType dtype, int64_t rows, int64_t cols, const void* x,
                         const void* gamma, const double* mean, const double* rstd,
                         const void* dy, void* dx, void* dgamma, void* dbeta) {
  auto run = [&](auto tag, const auto& k) {
    using T = decltype(tag);
    k.layer_norm_backward(rows, cols, static_cast<const T*>(x), static_cast<const T*>(gamma),
                          mean, rstd, static_cast<const T*>(dy), static_cast<T*>(dx),
                          static_cast<T*>(dgamma), static_cast<T*>(dbeta));
  };
  if (dtype == DType::Float64) run(double{}, norm_table().f64);
  else run(float{}, norm_table().f32);
}

}  // namespace corten::cpu
