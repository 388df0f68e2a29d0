#pragma once
/// Sliding-window ops over 1, 2 or 3 spatial dimensions: pooling, depthwise convolution and
/// resizing. `x` has rank 3, 4 or 5: (N, *spatial, C) (channels_last) or (N, C, *spatial)
/// (channels_first). Window arguments (pool_size, strides, dilations) have one entry per
/// spatial dimension; padding is "valid" or "same" (TensorFlow's rule: out = ceil(in / stride),
/// the padding split with the smaller half before). float32 and float64.

#include <corten/tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace corten {

/// Max pooling; padded positions never win.
Tensor max_pool(const Tensor& x, const std::vector<int64_t>& pool_size,
                const std::vector<int64_t>& strides, const std::string& padding,
                bool channels_first = false);
/// Average pooling; each window is divided by its number of non-padded elements.
Tensor avg_pool(const Tensor& x, const std::vector<int64_t>& pool_size,
                const std::vector<int64_t>& strides, const std::string& padding,
                bool channels_first = false);
/// The backward of max_pool (is_max) or avg_pool: dx for the output gradient dy, given the
/// forward's input x. Max routes each gradient to the first maximum of its window.
Tensor pool_grad(bool is_max, const Tensor& x, const Tensor& dy,
                 const std::vector<int64_t>& pool_size, const std::vector<int64_t>& strides,
                 const std::string& padding, bool channels_first = false);

/// Depthwise convolution (Keras DepthwiseConv / tf.nn.depthwise_conv2d): w of shape
/// (*kernel_size, C, multiplier), bias of shape (C * multiplier,) or undefined. Output channel
/// c * multiplier + j convolves input channel c with w[..., c, j].
Tensor depthwise_conv(const Tensor& x, const Tensor& w, const Tensor& bias,
                      const std::vector<int64_t>& strides, const std::vector<int64_t>& dilations,
                      const std::string& padding, bool channels_first = false);
/// depthwise_conv's backward: {dx, dw, dbias}; an entry is undefined when not asked for.
std::vector<Tensor> depthwise_conv_backward(const Tensor& x, const Tensor& w, const Tensor& dy,
                                            const std::vector<int64_t>& strides,
                                            const std::vector<int64_t>& dilations,
                                            const std::string& padding, bool channels_first,
                                            bool need_dx, bool need_dw, bool need_dbias);

/// Resizes the spatial dimensions to `size` (one entry per spatial dimension) by "nearest" or
/// "bilinear" (linear along every spatial axis) interpolation, with TensorFlow's coordinate
/// rules (tf.image.resize: half_pixel_centers=True, align_corners=False).
Tensor resize(const Tensor& x, const std::vector<int64_t>& size, const std::string& method,
              bool align_corners = false, bool half_pixel_centers = true,
              bool channels_first = false);
/// resize's backward: dx of spatial size `input_size` for the output gradient dy.
Tensor resize_grad(const Tensor& dy, const std::vector<int64_t>& input_size,
                   const std::string& method, bool align_corners = false,
                   bool half_pixel_centers = true, bool channels_first = false);

}  // namespace corten
