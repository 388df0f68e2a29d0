#pragma once
// The projective image transform of RandomRotation, RandomZoom and RandomTranslation
// (TensorFlow's ImageProjectiveTransformV3): every output pixel is read from the input point
// that its image's 8-parameter transform maps it to, with the input extended past its edges by
// a fill mode and read by nearest-neighbour or bilinear interpolation.

#include <corten/dtype.h>

#include <cstdint>

namespace corten::cpu {

enum class ImageFillMode : int { kReflect = 0, kWrap = 1, kConstant = 2, kNearest = 3 };

/// The geometry and options of one image_transform call. Images are contiguous
/// (n, h, w, c); the output is contiguous (n, out_h, out_w, c).
struct ImageTransformSpec {
  int64_t n = 0, h = 0, w = 0, c = 0;
  int64_t out_h = 0, out_w = 0;
  /// 1: one transform for every image; otherwise n, one per image.
  int64_t num_transforms = 1;
  bool bilinear = true;
  ImageFillMode fill_mode = ImageFillMode::kReflect;
  float fill_value = 0.0f;
};

/// x: (n, h, w, c) float32 or float64; transforms: (num_transforms, 8) float32, each row
/// [a0, a1, a2, b0, b1, b2, c0, c1] mapping output (x, y) to input ((a0 x + a1 y + a2) / k,
/// (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1 -> y: (n, out_h, out_w, c).
void image_transform(DType dtype, const ImageTransformSpec& spec, const void* x,
                     const float* transforms, void* y);

/// image_transform's backward with respect to the images (the output is linear in them):
/// dy: (n, out_h, out_w, c), transforms as the forward's -> dx: (n, h, w, c), every output
/// gradient added to the input pixels it was read from, with its interpolation weight.
void image_transform_backward(DType dtype, const ImageTransformSpec& spec, const void* dy,
                              const float* transforms, void* dx);

}  // namespace corten::cpu
