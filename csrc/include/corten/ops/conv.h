#pragma once
/// Convolutions: N-d (1, 2, 3 spatial dimensions), grouped, strided, dilated, zero-padded,
/// channels_last or channels_first, with Keras's kernel layout.

#include <corten/ops/linalg.h>
#include <corten/tensor.h>

#include <cstdint>
#include <vector>

namespace corten {

/// The geometry of a convolution, one entry per spatial dimension (padding: two, the zeros
/// before and after each dimension, in order). TensorFlow's 'SAME'/'VALID' and Keras's
/// 'causal' are computed into explicit padding by the caller (python/corten/ops/conv.py).
struct ConvOptions {
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> padding;
  int64_t groups = 1;
  bool channels_last = true;  ///< x is (N, *spatial, C); else (N, C, *spatial)
  bool reference = false;     ///< run the plain direct-loop kernels (for tests)
};

/// act(conv(x, w) + bias): x (N, *spatial, C) (or channels_first), w (*kernel, C / groups, F),
/// bias (F,) or undefined; returns (N, *out, F) with out = (in + pads - dilation * (k - 1) - 1)
/// / stride + 1. float32 and float64. ValueError names the shapes when they do not fit
/// (rank, channels and groups, a kernel larger than the padded input).
Tensor conv(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvOptions& options,
            Activation act = Activation::Identity);

/// The transposed convolution (the adjoint of conv in its input), act(conv^T(x, w) + bias):
/// x (N, *spatial, F), w (*kernel, C / groups, F) as for conv (Keras's Conv*Transpose kernel
/// (*kernel, filters, in_channels) with groups = 1), bias (C,) or undefined; returns
/// (N, *output_spatial, C). conv(result) with these options must have x's spatial shape.
Tensor conv_transpose(const Tensor& x, const Tensor& w, const Tensor& bias,
                      const std::vector<int64_t>& output_spatial, const ConvOptions& options,
                      Activation act = Activation::Identity);

/// The gradient of sum(conv(x, w) * dy) in w, for a kernel of shape w_shape.
Tensor conv_backward_filter(const Tensor& x, const Tensor& dy, const Shape& w_shape,
                            const ConvOptions& options);

}  // namespace corten
