#pragma once
// CPU softmax kernels. Inputs are raw pointers with element strides; outputs are contiguous.
// Callers have validated the dtype (floating) and the axis.

#include <corten/dtype.h>
#include <corten/shape.h>

#include <algorithm>
#include <cstdint>
#include <limits>

#include "cpu/elementwise.h"

namespace corten::cpu {

// Note [Short softmax lines]
// Lines shorter than a vector along a contiguous axis (a classifier's 10 logits, say) are
// too short for the vector row kernels, and softmax_lines would call std::exp per element.
// short_lines_exp takes a block of such lines at a time: the maxima (NaN propagates), x - max
// into one buffer, the exponentials of the whole buffer in one call of the ISA's exp row kernel
// (Note [Vectorised transcendental functions]), then each line's float64 sum. softmax,
// log_softmax and the sparse cross-entropy read them (64 x 10 float32 softmax at 1 thread:
// 3.55 -> 2.7 us a call from Python, of which the kernel is now 0.8).
constexpr int64_t kShortLine = 16;

// For each line l in [l0, l1) of n < kShortLine contiguous elements at x + xo[l - l0]: calls
// per_line(l, e, m, sum) with e = exp(x - m) (n values), m the line's maximum and sum the
// float64 sum of e.
template <class T, class F>
void short_lines_exp(const T* x, const int64_t* xo, int64_t l0, int64_t l1, int64_t n,
                     const F& per_line) {
  constexpr int64_t kBlock = 1024;  // exponentials per block, on the stack
  const UnaryRowFn exp_row = active_elementwise_table().unary[static_cast<int>(UnaryOp::Exp)]
                                                             [static_cast<int>(dtype_of<T>::value)];
  alignas(64) T e[kBlock];
  T m[kBlock];
  const int64_t per_block = kBlock / std::max<int64_t>(n, 1);
  for (int64_t b0 = l0; b0 < l1; b0 += per_block) {
    const int64_t b1 = std::min(l1, b0 + per_block);
    for (int64_t l = b0; l < b1; ++l) {
      const T* p = x + xo[l - l0];
      T mx = -std::numeric_limits<T>::infinity();
      for (int64_t i = 0; i < n; ++i) mx = ((p[i] > mx) | (p[i] != p[i])) ? p[i] : mx;
      m[l - b0] = mx;
      T* d = e + (l - b0) * n;
      for (int64_t i = 0; i < n; ++i) d[i] = p[i] - mx;
    }
    exp_row(e, 1, e, (b1 - b0) * n, 0.0);
    for (int64_t l = b0; l < b1; ++l) {
      const T* d = e + (l - b0) * n;
      double sum = 0.0;
      for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(d[i]);
      per_line(l, d, m[l - b0], sum);
    }
  }
}

// x: `shape` (strided) -> out: `shape` (contiguous). softmax(x) = exp(x - max) / sum(exp(x -
// max)) along `axis`, or log_softmax(x) = x - max - log(sum(exp(x - max))) when `log` is set.
// The sums accumulate in float64.
void softmax(bool log, DType dtype, const Shape& shape, const void* x, const Shape& x_strides,
             int64_t axis, void* out);

// y, g: (outer, n, inner) contiguous, the softmax axis in the middle -> dx: same layout.
// softmax: dx = y * (g - sum(g * y)); log_softmax (y = log_softmax(x)): dx = g - exp(y) * sum(g),
// sums over n, accumulated in float64, one fused kernel per line.
void softmax_backward(bool log, DType dtype, int64_t outer, int64_t n, int64_t inner,
                      const void* y, const void* g, void* dx);

}  // namespace corten::cpu
