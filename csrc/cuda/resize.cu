// CUDA kernels of resize (nearest neighbour and n-linear over 1, 2 or 3 spatial dimensions, with
// TensorFlow's align_corners and half_pixel_centers rules) and its backward, with the CPU
// kernels' signatures (csrc/cpu/pooling.h). Operands are device pointers described by the
// SpatialGeom of Note [Spatial geometry] (element strides for channels_last or channels_first).
// Callers have validated shapes; float32 and float64.
//
// Forward: one thread per output element (a grid-stride loop, channels the fastest index for
// channels_last data). The coordinate maps and the interpolation formulas are those of
// cpu/resize_math.h, which the CPU kernels use too, so the results are the CPU's bit for bit.
//
// Note [CUDA resize backward]
// The backward gathers: one thread per dx element, so that no floating-point atomics are
// needed and every sum has a fixed order. The outputs whose interpolation reads input i along
// an axis are those with lo(o) <= i <= hi(o); lo and hi never decrease with o, so they form a
// contiguous range [begin(i), end(i)), found by binary search in a small first kernel and kept
// in device scratch (begin and end of every input coordinate of the three axes). The gather
// then visits the outputs of the three ranges in output order (od, oh, ow) and, within one
// output, its corners in the CPU kernel's order (the d planes low then high; top-left,
// top-right, bottom-left, bottom-right), adding the share of each corner that is this element,
// starting from 0: the same additions in the same order as the CPU kernel's scatter, so the
// results are the CPU's bit for bit.

#include <cstdint>

#include "cpu/pooling.h"
#include "cpu/resize_math.h"
#include "cuda/common.cuh"
#include "cuda/kernels.h"
#include "cuda/window.cuh"

namespace corten::cuda {
namespace {

using cpu::ResizeSpec;
using cpu::SpatialGeom;
using cpu::resize_math::high_share;
using cpu::resize_math::lerp;
using cpu::resize_math::low_share;
using cpu::resize_math::Tap;
using window::decode;
using window::offset_of;
using window::Pos;

// The output-to-input scales of the three axes (resize_math::scale, computed on the host).
struct Scales {
  float s[3];
};

Scales scales_of(const ResizeSpec& spec, const SpatialGeom& g) {
  Scales sc{};
  for (int a = 0; a < 3; ++a)
    sc.s[a] = cpu::resize_math::scale(g.in[a], g.out[a], spec.align_corners);
  return sc;
}

__device__ __forceinline__ Tap tap_of(const ResizeSpec& spec, const Scales& sc,
                                      const SpatialGeom& g, int axis, int64_t o) {
  return cpu::resize_math::tap(spec, sc.s[axis], g.in[axis], o);
}

__device__ __forceinline__ int64_t grid_start() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_step() {
  return static_cast<int64_t>(blockDim.x) * gridDim.x;
}

// x -> y: one output element per thread and step.
template <class T>
__global__ void __launch_bounds__(kThreads)
    resize_kernel(ResizeSpec spec, Scales sc, SpatialGeom g, bool c_inner, int64_t total,
                  const T* __restrict__ x, T* __restrict__ y) {
  for (int64_t i = grid_start(); i < total; i += grid_step()) {
    const Pos p = decode(i, g.c, g.out, c_inner);
    const Tap td = tap_of(spec, sc, g, 0, p.d), th = tap_of(spec, sc, g, 1, p.h),
              tw = tap_of(spec, sc, g, 2, p.w);
    const T* xn = x + p.n * g.xs[0] + p.c * g.xs[1];
    auto at = [&](int64_t d, int64_t h, int64_t w) {
      return xn[d * g.xs[2] + h * g.xs[3] + w * g.xs[4]];
    };
    T v;
    if (!spec.linear) {
      v = at(td.lo, th.lo, tw.lo);
    } else {
      const T lw = static_cast<T>(tw.lerp), lh = static_cast<T>(th.lerp),
              ld = static_cast<T>(td.lerp);
      auto plane = [&](int64_t d) {
        return lerp(lerp(at(d, th.lo, tw.lo), at(d, th.lo, tw.hi), lw),
                    lerp(at(d, th.hi, tw.lo), at(d, th.hi, tw.hi), lw), lh);
      };
      const T p0 = plane(td.lo);
      v = td.lo != td.hi ? lerp(p0, plane(td.hi), ld) : p0;
    }
    y[offset_of(p, g.ys)] = v;
  }
}

// Fills range[] with begin(i) and end(i) (Note [CUDA resize backward]) of every input
// coordinate: axis a's begins at base[a], its ends at base[a] + in[a].
__global__ void __launch_bounds__(kThreads)
    resize_ranges_kernel(ResizeSpec spec, Scales sc, SpatialGeom g, int64_t total,
                         int64_t* __restrict__ range) {
  for (int64_t j = grid_start(); j < total; j += grid_step()) {
    int axis = 0;
    int64_t i = j, base = 0;
    while (i >= g.in[axis]) {
      i -= g.in[axis];
      base += 2 * g.in[axis];
      ++axis;
    }
    // begin: the first o with hi(o) >= i; end: the first o with lo(o) > i.
    int64_t lo = 0, hi = g.out[axis];
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (tap_of(spec, sc, g, axis, mid).hi >= i)
        hi = mid;
      else
        lo = mid + 1;
    }
    range[base + i] = lo;
    hi = g.out[axis];
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (tap_of(spec, sc, g, axis, mid).lo > i)
        hi = mid;
      else
        lo = mid + 1;
    }
    range[base + g.in[axis] + i] = lo;
  }
}

