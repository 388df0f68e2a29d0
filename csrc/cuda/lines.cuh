#pragma once
// Launch geometry and group reductions of the CUDA line kernels: softmax, the softmax
// cross-entropies and argmax/argmin (csrc/cuda/softmax.cu, losses.cu, arg_reduce.cu), which
// each reduce lines of n elements along one axis.
//
// Note [CUDA line kernels]
// A line is reduced in one of two ways, chosen on the host from the shapes and strides only:
// - rows: a group of threads per line, a power of two from 32 (one warp) to kMaxGroup, about
//   kPerThread elements per thread (group_size). Thread k of the group takes elements k,
//   k + group, ..., so consecutive threads read consecutive elements of a contiguous line.
//   Groups of one warp share a block of kLineBlock threads (kLineBlock / 32 lines per block);
//   larger groups are a whole block. Lines of at most group * kPerThread elements (every
//   line up to kMaxGroup * kPerThread) are read once: each thread keeps its elements in
//   registers between the passes of the kernel. The partial results are merged by group_fold: a
//   warp-shuffle tree (offsets 16, 8, 4, 2, 1), the warps' results through shared memory and a
//   second tree in the first warp, then the result is broadcast to every thread of the group.
// - lanes: when the lines lie side by side in memory (the axis is not the innermost dimension,
//   as in the CPU kernels' lane loops) and there are at least kMinLaneLines of them, one thread
//   per line walks it in index order, and a warp reads 32 neighbouring lines at once
//   (coalesced). The arithmetic is then the CPU kernel's own loop, in the same order.
// Both layouts run a grid-stride loop over the lines. The group size, the block size and the
// order of every fold depend only on the shape, so results are deterministic; no floating
// point atomics are used.
// Still to come (performance only): a few very long lines split over several blocks (one
// block per line leaves most of the GPU idle), and vector loads for contiguous lines.

#include <algorithm>
#include <cstdint>

#include "cuda/common.cuh"

/// Fully unrolls the loop that follows (register arrays indexed by its counter stay in
/// registers); nothing through the test shim.
#ifdef __CUDACC__
#define CORTEN_UNROLL _Pragma("unroll")
#else
#define CORTEN_UNROLL
#endif

namespace corten::cuda::lines {

constexpr unsigned kFullMask = 0xffffffffu;
/// Threads per block of the lanes layout and of the rows layout with one-warp groups.
constexpr int kLineBlock = 256;
/// The largest group of threads on one line.
constexpr int kMaxGroup = 512;
/// Elements per thread the group size aims at.
constexpr int64_t kPerThread = 8;
/// Fewer lines than this take the rows layout even where the lanes layout applies: one thread
/// per line would leave most of the GPU idle.
constexpr int64_t kMinLaneLines = 2048;

/// Threads that reduce one line of n elements (Note [CUDA line kernels]).
inline int group_size(int64_t n) {
  int64_t g = 32;
  while (g < kMaxGroup && g * kPerThread < n) g *= 2;
  return static_cast<int>(g);
}

/// The launch of the rows layout for `count` lines of n elements.
struct RowsLaunch {
  dim3 grid, block;
  int group;
};

inline RowsLaunch rows_launch(int64_t count, int64_t n) {
  const int group = group_size(n);
  const int per_block = group == 32 ? kLineBlock / 32 : 1;
  const int64_t blocks = std::min<int64_t>((count + per_block - 1) / per_block, kMaxBlocks);
  return {dim3(static_cast<unsigned>(blocks)), dim3(static_cast<unsigned>(group * per_block)),
          group};
}

/// The launch of the lanes layout for `count` lines.
inline dim3 lanes_grid(int64_t count) { return dim3(blocks_for(count, kLineBlock)); }

/// Where a thread of the rows layout stands: its line of the grid-stride loop, the first one
/// being first(), its rank in the group, and how far the loop steps.
struct RowsThread {
  int group;
  __device__ __forceinline__ int rank() const { return static_cast<int>(threadIdx.x) % group; }
  __device__ __forceinline__ int64_t first() const {
    return static_cast<int64_t>(blockIdx.x) * (blockDim.x / group) + threadIdx.x / group;
  }
  __device__ __forceinline__ int64_t step() const {
    return static_cast<int64_t>(gridDim.x) * (blockDim.x / group);
  }
};

template <class T>
__device__ __forceinline__ T shfl_down(T v, int offset) {
  return __shfl_down_sync(kFullMask, v, offset);
}
template <class T>
__device__ __forceinline__ T shfl_first(T v) {
  return __shfl_sync(kFullMask, v, 0);
}

// Lane 0 gets the fold of lanes [0, width) (lane l folds in lane l + offset), width a power of
// two. F::merge(a, b) takes the partial of the earlier elements first.
template <class F, class A>
__device__ __forceinline__ A warp_fold(A v, int width) {
  for (int offset = width / 2; offset > 0; offset >>= 1) v = F::merge(v, shfl_down(v, offset));
  return v;
}

/// The fold of one partial per thread of the group, returned to every thread of the group.
/// Every thread of the group calls it; a group larger than a warp is the whole block.
template <class F, class A>
__device__ A group_fold(A v, int group) {
  v = warp_fold<F>(v, 32);
  if (group > 32) {
    __shared__ A partial[32];
    const unsigned warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    if (warp == 0) {
      if (lane < static_cast<unsigned>(group / 32)) v = partial[lane];
      v = warp_fold<F>(v, group / 32);
      if (lane == 0) partial[0] = v;
    }
    __syncthreads();
    v = partial[0];
    __syncthreads();  // partial is written again by the next fold
    return v;
  }
  return shfl_first(v);
}

/// Sum of partials (float64 accumulators of float32 and float64 lines).
struct AddF {
  template <class A>
  static __device__ __forceinline__ A merge(A a, A b) {
    return a + b;
  }
};

}  // namespace corten::cuda::lines
