#pragma once
/// The 16-bit floating types: float16 (IEEE 754 binary16) and bfloat16 (the top half of a
/// float32). Both are storage types: arithmetic converts to float, and a float converts back
/// with round to nearest, ties to even, as TensorFlow, PyTorch, numpy and ml_dtypes do.
///
/// Note [Half conversions]
/// - float to bfloat16 rounds the low 16 bits away (ties to even); a NaN stays a NaN of the same
///   sign (its payload's top bits kept, the quiet bit set) instead of rounding to infinity.
/// - float to float16: values at or above 65520 in magnitude become infinity (65504 is the
///   largest finite float16), those below 2^-24 / 2 become a signed zero, and the subnormal
///   range rounds exactly (the float addition of a magic constant does the rounding). Every NaN
///   becomes the quiet NaN 0x7e00 with its sign.
/// - Both conversions to float are exact.
/// - double converts through float (as Eigen's types do), which can round twice.
/// The conversions are plain bit arithmetic, so the CPU kernels, the CUDA kernels and the test
/// shim give the same bits.

#include <cstdint>
#include <cstring>

#ifdef __CUDACC__
#define CORTEN_HALF_HD __host__ __device__
#else
#define CORTEN_HALF_HD
#endif

namespace corten {

namespace half_detail {
CORTEN_HALF_HD inline uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
CORTEN_HALF_HD inline float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
}  // namespace half_detail

/// bfloat16: 1 sign bit, 8 exponent bits, 7 mantissa bits.
struct bfloat16 {
  uint16_t bits;  // trivial, as the built-in types: a new value is uninitialised

  static CORTEN_HALF_HD bfloat16 from_bits(uint16_t b) { return {b}; }
  static CORTEN_HALF_HD bfloat16 from_float(float f) {
    const uint32_t u = half_detail::bits_of(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return from_bits(static_cast<uint16_t>((u >> 16) | 0x40u));
    const uint32_t rounded = u + 0x7fffu + ((u >> 16) & 1u);
    return from_bits(static_cast<uint16_t>(rounded >> 16));
  }
  CORTEN_HALF_HD float to_float() const {
    return half_detail::float_of(static_cast<uint32_t>(bits) << 16);
  }
};

/// float16 (IEEE 754 binary16): 1 sign bit, 5 exponent bits, 10 mantissa bits.
struct float16 {
  uint16_t bits;  // trivial, as the built-in types: a new value is uninitialised

  static CORTEN_HALF_HD float16 from_bits(uint16_t b) { return {b}; }
  static CORTEN_HALF_HD float16 from_float(float f) {
    uint32_t u = half_detail::bits_of(f);
    const uint32_t sign = (u >> 16) & 0x8000u;
    u &= 0x7fffffffu;
    uint32_t out;
    if (u >= 0x47800000u) {  // |f| >= 65536 (or Inf, NaN): all exponent bits set
      out = u > 0x7f800000u ? 0x7e00u : 0x7c00u;
    } else if (u < 0x38800000u) {  // below 2^-14: a float16 subnormal or zero
      // Adding 0.5 puts the float16 mantissa at the bottom of the float's; the float unit's
      // own round to nearest even does the rounding.
      const float magic = half_detail::float_of(0x3f000000u);
      out = half_detail::bits_of(half_detail::float_of(u) + magic) - 0x3f000000u;
    } else {
      const uint32_t mantissa_odd = (u >> 13) & 1u;
      u += (static_cast<uint32_t>(15 - 127) << 23) + 0xfffu + mantissa_odd;
      out = u >> 13;
    }
    return from_bits(static_cast<uint16_t>(out | sign));
  }
  CORTEN_HALF_HD float to_float() const {
    const uint32_t shifted_exponent = 0x7c00u << 13;
    uint32_t u = (static_cast<uint32_t>(bits) & 0x7fffu) << 13;
    const uint32_t exponent = u & shifted_exponent;
    u += static_cast<uint32_t>(127 - 15) << 23;
    float f;
    if (exponent == shifted_exponent) {  // Inf or NaN
      f = half_detail::float_of(u + (static_cast<uint32_t>(128 - 16) << 23));
    } else if (exponent == 0) {  // zero or subnormal: renormalised by a float subtraction
      f = half_detail::float_of(u + (1u << 23)) - half_detail::float_of(113u << 23);
    } else {
      f = half_detail::float_of(u);
    }
    return half_detail::float_of(half_detail::bits_of(f) |
                                 (static_cast<uint32_t>(bits & 0x8000u) << 16));
  }
};

}  // namespace corten
