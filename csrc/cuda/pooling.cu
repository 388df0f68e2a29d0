// CUDA kernels of max and average pooling over 1, 2 or 3 spatial dimensions, forward and
// backward, with the CPU kernels' signatures (csrc/cpu/pooling.h). Inputs and outputs are device
// pointers described by the five-dimensional SpatialGeom of Note [Spatial geometry] (any element
// strides: channels_last and channels_first alike, windows with strides, dilation and 'same'
// padding). Callers have validated shapes; float32 and float64.
//
// Forward: one thread per output element (a grid-stride loop), channels the fastest index for
// channels_last data so that neighbouring threads read neighbouring addresses. Each thread walks
// its window's in-bounds taps in window order (d, h, w) exactly as the CPU kernel does: max
// keeps the first maximum (`v > best`), average sums and divides by the number of in-bounds
// taps (TensorFlow's 'same' rule). Results are the CPU's bit for bit.
//
// Note [CUDA pooling backward]
// The backward gathers instead of scattering, so no two threads write the same dx element and
// no floating-point atomics are needed: one thread per dx element walks the windows that cover
// it in output order (od, oh, ow) and adds their contributions in that order, starting from 0,
// which is the order in which the CPU kernel's scatter adds into that element (it visits the
// outputs in the same order). Average: each covering window contributes dy / count, count its
// number of in-bounds taps. Max: a first kernel records each window's winning input position
// (the first maximum in window order, as in the forward and the CPU backward; -1 for a window
// without taps) in a device scratch array, and the gather adds dy of the covering windows whose
// winner is this element. Both are the CPU's results bit for bit; the launch geometry depends
// only on the shapes.

#include <cstdint>
#include <limits>

#include "cpu/pooling.h"
#include "cpu/window_common.h"
#include "cuda/common.cuh"
#include "cuda/kernels.h"
#include "cuda/window.cuh"

