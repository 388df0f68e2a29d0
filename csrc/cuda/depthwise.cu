// CUDA depthwise-convolution kernels: depthwise_conv, depthwise_conv_backward_input and
// depthwise_conv_backward_filter, with the CPU kernels' signatures (csrc/cpu/pooling.h). x, y,
// dx and dy are device pointers described by the element strides of SpatialGeom (batch,
// channel, d, h, w: channels_last or channels_first, Note [Spatial geometry]); w is the
// contiguous (k0, k1, k2, c, m) filter, b and db (c * m,). Callers have validated the shapes.
//
// Note [CUDA depthwise convolution]
// One thread per output element, each summing in the order of the reference CPU kernels
// (cpu/depthwise.cpp), so that with --fmad=false the results are theirs bit for bit where the
// whole sum is one thread's:
// - forward: one thread per y element, y = b (or 0) + x * w over the taps in window order
//   (d, h, w), out-of-bounds taps skipped.
// - backward_input: a gather, one thread per dx element over the (tap, output) pairs that read
//   it, the outputs ascending (the taps descending), each pair adding the sum over the m
//   filters of its channel: the reference scatter's order, without atomics.
// - backward_filter: each dw (and db) element is summed per chunk of output positions (n, od,
//   oh, ow in C order, ascending), then the chunks' partial sums are added in order. The
//   chunks are the fast CPU kernel's groups of kImagesPerGroup images (the same partial sums,
//   added in the same order) unless the partials of those give fewer than kFilterThreads
//   threads; then they are shorter runs (at least kMinChunk positions) of a length that
//   depends only on the shape. The first kernel computes the partials (one thread per chunk,
//   tap and channel, neighbouring threads on neighbouring channels) into DeviceScratch, the
//   second adds them in chunk order, one thread per dw element. The reference sums all images
//   in one run, so dw and db agree with it within rounding: at most 2 * terms * eps relative
//   to the sum of the terms' magnitudes, terms = n * output positions.
// The fast CPU kernels (cpu/depthwise_kernels.inc) are compiled with the host compiler's
// default contraction (a * b + c into an FMA where the ISA has one) and their dx gathers with
// the taps ascending for depth_multiplier 1, so the CUDA results agree with them within
// rounding: 2 * terms * eps, terms = the window's taps times m (dx) or as above (dw).
// Thread mapping: the linear index runs fastest over channels for channels-last data and over w
// otherwise, so that neighbouring threads touch neighbouring elements (coalesced).

#include <algorithm>
#include <cstdint>

#include "cpu/pooling.h"
#include "cuda/common.cuh"

