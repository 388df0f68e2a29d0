// Depthwise convolution, forward and both backward kernels, fast and reference
// (Notes in cpu/pooling.h). w: (k0, k1, k2, c, m) contiguous; y channel ci * m + j.

#include <corten/parallel.h>

#include <algorithm>
#include <vector>

#include "cpu/pooling.h"
#include "cpu/window_common.h"

namespace corten::cpu {
namespace {

using window::input_index;
using window::kChannelBlock;
using window::tap_range;

constexpr int64_t kWorkGrain = 16384;
// Images per partial filter-gradient buffer (Note [Deterministic window backward]): fixed, so
// the order of the final sum does not depend on the thread count.
constexpr int64_t kImagesPerGroup = 4;

template <class T, bool kUnit>
void forward_fast(const SpatialGeom& g, const T* x, const T* w, const T* b, T* y) {
  const int64_t rows = g.n * g.out[0] * g.out[1];
  const int64_t C = g.c, M = g.m, CM = C * M;
  const int64_t work = g.out[2] * CM * g.k[0] * g.k[1] * g.k[2];
  const int64_t cs = kUnit ? 1 : g.xs[1], ycs = kUnit ? 1 : g.ys[1];
  parallel_for(0, rows, std::max<int64_t>(1, kWorkGrain / std::max<int64_t>(1, work)),
               [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t oh = r % g.out[1], od = (r / g.out[1]) % g.out[0];
      const int64_t n = r / (g.out[1] * g.out[0]);
      int64_t d0, d1, h0, h1;
      tap_range(g, 0, od, d0, d1);
      tap_range(g, 1, oh, h0, h1);
      const T* xn = x + n * g.xs[0];
      for (int64_t ow = 0; ow < g.out[2]; ++ow) {
        int64_t w0, w1;
        tap_range(g, 2, ow, w0, w1);
        T* yp = y + n * g.ys[0] + od * g.ys[2] + oh * g.ys[3] + ow * g.ys[4];
        for (int64_t co = 0; co < CM; ++co) yp[co * ycs] = b ? b[co] : T(0);
        for (int64_t kd = d0; kd < d1; ++kd)
          for (int64_t kh = h0; kh < h1; ++kh)
            for (int64_t kw = w0; kw < w1; ++kw) {
              const T* xp = xn + input_index(g, 0, od, kd) * g.xs[2] +
                            input_index(g, 1, oh, kh) * g.xs[3] +
                            input_index(g, 2, ow, kw) * g.xs[4];
              const T* wp = w + ((kd * g.k[1] + kh) * g.k[2] + kw) * CM;
              if (M == 1) {
                for (int64_t c = 0; c < C; ++c) yp[c * ycs] += xp[c * cs] * wp[c];
              } else {
                for (int64_t c = 0; c < C; ++c) {
                  const T xv = xp[c * cs];
                  for (int64_t j = 0; j < M; ++j) yp[(c * M + j) * ycs] += xv * wp[c * M + j];
                }
              }
            }
      }
    }
  });
}

template <class T>
void forward_ref(const SpatialGeom& g, const T* x, const T* w, const T* b, T* y) {
  const int64_t CM = g.c * g.m;
  parallel_for(0, g.n * CM, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / CM, co = p % CM, c = co / g.m;
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            T acc = b ? b[co] : T(0);
            for (int64_t kd = 0; kd < g.k[0]; ++kd)
              for (int64_t kh = 0; kh < g.k[1]; ++kh)
                for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                  const int64_t id = input_index(g, 0, od, kd), ih = input_index(g, 1, oh, kh),
                                iw = input_index(g, 2, ow, kw);
                  if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1] || iw < 0 ||
                      iw >= g.in[2])
                    continue;
                  acc += x[n * g.xs[0] + c * g.xs[1] + id * g.xs[2] + ih * g.xs[3] +
                           iw * g.xs[4]] *
                         w[((kd * g.k[1] + kh) * g.k[2] + kw) * CM + co];
                }
            y[n * g.ys[0] + co * g.ys[1] + od * g.ys[2] + oh * g.ys[3] + ow * g.ys[4]] = acc;
          }
    }
  });
}

