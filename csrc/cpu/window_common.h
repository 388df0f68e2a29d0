#pragma once
// Helpers shared by the sliding-window kernels (pooling.cpp, depthwise.cpp); tap_range and
// input_index also serve the CUDA ones (cuda/pooling.cu), so both walk a window the same way.

#include <corten/cpu_features.h>

#include <algorithm>
#include <cstdint>

#include "cpu/host_device.h"
#include "cpu/pooling.h"

namespace corten::cpu::window {

/// The taps t in [t0, t1) of one window axis with 0 <= o * stride - pad + t * dil < in.
CORTEN_HD inline void tap_range(const SpatialGeom& g, int axis, int64_t o, int64_t& t0,
                                int64_t& t1) {
  const int64_t base = o * g.stride[axis] - g.pad[axis];
  const int64_t dil = g.dil[axis], in = g.in[axis];
  t0 = base >= 0 ? 0 : (-base + dil - 1) / dil;
  t1 = base >= in ? 0 : std::min<int64_t>(g.k[axis], (in - base + dil - 1) / dil);
  if (t0 > t1) t0 = t1;
}

/// The input coordinate of tap t of output o along one axis (may be out of bounds).
CORTEN_HD inline int64_t input_index(const SpatialGeom& g, int axis, int64_t o, int64_t t) {
  return o * g.stride[axis] - g.pad[axis] + t * g.dil[axis];
}

/// Note [Window kernels: fast and reference]: the plain kernels run at the 'baseline' level.
inline bool use_reference() { return cpu_isa() == CpuIsa::Baseline; }

/// Channels per backward task (Note [Deterministic window backward]): a vector's worth.
constexpr int64_t kChannelBlock = 16;

/// Calls fn(T{}) for float32 or float64 (the entry points admit nothing else).
template <class Fn>
void dispatch_floating(DType dtype, Fn&& fn) {
  if (dtype == DType::Float64) fn(double{});
  else fn(float{});
}

}  // namespace corten::cpu::window

namespace corten::cpu {

/// The depthwise kernels of one ISA level (fast: cpu/depthwise_kernels.inc).
struct DepthwiseTable {
  decltype(&depthwise_conv) forward;
  decltype(&depthwise_conv_backward_input) backward_input;
  decltype(&depthwise_conv_backward_filter) backward_filter;
};

/// The plain reference kernels (depthwise.cpp), run at the 'baseline' level.
const DepthwiseTable& reference_depthwise_table();
namespace avx2 {
const DepthwiseTable& depthwise_table();
}
namespace avx512 {
const DepthwiseTable& depthwise_table();
}

}  // namespace corten::cpu
