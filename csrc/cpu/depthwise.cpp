// Depthwise convolution: the plain reference kernels, and the dispatch to the fast kernels of
// the ISA level in use (cpu/depthwise_kernels.inc; Notes in cpu/pooling.h).
// w: (k0, k1, k2, c, m) contiguous; y channel ci * m + j.

#include <corten/parallel.h>

#include <algorithm>

#include "cpu/isa_table.h"
#include "cpu/pooling.h"
#include "cpu/scratch.h"
#include "cpu/window_common.h"

namespace corten::cpu {
namespace {

using window::input_index;

bool inside(const SpatialGeom& g, int64_t id, int64_t ih, int64_t iw) {
  return id >= 0 && id < g.in[0] && ih >= 0 && ih < g.in[1] && iw >= 0 && iw < g.in[2];
}

int64_t x_at(const SpatialGeom& g, int64_t n, int64_t c, int64_t id, int64_t ih, int64_t iw) {
  return n * g.xs[0] + c * g.xs[1] + id * g.xs[2] + ih * g.xs[3] + iw * g.xs[4];
}

int64_t y_at(const SpatialGeom& g, int64_t n, int64_t co, int64_t od, int64_t oh, int64_t ow) {
  return n * g.ys[0] + co * g.ys[1] + od * g.ys[2] + oh * g.ys[3] + ow * g.ys[4];
}

int64_t w_at(const SpatialGeom& g, int64_t kd, int64_t kh, int64_t kw, int64_t co) {
  return ((kd * g.k[1] + kh) * g.k[2] + kw) * g.c * g.m + co;
}

// Calls fn(od, oh, ow, kd, kh, kw, id, ih, iw) for every in-bounds (output, tap) pair, in
// output then window order.
template <class Fn>
void each_pair(const SpatialGeom& g, Fn&& fn) {
  for (int64_t od = 0; od < g.out[0]; ++od)
    for (int64_t oh = 0; oh < g.out[1]; ++oh)
      for (int64_t ow = 0; ow < g.out[2]; ++ow)
        for (int64_t kd = 0; kd < g.k[0]; ++kd)
          for (int64_t kh = 0; kh < g.k[1]; ++kh)
            for (int64_t kw = 0; kw < g.k[2]; ++kw) {
              const int64_t id = input_index(g, 0, od, kd), ih = input_index(g, 1, oh, kh),
                            iw = input_index(g, 2, ow, kw);
              if (inside(g, id, ih, iw)) fn(od, oh, ow, kd, kh, kw, id, ih, iw);
            }
}

template <class T>
void forward_ref(const SpatialGeom& g, const T* x, const T* w, const T* b, T* y) {
  const int64_t CM = g.c * g.m;
  parallel_for(0, g.n * CM, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / CM, co = p % CM, c = co / g.m;
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < g.out[2]; ++ow) y[y_at(g, n, co, od, oh, ow)] = b ? b[co] : T(0);
      each_pair(g, [&](int64_t od, int64_t oh, int64_t ow, int64_t kd, int64_t kh, int64_t kw,
                       int64_t id, int64_t ih, int64_t iw) {
        y[y_at(g, n, co, od, oh, ow)] += x[x_at(g, n, c, id, ih, iw)] * w[w_at(g, kd, kh, kw, co)];
      });
    }
  });
}

// One (image, input channel) per task: its dx is written by that task only.
template <class T>
void backward_input_ref(const SpatialGeom& g, const T* w, const T* dy, T* dx) {
  parallel_for(0, g.n * g.c, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / g.c, c = p % g.c;
      for (int64_t d = 0; d < g.in[0]; ++d)
        for (int64_t h = 0; h < g.in[1]; ++h)
          for (int64_t x = 0; x < g.in[2]; ++x) dx[x_at(g, n, c, d, h, x)] = T(0);
      each_pair(g, [&](int64_t od, int64_t oh, int64_t ow, int64_t kd, int64_t kh, int64_t kw,
                       int64_t id, int64_t ih, int64_t iw) {
        T s = T(0);
        for (int64_t j = 0; j < g.m; ++j) {
          const int64_t co = c * g.m + j;
          s += dy[y_at(g, n, co, od, oh, ow)] * w[w_at(g, kd, kh, kw, co)];
        }
        dx[x_at(g, n, c, id, ih, iw)] += s;
      });
    }
  });
}

