#pragma once
// The functors of the elementwise op table (Note [Elementwise op table]) for the CUDA kernels:
// the formulas of the CPU kernels (csrc/cpu/elementwise_kernels.inc), callable on the device.
//
// Note [CUDA elementwise accuracy]
// Each functor evaluates the CPU kernel's expression in the same order with the same math
// function names (std::exp, std::erf, ...), and the CUDA sources are compiled with
// --fmad=false (no contraction of a * b + c, which the C++ build does not contract either) and
// IEEE division and square root (nvcc's defaults, never --use_fast_math). So:
// - bit for bit equal to the plain CPU kernels: every binary op but pow, and the unary ops
//   negative, abs, sign, square, sqrt, rsqrt, round, floor, ceil, logical_not, reciprocal,
//   relu, relu6, leaky_relu, hard_sigmoid and softsign, for every dtype;
// - within the error bounds of CUDA's math library (CUDA Programming Guide, "Mathematical
//   Functions"; at most 4 ulp in float32 and 2 ulp in float64 for the functions used here):
//   exp, log, log1p, expm1, sin, cos, tanh, erf, pow and the activations built on them
//   (sigmoid, elu, selu, gelu, gelu_tanh, softplus, silu). Composed formulas add a few ulp, so
//   tests compare those with rtol 1e-5 (float32) and 1e-12 (float64) and an absolute floor of
//   the same size.
// Through the test shim the same functors call the host's libm, and every op matches the
// baseline CPU kernels bit for bit (tests/cuda_shim/test_cuda_shim.cpp checks it); the CPU's
// AVX2/AVX-512 rows use their own polynomials and are compared with the tolerance above.

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "cuda/common.cuh"

namespace corten::cuda {
namespace functors {

template <class T>
using Unsigned = std::make_unsigned_t<T>;

// Signed overflow is undefined behaviour in C++; integer arithmetic wraps through unsigned.
template <class T>
CORTEN_HD inline T add_(T a, T b) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(Unsigned<T>(a) + Unsigned<T>(b));
  else return a + b;
}
template <class T>
CORTEN_HD inline T sub_(T a, T b) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(Unsigned<T>(a) - Unsigned<T>(b));
  else return a - b;
}
template <class T>
CORTEN_HD inline T mul_(T a, T b) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(Unsigned<T>(a) * Unsigned<T>(b));
  else return a * b;
}

// ---- unary functors: static O f(T x, T alpha) ----
struct NegativeF { template <class T> static CORTEN_HD T f(T x, T) { return sub_(T(0), x); } };
struct AbsF {
  template <class T> static CORTEN_HD T f(T x, T) {
    if constexpr (std::is_integral_v<T>) return x < 0 ? sub_(T(0), x) : x;
    else return std::fabs(x);
  }
};
struct SignF {
  template <class T> static CORTEN_HD T f(T x, T) {
    if constexpr (std::is_floating_point_v<T>) if (x != x) return x;
    return static_cast<T>((x > T(0)) - (x < T(0)));
  }
};
struct SquareF { template <class T> static CORTEN_HD T f(T x, T) { return mul_(x, x); } };
struct SqrtF { template <class T> static CORTEN_HD T f(T x, T) { return std::sqrt(x); } };
struct RsqrtF { template <class T> static CORTEN_HD T f(T x, T) { return T(1) / std::sqrt(x); } };
struct ExpF { template <class T> static CORTEN_HD T f(T x, T) { return std::exp(x); } };
struct LogF { template <class T> static CORTEN_HD T f(T x, T) { return std::log(x); } };
struct Log1pF { template <class T> static CORTEN_HD T f(T x, T) { return std::log1p(x); } };
struct Expm1F { template <class T> static CORTEN_HD T f(T x, T) { return std::expm1(x); } };
struct SinF { template <class T> static CORTEN_HD T f(T x, T) { return std::sin(x); } };
struct CosF { template <class T> static CORTEN_HD T f(T x, T) { return std::cos(x); } };
struct TanhF { template <class T> static CORTEN_HD T f(T x, T) { return std::tanh(x); } };
struct SigmoidF {
  template <class T> static CORTEN_HD T f(T x, T) {
    if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
    const T e = std::exp(x);
    return e / (T(1) + e);
  }
};
struct RoundF {  // half to even, as TensorFlow
  template <class T> static CORTEN_HD T f(T x, T) {
    if constexpr (std::is_integral_v<T>) return x;
    else return std::nearbyint(x);
  }
};
struct FloorF {
  template <class T> static CORTEN_HD T f(T x, T) {
    if constexpr (std::is_integral_v<T>) return x;
    else return std::floor(x);
  }
};
struct CeilF {
  template <class T> static CORTEN_HD T f(T x, T) {
    if constexpr (std::is_integral_v<T>) return x;
    else return std::ceil(x);
  }
};
struct LogicalNotF { template <class T> static CORTEN_HD T f(T x, T) { return !x; } };
struct ReciprocalF { template <class T> static CORTEN_HD T f(T x, T) { return T(1) / x; } };
struct ReluF { template <class T> static CORTEN_HD T f(T x, T) { return x < T(0) ? T(0) : x; } };
struct Relu6F {
  template <class T> static CORTEN_HD T f(T x, T) { return x < T(0) ? T(0) : (x > T(6) ? T(6) : x); }
};
struct LeakyReluF { template <class T> static CORTEN_HD T f(T x, T a) { return x > T(0) ? x : a * x; } };
struct EluF { template <class T> static CORTEN_HD T f(T x, T a) { return x > T(0) ? x : a * std::expm1(x); } };
struct SeluF {
  template <class T> static CORTEN_HD T f(T x, T) {
    constexpr T scale = T(1.0507009873554804934193349852946);
    constexpr T alpha = T(1.6732632423543772848170429916717);
    return x > T(0) ? scale * x : scale * alpha * std::expm1(x);
  }
};
struct GeluExactF {
  template <class T> static CORTEN_HD T f(T x, T) {
    return T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752440084436210485)));
  }
};
struct GeluTanhF {
  template <class T> static CORTEN_HD T f(T x, T) {
    constexpr T k = T(0.79788456080286535587989211986876);  // sqrt(2/pi)
    return T(0.5) * x * (T(1) + std::tanh(k * (x + T(0.044715) * x * x * x)));
  }
};
struct SoftplusF {  // max(x, 0) + log1p(exp(-|x|)): no overflow for large |x|
  template <class T> static CORTEN_HD T f(T x, T) {
    return (x > T(0) ? x : T(0)) + std::log1p(std::exp(-std::fabs(x)));
  }
};
struct SoftsignF { template <class T> static CORTEN_HD T f(T x, T) { return x / (T(1) + std::fabs(x)); } };
struct SiluF { template <class T> static CORTEN_HD T f(T x, T) { return x * SigmoidF::f(x, T(0)); } };
struct HardSigmoidF {  // Keras 2: clip(0.2 x + 0.5, 0, 1); NaN stays NaN
  template <class T> static CORTEN_HD T f(T x, T) {
    const T y = T(0.2) * x + T(0.5);
    return y < T(0) ? T(0) : (y > T(1) ? T(1) : y);
  }
};
struct ErfF { template <class T> static CORTEN_HD T f(T x, T) { return std::erf(x); } };

