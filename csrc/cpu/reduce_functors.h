#pragma once
// The reduction functors that the CPU reduce kernels (cpu/reduce.cpp) and the CUDA ones
// (cuda/reduce.cu) both run, so that the two compute each result the same way.

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "cpu/host_device.h"

namespace corten::cpu::reduction {

template <class T>
using Unsigned = std::make_unsigned_t<T>;

// Signed overflow is undefined behaviour: integer sums and products wrap through unsigned, as
// in TensorFlow.
template <class T>
CORTEN_HD inline T add_(T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    return static_cast<T>(Unsigned<T>(a) + Unsigned<T>(b));
  } else {
    return a + b;
  }
}
template <class T>
CORTEN_HD inline T mul_(T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    return static_cast<T>(Unsigned<T>(a) * Unsigned<T>(b));
  } else {
    return a * b;
  }
}

// float32 sums and products accumulate in float64.
template <class T>
using WideAcc = std::conditional_t<std::is_same_v<T, float>, double, T>;

// ---- reduction functors ------------------------------------------------------------------
// init() is the identity, step(acc, x) adds one element, merge(a, b) combines two partials
// (a covers earlier elements than b), finish(acc, n) gives the result of n elements.
// kUnroll: the contiguous row loop may use 8 independent accumulators (a fixed association, so
// results stay deterministic).

template <class T>
struct SumF {
  using Acc = WideAcc<T>;
  using Out = T;
  static constexpr bool kUnroll = true;
  static CORTEN_HD Acc init() { return Acc(0); }
  static CORTEN_HD Acc step(Acc a, T x) { return add_<Acc>(a, static_cast<Acc>(x)); }
  static CORTEN_HD Acc merge(Acc a, Acc b) { return add_<Acc>(a, b); }
  static CORTEN_HD Out finish(Acc a, int64_t) { return static_cast<Out>(a); }
};

template <class T>
struct MeanF : SumF<T> {
  using Acc = typename SumF<T>::Acc;
  static CORTEN_HD T finish(Acc a, int64_t n) {
    if constexpr (std::is_integral_v<T>) {
      // Integer mean truncates toward zero, as in TensorFlow; the mean of nothing is 0.
      return n == 0 ? T(0) : static_cast<T>(static_cast<int64_t>(a) / n);
    } else {
      if (n == 0) return std::numeric_limits<T>::quiet_NaN();
      return static_cast<T>(a / static_cast<Acc>(n));
    }
  }
};

template <class T>
struct ProdF {
  using Acc = WideAcc<T>;
  using Out = T;
  static constexpr bool kUnroll = true;
  static CORTEN_HD Acc init() { return Acc(1); }
  static CORTEN_HD Acc step(Acc a, T x) { return mul_<Acc>(a, static_cast<Acc>(x)); }
  static CORTEN_HD Acc merge(Acc a, Acc b) { return mul_<Acc>(a, b); }
  static CORTEN_HD Out finish(Acc a, int64_t) { return static_cast<Out>(a); }
};

template <class T>
CORTEN_HD constexpr T lowest_or_neg_inf() {
  if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
  else return std::numeric_limits<T>::lowest();
}
template <class T>
CORTEN_HD constexpr T highest_or_inf() {
  if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
  else return std::numeric_limits<T>::max();
}

// NaN propagates: once the accumulator is NaN no comparison replaces it.
template <class T>
struct MaxF {
  using Acc = T;
  using Out = T;
  static constexpr bool kUnroll = true;
  static CORTEN_HD Acc init() { return lowest_or_neg_inf<T>(); }
  // Non-short-circuit `|` keeps the unrolled loop branch-free (vectorisable as a blend).
  static CORTEN_HD Acc step(Acc a, T x) { return ((x > a) | (x != x)) ? x : a; }
  static CORTEN_HD Acc merge(Acc a, Acc b) { return step(a, b); }
  static CORTEN_HD Out finish(Acc a, int64_t) { return a; }
};

template <class T>
struct MinF {
  using Acc = T;
  using Out = T;
  static constexpr bool kUnroll = true;
  static CORTEN_HD Acc init() { return highest_or_inf<T>(); }
  static CORTEN_HD Acc step(Acc a, T x) { return ((x < a) | (x != x)) ? x : a; }
  static CORTEN_HD Acc merge(Acc a, Acc b) { return step(a, b); }
  static CORTEN_HD Out finish(Acc a, int64_t) { return a; }
};

// argmax / argmin: whether v replaces the running extreme `best` of a scan in index order.
// Only a strictly greater (smaller) value does, so ties keep the first index; NaN counts as
// the extreme, and the first NaN wins and stays.
template <bool kMax, class T>
CORTEN_HD inline bool arg_better(T v, T best) {
  if constexpr (std::is_floating_point_v<T>) {
    if (v != v) return best == best;
  }
  return kMax ? v > best : v < best;
}

struct AnyF {
  using Acc = bool;
  using Out = bool;
  static constexpr bool kUnroll = false;
  static CORTEN_HD Acc init() { return false; }
  static CORTEN_HD Acc step(Acc a, bool x) { return a || x; }
  static CORTEN_HD Acc merge(Acc a, Acc b) { return a || b; }
  static CORTEN_HD Out finish(Acc a, int64_t) { return a; }
};

struct AllF {
  using Acc = bool;
  using Out = bool;
  static constexpr bool kUnroll = false;
  static CORTEN_HD Acc init() { return true; }
  static CORTEN_HD Acc step(Acc a, bool x) { return a && x; }
  static CORTEN_HD Acc merge(Acc a, Acc b) { return a && b; }
  static CORTEN_HD Out finish(Acc a, int64_t) { return a; }
};

// Online log-sum-exp in float64: the running maximum m and s = sum(exp(x - m)). Infinite and
// NaN inputs are handled explicitly: NaN is sticky, +inf gives +inf, only -inf gives -inf.
struct LseAcc {
  double m;
  double s;
};

template <class T>
struct LogSumExpF {
  using Acc = LseAcc;
  using Out = T;
  static constexpr bool kUnroll = false;
  static CORTEN_HD Acc init() { return {-std::numeric_limits<double>::infinity(), 0.0}; }
  static CORTEN_HD Acc step(Acc a, T xv) {
    const double x = static_cast<double>(xv);
    if (a.m != a.m) return a;
    if (x != x) return {x, x};
    if (x > a.m) {
      // a.m == -inf gives exp(-inf) = 0; x == +inf makes the result +inf.
      return {x, std::isinf(x) ? 1.0 : a.s * std::exp(a.m - x) + 1.0};
    }
    if (std::isinf(x)) return a;  // -inf adds nothing; +inf equals the running +inf
    return {a.m, a.s + std::exp(x - a.m)};
  }
  static CORTEN_HD Acc merge(Acc a, Acc b) {
    if (a.m != a.m) return a;
    if (b.m != b.m) return b;
    const double m = std::max(a.m, b.m);
    if (std::isinf(m)) return {m, m > 0 ? 1.0 : 0.0};
    return {m, a.s * std::exp(a.m - m) + b.s * std::exp(b.m - m)};
  }
  static CORTEN_HD Out finish(Acc a, int64_t) {
    if (a.m != a.m || std::isinf(a.m)) return static_cast<T>(a.m);
    return static_cast<T>(a.m + std::log(a.s));
  }
};

}  // namespace corten::cpu::reduction
