#pragma once
// The loss arithmetic that the CPU loss kernels (cpu/losses.cpp) and the CUDA ones
// (cuda/losses.cu) both run, so that the two compute each result the same way: the
// sigmoid cross-entropy of one element and the log-sum-exp pieces of one softmax line.

#include <cmath>
#include <cstdint>
#include <limits>

#include "cpu/host_device.h"

namespace corten::cpu::loss {

/// max(z, 0) - z * y + log1p(exp(-|z|)): finite for any finite z.
template <class T>
CORTEN_HD inline T sigmoid_xent(T z, T y) {
  const T pos = z > T(0) ? z : T(0);
  return pos - z * y + std::log1p(std::exp(-std::abs(z)));
}

/// log(sum) of a line whose maximum is m, given sum = sum(exp(z - m)) in float64: 0 when m is
/// infinite (all -inf, or +inf present), so that logsumexp is m itself.
template <class T>
CORTEN_HD inline double log_of_sum(T m, double sum) {
  return std::isinf(m) ? 0.0 : std::log(sum);
}

/// y * log_softmax(z) of one element, log_softmax(z) = (z - m) - log_sum, in float64.
template <class T>
CORTEN_HD inline double xent_term(T y, T z, T m, double log_sum) {
  const double ls = static_cast<double>(z - m) - log_sum;
  return static_cast<double>(y) * ls;
}

/// logsumexp(z) - z[label] of one line, from its maximum m and log_sum.
template <class T>
CORTEN_HD inline T sparse_xent(T z_label, T m, double log_sum) {
  return static_cast<T>(log_sum - static_cast<double>(z_label - m));
}

/// max and log(sum(exp(z - max))) of n elements at stride s; the sum accumulates in float64.
/// NaN propagates into the maximum.
template <class T>
CORTEN_HD inline void max_and_logsum(const T* z, int64_t s, int64_t n, T& m, double& log_sum) {
  m = -std::numeric_limits<T>::infinity();
  bool nan = false;
  for (int64_t i = 0; i < n; ++i) {
    const T v = z[i * s];
    m = v > m ? v : m;
    nan |= v != v;
  }
  if (nan) m = std::numeric_limits<T>::quiet_NaN();
  if (n == 0 || std::isinf(m)) {
    log_sum = 0.0;
    return;
  }
  double acc = 0.0;
  for (int64_t i = 0; i < n; ++i) acc += static_cast<double>(std::exp(z[i * s] - m));
  log_sum = log_of_sum(m, acc);
}

/// -sum(y * log_softmax(z)) of one line of n elements (labels at stride ys, logits at zs).
template <class T>
CORTEN_HD inline T softmax_xent_line(const T* y, int64_t ys, const T* z, int64_t zs, int64_t n) {
  T m;
  double log_sum;
  max_and_logsum(z, zs, n, m, log_sum);
  double acc = 0.0;
  for (int64_t i = 0; i < n; ++i) acc -= xent_term(y[i * ys], z[i * zs], m, log_sum);
  return static_cast<T>(acc);
}

/// logsumexp(z) - z[label] of one line of n elements at stride zs; 0 <= label < n.
template <class T>
CORTEN_HD inline T sparse_xent_line(const T* z, int64_t zs, int64_t n, int64_t label) {
  T m;
  double log_sum;
  max_and_logsum(z, zs, n, m, log_sum);
  return sparse_xent(z[label * zs], m, log_sum);
}

}  // namespace corten::cpu::loss
