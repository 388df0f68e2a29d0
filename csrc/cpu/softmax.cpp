#include "cpu/softmax.h"

#include <corten/cpu_features.h>
#include <corten/parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include "cpu/loops.h"
#include "cpu/reduce.h"

namespace corten::cpu {
namespace {

// Lines along the axis processed together when the axis is not the innermost dimension (one
// lane per line, lanes adjacent in memory).
constexpr int64_t kTile = 128;

// Softmax of w lines of n elements: line v's element i is at x[i * xs + v * xv] and goes to
// out[i * os + v * ov].
template <class T>
void softmax_lines(bool log, const T* x, int64_t xs, int64_t xv, T* out, int64_t os, int64_t ov,
                   int64_t n, int64_t w) {
#ifdef CORTEN_HAVE_AVX2_ROWS
  if constexpr (std::is_same_v<T, float>) {
    // One contiguous float32 line with a finite maximum (Note [AVX2 reduction rows]).
    if (w == 1 && xs == 1 && os == 1 && n >= 16 && cpu_isa_at_least(CpuIsa::Avx2)) {
      const float mx = avx2::extreme_f32(true, x, n);
      if (std::isfinite(mx)) {
        const double sum = avx2::exp_shift_f32(x, n, mx, log ? nullptr : out);
        if (log) {
          const float shift = static_cast<float>(std::log(sum));
          for (int64_t i = 0; i < n; ++i) out[i] = (x[i] - mx) - shift;
        } else {
          const float scale = static_cast<float>(1.0 / sum);
          for (int64_t i = 0; i < n; ++i) out[i] *= scale;
        }
        return;
      }
    }
  }
#endif
  T m[kTile];
  double s[kTile];
  for (int64_t v = 0; v < w; ++v) {
    m[v] = -std::numeric_limits<T>::infinity();
    s[v] = 0.0;
  }
  // Pass 1: the maximum (NaN propagates).
  if (w == 1 && xs == 1 && n >= 16) {
    // One contiguous line: 8 independent, branch-free maxima (vectorisable).
    T a[8];
    bool nan = false;
    for (int k = 0; k < 8; ++k) a[k] = m[0];
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      for (int k = 0; k < 8; ++k) {
        const T v = x[i + k];
        a[k] = v > a[k] ? v : a[k];
        nan |= v != v;
      }
    }
    for (; i < n; ++i) {
      a[0] = x[i] > a[0] ? x[i] : a[0];
      nan |= x[i] != x[i];
    }
    for (int k = 1; k < 8; ++k) a[0] = a[k] > a[0] ? a[k] : a[0];
    m[0] = nan ? std::numeric_limits<T>::quiet_NaN() : a[0];
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const T* p = x + i * xs;
      for (int64_t v = 0; v < w; ++v) {
        const T a = p[v * xv];
        m[v] = ((a > m[v]) | (a != a)) ? a : m[v];
      }
    }
  }
  // Pass 2: sum of exp(x - max); softmax stores the exponentials.
  for (int64_t i = 0; i < n; ++i) {
    const T* p = x + i * xs;
    T* o = out + i * os;
    for (int64_t v = 0; v < w; ++v) {
      const T e = std::exp(p[v * xv] - m[v]);
      if (!log) o[v * ov] = e;
      s[v] += static_cast<double>(e);
    }
  }
  // Pass 3: normalise.
  if (log) {
    T shift[kTile];
    for (int64_t v = 0; v < w; ++v) shift[v] = static_cast<T>(std::log(s[v]));
    for (int64_t i = 0; i < n; ++i) {
      const T* p = x + i * xs;
      T* o = out + i * os;
      for (int64_t v = 0; v < w; ++v) o[v * ov] = (p[v * xv] - m[v]) - shift[v];
    }
  } else {
    T scale[kTile];
    for (int64_t v = 0; v < w; ++v) scale[v] = static_cast<T>(1.0 / s[v]);
    for (int64_t i = 0; i < n; ++i) {
      T* o = out + i * os;
      for (int64_t v = 0; v < w; ++v) o[v * ov] *= scale[v];
    }
  }
}

