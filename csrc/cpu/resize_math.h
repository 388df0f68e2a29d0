#pragma once
// The arithmetic of the resize kernels that the CPU ones (cpu/pooling.cpp) and the CUDA ones
// (cuda/resize.cu) share: the map from an output coordinate to its input neighbours and weight
// along one axis, and the interpolation and gradient-splitting formulas, so that both compute
// every element with the same float operations.

#include <cmath>
#include <cstdint>

#include "cpu/host_device.h"
#include "cpu/pooling.h"

namespace corten::cpu::resize_math {

/// The input neighbours of one output coordinate along one axis and the weight of `hi`.
/// Nearest neighbour: lo == hi, lerp == 0.
struct Tap {
  int64_t lo, hi;
  float lerp;
};

/// The output-to-input scale of one axis, in float as TensorFlow computes it.
CORTEN_HD inline float scale(int64_t in, int64_t out, bool align_corners) {
  return (align_corners && out > 1) ? static_cast<float>(in - 1) / static_cast<float>(out - 1)
                                    : static_cast<float>(in) / static_cast<float>(out);
}

/// The neighbours of output coordinate o of an axis of `in` inputs (TensorFlow's
/// resize_bilinear_op.cc and resize_nearest_neighbor_op.cc, in float arithmetic). lo and hi
/// never decrease as o grows, which the CUDA backward relies on (Note [CUDA resize backward]).
CORTEN_HD inline Tap tap(const ResizeSpec& spec, float scale, int64_t in, int64_t o) {
  Tap t{0, 0, 0.0f};
  if (spec.linear) {
    const float src = spec.half_pixel_centers ? (static_cast<float>(o) + 0.5f) * scale - 0.5f
                                              : static_cast<float>(o) * scale;
    const float f = std::floor(src);
    const int64_t fl = static_cast<int64_t>(f), cl = static_cast<int64_t>(std::ceil(src));
    t.lo = fl > 0 ? fl : 0;
    t.hi = cl < in - 1 ? cl : in - 1;
    t.lerp = src - f;
  } else {
    const float src = spec.half_pixel_centers ? (static_cast<float>(o) + 0.5f) * scale
                                              : static_cast<float>(o) * scale;
    int64_t i = spec.align_corners ? static_cast<int64_t>(std::round(src))
                                   : static_cast<int64_t>(std::floor(src));
    if (i > in - 1) i = in - 1;
    if (spec.half_pixel_centers && i < 0) i = 0;
    t.lo = t.hi = i;
  }
  return t;
}

/// a + (b - a) * t: one step of the interpolation (TensorFlow's order: along w, then h, then d).
template <class T>
CORTEN_HD inline T lerp(T a, T b, T t) {
  return a + (b - a) * t;
}

/// The parts of gradient g that flow to the low and the high neighbour of weight t.
template <class T>
CORTEN_HD inline T low_share(T g, T t) {
  return (T(1) - t) * g;
}
template <class T>
CORTEN_HD inline T high_share(T g, T t) {
  return t * g;
}

}  // namespace corten::cpu::resize_math
