// bfloat16 max pooling (Note [bfloat16 max pooling] in cpu/pooling.h). The channel loops are
// branch-free (selects through bit masks) so that they vectorise at every ISA level.

#include <corten/half.h>
#include <corten/parallel.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cpu/pooling.h"
#include "cpu/window_common.h"

namespace corten::cpu {
namespace {

using window::input_index;
using window::tap_range;

// A bfloat16's value from its bits (a shift).
inline float value(uint16_t bits) {
  return __builtin_bit_cast(float, static_cast<uint32_t>(bits) << 16);
}

// All ones where `yes`.
inline uint16_t mask_of(bool yes) { return static_cast<uint16_t>(-static_cast<int>(yes)); }

inline uint16_t select(uint16_t m, uint16_t a, uint16_t b) {
  return static_cast<uint16_t>((a & m) | (b & static_cast<uint16_t>(~m)));
}

// The bits of bfloat16(0.0f + g) for g's bits: what the float32 kernels' dx = 0 + g rounds to
// (-0 becomes +0, a NaN is quieted).
inline uint16_t zero_plus(uint16_t g) {
  const uint16_t nan = mask_of((g & 0x7fffu) > 0x7f80u);
  const uint16_t out = select(nan, static_cast<uint16_t>(g | 0x40u), g);
  return select(mask_of(g == 0x8000u), 0, out);
}

// The element offsets (from an image's start) of the in-bounds taps of output (od, oh, ow),
// in window order.
int taps_of(const SpatialGeom& g, int64_t od, int64_t oh, int64_t ow, int64_t* offs) {
  int64_t d0, d1, h0, h1, w0, w1;
  tap_range(g, 0, od, d0, d1);
  tap_range(g, 1, oh, h0, h1);
  tap_range(g, 2, ow, w0, w1);
  int n = 0;
  for (int64_t kd = d0; kd < d1; ++kd)
    for (int64_t kh = h0; kh < h1; ++kh)
      for (int64_t kw = w0; kw < w1; ++kw)
        offs[n++] = input_index(g, 0, od, kd) * g.xs[2] + input_index(g, 1, oh, kh) * g.xs[3] +
                    input_index(g, 2, ow, kw) * g.xs[4];
  return n;
}

// kUnit: channels at unit stride in x and y (channels_last).
template <bool kUnit>
void forward(const SpatialGeom& g, const uint16_t* x, uint16_t* y) {
  const int64_t rows = g.n * g.out[0] * g.out[1];
  const int64_t taps = g.k[0] * g.k[1] * g.k[2], C = g.c;
  const int64_t xcs = kUnit ? 1 : g.xs[1], ycs = kUnit ? 1 : g.ys[1];
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, g.out[2] * C * taps));
  parallel_for(0, rows, grain, [&](int64_t r0, int64_t r1) {
    std::vector<float> best(static_cast<size_t>(C));
    std::vector<uint16_t> win(static_cast<size_t>(C));
    std::vector<int64_t> offs(static_cast<size_t>(taps));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t oh = r % g.out[1], od = (r / g.out[1]) % g.out[0];
      const int64_t n = r / (g.out[1] * g.out[0]);
      const uint16_t* xn = x + n * g.xs[0];
      for (int64_t ow = 0; ow < g.out[2]; ++ow) {
        uint16_t* yp = y + n * g.ys[0] + od * g.ys[2] + oh * g.ys[3] + ow * g.ys[4];
        const int nt = taps_of(g, od, oh, ow, offs.data());
        if (nt == 0) {
          for (int64_t c = 0; c < C; ++c) yp[c * ycs] = 0;
          continue;
        }
        const uint16_t* __restrict x0 = xn + offs[0];
        float* __restrict bst = best.data();
        uint16_t* __restrict w = win.data();
        for (int64_t c = 0; c < C; ++c) {
          w[c] = x0[c * xcs];
          bst[c] = value(w[c]);
        }
        for (int i = 1; i < nt; ++i) {
          const uint16_t* __restrict xi = xn + offs[static_cast<size_t>(i)];
          // As the float32 kernel's v > y ? v : y: a NaN first tap stays, later NaNs do not.
          for (int64_t c = 0; c < C; ++c) {
            const uint16_t bits = xi[c * xcs];
            const float v = value(bits), b = bst[c];
            bst[c] = v > b ? v : b;
            w[c] = select(mask_of(v > b), bits, w[c]);
          }
        }
        for (int64_t c = 0; c < C; ++c) yp[c * ycs] = w[c];
      }
    }
  });
}

