// Max and average pooling, and resizing: fast kernels and their plain references
// (Notes [Spatial geometry], [Window kernels: fast and reference] and
// [Deterministic window backward] in cpu/pooling.h).

#include "cpu/pooling.h"

#include <corten/parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/resize_math.h"
#include "cpu/window_common.h"

namespace corten::cpu {
namespace {

using resize_math::high_share;
using resize_math::low_share;
using window::input_index;
using window::kChannelBlock;
using window::tap_range;

// Work per task: about this many element operations.
constexpr int64_t kWorkGrain = 16384;

int64_t grain_for(int64_t work_per_item) {
  return std::max<int64_t>(1, kWorkGrain / std::max<int64_t>(1, work_per_item));
}

// ---------------------------------------------------------------------------------------------
// Pooling, forward.

// One output position of every channel. kUnit: both channel strides are 1 (channels_last),
// which lets the compiler vectorise the channel loop.
template <class T, bool kMax, bool kUnit>
void pool_position(const SpatialGeom& g, const T* xn, T* yp, int64_t d0, int64_t d1,
                   int64_t h0, int64_t h1, int64_t w0, int64_t w1, int64_t od, int64_t oh,
                   int64_t ow) {
  const int64_t cs = kUnit ? 1 : g.xs[1], ycs = kUnit ? 1 : g.ys[1], C = g.c;
  bool first = true;
  for (int64_t kd = d0; kd < d1; ++kd) {
    for (int64_t kh = h0; kh < h1; ++kh) {
      for (int64_t kw = w0; kw < w1; ++kw) {
        const T* xp = xn + input_index(g, 0, od, kd) * g.xs[2] +
                      input_index(g, 1, oh, kh) * g.xs[3] + input_index(g, 2, ow, kw) * g.xs[4];
        if (first) {
          for (int64_t c = 0; c < C; ++c) yp[c * ycs] = xp[c * cs];
          first = false;
        } else if (kMax) {
          for (int64_t c = 0; c < C; ++c) {
            const T v = xp[c * cs];
            yp[c * ycs] = v > yp[c * ycs] ? v : yp[c * ycs];
          }
        } else {
          for (int64_t c = 0; c < C; ++c) yp[c * ycs] += xp[c * cs];
        }
      }
    }
  }
  if (first) {
    for (int64_t c = 0; c < C; ++c) yp[c * ycs] = T(0);
  } else if (!kMax) {
    const T count = static_cast<T>((d1 - d0) * (h1 - h0) * (w1 - w0));
    for (int64_t c = 0; c < C; ++c) yp[c * ycs] /= count;
  }
}

template <class T, bool kMax, bool kUnit>
void pool_fast(const SpatialGeom& g, const T* x, T* y) {
  const int64_t rows = g.n * g.out[0] * g.out[1];
  const int64_t grain = grain_for(g.out[2] * g.c * g.k[0] * g.k[1] * g.k[2]);
  parallel_for(0, rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t oh = r % g.out[1], od = (r / g.out[1]) % g.out[0];
      const int64_t n = r / (g.out[1] * g.out[0]);
      int64_t d0, d1, h0, h1;
      tap_range(g, 0, od, d0, d1);
      tap_range(g, 1, oh, h0, h1);
      for (int64_t ow = 0; ow < g.out[2]; ++ow) {
        int64_t w0, w1;
        tap_range(g, 2, ow, w0, w1);
        T* yp = y + n * g.ys[0] + od * g.ys[2] + oh * g.ys[3] + ow * g.ys[4];
        pool_position<T, kMax, kUnit>(g, x + n * g.xs[0], yp, d0, d1, h0, h1, w0, w1, od, oh,
                                      ow);
      }
    }
  });
}

