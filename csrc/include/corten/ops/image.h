#pragma once
/// Image ops on batches of channels_last images (n, height, width, channels).

#include <corten/tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace corten {

/// TensorFlow's ImageProjectiveTransformV3 (the sampler of Keras's RandomRotation, RandomZoom
/// and RandomTranslation): images (n, h, w, c) float32 or float64; transforms (1, 8) or (n, 8)
/// float32, each row [a0, a1, a2, b0, b1, b2, c0, c1] mapping output point (x, y) to input
/// point ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1;
/// output_shape {out_h, out_w}; interpolation "nearest" or "bilinear"; fill_mode "reflect",
/// "wrap", "constant" or "nearest" (upper case accepted); fill_value for "constant" reads.
/// Returns (n, out_h, out_w, c) of the images' dtype. Differentiable with respect to the
/// images (the exact adjoint, image_transform_grad); the transforms get no gradient, as in
/// TensorFlow.
Tensor image_transform(const Tensor& images, const Tensor& transforms,
                       const std::vector<int64_t>& output_shape, const std::string& interpolation,
                       const std::string& fill_mode, double fill_value);
/// image_transform's gradient with respect to the images: dy (n, out_h, out_w, c) -> dx
/// (n, input_size[0], input_size[1], c), each output gradient added to the input pixels it was
/// interpolated from with its weight (reads of fill_value take nothing).
Tensor image_transform_grad(const Tensor& dy, const Tensor& transforms,
                            const std::vector<int64_t>& input_size,
                            const std::string& interpolation, const std::string& fill_mode);

}  // namespace corten
