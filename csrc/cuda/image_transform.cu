// The CUDA kernel of image_transform, with the CPU kernel's signature
// (csrc/cpu/image_transform.h): images, transforms and output are device pointers, the spec a
// host value. One thread per output pixel (a grid-stride loop), its taps computed once for all
// channels. The arithmetic is cpu/image_transform_math.h's (Note [Projective transform
// semantics]), which the CPU kernel uses too, so that results agree with the CPU's (bit for bit
// through the test shim; on a GPU to the rounding of contracted multiply-adds).

#include <cstdint>

#include "cpu/image_transform.h"
#include "cpu/image_transform_math.h"
#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace corten::cuda {
namespace {

namespace itm = cpu::image_transform_math;
using cpu::ImageTransformSpec;

template <class T>
__global__ void __launch_bounds__(kThreads)
    image_transform_kernel(ImageTransformSpec s, int64_t total, const T* __restrict__ x,
                           const float* __restrict__ transforms, T* __restrict__ y) {
  const int64_t start = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t p = start; p < total; p += step) {
    const int64_t ox = p % s.out_w, oy = (p / s.out_w) % s.out_h, n = p / (s.out_w * s.out_h);
    const float* t = transforms + (s.num_transforms == 1 ? 0 : 8 * n);
    const itm::Taps taps = itm::taps(s, t, ox, oy);
    itm::sample_pixel(s, taps, x + n * s.h * s.w * s.c, y + p * s.c);
  }
}

template <class T>
void run(const ImageTransformSpec& s, const T* x, const float* transforms, T* y) {
  const int64_t total = s.n * s.out_h * s.out_w;
  launch("image_transform", &image_transform_kernel<T>, dim3(blocks_for(total, kThreads)),
         dim3(kThreads), 0, s, total, x, transforms, y);
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

}  // namespace corten::cuda
