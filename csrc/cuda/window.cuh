#pragma once
// Shared pieces of the CUDA sliding-window kernels (pooling.cu, resize.cu): the position of a
// linear thread index over the five-dimensional description of Note [Spatial geometry].

#include <cstdint>

#include "cpu/pooling.h"
#include "cuda/common.cuh"

namespace corten::cuda::window {

/// One element of a five-dimensional (n, c, d, h, w) operand.
struct Pos {
  int64_t n, c, d, h, w;
};

/// The element at `linear` of an (n, c, s[0], s[1], s[2]) grid. Channels are the fastest index
/// when `c_inner` (a channels_last operand: neighbouring threads touch neighbouring addresses),
/// w otherwise (channels_first).
__device__ __forceinline__ Pos decode(int64_t linear, int64_t channels, const int64_t (&s)[3],
                                      bool c_inner) {
  Pos p;
  if (c_inner) {
    p.c = linear % channels;
    linear /= channels;
  }
  p.w = linear % s[2];
  linear /= s[2];
  p.h = linear % s[1];
  linear /= s[1];
  p.d = linear % s[0];
  linear /= s[0];
  if (!c_inner) {
    p.c = linear % channels;
    linear /= channels;
  }
  p.n = linear;
  return p;
}

/// The inverse of decode: the linear index of p.
__device__ __forceinline__ int64_t encode(const Pos& p, int64_t channels, const int64_t (&s)[3],
                                          bool c_inner) {
  if (c_inner) return (((p.n * s[0] + p.d) * s[1] + p.h) * s[2] + p.w) * channels + p.c;
  return (((p.n * channels + p.c) * s[0] + p.d) * s[1] + p.h) * s[2] + p.w;
}

/// The element offset of p under the strides st (order n, c, d, h, w).
__device__ __forceinline__ int64_t offset_of(const Pos& p, const int64_t (&st)[5]) {
  return p.n * st[0] + p.c * st[1] + p.d * st[2] + p.h * st[3] + p.w * st[4];
}

}  // namespace corten::cuda::window