template <class T, bool kMax>
void pool_ref(const SpatialGeom& g, const T* x, T* y) {
  parallel_for(0, g.n * g.c, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / g.c, c = p % g.c;
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            T acc = T(0);
            int64_t count = 0;
            for (int64_t kd = 0; kd < g.k[0]; ++kd)
              for (int64_t kh = 0; kh < g.k[1]; ++kh)
                for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                  const int64_t id = input_index(g, 0, od, kd), ih = input_index(g, 1, oh, kh),
                                iw = input_index(g, 2, ow, kw);
                  if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1] || iw < 0 ||
                      iw >= g.in[2])
                    continue;
                  const T v = x[n * g.xs[0] + c * g.xs[1] + id * g.xs[2] + ih * g.xs[3] +
                                iw * g.xs[4]];
                  if (count == 0) acc = v;
                  else if (kMax) acc = v > acc ? v : acc;
                  else acc += v;
                  ++count;
                }
            if (count == 0) acc = T(0);
            else if (!kMax) acc /= static_cast<T>(count);
            y[n * g.ys[0] + c * g.ys[1] + od * g.ys[2] + oh * g.ys[3] + ow * g.ys[4]] = acc;
          }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Pooling, backward (Note [Deterministic window backward]).

// Zeroes dx[n, c0:c1, ...] (x's strides).
template <class T>
void zero_block(const SpatialGeom& g, T* dx, int64_t n, int64_t c0, int64_t c1) {
  for (int64_t d = 0; d < g.in[0]; ++d)
    for (int64_t h = 0; h < g.in[1]; ++h)
      for (int64_t w = 0; w < g.in[2]; ++w) {
        T* p = dx + n * g.xs[0] + d * g.xs[2] + h * g.xs[3] + w * g.xs[4];
        for (int64_t c = c0; c < c1; ++c) p[c * g.xs[1]] = T(0);
      }
}

// One max-pooling window's gradient on kNc channels at unit stride: the window's maximum, then
// the first tap that holds it takes the gradient (a NaN first tap keeps it, as in the forward's
// comparisons). Two passes of contiguous loads and selects on a compile-time channel count,
// which vectorise, instead of a per-channel argmax and scatter.
template <class T, int kNc>
inline void max_window_grad(int ntaps, const int64_t* offs, const T* __restrict x,
                            const T* __restrict gp, T* __restrict dx) {
  T best[kNc], left[kNc];
  for (int c = 0; c < kNc; ++c) best[c] = x[offs[0] + c];
  for (int i = 1; i < ntaps; ++i) {
    const T* xi = x + offs[i];
    for (int c = 0; c < kNc; ++c) best[c] = xi[c] > best[c] ? xi[c] : best[c];
  }
  // left: the gradient not yet given (zero once a tap has taken it).
  for (int c = 0; c < kNc; ++c) {
    const bool hit = x[offs[0] + c] == best[c] || best[c] != best[c];
    dx[offs[0] + c] += hit ? gp[c] : T(0);
    left[c] = hit ? T(0) : gp[c];
  }
  for (int i = 1; i < ntaps; ++i) {
    const T* xi = x + offs[i];
    T* di = dx + offs[i];
    for (int c = 0; c < kNc; ++c) {
      const bool hit = xi[c] == best[c];
      di[c] += hit ? left[c] : T(0);
      left[c] = hit ? T(0) : left[c];
    }
  }
}