// One output channel per task, every image in order.
template <class T>
void backward_filter_ref(const SpatialGeom& g, const T* x, const T* dy, T* dw, T* db) {
  const int64_t CM = g.c * g.m;
  parallel_for(0, CM, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t co = p0; co < p1; ++co) {
      const int64_t c = co / g.m;
      for (int64_t kd = 0; kd < g.k[0]; ++kd)
        for (int64_t kh = 0; kh < g.k[1]; ++kh)
          for (int64_t kw = 0; kw < g.k[2]; ++kw) dw[w_at(g, kd, kh, kw, co)] = T(0);
      if (db) db[co] = T(0);
      for (int64_t n = 0; n < g.n; ++n) {
        if (db) {
          for (int64_t od = 0; od < g.out[0]; ++od)
            for (int64_t oh = 0; oh < g.out[1]; ++oh)
              for (int64_t ow = 0; ow < g.out[2]; ++ow) db[co] += dy[y_at(g, n, co, od, oh, ow)];
        }
        each_pair(g, [&](int64_t od, int64_t oh, int64_t ow, int64_t kd, int64_t kh,
                         int64_t kw, int64_t id, int64_t ih, int64_t iw) {
          dw[w_at(g, kd, kh, kw, co)] +=
              x[x_at(g, n, c, id, ih, iw)] * dy[y_at(g, n, co, od, oh, ow)];
        });
      }
    }
  });
}

void ref_forward(DType dtype, const SpatialGeom& g, const void* x, const void* w,
                 const void* b, void* y) {
  window::dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    forward_ref<T>(g, static_cast<const T*>(x), static_cast<const T*>(w),
                   static_cast<const T*>(b), static_cast<T*>(y));
  });
}

void ref_backward_input(DType dtype, const SpatialGeom& g, const void* w, const void* dy,
                        void* dx) {
  window::dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    backward_input_ref<T>(g, static_cast<const T*>(w), static_cast<const T*>(dy),
                          static_cast<T*>(dx));
  });
}

void ref_backward_filter(DType dtype, const SpatialGeom& g, const void* x, const void* dy,
                         void* dw, void* db) {
  window::dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    backward_filter_ref<T>(g, static_cast<const T*>(x), static_cast<const T*>(dy),
                           static_cast<T*>(dw), static_cast<T*>(db));
  });
}

const DepthwiseTable& table() {
  // Note [Window kernels: fast and reference]: 'baseline' runs the reference kernels.
  return table_for_isa(&reference_depthwise_table, &avx2::depthwise_table,
                       &avx512::depthwise_table);
}

}  // namespace

const DepthwiseTable& reference_depthwise_table() {
  static const DepthwiseTable t{&ref_forward, &ref_backward_input, &ref_backward_filter};
  return t;
}

// Note [Channels-first depthwise]: the fast kernels read whole registers of channels, so a
// channels-first call copies its operands to channels-last scratch buffers, runs them there
// and copies the result back (two passes over memory instead of strided loads in every tap:
// 32x32x32x32 3x3 at 1 thread: 93 -> 3.5 ms, against 0.45 ms channels-last). The reference
// kernels read any layout directly.
namespace {

bool channels_last(const SpatialGeom& g) { return g.xs[1] == 1 && g.ys[1] == 1; }

// Element strides (n, c, d, h, w) of contiguous channels-last data of these sizes.
void channels_last_strides(const int64_t* sp, int64_t c, int64_t* s) {
  s[1] = 1;
  s[4] = c;
  s[3] = sp[2] * c;
  s[2] = sp[1] * sp[2] * c;
  s[0] = sp[0] * sp[1] * sp[2] * c;
}

// dst[n, c, d, h, w] = src[n, c, d, h, w] between two layouts, in tiles of kTile spatial
// positions times every channel, so that the strided side of the copy stays in L1.
template <class T>
void relayout(int64_t n, int64_t c, const int64_t* sp, const int64_t* from, const T* src,
              const int64_t* to, T* dst) {
  constexpr int64_t kTile = 64;
  const int64_t positions = sp[0] * sp[1] * sp[2];
  const int64_t tiles = (positions + kTile - 1) / kTile;
  // Both layouts contiguous over the flattened spatial index (every contiguous tensor): a
  // strided 2-D transpose per image, with constant strides the compiler can schedule.
  auto flat = [&](const int64_t* st) {
    return (sp[1] == 1 || st[3] == st[4] * sp[2]) &&
           (sp[0] == 1 || st[2] == st[4] * sp[1] * sp[2]);
  };
  if (flat(from) && flat(to)) {
    const int64_t fs = from[4], ts = to[4], fc = from[1], tc = to[1];
    parallel_for(0, n * tiles, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t i = t / tiles, p0 = (t % tiles) * kTile;
        const int64_t count = std::min(kTile, positions - p0);
        const T* s = src + i * from[0] + p0 * fs;
        T* d = dst + i * to[0] + p0 * ts;
        for (int64_t ch = 0; ch < c; ++ch)
          for (int64_t q = 0; q < count; ++q) d[ch * tc + q * ts] = s[ch * fc + q * fs];
      }
    });
    return;
  }
  parallel_for(0, n * tiles, 1, [&](int64_t t0, int64_t t1) {
    int64_t foff[kTile], toff[kTile];
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t i = t / tiles, p0 = (t % tiles) * kTile;
      const int64_t count = std::min(kTile, positions - p0);
      for (int64_t q = 0; q < count; ++q) {
        const int64_t p = p0 + q, e = p % sp[2], b = (p / sp[2]) % sp[1], a = p / (sp[2] * sp[1]);
        foff[q] = i * from[0] + a * from[2] + b * from[3] + e * from[4];
        toff[q] = i * to[0] + a * to[2] + b * to[3] + e * to[4];
      }
      for (int64_t ch = 0; ch < c; ++ch) {
        const T* s = src + ch * from[1];
        T* d = dst + ch * to[1];
        for (int64_t q = 0; q < count; ++q) d[toff[q]] = s[foff[q]];
      }
    }
  });
}