namespace corten::cuda {
namespace {

// Images per partial filter-gradient sum: the CPU kernels' kImagesPerGroup
// (cpu/depthwise_kernels.inc), so that both add the same partial sums in the same order.
constexpr int64_t kImagesPerGroup = 4;

// The geometry as kernel arguments (SpatialGeom by value).
struct DwGeom {
  int64_t n, c, m, cm;
  int64_t in[3], out[3], k[3], stride[3], dil[3], pad[3];
  int64_t xs[5], ys[5];
  bool cl;  // channels fastest in the thread mapping
};

DwGeom make_geom(const cpu::SpatialGeom& g) {
  DwGeom d{};
  d.n = g.n;
  d.c = g.c;
  d.m = g.m;
  d.cm = g.c * g.m;
  for (int i = 0; i < 3; ++i) {
    d.in[i] = g.in[i];
    d.out[i] = g.out[i];
    d.k[i] = g.k[i];
    d.stride[i] = g.stride[i];
    d.dil[i] = g.dil[i];
    d.pad[i] = g.pad[i];
  }
  for (int i = 0; i < 5; ++i) {
    d.xs[i] = g.xs[i];
    d.ys[i] = g.ys[i];
  }
  d.cl = g.xs[1] == 1 && g.ys[1] == 1;
  return d;
}

// Splits the linear index i over (n, ch, s0, s1, s2) with extents (nch, sp): channels fastest
// when cl, else the last spatial dimension.
__device__ __forceinline__ void split_index(int64_t i, bool cl, int64_t nch, const int64_t sp[3],
                                            int64_t& n, int64_t& ch, int64_t p[3]) {
  if (cl) {
    ch = i % nch;
    i /= nch;
  }
  p[2] = i % sp[2];
  i /= sp[2];
  p[1] = i % sp[1];
  i /= sp[1];
  p[0] = i % sp[0];
  i /= sp[0];
  if (!cl) {
    ch = i % nch;
    i /= nch;
  }
  n = i;
}

// The taps [t0, t1) of one axis with 0 <= o * stride - pad + t * dil < in (window::tap_range).
__device__ __forceinline__ void tap_range(const DwGeom& g, int axis, int64_t o, int64_t& t0,
                                          int64_t& t1) {
  const int64_t base = o * g.stride[axis] - g.pad[axis];
  const int64_t dil = g.dil[axis], in = g.in[axis];
  t0 = base >= 0 ? 0 : (-base + dil - 1) / dil;
  t1 = base >= in ? 0 : std::min<int64_t>(g.k[axis], (in - base + dil - 1) / dil);
  if (t0 > t1) t0 = t1;
}

// y[n, co, o...] = b[co] + sum over the taps in window order of x[n, co / m, i...] * w[tap, co].
template <class T>
__global__ void __launch_bounds__(256)
    forward_kernel(DwGeom g, const T* __restrict__ x, const T* __restrict__ w,
                   const T* __restrict__ b, T* __restrict__ y, int64_t total) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t n, co, o[3];
    split_index(i, g.cl, g.cm, g.out, n, co, o);
    int64_t t0[3], t1[3];
    for (int a = 0; a < 3; ++a) tap_range(g, a, o[a], t0[a], t1[a]);
    const T* xn = x + n * g.xs[0] + (co / g.m) * g.xs[1];
    T acc = b ? b[co] : T(0);
    for (int64_t kd = t0[0]; kd < t1[0]; ++kd) {
      const int64_t id = o[0] * g.stride[0] - g.pad[0] + kd * g.dil[0];
      for (int64_t kh = t0[1]; kh < t1[1]; ++kh) {
        const int64_t ih = o[1] * g.stride[1] - g.pad[1] + kh * g.dil[1];
        const T* xr = xn + id * g.xs[2] + ih * g.xs[3];
        const T* wr = w + (kd * g.k[1] + kh) * g.k[2] * g.cm + co;
        for (int64_t kw = t0[2]; kw < t1[2]; ++kw) {
          const int64_t iw = o[2] * g.stride[2] - g.pad[2] + kw * g.dil[2];
          acc += xr[iw * g.xs[4]] * wr[kw * g.cm];
        }
      }
    }
    y[n * g.ys[0] + co * g.ys[1] + o[0] * g.ys[2] + o[1] * g.ys[3] + o[2] * g.ys[4]] = acc;
  }
}

// The output o reading input i through tap t along one axis, or -1.
__device__ __forceinline__ int64_t reader(const DwGeom& g, int axis, int64_t i, int64_t t) {
  const int64_t num = i + g.pad[axis] - t * g.dil[axis];
  if (num < 0 || num % g.stride[axis] != 0) return -1;
  const int64_t o = num / g.stride[axis];
  return o < g.out[axis] ? o : -1;
}

// dx[n, c, i...] = the sum over the (tap, output) pairs reading it of sum_j dy[n, c * m + j, o...]
// * w[tap, c * m + j], the outputs ascending (Note [CUDA depthwise convolution]).
template <class T>
__global__ void __launch_bounds__(256)
    backward_input_kernel(DwGeom g, const T* __restrict__ w, const T* __restrict__ dy,
                          T* __restrict__ dx, int64_t total) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t n, c, p[3];
    split_index(i, g.cl, g.c, g.in, n, c, p);
    const T* dyn = dy + n * g.ys[0] + c * g.m * g.ys[1];
    const T* wc = w + c * g.m;
    T acc = T(0);
    for (int64_t ad = 0; ad < g.k[0]; ++ad) {
      const int64_t kd = g.k[0] - 1 - ad;
      const int64_t od = reader(g, 0, p[0], kd);
      if (od < 0) continue;
      for (int64_t ah = 0; ah < g.k[1]; ++ah) {
        const int64_t kh = g.k[1] - 1 - ah;
        const int64_t oh = reader(g, 1, p[1], kh);
        if (oh < 0) continue;
        for (int64_t aw = 0; aw < g.k[2]; ++aw) {
          const int64_t kw = g.k[2] - 1 - aw;
          const int64_t ow = reader(g, 2, p[2], kw);
          if (ow < 0) continue;
          const T* gp = dyn + od * g.ys[2] + oh * g.ys[3] + ow * g.ys[4];
          const T* wp = wc + ((kd * g.k[1] + kh) * g.k[2] + kw) * g.cm;
          if (g.m == 1) {
            acc += gp[0] * wp[0];
          } else {
            T s = T(0);
            for (int64_t j = 0; j < g.m; ++j) s += gp[j * g.ys[1]] * wp[j];
            acc += s;
          }
        }
      }
    }
    dx[n * g.xs[0] + c * g.xs[1] + p[0] * g.xs[2] + p[1] * g.xs[3] + p[2] * g.xs[4]] = acc;
  }
}