// Softmax of the short contiguous lines [l0, l1) (Note [Short softmax lines] in softmax.h):
// line l's n elements at x + xo[l - l0], written to out + l * n.
template <class T>
void softmax_short_lines(bool log, const T* x, const int64_t* xo, int64_t l0, int64_t l1,
                         int64_t n, T* out) {
  short_lines_exp(x, xo, l0, l1, n, [&](int64_t l, const T* e, T m, double sum) {
    T* o = out + l * n;
    if (log) {
      const T* p = x + xo[l - l0];
      const T shift = static_cast<T>(std::log(sum));
      for (int64_t i = 0; i < n; ++i) o[i] = (p[i] - m) - shift;
    } else {
      const T scale = static_cast<T>(1.0 / sum);
      for (int64_t i = 0; i < n; ++i) o[i] = e[i] * scale;
    }
  });
}

// Element offsets (input, output) of line `line` over the coalesced kept dimensions.
inline void line_offsets(const Geometry<2>& g, size_t nd, int64_t line, int64_t& xo,
                         int64_t& oo) {
  xo = 0;
  oo = 0;
  for (size_t d = nd; d-- > 0;) {
    const int64_t i = line % g.shape[d];
    line /= g.shape[d];
    xo += i * g.strides[0][d];
    oo += i * g.strides[1][d];
  }
}

template <class T>
void softmax_impl(bool log, const Shape& shape, const T* x, const Shape& x_strides,
                  int64_t axis, T* out) {
  const Shape out_strides = contiguous_strides(shape);
  Shape ks, kxs, kos;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (static_cast<int64_t>(d) == axis) continue;
    ks.push_back(shape[d]);
    kxs.push_back(x_strides[d]);
    kos.push_back(out_strides[d]);
  }
  const Geometry<2> g = coalesce<2>(ks, {&kxs, &kos});
  int64_t n_lines = 1;
  for (int64_t d : g.shape) n_lines *= d;
  const int64_t n = shape[static_cast<size_t>(axis)];
  if (n == 0 || n_lines == 0) return;
  const int64_t xs = x_strides[static_cast<size_t>(axis)];
  const int64_t os = out_strides[static_cast<size_t>(axis)];
  const size_t nd = g.shape.size();
  const bool lanes = nd > 0 && std::llabs(g.strides[0][nd - 1]) < std::llabs(xs);
  if (!lanes && xs == 1 && os == 1 && n < kShortLine) {  // Note [Short softmax lines]
    const int64_t grain = std::max<int64_t>(1, kGrainCostly / n);
    parallel_for(0, n_lines, grain, [&](int64_t l0, int64_t l1) {
      std::vector<int64_t> xo(static_cast<size_t>(l1 - l0));
      for (int64_t l = l0; l < l1; ++l) {
        int64_t oo;
        line_offsets(g, nd, l, xo[static_cast<size_t>(l - l0)], oo);
      }
      softmax_short_lines(log, x, xo.data(), l0, l1, n, out);
    });
    return;
  }
  if (!lanes) {
    const int64_t grain = std::max<int64_t>(1, kGrainCostly / n);
    parallel_for(0, n_lines, grain, [&](int64_t l0, int64_t l1) {
      for (int64_t l = l0; l < l1; ++l) {
        int64_t xo, oo;
        line_offsets(g, nd, l, xo, oo);
        softmax_lines(log, x + xo, xs, int64_t{0}, out + oo, os, int64_t{0}, n, int64_t{1});
      }
    });
    return;
  }
  // Lanes along the innermost kept dimension.
  const int64_t V = g.shape[nd - 1];
  const int64_t xv = g.strides[0][nd - 1], ov = g.strides[1][nd - 1];
  const int64_t tiles = (V + kTile - 1) / kTile;
  const int64_t groups = n_lines / V * tiles;
  const int64_t grain = std::max<int64_t>(1, kGrainCostly / (n * std::min(V, kTile)));
  parallel_for(0, groups, grain, [&](int64_t g0, int64_t g1) {
    for (int64_t gi = g0; gi < g1; ++gi) {
      const int64_t outer = gi / tiles, t = gi % tiles;
      const int64_t w = std::min(kTile, V - t * kTile);
      int64_t xo, oo;
      line_offsets(g, nd - 1, outer, xo, oo);
      softmax_lines(log, x + xo + t * kTile * xv, xs, xv, out + oo + t * kTile * ov, os, ov, n,
                    w);
    }
  });
}

}  // namespace

