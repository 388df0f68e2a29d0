#pragma once
// CPU kernels of the random ops. Outputs are contiguous; callers have validated every argument
// (dtype, finite bounds, minval < maxval for integers, rate in [0, 1)).
//
// Every kernel draws from the Philox stream (key, counter offset + block): see
// Note [Philox counters] in cpu/random.cpp. The values are a pure function of (key, offset,
// element index), the same bits on every ISA and thread count: Note [Reproducible random
// transforms] in cpu/random_transform.h.

#include <corten/dtype.h>
#include <corten/shape.h>

#include <cstdint>

namespace corten::cpu {

/// out: (n,) float32/float64 ~ Normal(mean, stddev) (Box-Muller, cpu/random_transform.h).
void random_normal(DType dtype, void* out, int64_t n, double mean, double stddev, uint64_t key,
                   uint64_t offset);
/// out: (n,) float32/float64 ~ Uniform[minval, maxval) from 24 / 53 random mantissa bits.
void random_uniform(DType dtype, void* out, int64_t n, double minval, double maxval,
                    uint64_t key, uint64_t offset);
/// out: (n,) int32/int64 = minval + bits % (maxval - minval) (TensorFlow's integer uniform).
void random_uniform_int(DType dtype, void* out, int64_t n, int64_t minval, int64_t maxval,
                        uint64_t key, uint64_t offset);
/// out: (n,) float32/float64 ~ Normal(mean, stddev) restricted to [mean - 2 stddev,
/// mean + 2 stddev]; rejected samples are redrawn from further streams of the same counter.
void truncated_normal(DType dtype, void* out, int64_t n, double mean, double stddev,
                      uint64_t key, uint64_t offset);
/// out: (n,) int64, a uniformly random permutation of 0..n-1 (Note [Random permutation]).
void random_permutation(int64_t* out, int64_t n, uint64_t key, uint64_t offset);
/// mask: (n,) bool, true (keep) with probability 1 - rate.
void dropout_mask(bool* mask, int64_t n, double rate, uint64_t key, uint64_t offset);
/// x: `shape` with `x_strides`; mask: `shape` with `mask_strides` (0 where broadcast);
/// out: `shape`, contiguous. out = mask ? x * scale : 0.
void dropout_apply(DType dtype, const Shape& shape, const void* x, const Shape& x_strides,
                   const bool* mask, const Shape& mask_strides, void* out, double scale);

/// Philox counters (blocks of 128 bits) consumed by any of the draws above for n elements: an
/// upper bound valid for every kernel and dtype, ceil(n / 2).
constexpr uint64_t philox_counters_used(int64_t n) {
  return n <= 0 ? 0 : (static_cast<uint64_t>(n) + 1) / 2;
}

}  // namespace corten::cpu
