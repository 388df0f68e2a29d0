#pragma once
// Per-ISA kernels of the random draws (cpu/random.cpp): Philox words and the maps from words to
// float32 values. Every table gives the same bits (Note [Reproducible random transforms] in
// cpu/random_transform.h); the vector ones only run faster.

#include <corten/half.h>

#include <cstdint>

namespace corten::cpu {

struct RandomTable {
  /// out: (4 nblocks,) the words of Philox blocks (key, counter + b), b < nblocks, stream 0.
  void (*philox_words)(uint64_t key, uint64_t counter, int64_t nblocks, uint32_t* out);
  /// w: (2 npairs,) words; out: (2 npairs,) mean + stddev * z, z the Box-Muller pair of
  /// (w[2p], w[2p+1]).
  void (*normal_f32)(const uint32_t* w, int64_t npairs, float mean, float stddev, float* out);
  /// w: (n,) words; out: (n,) float(minval + u * range) with u = (w >> 8) / 2^24, values at or
  /// above hi replaced by below_hi (the largest float under hi) when clamp.
  void (*uniform_f32)(const uint32_t* w, int64_t n, double minval, double range, float hi,
                      float below_hi, bool clamp, float* out);
  /// w: (4 nblocks,) words; out: (2 nblocks,) mean + stddev * z, z the float64 Box-Muller pair
  /// of block b's two 64-bit words (scalar on every ISA).
  void (*normal_f64)(const uint32_t* w, int64_t nblocks, double mean, double stddev,
                     double* out);
  /// w: (n,) words; keep[i] = rng::dropout_keep(w[i], {threshold}).
  void (*dropout_keep)(const uint32_t* w, int64_t n, uint64_t threshold, bool* keep);
  /// out[i] = keep[i] ? rng::dropout_kept(x[i], scale) : +0, for (n,) contiguous arrays.
  void (*dropout_apply_f32)(const float* x, const bool* keep, int64_t n, float scale, float* out);
  void (*dropout_apply_f64)(const double* x, const bool* keep, int64_t n, double scale,
                            double* out);
  void (*dropout_apply_bf16)(const bfloat16* x, const bool* keep, int64_t n, float scale,
                             bfloat16* out);
};

namespace baseline {
const RandomTable& random_table();
}
namespace avx2 {
const RandomTable& random_table();
}
namespace avx512 {
const RandomTable& random_table();
}
/// The table of the ISA in use.
const RandomTable& active_random_table();

}  // namespace corten::cpu