// dx for image n, channels [c0, c1): zeroed, then every output position's taps scatter
// sum_j dy[.., ci * m + j] * w[tap, ci, j] in window order.
template <class T>
void backward_input_block(const SpatialGeom& g, const T* w, const T* dy, T* dx, int64_t n,
                          int64_t c0, int64_t c1) {
  const int64_t M = g.m, CM = g.c * g.m, cs = g.xs[1], ycs = g.ys[1];
  for (int64_t d = 0; d < g.in[0]; ++d)
    for (int64_t h = 0; h < g.in[1]; ++h)
      for (int64_t x = 0; x < g.in[2]; ++x) {
        T* p = dx + n * g.xs[0] + d * g.xs[2] + h * g.xs[3] + x * g.xs[4];
        for (int64_t c = c0; c < c1; ++c) p[c * cs] = T(0);
      }
  T* dxn = dx + n * g.xs[0];
  for (int64_t od = 0; od < g.out[0]; ++od) {
    int64_t d0, d1;
    tap_range(g, 0, od, d0, d1);
    for (int64_t oh = 0; oh < g.out[1]; ++oh) {
      int64_t h0, h1;
      tap_range(g, 1, oh, h0, h1);
      for (int64_t ow = 0; ow < g.out[2]; ++ow) {
        int64_t w0, w1;
        tap_range(g, 2, ow, w0, w1);
        const T* gp = dy + n * g.ys[0] + od * g.ys[2] + oh * g.ys[3] + ow * g.ys[4];
        for (int64_t kd = d0; kd < d1; ++kd)
          for (int64_t kh = h0; kh < h1; ++kh)
            for (int64_t kw = w0; kw < w1; ++kw) {
              T* xp = dxn + input_index(g, 0, od, kd) * g.xs[2] +
                      input_index(g, 1, oh, kh) * g.xs[3] + input_index(g, 2, ow, kw) * g.xs[4];
              const T* wp = w + ((kd * g.k[1] + kh) * g.k[2] + kw) * CM;
              if (M == 1) {
                for (int64_t c = c0; c < c1; ++c) xp[c * cs] += gp[c * ycs] * wp[c];
              } else {
                for (int64_t c = c0; c < c1; ++c) {
                  T s = T(0);
                  for (int64_t j = 0; j < M; ++j) s += gp[(c * M + j) * ycs] * wp[c * M + j];
                  xp[c * cs] += s;
                }
              }
            }
      }
    }
  }
}

template <class T>
void backward_input(const SpatialGeom& g, const T* w, const T* dy, T* dx, int64_t block) {
  const int64_t blocks = (g.c + block - 1) / block;
  parallel_for(0, g.n * blocks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n = t / blocks, c0 = (t % blocks) * block;
      backward_input_block(g, w, dy, dx, n, c0, std::min(g.c, c0 + block));
    }
  });
}

// Partial dw (taps, c, m) and db (c * m) of images [n0, n1) and channels [c0, c1), written
// (not added) to dw and db.
template <class T>
void backward_filter_part(const SpatialGeom& g, const T* x, const T* dy, T* dw, T* db,
                          int64_t n0, int64_t n1, int64_t c0, int64_t c1) {
  const int64_t M = g.m, CM = g.c * g.m, cs = g.xs[1], ycs = g.ys[1];
  const int64_t taps = g.k[0] * g.k[1] * g.k[2];
  for (int64_t t = 0; t < taps; ++t)
    for (int64_t co = c0 * M; co < c1 * M; ++co) dw[t * CM + co] = T(0);
  if (db) {
    for (int64_t co = c0 * M; co < c1 * M; ++co) db[co] = T(0);
  }
  for (int64_t n = n0; n < n1; ++n) {
    const T* xn = x + n * g.xs[0];
    for (int64_t od = 0; od < g.out[0]; ++od) {
      int64_t d0, d1;
      tap_range(g, 0, od, d0, d1);
      for (int64_t oh = 0; oh < g.out[1]; ++oh) {
        int64_t h0, h1;
        tap_range(g, 1, oh, h0, h1);
        for (int64_t ow = 0; ow < g.out[2]; ++ow) {
          int64_t w0, w1;
          tap_range(g, 2, ow, w0, w1);
          const T* gp = dy + n * g.ys[0] + od * g.ys[2] + oh * g.ys[3] + ow * g.ys[4];
          if (db) {
            for (int64_t co = c0 * M; co < c1 * M; ++co) db[co] += gp[co * ycs];
          }
          for (int64_t kd = d0; kd < d1; ++kd)
            for (int64_t kh = h0; kh < h1; ++kh)
              for (int64_t kw = w0; kw < w1; ++kw) {
                const T* xp = xn + input_index(g, 0, od, kd) * g.xs[2] +
                              input_index(g, 1, oh, kh) * g.xs[3] +
                              input_index(g, 2, ow, kw) * g.xs[4];
                T* wp = dw + ((kd * g.k[1] + kh) * g.k[2] + kw) * CM;
                if (M == 1) {
                  for (int64_t c = c0; c < c1; ++c) wp[c] += xp[c * cs] * gp[c * ycs];
                } else {
                  for (int64_t c = c0; c < c1; ++c) {
                    const T xv = xp[c * cs];
                    for (int64_t j = 0; j < M; ++j) wp[c * M + j] += xv * gp[(c * M + j) * ycs];
                  }
                }
              }
        }
      }
    }
  }
}

