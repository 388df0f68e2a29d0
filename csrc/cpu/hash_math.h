#pragma once
// The hash functions of the Hashing op, shared by the CPU kernel (cpu/hashing.cpp) and its CUDA
// twin (cuda/hashing.cu): plain integer arithmetic on bytes, CORTEN_HD so that both builds
// compile the same code and give the same bits.
//
// Note [TensorFlow-compatible hashing]
// tf.keras 2's Hashing layer turns an integer into its decimal string (tf.as_string, "%lld")
// and hashes the bytes: without a salt with FarmHash's Fingerprint64 (farmhashna::Hash64,
// tf.strings.to_hash_bucket_fast), with a salt with SipHash-2-4 keyed by the two salt words
// (tf.strings.to_hash_bucket_strong). The bucket is the unsigned 64-bit hash modulo the number
// of buckets. The functions below follow those published algorithms (FarmHash by Geoff Pike and
// Jyrki Alakuijala, SipHash by Aumasson and Bernstein) byte for byte, reading multi-byte words
// little-endian whatever the host, so a corten model buckets values as TensorFlow does; the
// tests hold golden buckets computed by TensorFlow.

#include <cstddef>
#include <cstdint>

#include "cpu/host_device.h"

namespace corten::hashing {

CORTEN_HD inline uint64_t fetch64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

CORTEN_HD inline uint64_t fetch32(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

/// FarmHash rotates right.
CORTEN_HD inline uint64_t rotate(uint64_t v, int shift) {
  return shift == 0 ? v : ((v >> shift) | (v << (64 - shift)));
}

// SipHash rotates left.
CORTEN_HD inline uint64_t rotl(uint64_t v, int shift) { return (v << shift) | (v >> (64 - shift)); }

CORTEN_HD inline uint64_t shift_mix(uint64_t v) { return v ^ (v >> 47); }

constexpr uint64_t kFarmK0 = 0xc3a5c85c97cb3127ULL;
constexpr uint64_t kFarmK1 = 0xb492b66fbe98f273ULL;
constexpr uint64_t kFarmK2 = 0x9ae16a3b2f90404fULL;

CORTEN_HD inline uint64_t hash_len16(uint64_t u, uint64_t v, uint64_t mul) {
  uint64_t a = (u ^ v) * mul;
  a ^= a >> 47;
  uint64_t b = (v ^ a) * mul;
  b ^= b >> 47;
  return b * mul;
}

CORTEN_HD inline uint64_t hash_len0to16(const unsigned char* s, size_t len) {
  if (len >= 8) {
    const uint64_t mul = kFarmK2 + len * 2;
    const uint64_t a = fetch64(s) + kFarmK2;
    const uint64_t b = fetch64(s + len - 8);
    const uint64_t c = rotate(b, 37) * mul + a;
    const uint64_t d = (rotate(a, 25) + b) * mul;
    return hash_len16(c, d, mul);
  }
  if (len >= 4) {
    const uint64_t mul = kFarmK2 + len * 2;
    const uint64_t a = fetch32(s);
    return hash_len16(len + (a << 3), fetch32(s + len - 4), mul);
  }
  if (len > 0) {
    const uint32_t a = s[0], b = s[len >> 1], c = s[len - 1];
    const uint32_t y = a + (b << 8);
    const uint32_t z = static_cast<uint32_t>(len) + (c << 2);
    return shift_mix(y * kFarmK2 ^ z * kFarmK0) * kFarmK2;
  }
  return kFarmK2;
}

CORTEN_HD inline uint64_t hash_len17to32(const unsigned char* s, size_t len) {
  const uint64_t mul = kFarmK2 + len * 2;
  const uint64_t a = fetch64(s) * kFarmK1;
  const uint64_t b = fetch64(s + 8);
  const uint64_t c = fetch64(s + len - 8) * mul;
  const uint64_t d = fetch64(s + len - 16) * kFarmK2;
  return hash_len16(rotate(a + b, 43) + rotate(c, 30) + d, a + rotate(b + kFarmK2, 18) + c, mul);
}

CORTEN_HD inline uint64_t hash_len33to64(const unsigned char* s, size_t len) {
  const uint64_t mul = kFarmK2 + len * 2;
  const uint64_t a = fetch64(s) * kFarmK2;
  const uint64_t b = fetch64(s + 8);
  const uint64_t c = fetch64(s + len - 8) * mul;
  const uint64_t d = fetch64(s + len - 16) * kFarmK2;
  const uint64_t y = rotate(a + b, 43) + rotate(c, 30) + d;
  const uint64_t z = hash_len16(y, a + rotate(b + kFarmK2, 18) + c, mul);
  const uint64_t e = fetch64(s + 16) * mul;
  const uint64_t f = fetch64(s + 24);
  const uint64_t g = (y + fetch64(s + len - 32)) * mul;
  const uint64_t h = (z + fetch64(s + len - 24)) * mul;
  return hash_len16(rotate(e + f, 43) + rotate(g, 30) + h, e + rotate(f + a, 18) + g, mul);
}

struct Pair64 {
  uint64_t first, second;
};

CORTEN_HD inline Pair64 weak_hash_len32_with_seeds(const unsigned char* s, uint64_t a, uint64_t b) {
  const uint64_t w = fetch64(s), x = fetch64(s + 8), y = fetch64(s + 16), z = fetch64(s + 24);
  a += w;
  b = rotate(b + a + z, 21);
  const uint64_t c = a;
  a += x;
  a += y;
  b += rotate(a, 44);
  return {a + z, b + c};
}

/// FarmHash Fingerprint64 (farmhashna::Hash64) of `len` bytes.
CORTEN_HD inline uint64_t fingerprint64(const unsigned char* s, size_t len) {
  if (len <= 16) return hash_len0to16(s, len);
  if (len <= 32) return hash_len17to32(s, len);
  if (len <= 64) return hash_len33to64(s, len);
  constexpr uint64_t kSeed = 81;
  uint64_t x = kSeed;
  uint64_t y = kSeed * kFarmK1 + 113;
  uint64_t z = shift_mix(y * kFarmK2 + 113) * kFarmK2;
  Pair64 v{0, 0}, w{0, 0};
  x = x * kFarmK2 + fetch64(s);
  const unsigned char* end = s + ((len - 1) / 64) * 64;
  const unsigned char* last64 = end + ((len - 1) & 63) - 63;
  do {
    x = rotate(x + y + v.first + fetch64(s + 8), 37) * kFarmK1;
    y = rotate(y + v.second + fetch64(s + 48), 42) * kFarmK1;
    x ^= w.second;
    y += v.first + fetch64(s + 40);
    z = rotate(z + w.first, 33) * kFarmK1;
    v = weak_hash_len32_with_seeds(s, v.second * kFarmK1, x + w.first);
    w = weak_hash_len32_with_seeds(s + 32, z + w.second, y + fetch64(s + 16));
    const uint64_t t = z;
    z = x;
    x = t;
    s += 64;
  } while (s != end);
  const uint64_t mul = kFarmK1 + ((z & 0xff) << 1);
  s = last64;
  w.first += ((len - 1) & 63);
  v.first += w.first;
  w.first += v.first;
  x = rotate(x + y + v.first + fetch64(s + 8), 37) * mul;
  y = rotate(y + v.second + fetch64(s + 48), 42) * mul;
  x ^= w.second * 9;
  y += v.first * 9 + fetch64(s + 40);
  z = rotate(z + w.first, 33) * mul;
  v = weak_hash_len32_with_seeds(s, v.second * mul, x + w.first);
  w = weak_hash_len32_with_seeds(s + 32, z + w.second, y + fetch64(s + 16));
  const uint64_t t = z;
  z = x;
  x = t;
  return hash_len16(hash_len16(v.first, w.first, mul) + shift_mix(y) * kFarmK0 + z,
                    hash_len16(v.second, w.second, mul) + x, mul);
}

struct SipState {
  uint64_t v0, v1, v2, v3;
};

CORTEN_HD inline void sip_round(SipState& st) {
  st.v0 += st.v1;
  st.v1 = rotl(st.v1, 13);
  st.v1 ^= st.v0;
  st.v0 = rotl(st.v0, 32);
  st.v2 += st.v3;
  st.v3 = rotl(st.v3, 16);
  st.v3 ^= st.v2;
  st.v0 += st.v3;
  st.v3 = rotl(st.v3, 21);
  st.v3 ^= st.v0;
  st.v2 += st.v1;
  st.v1 = rotl(st.v1, 17);
  st.v1 ^= st.v2;
  st.v2 = rotl(st.v2, 32);
}

CORTEN_HD inline void sip_compress(SipState& st, uint64_t m) {
  st.v3 ^= m;
  sip_round(st);
  sip_round(st);
  st.v0 ^= m;
}

/// SipHash-2-4 of `len` bytes under the 128-bit key (k0, k1).
CORTEN_HD inline uint64_t siphash24(uint64_t k0, uint64_t k1, const unsigned char* s, size_t len) {
  SipState st{0x736f6d6570736575ULL ^ k0, 0x646f72616e646f6dULL ^ k1, 0x6c7967656e657261ULL ^ k0,
              0x7465646279746573ULL ^ k1};
  const size_t full = len & ~static_cast<size_t>(7);
  for (size_t i = 0; i < full; i += 8) sip_compress(st, fetch64(s + i));
  uint64_t last = static_cast<uint64_t>(len & 0xff) << 56;
  for (size_t i = 0; i < (len & 7); ++i) last |= static_cast<uint64_t>(s[full + i]) << (8 * i);
  sip_compress(st, last);
  st.v2 ^= 0xff;
  for (int r = 0; r < 4; ++r) sip_round(st);
  return st.v0 ^ st.v1 ^ st.v2 ^ st.v3;
}

/// Writes the decimal digits of v ("%lld") to buf (at least 20 bytes); returns their count.
CORTEN_HD inline size_t format_decimal(int64_t v, unsigned char* buf) {
  unsigned char digits[20];
  // The magnitude as unsigned, so that INT64_MIN has one.
  uint64_t m = v < 0 ? ~static_cast<uint64_t>(v) + 1 : static_cast<uint64_t>(v);
  size_t n = 0;
  do {
    digits[n++] = static_cast<unsigned char>('0' + m % 10);
    m /= 10;
  } while (m != 0);
  size_t len = 0;
  if (v < 0) buf[len++] = '-';
  while (n > 0) buf[len++] = digits[--n];
  return len;
}

/// The bucket of an integer: its decimal string hashed (Note [TensorFlow-compatible hashing]).
CORTEN_HD inline int64_t int_bucket(int64_t v, uint64_t num_buckets, bool strong, uint64_t k0,
                                    uint64_t k1) {
  unsigned char buf[24];
  const size_t len = format_decimal(v, buf);
  const uint64_t h = strong ? siphash24(k0, k1, buf, len) : fingerprint64(buf, len);
  return static_cast<int64_t>(h % num_buckets);
}

/// The position of v in keys[0, n) (sorted ascending, no repeats), or -1: a lower-bound binary
/// search.
CORTEN_HD inline int64_t sorted_position(int64_t v, const int64_t* keys, int64_t n) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (keys[mid] < v) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < n && keys[lo] == v ? lo : -1;
}

/// One row of bincount (cpu/hashing.h): zeroes out[0, depth) and adds row's weights (or
/// ones) at their values, in order of j, so every device sums in the same order.
template <class I, class T>
CORTEN_HD inline void bincount_row(const I* x, const T* weights, int64_t k, int64_t depth,
                                   bool binary, T* out) {
  for (int64_t v = 0; v < depth; ++v) out[v] = T(0);
  for (int64_t j = 0; j < k; ++j) {
    const auto v = static_cast<int64_t>(x[j]);
    if (v < 0 || v >= depth) continue;
    if (binary) {
      out[v] = T(1);
    } else {
      out[v] += weights != nullptr ? weights[j] : T(1);
    }
  }
}

}  // namespace corten::hashing