// kUnit: channels at unit stride in x, dy and dx (channels_last), so that the channel loops
// vectorise. Then one work item is an image, zeroed as one contiguous range, its channel blocks
// visited inside each window; otherwise an item is one (image, channel block), zeroed pixel by
// pixel, 16 channels a pixel (b64 28x28x64 max-pool 3 backward with max_window_grad: 1 thread
// 12.0 -> 9.1 ms, 2 threads 6.2 -> 5.8 ms; what remains is memory traffic on x and dx).
template <class T, bool kMax, bool kUnit>
void pool_backward_impl(const SpatialGeom& g, const T* x, const T* dy, T* dx) {
  const int64_t blocks = (g.c + kChannelBlock - 1) / kChannelBlock;
  const int64_t items = kUnit ? g.n : g.n * blocks;
  parallel_for(0, items, 1, [&](int64_t t0, int64_t t1) {
    T best[kChannelBlock];
    T share[kChannelBlock];
    std::vector<int64_t> offs(static_cast<size_t>(g.k[0] * g.k[1] * g.k[2]));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n = kUnit ? t : t / blocks;
      const int64_t b0 = kUnit ? 0 : t % blocks, b1 = kUnit ? blocks : b0 + 1;
      if (kUnit) {
        T* image = dx + n * g.xs[0];
        std::fill(image, image + g.in[0] * g.in[1] * g.in[2] * g.c, T(0));
      } else {
        zero_block(g, dx, n, b0 * kChannelBlock, std::min(g.c, b1 * kChannelBlock));
      }
      const int64_t cs = kUnit ? 1 : g.xs[1];
      const int64_t gs = kUnit ? 1 : g.ys[1];
      for (int64_t od = 0; od < g.out[0]; ++od) {
        int64_t d0, d1;
        tap_range(g, 0, od, d0, d1);
        for (int64_t oh = 0; oh < g.out[1]; ++oh) {
          int64_t h0, h1;
          tap_range(g, 1, oh, h0, h1);
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            int64_t w0, w1;
            tap_range(g, 2, ow, w0, w1);
            const int64_t count = (d1 - d0) * (h1 - h0) * (w1 - w0);
            if (count == 0) continue;
            for (int64_t blk = b0; blk < b1; ++blk) {
              const int64_t c0 = blk * kChannelBlock;
              const int64_t nc = std::min(g.c, c0 + kChannelBlock) - c0;
              const T* xn = x + n * g.xs[0] + c0 * cs;
              T* dxn = dx + n * g.xs[0] + c0 * cs;
              const T* gp = dy + n * g.ys[0] + c0 * gs + od * g.ys[2] + oh * g.ys[3] + ow * g.ys[4];
              if (!kMax) {
                for (int64_t c = 0; c < nc; ++c) share[c] = gp[c * gs] / static_cast<T>(count);
              }
              int ntaps = 0;
              for (int64_t kd = d0; kd < d1; ++kd)
                for (int64_t kh = h0; kh < h1; ++kh)
                  for (int64_t kw = w0; kw < w1; ++kw)
                    offs[ntaps++] = input_index(g, 0, od, kd) * g.xs[2] +
                                    input_index(g, 1, oh, kh) * g.xs[3] +
                                    input_index(g, 2, ow, kw) * g.xs[4];
              if (!kMax) {
                for (int i = 0; i < ntaps; ++i)
                  for (int64_t c = 0; c < nc; ++c) dxn[offs[i] + c * cs] += share[c];
                continue;
              }
              if (kUnit && nc == kChannelBlock) {
                max_window_grad<T, kChannelBlock>(ntaps, offs.data(), xn, gp, dxn);
                continue;
              }
              // The window's maximum, then the first tap that holds it takes the gradient, as
              // max_window_grad below (with run-time strides and channel count).
              for (int64_t c = 0; c < nc; ++c) best[c] = xn[offs[0] + c * cs];
              for (int i = 1; i < ntaps; ++i)
                for (int64_t c = 0; c < nc; ++c) {
                  const T v = xn[offs[i] + c * cs], b = best[c];
                  best[c] = v > b ? v : b;
                }
              // share: the gradient not yet given (zero once a tap has taken it).
              for (int64_t c = 0; c < nc; ++c) {
                const T v = xn[offs[0] + c * cs];
                const bool hit = v == best[c] || best[c] != best[c];
                dxn[offs[0] + c * cs] += hit ? gp[c * gs] : T(0);
                share[c] = hit ? T(0) : gp[c * gs];
              }
              for (int i = 1; i < ntaps; ++i)
                for (int64_t c = 0; c < nc; ++c) {
                  const bool hit = xn[offs[i] + c * cs] == best[c];
                  dxn[offs[i] + c * cs] += hit ? share[c] : T(0);
                  share[c] = hit ? T(0) : share[c];
                }
            }
          }
        }
      }
    }
  });
}