namespace corten::cuda {
namespace {

using cpu::PoolKind;
using cpu::SpatialGeom;
using cpu::window::input_index;
using cpu::window::tap_range;
using window::decode;
using window::encode;
using window::offset_of;
using window::Pos;

__device__ __forceinline__ int64_t grid_start() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_step() {
  return static_cast<int64_t>(blockDim.x) * gridDim.x;
}

// x -> y: one output element per thread and step.
template <class T, bool kMax>
__global__ void __launch_bounds__(kThreads)
    pool_kernel(SpatialGeom g, bool c_inner, int64_t total, const T* __restrict__ x,
                T* __restrict__ y) {
  for (int64_t i = grid_start(); i < total; i += grid_step()) {
    const Pos p = decode(i, g.c, g.out, c_inner);
    int64_t d0, d1, h0, h1, w0, w1;
    tap_range(g, 0, p.d, d0, d1);
    tap_range(g, 1, p.h, h0, h1);
    tap_range(g, 2, p.w, w0, w1);
    const T* xn = x + p.n * g.xs[0] + p.c * g.xs[1];
    T acc = T(0);
    bool first = true;
    for (int64_t kd = d0; kd < d1; ++kd) {
      for (int64_t kh = h0; kh < h1; ++kh) {
        const T* row =
            xn + input_index(g, 0, p.d, kd) * g.xs[2] + input_index(g, 1, p.h, kh) * g.xs[3];
        for (int64_t kw = w0; kw < w1; ++kw) {
          const T v = row[input_index(g, 2, p.w, kw) * g.xs[4]];
          if (first) {
            acc = v;
            first = false;
          } else if (kMax) {
            acc = v > acc ? v : acc;
          } else {
            acc += v;
          }
        }
      }
    }
    if (first) {
      acc = T(0);
    } else if (!kMax) {
      acc /= static_cast<T>((d1 - d0) * (h1 - h0) * (w1 - w0));
    }
    y[offset_of(p, g.ys)] = acc;
  }
}

// x -> win: for each window (in decode order over the outputs), the spatial index
// (d * in[1] + h) * in[2] + w of its first maximum, -1 when it has no in-bounds tap.
template <class T, class Idx>
__global__ void __launch_bounds__(kThreads)
    pool_argmax_kernel(SpatialGeom g, bool c_inner, int64_t total, const T* __restrict__ x,
                       Idx* __restrict__ win) {
  for (int64_t i = grid_start(); i < total; i += grid_step()) {
    const Pos p = decode(i, g.c, g.out, c_inner);
    int64_t d0, d1, h0, h1, w0, w1;
    tap_range(g, 0, p.d, d0, d1);
    tap_range(g, 1, p.h, h0, h1);
    tap_range(g, 2, p.w, w0, w1);
    const T* xn = x + p.n * g.xs[0] + p.c * g.xs[1];
    T best = T(0);
    Idx at = -1;
    for (int64_t kd = d0; kd < d1; ++kd) {
      const int64_t id = input_index(g, 0, p.d, kd);
      for (int64_t kh = h0; kh < h1; ++kh) {
        const int64_t ih = input_index(g, 1, p.h, kh);
        for (int64_t kw = w0; kw < w1; ++kw) {
          const int64_t iw = input_index(g, 2, p.w, kw);
          const T v = xn[id * g.xs[2] + ih * g.xs[3] + iw * g.xs[4]];
          if (at < 0 || v > best) {
            best = v;
            at = static_cast<Idx>((id * g.in[1] + ih) * g.in[2] + iw);
          }
        }
      }
    }
    win[i] = at;
  }
}

// The outputs [o0, o1] along `axis` whose windows may hold input coordinate i (a tap lands on
// it when (i + pad - o * stride) is a multiple of the dilation: covers()).
__device__ __forceinline__ void covering(const SpatialGeom& g, int axis, int64_t i, int64_t& o0,
                                         int64_t& o1) {
  const int64_t s = g.stride[axis];
  const int64_t top = i + g.pad[axis];  // >= 0
  const int64_t low = top - (g.k[axis] - 1) * g.dil[axis];
  o0 = low <= 0 ? 0 : (low + s - 1) / s;
  o1 = top / s;
  if (o1 > g.out[axis] - 1) o1 = g.out[axis] - 1;
}
__device__ __forceinline__ bool covers(const SpatialGeom& g, int axis, int64_t i, int64_t o) {
  return (i + g.pad[axis] - o * g.stride[axis]) % g.dil[axis] == 0;
}
__device__ __forceinline__ int64_t taps(const SpatialGeom& g, int axis, int64_t o) {
  int64_t t0, t1;
  tap_range(g, axis, o, t0, t1);
  return t1 - t0;
}

// dy (and win for max) -> dx: one dx element per thread and step (Note [CUDA pooling backward]).
template <class T, bool kMax, class Idx>
__global__ void __launch_bounds__(kThreads)
    pool_backward_kernel(SpatialGeom g, bool c_inner, int64_t total, const Idx* __restrict__ win,
                         const T* __restrict__ dy, T* __restrict__ dx) {
  for (int64_t i = grid_start(); i < total; i += grid_step()) {
    const Pos p = decode(i, g.c, g.in, c_inner);
    const Idx self = static_cast<Idx>((p.d * g.in[1] + p.h) * g.in[2] + p.w);
    int64_t od0, od1, oh0, oh1, ow0, ow1;
    covering(g, 0, p.d, od0, od1);
    covering(g, 1, p.h, oh0, oh1);
    covering(g, 2, p.w, ow0, ow1);
    const T* dyn = dy + p.n * g.ys[0] + p.c * g.ys[1];
    T acc = T(0);
    for (int64_t od = od0; od <= od1; ++od) {
      if (!covers(g, 0, p.d, od)) continue;
      for (int64_t oh = oh0; oh <= oh1; ++oh) {
        if (!covers(g, 1, p.h, oh)) continue;
        for (int64_t ow = ow0; ow <= ow1; ++ow) {
          if (!covers(g, 2, p.w, ow)) continue;
          const T gv = dyn[od * g.ys[2] + oh * g.ys[3] + ow * g.ys[4]];
          if constexpr (kMax) {
            const Pos o{p.n, p.c, od, oh, ow};
            if (win[encode(o, g.c, g.out, c_inner)] == self) acc += gv;
          } else {
            const int64_t count = taps(g, 0, od) * taps(g, 1, oh) * taps(g, 2, ow);
            acc += gv / static_cast<T>(count);
          }
        }
      }
    }
    dx[offset_of(p, g.xs)] = acc;
  }
}

int64_t outputs_of(const SpatialGeom& g) { return g.n * g.c * g.out[0] * g.out[1] * g.out[2]; }
int64_t inputs_of(const SpatialGeom& g) { return g.n * g.c * g.in[0] * g.in[1] * g.in[2]; }

template <class T>
void run_pool(PoolKind kind, const SpatialGeom& g, const T* x, T* y) {
  const int64_t total = outputs_of(g);
  const bool c_inner = g.ys[1] == 1;
  const dim3 grid(blocks_for(total, kThreads)), block(kThreads);
  if (kind == PoolKind::Max) {
    launch("max_pool", &pool_kernel<T, true>, grid, block, 0, g, c_inner, total, x, y);
  } else {
    launch("avg_pool", &pool_kernel<T, false>, grid, block, 0, g, c_inner, total, x, y);
  }
}

template <class T, class Idx>
void run_max_pool_backward(const SpatialGeom& g, const T* x, const T* dy, T* dx) {
  const bool c_inner = g.xs[1] == 1;
  const int64_t outputs = outputs_of(g), inputs = inputs_of(g);
  DeviceScratch win(static_cast<size_t>(outputs) * sizeof(Idx), "max_pool_backward");
  launch("max_pool_backward", &pool_argmax_kernel<T, Idx>, dim3(blocks_for(outputs, kThreads)),
         dim3(kThreads), 0, g, c_inner, outputs, x, win.as<Idx>());
  launch("max_pool_backward", &pool_backward_kernel<T, true, Idx>,
         dim3(blocks_for(inputs, kThreads)), dim3(kThreads), 0, g, c_inner, inputs,
         win.as<const Idx>(), dy, dx);
}

template <class T>
void run_pool_backward(PoolKind kind, const SpatialGeom& g, const T* x, const T* dy, T* dx) {
  if (kind == PoolKind::Max) {
    // Window winners as int32 where every spatial index fits.
    if (g.in[0] * g.in[1] * g.in[2] <= std::numeric_limits<int32_t>::max()) {
      run_max_pool_backward<T, int32_t>(g, x, dy, dx);
    } else {
      run_max_pool_backward<T, int64_t>(g, x, dy, dx);
    }
    return;
  }
  const int64_t inputs = inputs_of(g);
  launch("avg_pool_backward", &pool_backward_kernel<T, false, int32_t>,
         dim3(blocks_for(inputs, kThreads)), dim3(kThreads), 0, g, g.xs[1] == 1, inputs,
         static_cast<const int32_t*>(nullptr), dy, dx);
}

}  // namespace

void pool(DType dtype, PoolKind kind, const SpatialGeom& g, const void* x, void* y) {
  if (dtype == DType::Float64) {
    run_pool(kind, g, static_cast<const double*>(x), static_cast<double*>(y));
  } else {
    run_pool(kind, g, static_cast<const float*>(x), static_cast<float*>(y));
  }
}

void pool_backward(DType dtype, PoolKind kind, const SpatialGeom& g, const void* x, const void* dy,
                   void* dx) {
  if (dtype == DType::Float64) {
    run_pool_backward(kind, g, static_cast<const double*>(x), static_cast<const double*>(dy),
                      static_cast<double*>(dx));
  } else {
    run_pool_backward(kind, g, static_cast<const float*>(x), static_cast<const float*>(dy),
                      static_cast<float*>(dx));
  }
}

}  // namespace corten::cuda