template <bool kUnit>
void backward(const SpatialGeom& g, const uint16_t* x, const uint16_t* dy, uint16_t* dx) {
  const int64_t taps = g.k[0] * g.k[1] * g.k[2], C = g.c;
  const int64_t xcs = kUnit ? 1 : g.xs[1], ycs = kUnit ? 1 : g.ys[1];
  const int64_t image = g.in[0] * g.in[1] * g.in[2] * C;
  parallel_for(0, g.n, 1, [&](int64_t n0, int64_t n1) {
    std::vector<float> best(static_cast<size_t>(C));
    std::vector<uint16_t> grad(static_cast<size_t>(C)), open(static_cast<size_t>(C));
    std::vector<int64_t> offs(static_cast<size_t>(taps));
    for (int64_t n = n0; n < n1; ++n) {
      const uint16_t* xn = x + n * g.xs[0];
      uint16_t* dxn = dx + n * g.xs[0];
      std::fill(dxn, dxn + image, uint16_t{0});
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            const int nt = taps_of(g, od, oh, ow, offs.data());
            if (nt == 0) continue;
            const uint16_t* __restrict gp =
                dy + n * g.ys[0] + od * g.ys[2] + oh * g.ys[3] + ow * g.ys[4];
            const uint16_t* __restrict x0 = xn + offs[0];
            float* __restrict bst = best.data();
            uint16_t* __restrict gr = grad.data();
            uint16_t* __restrict op = open.data();
            for (int64_t c = 0; c < C; ++c) bst[c] = value(x0[c * xcs]);
            for (int i = 1; i < nt; ++i) {
              const uint16_t* __restrict xi = xn + offs[static_cast<size_t>(i)];
              for (int64_t c = 0; c < C; ++c) {
                const float v = value(xi[c * xcs]), b = bst[c];
                bst[c] = v > b ? v : b;
              }
            }
            // The first tap holding the maximum takes the gradient (a NaN first tap keeps it),
            // as the float32 kernels' max_window_grad; `open`: all ones until a tap took it.
            uint16_t* __restrict d0 = dxn + offs[0];
            for (int64_t c = 0; c < C; ++c) {
              gr[c] = zero_plus(gp[c * ycs]);
              const float b = bst[c];
              const uint16_t hit = mask_of((value(x0[c * xcs]) == b) | (b != b));
              d0[c * xcs] = static_cast<uint16_t>(gr[c] & hit);
              op[c] = static_cast<uint16_t>(~hit);
            }
            for (int i = 1; i < nt; ++i) {
              const uint16_t* __restrict xi = xn + offs[static_cast<size_t>(i)];
              uint16_t* __restrict di = dxn + offs[static_cast<size_t>(i)];
              for (int64_t c = 0; c < C; ++c) {
                const uint16_t hit =
                    static_cast<uint16_t>(op[c] & mask_of(value(xi[c * xcs]) == bst[c]));
                di[c * xcs] = select(hit, gr[c], di[c * xcs]);
                op[c] = static_cast<uint16_t>(op[c] & ~hit);
              }
            }
          }
    }
  });
}

}  // namespace

void max_pool_bf16(const SpatialGeom& g, const bfloat16* x, bfloat16* y) {
  const auto* xb = reinterpret_cast<const uint16_t*>(x);
  auto* yb = reinterpret_cast<uint16_t*>(y);
  if (g.xs[1] == 1 && g.ys[1] == 1) {
    forward<true>(g, xb, yb);
  } else {
    forward<false>(g, xb, yb);
  }
}

void max_pool_bf16_backward(const SpatialGeom& g, const bfloat16* x, const bfloat16* dy,
                            bfloat16* dx) {
  const auto* xb = reinterpret_cast<const uint16_t*>(x);
  const auto* gb = reinterpret_cast<const uint16_t*>(dy);
  auto* db = reinterpret_cast<uint16_t*>(dx);
  if (g.xs[1] == 1 && g.ys[1] == 1) {
    backward<true>(g, xb, gb, db);
  } else {
    backward<false>(g, xb, gb, db);
  }
}

}  // namespace corten::cpu