template <class T, bool kMax>
void pool_backward_fast(const SpatialGeom& g, const T* x, const T* dy, T* dx) {
  if (g.xs[1] == 1 && g.ys[1] == 1) {
    pool_backward_impl<T, kMax, true>(g, x, dy, dx);
  } else {
    pool_backward_impl<T, kMax, false>(g, x, dy, dx);
  }
}

template <class T, bool kMax>
void pool_backward_ref(const SpatialGeom& g, const T* x, const T* dy, T* dx) {
  parallel_for(0, g.n * g.c, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / g.c, c = p % g.c;
      zero_block(g, dx, n, c, c + 1);
      const int64_t base = n * g.xs[0] + c * g.xs[1];
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            const T gv =
                dy[n * g.ys[0] + c * g.ys[1] + od * g.ys[2] + oh * g.ys[3] + ow * g.ys[4]];
            // The in-bounds taps of this window, in window order.
            std::vector<int64_t> taps;
            for (int64_t kd = 0; kd < g.k[0]; ++kd)
              for (int64_t kh = 0; kh < g.k[1]; ++kh)
                for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                  const int64_t id = input_index(g, 0, od, kd), ih = input_index(g, 1, oh, kh),
                                iw = input_index(g, 2, ow, kw);
                  if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1] || iw < 0 ||
                      iw >= g.in[2])
                    continue;
                  taps.push_back(base + id * g.xs[2] + ih * g.xs[3] + iw * g.xs[4]);
                }
            if (taps.empty()) continue;
            if (kMax) {
              int64_t best = taps[0];
              for (int64_t off : taps) {
                if (x[off] > x[best]) best = off;
              }
              dx[best] += gv;
            } else {
              const T share = gv / static_cast<T>(taps.size());
              for (int64_t off : taps) dx[off] += share;
            }
          }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Resizing. The coordinate maps follow TensorFlow's resize kernels in float arithmetic
// (resize_bilinear_op.cc, resize_nearest_neighbor_op.cc), so results match tf.image.resize;
// they and the interpolation formulas are cpu/resize_math.h's, shared with the CUDA kernels.

struct AxisMap {
  std::vector<int64_t> lo, hi;
  std::vector<float> lerp;
};

AxisMap axis_map(const ResizeSpec& spec, int64_t in, int64_t out) {
  AxisMap m;
  m.lo.resize(out);
  m.hi.resize(out);
  m.lerp.assign(out, 0.0f);
  const float scale = resize_math::scale(in, out, spec.align_corners);
  for (int64_t o = 0; o < out; ++o) {
    const resize_math::Tap t = resize_math::tap(spec, scale, in, o);
    m.lo[o] = t.lo;
    m.hi[o] = t.hi;
    m.lerp[o] = t.lerp;
  }
  return m;
}

struct ResizeMaps {
  AxisMap a[3];
  ResizeMaps(const ResizeSpec& spec, const SpatialGeom& g) {
    for (int i = 0; i < 3; ++i) a[i] = axis_map(spec, g.in[i], g.out[i]);
  }
};

