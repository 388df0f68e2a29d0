#pragma once
// CPU convolution kernels (Note [Convolution algorithm] in conv.cpp). All tensors are
// contiguous and channels_last; 1-D and 2-D convolutions are 3-D ones with leading spatial
// dimensions of size 1. Callers have validated shapes and dtypes (float32, float64 or
// bfloat16).

#include <corten/dtype.h>
#include <corten/ops/linalg.h>

#include <cstdint>

namespace corten::cpu {

// Geometry of a grouped, strided, dilated, zero-padded 3-D convolution.
//   x: (n, in[0], in[1], in[2], c)     w: (k[0], k[1], k[2], c / groups, f)
//   y: (n, out[0], out[1], out[2], f)  out[i] = (in[i] + pad_total[i] - dil[i]*(k[i]-1) - 1)
//                                                / stride[i] + 1
// pad[i] is the zero padding before dimension i (the padding after it only shapes `out`).
// Output channel j belongs to group j / (f / groups), which reads input channels
// [g * c/groups, (g+1) * c/groups).
struct ConvGeom {
  int64_t n, c, f, groups;
  int64_t in[3], out[3], k[3], stride[3], dil[3], pad[3];
  bool reference;  // run the plain direct-loop kernels (tests compare them with the fast ones)
};

// y = act(conv(x, w) + bias); bias (f,) or null.
void conv_forward(DType dtype, const ConvGeom& g, const void* x, const void* w, const void* bias,
                  Activation act, void* y);

// The adjoint of conv_forward in x: dx (n, in..., c) = conv^T(dy), then act(dx + bias) with
// bias (c,) or null (the transposed convolution's epilogue; backward passes give none).
void conv_backward_data(DType dtype, const ConvGeom& g, const void* dy, const void* w,
                        const void* bias, Activation act, void* dx);

// dw (k..., c / groups, f) = the gradient of sum(conv(x, w) * dy) in w.
void conv_backward_filter(DType dtype, const ConvGeom& g, const void* x, const void* dy,
                          void* dw);

}  // namespace corten::cpu
