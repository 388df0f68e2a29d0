#pragma once
// CPU layer-normalisation kernels. All pointers are contiguous; callers have validated dtypes
// (floating) and shapes. Statistics accumulate in float64.

#include <corten/dtype.h>

#include <cstdint>

namespace corten::cpu {

// x: (rows, cols), gamma, beta: (cols,) or null -> y: (rows, cols), mean, rstd: (rows,) in
// float64. y = (x - mean) * rstd * gamma + beta with rstd = 1 / sqrt(var + epsilon), the biased
// variance of each row. One fused pass per row (two reads of the row, one write).
void layer_norm(DType dtype, int64_t rows, int64_t cols, const void* x, const void* gamma,
                const void* beta, double epsilon, void* y, double* mean, double* rstd);

// The backward of layer_norm from the saved mean and rstd: with xhat = (x - mean) * rstd and
// dxhat = dy * gamma, dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) per row;
// dgamma = sum over rows of dy * xhat and dbeta = sum of dy (when those are non-null).
void layer_norm_backward(DType dtype, int64_t rows, int64_t cols, const void* x,
                         const void* gamma, const double* mean, const double* rstd,
                         const void* dy, void* dx, void* dgamma, void* dbeta);

}  // namespace corten::cpu