// The partial dw (and db) of one chunk of output positions (the run [q * len, (q + 1) * len)
// of the positions (n, od, oh, ow) in C order): thread (q, tap, co), tap == taps meaning db;
// written to pw[q * (taps + 1) * cm + tap * cm + co] (db after the taps).
template <class T>
__global__ void __launch_bounds__(256)
    backward_filter_kernel(DwGeom g, const T* __restrict__ x, const T* __restrict__ dy,
                           T* __restrict__ pw, int64_t taps, int64_t len, int64_t total) {
  const int64_t positions = g.n * g.out[0] * g.out[1] * g.out[2];
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t co = i % g.cm, tap = i / g.cm % (taps + 1), q = i / (g.cm * (taps + 1));
    const int64_t p0 = q * len, p1 = std::min(positions, p0 + len);
    const bool bias = tap == taps;
    int64_t kt[3] = {0, 0, 0};
    if (!bias) {
      kt[2] = tap % g.k[2];
      kt[1] = tap / g.k[2] % g.k[1];
      kt[0] = tap / (g.k[2] * g.k[1]);
    }
    // The outputs [lo, hi) of each axis whose tap kt lies inside the input; every output for db.
    int64_t lo[3], hi[3], off[3];
    for (int a = 0; a < 3; ++a) {
      off[a] = kt[a] * g.dil[a] - g.pad[a];  // i = o * stride + off
      const int64_t s = g.stride[a];
      lo[a] = bias || off[a] >= 0 ? 0 : (-off[a] + s - 1) / s;
      hi[a] = bias                    ? g.out[a]
              : g.in[a] - off[a] <= 0 ? 0
                                      : std::min(g.out[a], (g.in[a] - off[a] + s - 1) / s);
    }
    const T* xc = x + (co / g.m) * g.xs[1];
    const T* gc = dy + co * g.ys[1];
    int64_t o[3], n = p0 / (g.out[0] * g.out[1] * g.out[2]);
    o[2] = p0 % g.out[2];
    o[1] = p0 / g.out[2] % g.out[1];
    o[0] = p0 / (g.out[2] * g.out[1]) % g.out[0];
    T acc = T(0);
    for (int64_t p = p0; p < p1; ++p) {
      if (o[0] >= lo[0] && o[0] < hi[0] && o[1] >= lo[1] && o[1] < hi[1] && o[2] >= lo[2] &&
          o[2] < hi[2]) {
        const T gv = gc[n * g.ys[0] + o[0] * g.ys[2] + o[1] * g.ys[3] + o[2] * g.ys[4]];
        if (bias) {
          acc += gv;
        } else {
          const int64_t id = o[0] * g.stride[0] + off[0], ih = o[1] * g.stride[1] + off[1];
          const int64_t iw = o[2] * g.stride[2] + off[2];
          acc += xc[n * g.xs[0] + id * g.xs[2] + ih * g.xs[3] + iw * g.xs[4]] * gv;
        }
      }
      if (++o[2] == g.out[2]) {  // the next position in C order
        o[2] = 0;
        if (++o[1] == g.out[1]) {
          o[1] = 0;
          if (++o[0] == g.out[0]) {
            o[0] = 0;
            ++n;
          }
        }
      }
    }
    pw[i] = acc;
  }
}

