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

// Note [CUDA image_transform backward]
// Output pixels scatter into overlapping input pixels, so the backward gives each (image,
// channel) pair to one thread, which zeroes its dx plane and adds the output gradients in
// output order: the CPU kernel's additions in the CPU kernel's order, without atomics, so
// the results are the CPU's bit for bit (through the shim) and do not vary from run to run.
// It has n * c threads only; the gradient through an augmentation layer is rarely needed,
// and a fixed summation order is worth more here than speed.
template <class T>
__global__ void __launch_bounds__(kThreads)
    image_transform_backward_kernel(ImageTransformSpec s, const T* __restrict__ dy,
                                    const float* __restrict__ transforms, T* __restrict__ dx) {
  const int64_t start = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  ImageTransformSpec one = s;
  one.c = 1;  // one channel per thread, with the image's pixel stride below
  for (int64_t j = start; j < s.n * s.c; j += step) {
    const int64_t n = j / s.c, ch = j % s.c;
    const float* t = transforms + (s.num_transforms == 1 ? 0 : 8 * n);
    T* dxn = dx + n * s.h * s.w * s.c + ch;
    for (int64_t i = 0; i < s.h * s.w; ++i) dxn[i * s.c] = T(0);
    const T* dyn = dy + n * s.out_h * s.out_w * s.c + ch;
    for (int64_t oy = 0; oy < s.out_h; ++oy) {
      for (int64_t ox = 0; ox < s.out_w; ++ox) {
        const itm::Taps taps = itm::taps(s, t, ox, oy);
        itm::scatter_pixel(one, taps, dyn + (oy * s.out_w + ox) * s.c, dxn);
      }
    }
  }
}

template <class T>
void run(const ImageTransformSpec& s, const T* x, const float* transforms, T* y) {
  const int64_t total = s.n * s.out_h * s.out_w;
  launch("image_transform", &image_transform_kernel<T>, dim3(blocks_for(total, kThreads)),
         dim3(kThreads), 0, s, total, x, transforms, y);
}

template <class T>
void run_backward(const ImageTransformSpec& s, const T* dy, const float* transforms, T* dx) {
  const int64_t total = s.n * s.c;
  launch("image_transform_backward", &image_transform_backward_kernel<T>,
         dim3(blocks_for(total, kThreads)), dim3(kThreads), 0, s, dy, transforms, dx);
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

void image_transform_backward(DType dtype, const ImageTransformSpec& spec, const void* dy,
                              const float* transforms, void* dx) {
  if (dtype == DType::Float64) {
    run_backward(spec, static_cast<const double*>(dy), transforms, static_cast<double*>(dx));
  } else {
    run_backward(spec, static_cast<const float*>(dy), transforms, static_cast<float*>(dx));
  }
}

}  // namespace corten::cuda
