#pragma once
// Element conversion between dtypes, shared by the CPU kernels (cast, one_hot) and their CUDA
// twins (cuda/elementwise_extra.cu, cuda/creation.cu), so that both convert every value,
// NaN and out-of-range ones included, the same way.

#include <corten/half.h>

#include <limits>
#include <type_traits>

#include "cpu/host_device.h"

namespace corten::cpu {

/// `v` converted to To. Float to integer conversion is undefined in C++ (and differs between
/// CPUs and GPUs) for NaN and out-of-range values: NaN gives 0 and other values saturate at the
/// limits of To. To bool: v != 0 (NaN gives true). Everything else is static_cast: round to
/// nearest for narrowing floating conversions, truncation toward zero for in-range float to
/// integer, modular narrowing between integers. The 16-bit floats convert through float (Note
/// [Half conversions] in corten/half.h).
template <class T>
constexpr bool is_half_v = std::is_same_v<T, float16> || std::is_same_v<T, bfloat16>;

template <class To, class From>
CORTEN_HD inline To convert(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (is_half_v<From>) {
    return convert<To>(v.to_float());
  } else if constexpr (is_half_v<To>) {
    return To::from_float(convert<float>(v));
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
    if (v != v) return To(0);
    constexpr From lo = static_cast<From>(std::numeric_limits<To>::min());
    constexpr From hi = static_cast<From>(std::numeric_limits<To>::max());
    if (v <= lo) return std::numeric_limits<To>::min();
    if (v >= hi) return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

}  // namespace corten::cpu