// dw[i] (and db) = the chunks' partial sums added in chunk order.
template <class T>
__global__ void __launch_bounds__(256)
    sum_chunks_kernel(const T* __restrict__ pw, int64_t chunks, int64_t taps, int64_t cm,
                      bool with_db, T* __restrict__ dw, T* __restrict__ db) {
  const int64_t per = (taps + 1) * cm, total = with_db ? per : taps * cm;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    T acc = pw[i];
    for (int64_t q = 1; q < chunks; ++q) acc += pw[q * per + i];
    if (i < taps * cm)
      dw[i] = acc;
    else
      db[i - taps * cm] = acc;
  }
}

template <class T>
void forward(const cpu::SpatialGeom& sg, const T* x, const T* w, const T* b, T* y) {
  const DwGeom g = make_geom(sg);
  const int64_t total = g.n * g.cm * g.out[0] * g.out[1] * g.out[2];
  launch("depthwise_conv", &forward_kernel<T>, dim3(blocks_for(total, kThreads)), dim3(kThreads), 0,
         g, x, w, b, y, total);
}

template <class T>
void backward_input(const cpu::SpatialGeom& sg, const T* w, const T* dy, T* dx) {
  const DwGeom g = make_geom(sg);
  const int64_t total = g.n * g.c * g.in[0] * g.in[1] * g.in[2];
  launch("depthwise_conv_backward_input", &backward_input_kernel<T>,
         dim3(blocks_for(total, kThreads)), dim3(kThreads), 0, g, w, dy, dx, total);
}

// Threads the filter gradient's first kernel should have at least (an H200 holds about 270k
// resident threads); chunks shorter than kImagesPerGroup images give them when the
// (taps + 1) x c x m elements do not (Note [CUDA depthwise convolution]).
constexpr int64_t kFilterThreads = int64_t{1} << 17;
constexpr int64_t kMinChunk = 256;

template <class T>
void backward_filter(const cpu::SpatialGeom& sg, const T* x, const T* dy, T* dw, T* db) {
  const DwGeom g = make_geom(sg);
  const int64_t taps = g.k[0] * g.k[1] * g.k[2];
  const int64_t per = (taps + 1) * g.cm;
  if (per == 0) return;
  const int64_t out_px = g.out[0] * g.out[1] * g.out[2], positions = g.n * out_px;
  int64_t len = std::max<int64_t>(1, kImagesPerGroup * out_px);
  if ((positions + len - 1) / len * per < kFilterThreads) {
    const int64_t want = (kFilterThreads + per - 1) / per;  // chunks
    len = std::min(len, std::max(kMinChunk, (positions + want - 1) / want));
  }
  const int64_t chunks = std::max<int64_t>(1, (positions + len - 1) / len);
  const char* op = "depthwise_conv_backward_filter";
  DeviceScratch partial(static_cast<size_t>(chunks * per) * sizeof(T), op);
  T* pw = partial.as<T>();
  launch(op, &backward_filter_kernel<T>, dim3(blocks_for(chunks * per, kThreads)), dim3(kThreads),
         0, g, x, dy, pw, taps, len, chunks * per);
  launch(op, &sum_chunks_kernel<T>, dim3(blocks_for(per, kThreads)), dim3(kThreads), 0, pw, chunks,
         taps, g.cm, db != nullptr, dw, db);
}

}  // namespace

void depthwise_conv(DType dtype, const cpu::SpatialGeom& g, const void* x, const void* w,
                    const void* b, void* y) {
  visit_floating(dtype, "depthwise_conv", [&](auto tag) {
    using T = typename decltype(tag)::type;
    forward<T>(g, static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(b),
               static_cast<T*>(y));
  });
}

void depthwise_conv_backward_input(DType dtype, const cpu::SpatialGeom& g, const void* w,
                                   const void* dy, void* dx) {
  visit_floating(dtype, "depthwise_conv_backward_input", [&](auto tag) {
    using T = typename decltype(tag)::type;
    backward_input<T>(g, static_cast<const T*>(w), static_cast<const T*>(dy), static_cast<T*>(dx));
  });
}

void depthwise_conv_backward_filter(DType dtype, const cpu::SpatialGeom& g, const void* x,
                                    const void* dy, void* dw, void* db) {
  visit_floating(dtype, "depthwise_conv_backward_filter", [&](auto tag) {
    using T = typename decltype(tag)::type;
    backward_filter<T>(g, static_cast<const T*>(x), static_cast<const T*>(dy), static_cast<T*>(dw),
                       static_cast<T*>(db));
  });
}

}  // namespace corten::cuda
