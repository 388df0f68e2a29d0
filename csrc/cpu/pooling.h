#pragma once
// CPU kernels of the sliding-window ops over 1, 2 or 3 spatial dimensions: max and average
// pooling, depthwise convolution, and resizing (nearest and n-linear), forward and backward.
//
// Note [Spatial geometry]
// The entry points (csrc/ops/pooling.cpp) describe every input as five-dimensional: batch,
// channels and three spatial dimensions (D, H, W). A 1-D or 2-D input gets leading spatial
// dimensions of size 1 (window 1, stride 1, no padding), so one kernel serves every rank. The
// layout (channels_last or channels_first) is carried by the element strides `xs` and `ys`
// (order: n, c, d, h, w), so no transpose is made. The kernels loop over channels innermost:
// contiguous (vectorised) for channels_last, strided for channels_first.
//
// Note [Window kernels: fast and reference]
// Every kernel has a plain reference beside it (one output element or channel at a time,
// every tap checked against the bounds). The fast kernels clip the tap ranges once per output
// position and run the channel loop innermost; the depthwise ones are compiled per ISA
// (cpu/depthwise_kernels.inc) and hold a row of channels-last outputs in registers. The
// reference runs when the CPU ISA level is 'baseline' (corten.config.set_cpu_isa), so the op
// tests, which run under every level, check both against numpy, and a test compares them.
// Direct kernels, not GEMM: a depthwise or pooling window has no reduction over channels, so
// each output is 9 (3x3) multiply-adds per channel; the work is bound by loads, and a
// channels-last row keeps every load a whole vector (bench: ops/DepthwiseConv2D).
//
// Note [Deterministic window backward]
// Backward kernels scatter into dx (windows overlap). Work is split over (image, channel block)
// pairs, so one task owns every write to its part of dx and each element's sum runs in one
// fixed order (output positions, then taps) on any thread count. The fast depthwise dx of
// channels-last data gathers instead (each dx element summed once, over its taps in window
// order, rows of the input in parallel). The depthwise filter gradient sums per fixed group of
// images into its own buffer, then adds the groups in order: the result does not depend on the
// number of threads.

#include <corten/dtype.h>
#include <corten/half.h>

#include <cstdint>

namespace corten::cpu {

/// The five-dimensional description of a sliding-window op (Note [Spatial geometry]).
struct SpatialGeom {
  int64_t n = 0;  // batch
  int64_t c = 0;  // input channels
  int64_t m = 1;  // depthwise: output channels per input channel (y has c * m channels)
  int64_t in[3] = {1, 1, 1};
  int64_t out[3] = {1, 1, 1};
  int64_t k[3] = {1, 1, 1};       // window
  int64_t stride[3] = {1, 1, 1};
  int64_t dil[3] = {1, 1, 1};
  int64_t pad[3] = {0, 0, 0};     // padding before the first element ('same')
  int64_t xs[5] = {0, 0, 0, 0, 0};  // element strides of x (and dx): n, c, d, h, w
  int64_t ys[5] = {0, 0, 0, 0, 0};  // element strides of y (and dy); c counts y's channels
};

enum class PoolKind : int { Max = 0, Avg = 1 };

// x -> y. Max ignores padded positions; average divides by the number of non-padded elements
// in each window (TensorFlow's 'same' average pooling).
void pool(DType dtype, PoolKind kind, const SpatialGeom& g, const void* x, void* y);
// dy -> dx (dx is fully written). Max routes each gradient to the first maximum of its window
// (window order d, h, w), recomputed from x; average spreads dy / count over the window.
void pool_backward(DType dtype, PoolKind kind, const SpatialGeom& g, const void* x,
                   const void* dy, void* dx);

// Note [bfloat16 max pooling]
// A window's maximum is one of its values, so bfloat16 max pooling compares the values as
// float32 and copies the winner's bits: the same result as widening, pooling in float32 and
// rounding (Note [Half-precision compute]), without the two tensors. Its backward is exact too
// when no input element lies in two windows (every stride at least its window): each dx
// element then receives one gradient or none. The entry point (ops/pooling.cpp) takes these
// kernels only then, on the CPU; average pooling and overlapping windows widen.
// tests/python/ops/test_pooling_bf16.py compares them with the float32 kernels bit for bit.
void max_pool_bf16(const SpatialGeom& g, const bfloat16* x, bfloat16* y);
// Precondition: no x element in two windows. dx is fully written.
void max_pool_bf16_backward(const SpatialGeom& g, const bfloat16* x, const bfloat16* dy,
                            bfloat16* dx);

// x: c channels, w: (k0, k1, k2, c, m) contiguous, b: (c * m,) or null -> y: c * m channels,
// y[.., ci * m + j] = b + sum over taps of x[.., ci] * w[tap, ci, j].
void depthwise_conv(DType dtype, const SpatialGeom& g, const void* x, const void* w,
                    const void* b, void* y);
// dy, w -> dx (fully written).
void depthwise_conv_backward_input(DType dtype, const SpatialGeom& g, const void* w,
                                   const void* dy, void* dx);
// x, dy -> dw (k0, k1, k2, c, m) and db (c * m,) when non-null (fully written).
void depthwise_conv_backward_filter(DType dtype, const SpatialGeom& g, const void* x,
                                    const void* dy, void* dw, void* db);

/// How a resize maps output to input coordinates (TensorFlow's resize kernels).
struct ResizeSpec {
  bool linear = false;        // false: nearest neighbour; true: (bi/tri)linear
  bool align_corners = false;
  bool half_pixel_centers = true;
};

// x (in[]) -> y (out[]); g.k, stride, dil and pad are unused.
void resize(DType dtype, const ResizeSpec& spec, const SpatialGeom& g, const void* x, void* y);
// dy (out[]) -> dx (in[]), fully written.
void resize_backward(DType dtype, const ResizeSpec& spec, const SpatialGeom& g, const void* dy,
                     void* dx);

}  // namespace corten::cpu