void softmax(bool log, DType dtype, const Shape& shape, const void* x, const Shape& x_strides,
             int64_t axis, void* out) {
  visit_floating(dtype, log ? "log_softmax" : "softmax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    softmax_impl<T>(log, shape, static_cast<const T*>(x), x_strides, axis, static_cast<T*>(out));
  });
}

namespace {

// Lanes (lines along the axis, adjacent in memory) handled together by softmax_backward when
// the axis is not innermost.
constexpr int64_t kBackwardTile = 128;

// w lines of n elements with element i of lane v at [i * stride + v].
template <class T>
void softmax_backward_lines(bool log, const T* y, const T* g, T* dx, int64_t n, int64_t stride,
                            int64_t w) {
  double s[kBackwardTile];
  for (int64_t v = 0; v < w; ++v) s[v] = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const T* yi = y + i * stride;
    const T* gi = g + i * stride;
    for (int64_t v = 0; v < w; ++v) {
      s[v] += log ? static_cast<double>(gi[v]) : static_cast<double>(gi[v]) * yi[v];
    }
  }
  T t[kBackwardTile];
  for (int64_t v = 0; v < w; ++v) t[v] = static_cast<T>(s[v]);
  for (int64_t i = 0; i < n; ++i) {
    const T* yi = y + i * stride;
    const T* gi = g + i * stride;
    T* o = dx + i * stride;
    if (log) {
      for (int64_t v = 0; v < w; ++v) o[v] = gi[v] - std::exp(yi[v]) * t[v];
    } else {
      for (int64_t v = 0; v < w; ++v) o[v] = yi[v] * (gi[v] - t[v]);
    }
  }
}

// One contiguous line (inner == 1).
template <class T>
void softmax_backward_row(bool log, const T* y, const T* g, T* dx, int64_t n) {
  double s = 0.0;
  if (log) {
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(g[i]);
    const T t = static_cast<T>(s);
    for (int64_t i = 0; i < n; ++i) dx[i] = g[i] - std::exp(y[i]) * t;
  } else {
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(g[i]) * y[i];
    const T t = static_cast<T>(s);
    for (int64_t i = 0; i < n; ++i) dx[i] = y[i] * (g[i] - t);
  }
}

template <class T>
void softmax_backward_impl(bool log, int64_t outer, int64_t n, int64_t inner, const T* y,
                           const T* g, T* dx) {
  if (outer == 0 || n == 0 || inner == 0) return;
  const int64_t cost = log ? kGrainCostly : kGrainCheap;
  if (inner == 1) {
    parallel_for(0, outer, std::max<int64_t>(1, cost / n), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        softmax_backward_row(log, y + r * n, g + r * n, dx + r * n, n);
      }
    });
    return;
  }
  const int64_t tiles = (inner + kBackwardTile - 1) / kBackwardTile;
  const int64_t grain = std::max<int64_t>(1, cost / (n * std::min(inner, kBackwardTile)));
  parallel_for(0, outer * tiles, grain, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t o = t / tiles, v0 = (t % tiles) * kBackwardTile;
      const int64_t at = o * n * inner + v0;
      softmax_backward_lines(log, y + at, g + at, dx + at, n, inner,
                             std::min(kBackwardTile, inner - v0));
    }
  });
}

}  // namespace

void softmax_backward(bool log, DType dtype, int64_t outer, int64_t n, int64_t inner,
                      const void* y, const void* g, void* dx) {
  visit_floating(dtype, log ? "log_softmax_grad" : "softmax_grad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    softmax_backward_impl<T>(log, outer, n, inner, static_cast<const T*>(y),
                             static_cast<const T*>(g), static_cast<T*>(dx));
  });
}

}  // namespace corten::cpu