// dy -> dx: one dx element per thread and step (Note [CUDA resize backward]).
template <class T>
__global__ void __launch_bounds__(kThreads)
    resize_backward_kernel(ResizeSpec spec, Scales sc, SpatialGeom g, bool c_inner, int64_t total,
                           const int64_t* __restrict__ range, const T* __restrict__ dy,
                           T* __restrict__ dx) {
  const int64_t base1 = 2 * g.in[0], base2 = base1 + 2 * g.in[1];
  for (int64_t i = grid_start(); i < total; i += grid_step()) {
    const Pos p = decode(i, g.c, g.in, c_inner);
    const int64_t od0 = range[p.d], od1 = range[g.in[0] + p.d];
    const int64_t oh0 = range[base1 + p.h], oh1 = range[base1 + g.in[1] + p.h];
    const int64_t ow0 = range[base2 + p.w], ow1 = range[base2 + g.in[2] + p.w];
    const T* dyn = dy + p.n * g.ys[0] + p.c * g.ys[1];
    T acc = T(0);
    for (int64_t od = od0; od < od1; ++od) {
      const Tap td = tap_of(spec, sc, g, 0, od);
      const T ld = static_cast<T>(td.lerp);
      for (int64_t oh = oh0; oh < oh1; ++oh) {
        const Tap th = tap_of(spec, sc, g, 1, oh);
        const T lh = static_cast<T>(th.lerp);
        for (int64_t ow = ow0; ow < ow1; ++ow) {
          const Tap tw = tap_of(spec, sc, g, 2, ow);
          const T gv = dyn[od * g.ys[2] + oh * g.ys[3] + ow * g.ys[4]];
          if (!spec.linear) {
            if (td.lo == p.d && th.lo == p.h && tw.lo == p.w) acc += gv;
            continue;
          }
          const T lw = static_cast<T>(tw.lerp);
          // The corners of one d plane that receive gradient pg, in the CPU kernel's order.
          auto plane = [&](T pg) {
            const T dtop = low_share(pg, lh), dbottom = high_share(pg, lh);
            if (th.lo == p.h) {
              if (tw.lo == p.w) acc += low_share(dtop, lw);
              if (tw.hi == p.w) acc += high_share(dtop, lw);
            }
            if (th.hi == p.h) {
              if (tw.lo == p.w) acc += low_share(dbottom, lw);
              if (tw.hi == p.w) acc += high_share(dbottom, lw);
            }
          };
          if (td.lo != td.hi) {
            if (td.lo == p.d) plane(low_share(gv, ld));
            if (td.hi == p.d) plane(high_share(gv, ld));
          } else if (td.lo == p.d) {
            plane(gv);
          }
        }
      }
    }
    dx[offset_of(p, g.xs)] = acc;
  }
}

template <class T>
void run_resize(const ResizeSpec& spec, const SpatialGeom& g, const T* x, T* y) {
  const int64_t total = g.n * g.c * g.out[0] * g.out[1] * g.out[2];
  launch("resize", &resize_kernel<T>, dim3(blocks_for(total, kThreads)), dim3(kThreads), 0, spec,
         scales_of(spec, g), g, g.ys[1] == 1, total, x, y);
}

template <class T>
void run_resize_backward(const ResizeSpec& spec, const SpatialGeom& g, const T* dy, T* dx) {
  const int64_t total = g.n * g.c * g.in[0] * g.in[1] * g.in[2];
  if (total == 0) return;
  const Scales sc = scales_of(spec, g);
  const int64_t coords = g.in[0] + g.in[1] + g.in[2];
  DeviceScratch range(static_cast<size_t>(2 * coords) * sizeof(int64_t), "resize_backward");
  launch("resize_backward", &resize_ranges_kernel, dim3(blocks_for(coords, kThreads)),
         dim3(kThreads), 0, spec, sc, g, coords, range.as<int64_t>());
  launch("resize_backward", &resize_backward_kernel<T>, dim3(blocks_for(total, kThreads)),
         dim3(kThreads), 0, spec, sc, g, g.xs[1] == 1, total, range.as<const int64_t>(), dy, dx);
}

}  // namespace

void resize(DType dtype, const ResizeSpec& spec, const SpatialGeom& g, const void* x, void* y) {
  if (dtype == DType::Float64) {
    run_resize(spec, g, static_cast<const double*>(x), static_cast<double*>(y));
  } else {
    run_resize(spec, g, static_cast<const float*>(x), static_cast<float*>(y));
  }
}

void resize_backward(DType dtype, const ResizeSpec& spec, const SpatialGeom& g, const void* dy,
                     void* dx) {
  if (dtype == DType::Float64) {
    run_resize_backward(spec, g, static_cast<const double*>(dy), static_cast<double*>(dx));
  } else {
    run_resize_backward(spec, g, static_cast<const float*>(dy), static_cast<float*>(dx));
  }
}

}  // namespace corten::cuda
