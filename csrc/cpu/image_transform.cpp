// The CPU kernels of image_transform (cpu/image_transform.h): one task per output row, every
// pixel's taps computed once. The arithmetic is cpu/image_transform_math.h's (Note [Projective
// transform semantics]), shared with the CUDA kernel. The plain reference samples channel by
// channel (sample()); the default kernel writes a pixel's channels together (sample_pixel(),
// the same operations, so the results are the reference's bit for bit) and is chosen unless the
// ISA level is 'baseline'. Each output element is written by one task from its own reads, so
// results do not depend on the thread count.

#include "cpu/image_transform.h"

#include <corten/cpu_features.h>
#include <corten/parallel.h>

#include <algorithm>

#include "cpu/image_transform_math.h"

namespace corten::cpu {
namespace {

namespace itm = image_transform_math;

template <class T, bool kReference>
void run(const ImageTransformSpec& spec, const T* x, const float* transforms, T* y) {
  const ImageTransformSpec s = spec;  // a local copy: the output stores cannot alias it
  const int64_t rows = s.n * s.out_h;
  const int64_t work = std::max<int64_t>(1, s.out_w * (s.c + 8));
  const int64_t grain = std::max<int64_t>(1, 16384 / work);
  parallel_for(0, rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / s.out_h, oy = r % s.out_h;
      const float* t = transforms + (s.num_transforms == 1 ? 0 : 8 * n);
      const T* xn = x + n * s.h * s.w * s.c;
      T* yr = y + r * s.out_w * s.c;
      for (int64_t ox = 0; ox < s.out_w; ++ox) {
        const itm::Taps taps = itm::taps(s, t, ox, oy);
        if constexpr (kReference) {
          for (int64_t ch = 0; ch < s.c; ++ch) yr[ox * s.c + ch] = itm::sample(s, taps, xn, ch);
        } else {
          itm::sample_pixel(s, taps, xn, yr + ox * s.c);
        }
      }
    }
  });
}

// Backward: one task per image, which owns that image's dx and adds the output gradients in
// output order, so that every sum has a fixed order whatever the thread count.
template <class T>
void run_backward(const ImageTransformSpec& spec, const T* dy, const float* transforms, T* dx) {
  const ImageTransformSpec s = spec;  // a local copy: the gradient stores cannot alias it
  const int64_t image = s.h * s.w * s.c, out_image = s.out_h * s.out_w * s.c;
  parallel_for(0, s.n, 1, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const float* t = transforms + (s.num_transforms == 1 ? 0 : 8 * n);
      T* dxn = dx + n * image;
      std::fill(dxn, dxn + image, T(0));
      const T* dyn = dy + n * out_image;
      for (int64_t oy = 0; oy < s.out_h; ++oy) {
        for (int64_t ox = 0; ox < s.out_w; ++ox) {
          const itm::Taps taps = itm::taps(s, t, ox, oy);
          itm::scatter_pixel(s, taps, dyn + (oy * s.out_w + ox) * s.c, dxn);
        }
      }
    }
  });
}

template <class T>
void dispatch(const ImageTransformSpec& spec, const void* x, const float* transforms, void* y) {
  const T* xt = static_cast<const T*>(x);
  T* yt = static_cast<T*>(y);
  if (cpu_isa() == CpuIsa::Baseline) {
    run<T, true>(spec, xt, transforms, yt);
  } else {
    run<T, false>(spec, xt, transforms, yt);
  }
}

}  // namespace

void image_transform(DType dtype, const ImageTransformSpec& spec, const void* x,
                     const float* transforms, void* y) {
  if (dtype == DType::Float64) {
    dispatch<double>(spec, x, transforms, y);
  } else {
    dispatch<float>(spec, x, transforms, y);
  }
}

void image_transform_backward(DType dtype, const ImageTransformSpec& spec, const void* dy,
                              const float* transforms, void* dx) {
  if (dtype == DType::Float64) {
    run_backward(spec, static_cast<const double*>(dy), transforms, static_cast<double*>(dx));
  } else {
    run_backward(spec, static_cast<const float*>(dy), transforms, static_cast<float*>(dx));
  }
}

}  // namespace corten::cpu
