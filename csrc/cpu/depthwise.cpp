// Depthwise convolution: the plain reference kernels, and the dispatch to the fast kernels of
// the ISA level in use (cpu/depthwise_kernels.inc; Notes in cpu/pooling.h).
// w: (k0, k1, k2, c, m) contiguous; y channel ci * m + j.

#include <corten/parallel.h>

#include "cpu/isa_table.h"
#include "cpu/pooling.h"
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

void depthwise_conv(DType dtype, const SpatialGeom& g, const void* x, const void* w,
                    const void* b, void* y) {
  table().forward(dtype, g, x, w, b, y);
}

void depthwise_conv_backward_input(DType dtype, const SpatialGeom& g, const void* w,
                                   const void* dy, void* dx) {
  table().backward_input(dtype, g, w, dy, dx);
}

void depthwise_conv_backward_filter(DType dtype, const SpatialGeom& g, const void* x,
                                    const void* dy, void* dw, void* db) {
  table().backward_filter(dtype, g, x, dy, dw, db);
}

}  // namespace corten::cpu
