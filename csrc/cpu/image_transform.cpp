// The CPU kernel of image_transform (cpu/image_transform.h): one task per output row, every
// pixel's taps computed once and applied to all its channels. The arithmetic is
// cpu/image_transform_math.h's (Note [Projective transform semantics]), shared with the CUDA
// kernel. Each output element is written by one task from its own reads, so results do not
// depend on the thread count.

#include "cpu/image_transform.h"

#include <corten/parallel.h>

#include <algorithm>

#include "cpu/image_transform_math.h"

namespace corten::cpu {
namespace {

namespace itm = image_transform_math;

template <class T>
void run(const ImageTransformSpec& s, const T* x, const float* transforms, T* y) {
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
        for (int64_t ch = 0; ch < s.c; ++ch) yr[ox * s.c + ch] = itm::sample(s, taps, xn, ch);
      }
    }
  });
}

}  // namespace

void image_transform(DType dtype, const ImageTransformSpec& spec, const void* x,
                     const float* transforms, void* y) {
  if (dtype == DType::Float64) {
    run(spec, static_cast<const double*>(x), transforms, static_cast<double*>(y));
  } else {
    run(spec, static_cast<const float*>(x), transforms, static_cast<float*>(y));
  }
}

}  // namespace corten::cpu
