#pragma once
// Philox4x32-10, the counter-based generator of Salmon et al., "Parallel Random Numbers: As Easy
// as 1, 2, 3" (SC'11), as specified by the Random123 library: a 128-bit counter and a 64-bit key
// map to 128 random bits through 10 rounds of multiply-hi/lo and xor. Being a pure function of
// (counter, key), any block can be computed independently, which is what makes random draws
// independent of the thread count (see Note [Philox counters] in cpu/random.cpp).
//
// Header-only and constexpr, so the known-answer vectors are checked at compile time below; the
// functions are CORTEN_HD, so the CUDA kernels (cuda/random.cu) run this very code.

#include <cstdint>

#include "cpu/host_device.h"

namespace corten::cpu {

struct Philox4x32Block {
  uint32_t v[4];
};

namespace philox_detail {

constexpr uint32_t kMul0 = 0xD2511F53u;
constexpr uint32_t kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u;  // golden ratio
constexpr uint32_t kWeyl1 = 0xBB67AE85u;  // sqrt(3) - 1

CORTEN_HD constexpr Philox4x32Block round(Philox4x32Block c, uint32_t k0, uint32_t k1) {
  const uint64_t p0 = static_cast<uint64_t>(kMul0) * c.v[0];
  const uint64_t p1 = static_cast<uint64_t>(kMul1) * c.v[2];
  const auto hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
  const auto hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
  return Philox4x32Block{{hi1 ^ c.v[1] ^ k0, lo1, hi0 ^ c.v[3] ^ k1, lo0}};
}

}  // namespace philox_detail

/// Philox4x32-10 of `counter` (4 words, word 0 least significant) under `key` (2 words).
CORTEN_HD constexpr Philox4x32Block philox4x32_10(Philox4x32Block counter, uint32_t key0,
                                                  uint32_t key1) {
  Philox4x32Block c = counter;
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      key0 += philox_detail::kWeyl0;
      key1 += philox_detail::kWeyl1;
    }
    c = philox_detail::round(c, key0, key1);
  }
  return c;
}

/// The block for 64-bit `key`, 64-bit counter `index` (words 0-1) and 64-bit `stream` (words 2-3).
CORTEN_HD constexpr Philox4x32Block philox_block(uint64_t key, uint64_t index,
                                                 uint64_t stream = 0) {
  return philox4x32_10(
      Philox4x32Block{{static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32),
                       static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32)}},
      static_cast<uint32_t>(key), static_cast<uint32_t>(key >> 32));
}

namespace philox_detail {
constexpr bool equals(Philox4x32Block a, uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3) {
  return a.v[0] == w0 && a.v[1] == w1 && a.v[2] == w2 && a.v[3] == w3;
}
// Random123 known-answer vectors (kat_vectors, philox4x32 10).
static_assert(equals(philox4x32_10({{0, 0, 0, 0}}, 0, 0), 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu,
                     0x9b00dbd8u));
static_assert(equals(philox4x32_10({{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
                                   0xffffffffu, 0xffffffffu),
                     0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu));
static_assert(equals(philox4x32_10({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
                                   0xa4093822u, 0x299f31d0u),
                     0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u));
}  // namespace philox_detail

}  // namespace corten::cpu