// One output position of every channel: along w, then h, then d (TensorFlow's order in 2-D:
// top = tl + (tr - tl) * x_lerp, bottom likewise, out = top + (bottom - top) * y_lerp).
template <class T, bool kUnit>
void resize_position(const SpatialGeom& g, const ResizeMaps& mp, const T* xn, T* yp,
                     int64_t od, int64_t oh, int64_t ow, bool linear) {
  const int64_t cs = kUnit ? 1 : g.xs[1], ycs = kUnit ? 1 : g.ys[1], C = g.c;
  const AxisMap &md = mp.a[0], &mh = mp.a[1], &mw = mp.a[2];
  auto at = [&](int64_t d, int64_t h, int64_t w) {
    return xn + d * g.xs[2] + h * g.xs[3] + w * g.xs[4];
  };
  if (!linear) {
    const T* xp = at(md.lo[od], mh.lo[oh], mw.lo[ow]);
    for (int64_t c = 0; c < C; ++c) yp[c * ycs] = xp[c * cs];
    return;
  }
  const T lw = static_cast<T>(mw.lerp[ow]), lh = static_cast<T>(mh.lerp[oh]),
          ld = static_cast<T>(md.lerp[od]);
  const bool two_planes = md.lo[od] != md.hi[od];
  for (int64_t c = 0; c < C; ++c) {
    auto plane = [&](int64_t d) {
      const T tl = at(d, mh.lo[oh], mw.lo[ow])[c * cs], tr = at(d, mh.lo[oh], mw.hi[ow])[c * cs];
      const T bl = at(d, mh.hi[oh], mw.lo[ow])[c * cs], br = at(d, mh.hi[oh], mw.hi[ow])[c * cs];
      return resize_math::lerp(resize_math::lerp(tl, tr, lw), resize_math::lerp(bl, br, lw), lh);
    };
    const T p0 = plane(md.lo[od]);
    yp[c * ycs] = two_planes ? resize_math::lerp(p0, plane(md.hi[od]), ld) : p0;
  }
}

template <class T, bool kUnit>
void resize_fast(const ResizeSpec& spec, const SpatialGeom& g, const T* x, T* y) {
  const ResizeMaps mp(spec, g);
  const int64_t rows = g.n * g.out[0] * g.out[1];
  parallel_for(0, rows, grain_for(g.out[2] * g.c * (spec.linear ? 8 : 1)),
               [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t oh = r % g.out[1], od = (r / g.out[1]) % g.out[0];
      const int64_t n = r / (g.out[1] * g.out[0]);
      for (int64_t ow = 0; ow < g.out[2]; ++ow) {
        resize_position<T, kUnit>(g, mp, x + n * g.xs[0],
                                  y + n * g.ys[0] + od * g.ys[2] + oh * g.ys[3] + ow * g.ys[4],
                                  od, oh, ow, spec.linear);
      }
    }
  });
}

template <class T>
void resize_ref(const ResizeSpec& spec, const SpatialGeom& g, const T* x, T* y) {
  const ResizeMaps mp(spec, g);
  SpatialGeom one = g;
  one.c = 1;
  parallel_for(0, g.n * g.c, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / g.c, c = p % g.c;
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            resize_position<T, false>(
                one, mp, x + n * g.xs[0] + c * g.xs[1],
                y + n * g.ys[0] + c * g.ys[1] + od * g.ys[2] + oh * g.ys[3] + ow * g.ys[4], od,
                oh, ow, spec.linear);
          }
    }
  });
}

// dy -> dx for channels [c0, c1) of image n: TensorFlow's ResizeBilinearGrad order (top rows
// first, then bottom; left then right), after splitting along d when two planes are used.
template <class T>
void resize_backward_block(const SpatialGeom& g, const ResizeMaps& mp, const T* dy, T* dx,
                           int64_t n, int64_t c0, int64_t c1, bool linear) {
  zero_block(g, dx, n, c0, c1);
  const AxisMap &md = mp.a[0], &mh = mp.a[1], &mw = mp.a[2];
  const int64_t cs = g.xs[1];
  T* dxn = dx + n * g.xs[0];
  auto at = [&](int64_t d, int64_t h, int64_t w) {
    return dxn + d * g.xs[2] + h * g.xs[3] + w * g.xs[4];
  };
  for (int64_t od = 0; od < g.out[0]; ++od)
    for (int64_t oh = 0; oh < g.out[1]; ++oh)
      for (int64_t ow = 0; ow < g.out[2]; ++ow) {
        const T* gp = dy + n * g.ys[0] + od * g.ys[2] + oh * g.ys[3] + ow * g.ys[4];
        if (!linear) {
          T* p = at(md.lo[od], mh.lo[oh], mw.lo[ow]);
          for (int64_t c = c0; c < c1; ++c) p[c * cs] += gp[c * g.ys[1]];
          continue;
        }
        const T lw = static_cast<T>(mw.lerp[ow]), lh = static_cast<T>(mh.lerp[oh]),
                ld = static_cast<T>(md.lerp[od]);
        const bool two_planes = md.lo[od] != md.hi[od];
        for (int64_t c = c0; c < c1; ++c) {
          auto plane = [&](int64_t d, T gv) {
            const T dtop = low_share(gv, lh), dbottom = high_share(gv, lh);
            at(d, mh.lo[oh], mw.lo[ow])[c * cs] += low_share(dtop, lw);
            at(d, mh.lo[oh], mw.hi[ow])[c * cs] += high_share(dtop, lw);
            at(d, mh.hi[oh], mw.lo[ow])[c * cs] += low_share(dbottom, lw);
            at(d, mh.hi[oh], mw.hi[ow])[c * cs] += high_share(dbottom, lw);
          };
          const T gv = gp[c * g.ys[1]];
          if (two_planes) {
            plane(md.lo[od], low_share(gv, ld));
            plane(md.hi[od], high_share(gv, ld));
          } else {
            plane(md.lo[od], gv);
          }
        }
      }
}