// ---- binary functors: static O f(T a, T b) ----
struct AddF { template <class T> static CORTEN_HD T f(T a, T b) { return add_(a, b); } };
struct SubtractF { template <class T> static CORTEN_HD T f(T a, T b) { return sub_(a, b); } };
struct MultiplyF { template <class T> static CORTEN_HD T f(T a, T b) { return mul_(a, b); } };
struct DivideF {  // integers never reach here: the entry point divides them in float64
  template <class T> static CORTEN_HD T f(T a, T b) {
    if constexpr (std::is_integral_v<T>) return b == 0 ? T(0) : a / b;
    else return a / b;
  }
};
struct DivideNoNanF {
  template <class T> static CORTEN_HD T f(T a, T b) { return b == T(0) ? T(0) : a / b; }
};
// relu_grad(gradients, features): the gradient through a relu (TensorFlow's ReluGrad), one
// pass instead of a comparison and a select.
struct ReluGradF {
  template <class T>
  static CORTEN_HD T f(T g, T x) {
    return x > T(0) ? g : T(0);
  }
};
struct FloorDivF {
  template <class T> static CORTEN_HD T f(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      if (b == 0) return T(0);
      if (b == T(-1)) return sub_(T(0), a);  // avoids the INT_MIN / -1 trap
      T q = a / b;
      if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
      return q;
    } else {
      return std::floor(a / b);
    }
  }
};
struct FloorModF {  // result has the sign of the divisor (Python semantics)
  template <class T> static CORTEN_HD T f(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      if (b == 0 || b == T(-1)) return T(0);
      T r = a % b;
      if (r != 0 && ((r < 0) != (b < 0))) r += b;
      return r;
    } else {
      T r = std::fmod(a, b);
      if (r != T(0) && ((r < T(0)) != (b < T(0)))) r += b;
      return r;
    }
  }
};
struct PowF {
  template <class T> static CORTEN_HD T f(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      if (b < 0) return a == 1 ? T(1) : (a == T(-1) ? ((b & 1) ? T(-1) : T(1)) : T(0));
      T result = 1, base = a;
      for (T e = b; e > 0; e >>= 1) {
        if (e & 1) result = mul_(result, base);
        base = mul_(base, base);
      }
      return result;
    } else {
      return std::pow(a, b);
    }
  }
};
struct MaximumF {  // NaN propagates
  template <class T> static CORTEN_HD T f(T a, T b) { return (a > b || a != a) ? a : b; }
};
struct MinimumF {
  template <class T> static CORTEN_HD T f(T a, T b) { return (a < b || a != a) ? a : b; }
};
struct EqualF { template <class T> static CORTEN_HD bool f(T a, T b) { return a == b; } };
struct NotEqualF { template <class T> static CORTEN_HD bool f(T a, T b) { return a != b; } };
struct LessF { template <class T> static CORTEN_HD bool f(T a, T b) { return a < b; } };
struct LessEqualF { template <class T> static CORTEN_HD bool f(T a, T b) { return a <= b; } };
struct GreaterF { template <class T> static CORTEN_HD bool f(T a, T b) { return a > b; } };
struct GreaterEqualF { template <class T> static CORTEN_HD bool f(T a, T b) { return a >= b; } };
struct LogicalAndF { template <class T> static CORTEN_HD bool f(T a, T b) { return a && b; } };
struct LogicalOrF { template <class T> static CORTEN_HD bool f(T a, T b) { return a || b; } };

}  // namespace functors
}  // namespace corten::cuda