// g with channels-last strides for x and y.
SpatialGeom as_channels_last(const SpatialGeom& g) {
  SpatialGeom h = g;
  channels_last_strides(g.in, g.c, h.xs);
  channels_last_strides(g.out, g.c * g.m, h.ys);
  return h;
}

size_t x_size(const SpatialGeom& g) {
  return static_cast<size_t>(g.n * g.c * g.in[0] * g.in[1] * g.in[2]);
}

size_t y_size(const SpatialGeom& g) {
  return static_cast<size_t>(g.n * g.c * g.m * g.out[0] * g.out[1] * g.out[2]);
}

}  // namespace

void depthwise_conv(DType dtype, const SpatialGeom& g, const void* x, const void* w,
                    const void* b, void* y) {
  if (channels_last(g) || window::use_reference()) {
    table().forward(dtype, g, x, w, b, y);
    return;
  }
  window::dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    const SpatialGeom h = as_channels_last(g);
    Scratch<T> xl(x_size(g), "depthwise_conv"), yl(y_size(g), "depthwise_conv");
    relayout(g.n, g.c, g.in, g.xs, static_cast<const T*>(x), h.xs, xl.data());
    table().forward(dtype, h, xl.data(), w, b, yl.data());
    relayout(g.n, g.c * g.m, g.out, h.ys, yl.data(), g.ys, static_cast<T*>(y));
  });
}

void depthwise_conv_backward_input(DType dtype, const SpatialGeom& g, const void* w,
                                   const void* dy, void* dx) {
  if (channels_last(g) || window::use_reference()) {
    table().backward_input(dtype, g, w, dy, dx);
    return;
  }
  window::dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    const SpatialGeom h = as_channels_last(g);
    Scratch<T> gl(y_size(g), "depthwise_conv"), xl(x_size(g), "depthwise_conv");
    relayout(g.n, g.c * g.m, g.out, g.ys, static_cast<const T*>(dy), h.ys, gl.data());
    table().backward_input(dtype, h, w, gl.data(), xl.data());
    relayout(g.n, g.c, g.in, h.xs, xl.data(), g.xs, static_cast<T*>(dx));
  });
}

void depthwise_conv_backward_filter(DType dtype, const SpatialGeom& g, const void* x,
                                    const void* dy, void* dw, void* db) {
  if (channels_last(g) || window::use_reference()) {
    table().backward_filter(dtype, g, x, dy, dw, db);
    return;
  }
  window::dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    const SpatialGeom h = as_channels_last(g);
    Scratch<T> xl(x_size(g), "depthwise_conv"), gl(y_size(g), "depthwise_conv");
    relayout(g.n, g.c, g.in, g.xs, static_cast<const T*>(x), h.xs, xl.data());
    relayout(g.n, g.c * g.m, g.out, g.ys, static_cast<const T*>(dy), h.ys, gl.data());
    table().backward_filter(dtype, h, xl.data(), gl.data(), dw, db);
  });
}

}  // namespace corten::cpu