template <class T>
void resize_backward_impl(const ResizeSpec& spec, const SpatialGeom& g, const T* dy, T* dx,
                          int64_t block) {
  const ResizeMaps mp(spec, g);
  const int64_t blocks = (g.c + block - 1) / block;
  parallel_for(0, g.n * blocks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n = t / blocks, c0 = (t % blocks) * block;
      resize_backward_block(g, mp, dy, dx, n, c0, std::min(g.c, c0 + block), spec.linear);
    }
  });
}

}  // namespace

void pool(DType dtype, PoolKind kind, const SpatialGeom& g, const void* x, void* y) {
  window::dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = static_cast<const T*>(x);
    T* yp = static_cast<T*>(y);
    const bool mx = kind == PoolKind::Max;
    if (window::use_reference()) {
      mx ? pool_ref<T, true>(g, xp, yp) : pool_ref<T, false>(g, xp, yp);
    } else if (g.xs[1] == 1 && g.ys[1] == 1) {
      mx ? pool_fast<T, true, true>(g, xp, yp) : pool_fast<T, false, true>(g, xp, yp);
    } else {
      mx ? pool_fast<T, true, false>(g, xp, yp) : pool_fast<T, false, false>(g, xp, yp);
    }
  });
}

void pool_backward(DType dtype, PoolKind kind, const SpatialGeom& g, const void* x,
                   const void* dy, void* dx) {
  window::dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = static_cast<const T*>(x);
    const T* gp = static_cast<const T*>(dy);
    T* dxp = static_cast<T*>(dx);
    const bool mx = kind == PoolKind::Max;
    if (window::use_reference()) {
      mx ? pool_backward_ref<T, true>(g, xp, gp, dxp) : pool_backward_ref<T, false>(g, xp, gp, dxp);
    } else {
      mx ? pool_backward_fast<T, true>(g, xp, gp, dxp)
         : pool_backward_fast<T, false>(g, xp, gp, dxp);
    }
  });
}

void resize(DType dtype, const ResizeSpec& spec, const SpatialGeom& g, const void* x, void* y) {
  window::dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = static_cast<const T*>(x);
    T* yp = static_cast<T*>(y);
    if (window::use_reference()) resize_ref<T>(spec, g, xp, yp);
    else if (g.xs[1] == 1 && g.ys[1] == 1) resize_fast<T, true>(spec, g, xp, yp);
    else resize_fast<T, false>(spec, g, xp, yp);
  });
}

void resize_backward(DType dtype, const ResizeSpec& spec, const SpatialGeom& g, const void* dy,
                     void* dx) {
  window::dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    // The reference runs one channel per task; the fast kernel a block of channels.
    resize_backward_impl<T>(spec, g, static_cast<const T*>(dy), static_cast<T*>(dx),
                            window::use_reference() ? 1 : kChannelBlock);
  });
}

}  // namespace corten::cpu
