#pragma once
// The per-pixel arithmetic of image_transform, shared by the CPU kernel
// (cpu/image_transform.cpp) and the CUDA one (cuda/image_transform.cu), so that both compute
// every element with the same float operations.
//
// Note [Projective transform semantics]
// The maps follow TensorFlow's ImageProjectiveTransformV3 (core/kernels/image/image_ops.h),
// which follows scipy.ndimage: coordinates are computed in float32 whatever the image dtype;
// `reflect` is (d c b a | a b c d | d c b a), `wrap` (a b c d | a b c d), `nearest` clamps
// and `constant` leaves the point outside, where reads give fill_value. A projection of 0
// gives fill_value. Nearest interpolation rounds half away from zero (std::round); bilinear
// reads the four integer neighbours, each through the fill rule, so that a point on the last
// row blends with fill_value at weight 0. Unlike TensorFlow, a non-finite or huge coordinate is
// tested against the image bounds in float before any conversion to an integer (TensorFlow
// converts first, which is undefined behaviour in C++); in-range results are the same.

#include <cmath>
#include <cstdint>

#include "cpu/host_device.h"
#include "cpu/image_transform.h"

namespace corten::cpu::image_transform_math {

// floor and round (halves away from zero) of a float without a libm call: x86-64's baseline has
// no rounding instruction, and std::floor / std::round calls cost more than the rest of a
// pixel. Exact: below 2^23 in magnitude a float's integer part converts exactly and its
// fractional part is representable, so these equal std::floor and std::round; larger values
// (already integers) and NaN go to the library.
CORTEN_HD inline float floor_exact(float v) {
  if (!(v > -8388608.0f && v < 8388608.0f)) return std::floor(v);
  const float t = static_cast<float>(static_cast<int32_t>(v));  // truncation
  return t > v ? t - 1.0f : t;
}

CORTEN_HD inline float round_exact(float v) {
  if (!(v > -8388608.0f && v < 8388608.0f)) return std::round(v);
  const float t = static_cast<float>(static_cast<int32_t>(v));
  const float frac = v - t;
  return frac >= 0.5f ? t + 1.0f : (frac <= -0.5f ? t - 1.0f : t);
}

/// Maps an input coordinate outside [0, len - 1] back inside by the fill mode (constant: as is).
CORTEN_HD inline float map_coordinate(float v, int64_t len, ImageFillMode mode) {
  const float hi = static_cast<float>(len - 1);
  if (mode == ImageFillMode::kConstant) return v;
  // NaN and points beyond int64's range (where TensorFlow's integer conversions are undefined)
  // go to an edge; any finite transform of a real image size stays far inside this bound.
  if (!(v > -1e15f)) return 0.0f;
  if (!(v < 1e15f)) return hi;
  if (mode == ImageFillMode::kReflect) {
    if (v < 0) {
      if (len <= 1) {
        v = 0;
      } else {
        const int64_t sz2 = 2 * len;
        const float fsz2 = static_cast<float>(sz2);
        if (v < fsz2) v = fsz2 * static_cast<float>(static_cast<int64_t>(-v / fsz2)) + v;
        v = (v < static_cast<float>(-len)) ? v + fsz2 : -v - 1;
      }
    } else if (v > hi) {
      if (len <= 1) {
        v = 0;
      } else {
        const float fsz2 = static_cast<float>(2 * len);
        v -= fsz2 * static_cast<float>(static_cast<int64_t>(v / fsz2));
        if (v >= static_cast<float>(len)) v = fsz2 - v - 1;
      }
    }
  } else if (mode == ImageFillMode::kWrap) {
    if (v < 0) {
      if (len <= 1) {
        v = 0;
      } else {
        const float sz = static_cast<float>(len - 1);
        v += static_cast<float>(len) * (static_cast<float>(static_cast<int64_t>(-v / sz)) + 1);
      }
    } else if (v > hi) {
      if (len <= 1) {
        v = 0;
      } else {
        const float sz = static_cast<float>(len - 1);
        v -= static_cast<float>(len) * static_cast<float>(static_cast<int64_t>(v / sz));
      }
    }
  }
  return v < 0.0f ? 0.0f : (v > hi ? hi : v);
}

/// The input point of output pixel (ox, oy) under transform t[0..7]; false where the
/// projection is 0 (the pixel takes fill_value).
CORTEN_HD inline bool project(const float* t, int64_t ox, int64_t oy, float* ix, float* iy) {
  const float fx = static_cast<float>(ox), fy = static_cast<float>(oy);
  const float k = t[6] * fx + t[7] * fy + 1.0f;
  if (k == 0.0f) return false;
  *ix = (t[0] * fx + t[1] * fy + t[2]) / k;
  *iy = (t[3] * fx + t[4] * fy + t[5]) / k;
  return true;
}

/// The element offset (within one image) of integer point (yi, xi) of channel 0, or -1 where
/// the point lies outside the image. Tested in float first (Note [Projective transform
/// semantics]).
CORTEN_HD inline int64_t pixel_offset(float yf, float xf, const ImageTransformSpec& s) {
  if (!(yf >= 0.0f && yf < static_cast<float>(s.h) && xf >= 0.0f &&
        xf < static_cast<float>(s.w)))
    return -1;
  return (static_cast<int64_t>(yf) * s.w + static_cast<int64_t>(xf)) * s.c;
}

/// The up to four reads of one output pixel: offsets (-1: fill_value) and weights, in
/// TensorFlow's order: (y0, x0), (y0, x1), (y1, x0), (y1, x1).
struct Taps {
  int64_t off[4];
  float wx0, wx1, wy0, wy1;
  bool all_fill;
};

CORTEN_HD inline Taps taps(const ImageTransformSpec& s, const float* t, int64_t ox, int64_t oy) {
  Taps r{{-1, -1, -1, -1}, 0.0f, 0.0f, 0.0f, 0.0f, true};
  float ix = 0.0f, iy = 0.0f;
  if (!project(t, ox, oy, &ix, &iy)) return r;
  const float x = map_coordinate(ix, s.w, s.fill_mode);
  const float y = map_coordinate(iy, s.h, s.fill_mode);
  r.all_fill = false;
  if (!s.bilinear) {
    r.off[0] = pixel_offset(round_exact(y), round_exact(x), s);
    return r;
  }
  const float y0 = floor_exact(y), x0 = floor_exact(x);
  const float y1 = y0 + 1.0f, x1 = x0 + 1.0f;
  r.off[0] = pixel_offset(y0, x0, s);
  r.off[1] = pixel_offset(y0, x1, s);
  r.off[2] = pixel_offset(y1, x0, s);
  r.off[3] = pixel_offset(y1, x1, s);
  r.wx0 = x1 - x;
  r.wx1 = x - x0;
  r.wy0 = y1 - y;
  r.wy1 = y - y0;
  return r;
}

/// One output element of channel `ch` from image `xn` (TensorFlow's formulas, in float for
/// float32 images and in double for float64 ones).
template <class T>
CORTEN_HD inline T sample(const ImageTransformSpec& s, const Taps& r, const T* xn, int64_t ch) {
  const T fill = static_cast<T>(s.fill_value);
  if (r.all_fill) return fill;
  auto read = [&](int i) { return r.off[i] < 0 ? fill : xn[r.off[i] + ch]; };
  if (!s.bilinear) return read(0);
  const T top = static_cast<T>(r.wx0) * read(0) + static_cast<T>(r.wx1) * read(1);
  const T bottom = static_cast<T>(r.wx0) * read(2) + static_cast<T>(r.wx1) * read(3);
  return static_cast<T>(r.wy0) * top + static_cast<T>(r.wy1) * bottom;
}

/// Every channel of one output pixel into yp[0..c): sample() for each channel, with the four
/// reads' validity tested once per pixel instead of once per channel. The same operations in
/// the same order as sample(), so the results are sample()'s bit for bit.
template <class T>
CORTEN_HD inline void sample_pixel(const ImageTransformSpec& s, const Taps& r, const T* xn,
                                   T* yp) {
  const T fill = static_cast<T>(s.fill_value);
  const int64_t c = s.c;
  if (r.all_fill) {
    for (int64_t ch = 0; ch < c; ++ch) yp[ch] = fill;
    return;
  }
  if (!s.bilinear) {
    if (r.off[0] < 0) {
      for (int64_t ch = 0; ch < c; ++ch) yp[ch] = fill;
    } else {
      const T* p = xn + r.off[0];
      for (int64_t ch = 0; ch < c; ++ch) yp[ch] = p[ch];
    }
    return;
  }
  const T wx0 = static_cast<T>(r.wx0), wx1 = static_cast<T>(r.wx1);
  const T wy0 = static_cast<T>(r.wy0), wy1 = static_cast<T>(r.wy1);
  if (r.off[0] >= 0 && r.off[1] >= 0 && r.off[2] >= 0 && r.off[3] >= 0) {
    const T *p0 = xn + r.off[0], *p1 = xn + r.off[1], *p2 = xn + r.off[2], *p3 = xn + r.off[3];
    for (int64_t ch = 0; ch < c; ++ch) {
      const T top = wx0 * p0[ch] + wx1 * p1[ch];
      const T bottom = wx0 * p2[ch] + wx1 * p3[ch];
      yp[ch] = wy0 * top + wy1 * bottom;
    }
    return;
  }
  for (int64_t ch = 0; ch < c; ++ch) yp[ch] = sample(s, r, xn, ch);
}

/// The adjoint of sample_pixel(): adds output gradient dyp[0..c) of one pixel to the input
/// pixels it read (dxn: one image's gradient), with the interpolation weights of sample()
/// (bilinear: wy0 wx0, wy0 wx1, wy1 wx0, wy1 wx1, in that order). Fill reads take none.
template <class T>
CORTEN_HD inline void scatter_pixel(const ImageTransformSpec& s, const Taps& r, const T* dyp,
                                    T* dxn) {
  if (r.all_fill) return;
  const int64_t c = s.c;
  if (!s.bilinear) {
    if (r.off[0] < 0) return;
    T* p = dxn + r.off[0];
    for (int64_t ch = 0; ch < c; ++ch) p[ch] += dyp[ch];
    return;
  }
  const T wx[2] = {static_cast<T>(r.wx0), static_cast<T>(r.wx1)};
  const T wy[2] = {static_cast<T>(r.wy0), static_cast<T>(r.wy1)};
  for (int k = 0; k < 4; ++k) {
    if (r.off[k] < 0) continue;
    const T w = wy[k >> 1] * wx[k & 1];
    T* p = dxn + r.off[k];
    for (int64_t ch = 0; ch < c; ++ch) p[ch] += w * dyp[ch];
  }
}

}  // namespace corten::cpu::image_transform_math
