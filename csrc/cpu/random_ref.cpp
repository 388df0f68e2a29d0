// The reference random kernels (cpu/random_kernels.h): one Philox block and one Box-Muller pair
// at a time, in plain C++. They define the values; the vector kernels reproduce them bit for bit.
#include <corten/cpu_features.h>

#include "cpu/isa_table.h"
#include "cpu/philox.h"
#include "cpu/random_kernels.h"
#include "cpu/random_transform.h"

namespace corten::cpu {
namespace baseline {
namespace {

void philox_words(uint64_t key, uint64_t counter, int64_t nblocks, uint32_t* out) {
  for (int64_t b = 0; b < nblocks; ++b) {
    const Philox4x32Block r = philox_block(key, counter + static_cast<uint64_t>(b));
    for (int j = 0; j < 4; ++j) out[4 * b + j] = r.v[j];
  }
}

void normal_f32(const uint32_t* w, int64_t npairs, float mean, float stddev, float* out) {
  for (int64_t p = 0; p < npairs; ++p) {
    float z0, z1;
    rng::normal_f32<rng::ScalarLane>(w[2 * p], w[2 * p + 1], z0, z1);
    out[2 * p] = mean + stddev * z0;
    out[2 * p + 1] = mean + stddev * z1;
  }
}

void uniform_f32(const uint32_t* w, int64_t n, double minval, double range, float hi,
                 float below_hi, bool clamp, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const double u = static_cast<double>(w[i] >> 8) * 0x1p-24;
    const auto x = static_cast<float>(minval + u * range);
    out[i] = clamp && x >= hi ? below_hi : x;
  }
}

}  // namespace

const RandomTable& random_table() {
  static const RandomTable t{&philox_words, &normal_f32, &uniform_f32};
  return t;
}

}  // namespace baseline

const RandomTable& active_random_table() {
  return table_for_isa(&baseline::random_table, &baseline::random_table, &avx512::random_table);
}

}  // namespace corten::cpu