template <class T>
void backward_filter(const SpatialGeom& g, const T* x, const T* dy, T* dw, T* db,
                     int64_t block, int64_t images_per_group) {
  const int64_t CM = g.c * g.m, size = g.k[0] * g.k[1] * g.k[2] * CM;
  const int64_t groups = std::max<int64_t>(1, (g.n + images_per_group - 1) / images_per_group);
  const int64_t blocks = (g.c + block - 1) / block;
  // One partial (dw, db) per group of images; group 0 writes straight into dw and db.
  std::vector<T> partial_w(static_cast<size_t>((groups - 1) * size));
  std::vector<T> partial_b(static_cast<size_t>(db ? (groups - 1) * CM : 0));
  parallel_for(0, groups * blocks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t grp = t / blocks, c0 = (t % blocks) * block;
      T* pw = grp == 0 ? dw : partial_w.data() + (grp - 1) * size;
      T* pb = !db ? nullptr : grp == 0 ? db : partial_b.data() + (grp - 1) * CM;
      backward_filter_part(g, x, dy, pw, pb, grp * images_per_group,
                           std::min(g.n, (grp + 1) * images_per_group), c0,
                           std::min(g.c, c0 + block));
    }
  });
  for (int64_t grp = 1; grp < groups; ++grp) {
    const T* pw = partial_w.data() + (grp - 1) * size;
    for (int64_t i = 0; i < size; ++i) dw[i] += pw[i];
    if (db) {
      const T* pb = partial_b.data() + (grp - 1) * CM;
      for (int64_t i = 0; i < CM; ++i) db[i] += pb[i];
    }
  }
}

}  // namespace

void depthwise_conv(DType dtype, const SpatialGeom& g, const void* x, const void* w,
                    const void* b, void* y) {
  window::dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    const T *xp = static_cast<const T*>(x), *wp = static_cast<const T*>(w),
            *bp = static_cast<const T*>(b);
    T* yp = static_cast<T*>(y);
    if (window::use_reference()) forward_ref<T>(g, xp, wp, bp, yp);
    else if (g.xs[1] == 1 && g.ys[1] == 1) forward_fast<T, true>(g, xp, wp, bp, yp);
    else forward_fast<T, false>(g, xp, wp, bp, yp);
  });
}

void depthwise_conv_backward_input(DType dtype, const SpatialGeom& g, const void* w,
                                   const void* dy, void* dx) {
  window::dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    backward_input<T>(g, static_cast<const T*>(w), static_cast<const T*>(dy),
                      static_cast<T*>(dx), window::use_reference() ? 1 : kChannelBlock);
  });
}

void depthwise_conv_backward_filter(DType dtype, const SpatialGeom& g, const void* x,
                                    const void* dy, void* dw, void* db) {
  window::dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    const bool ref = window::use_reference();
    // The reference sums every image in one buffer, one channel at a time.
    backward_filter<T>(g, static_cast<const T*>(x), static_cast<const T*>(dy),
                       static_cast<T*>(dw), static_cast<T*>(db), ref ? 1 : kChannelBlock,
                       ref ? std::max<int64_t>(g.n, 1) : kImagesPerGroup);
  });
}

}  // namespace corten::cpu
