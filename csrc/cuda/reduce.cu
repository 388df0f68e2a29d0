// CUDA reduction kernel: reduce (sum, mean, max, min, prod, any, all, logsumexp over a set of
// axes), with the CPU kernel's signature (csrc/cpu/reduce.h). x is a device pointer with element
// strides, out is contiguous with the kept dimensions in order. Callers have validated dtypes,
// axes and sizes. Empty reductions give the op's identity, as on the CPU.
//
// Note [CUDA reductions]
// One block reduces one output at a time (a grid-stride loop over the outputs): its threads
// step through the reduced elements with a stride of blockDim.x, each folding its elements
// into an accumulator of the CPU kernel's type (float32 sums and products in float64), then
// the accumulators are merged by a warp-shuffle tree (offsets 16, 8, 4, 2, 1), the warps'
// results through shared memory and one more shuffle tree in the first warp. The block size
// depends only on the reduction length (32 to 256 threads), so the order in which elements are
// combined depends only on the shape and strides: results are deterministic, as Note
// [Deterministic reductions] asks. The order differs from the CPU kernel's, so floating sums,
// means, products and logsumexp agree with the CPU within rounding (float32 results computed in
// float64 almost always round to the same float; float64 within a few ulp times log2 of the
// length); integer results, max, min, any and all are bit for bit the CPU's.
// Still to come (performance only): several outputs per block for short reductions over many
// outputs, and vector loads for contiguous rows.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "cpu/reduce.h"
#include "cpu/reduce_functors.h"
#include "cuda/common.cuh"

namespace corten::cuda {
namespace {

using namespace cpu::reduction;  // NOLINT(google-build-using-namespace)

// ---- the kernel ------------------------------------------------------------------------

constexpr unsigned kFullMask = 0xffffffffu;

template <class T>
__device__ __forceinline__ T shfl_down(T v, int offset) {
  if constexpr (std::is_same_v<T, bool>) {
    return __shfl_down_sync(kFullMask, static_cast<int>(v), offset) != 0;
  } else {
    return __shfl_down_sync(kFullMask, v, offset);
  }
}
__device__ __forceinline__ LseAcc shfl_down(LseAcc v, int offset) {
  return {__shfl_down_sync(kFullMask, v.m, offset), __shfl_down_sync(kFullMask, v.s, offset)};
}

// Lane 0 gets the merge of the warp's 32 accumulators (lane l merges lane l + offset).
template <class Op>
__device__ __forceinline__ typename Op::Acc warp_reduce(typename Op::Acc acc) {
  for (int offset = 16; offset > 0; offset >>= 1) acc = Op::merge(acc, shfl_down(acc, offset));
  return acc;
}

// x: kept dims x reduced dims (strided) -> out: (n_out,) contiguous.
template <class Op, class T>
__global__ void __launch_bounds__(256)
    reduce_kernel(const T* __restrict__ x, Indexer<1> kept, Indexer<1> red, int64_t n_out,
                  int64_t n_red, typename Op::Out* __restrict__ out) {
  using Acc = typename Op::Acc;
  __shared__ Acc warp_acc[32];
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const unsigned nwarps = blockDim.x / 32;
  for (int64_t j = blockIdx.x; j < n_out; j += gridDim.x) {
    const T* base = x + kept.offset(j);
    Acc acc = Op::init();
    for (int64_t i = threadIdx.x; i < n_red; i += blockDim.x)
      acc = Op::step(acc, base[red.offset(i)]);
    acc = warp_reduce<Op>(acc);
    if (lane == 0) warp_acc[warp] = acc;
    __syncthreads();
    if (warp == 0) {
      acc = lane < nwarps ? warp_acc[lane] : Op::init();
      acc = warp_reduce<Op>(acc);
      if (lane == 0) out[j] = Op::finish(acc, n_red);
    }
    __syncthreads();  // warp_acc is rewritten for the next output
  }
}

template <class Op, class T>
void run_reduce(const Shape& shape, const T* x, const Shape& x_strides,
                const std::vector<uint8_t>& reduced, typename Op::Out* out) {
  Shape kept_dims, red_dims;
  int64_t n_out = 1, n_red = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (reduced[d]) {
      red_dims.push_back(static_cast<int64_t>(d));
      n_red *= shape[d];
    } else {
      kept_dims.push_back(static_cast<int64_t>(d));
      n_out *= shape[d];
    }
  }
  const std::array<const Shape*, 1> s{&x_strides};
  const Indexer<1> kept = make_indexer<1>("reduce", shape, s, kept_dims);
  const Indexer<1> red = make_indexer<1>("reduce", shape, s, red_dims);
  // Note [CUDA reductions]: the block size depends on the length only.
  const int64_t threads = std::clamp<int64_t>((n_red + 31) / 32 * 32, 32, 256);
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(n_out, kMaxBlocks));
  launch("reduce", &reduce_kernel<Op, T>, dim3(blocks), dim3(static_cast<unsigned>(threads)), 0, x,
         kept, red, n_out, n_red, out);
}

}  // namespace

void reduce(ReduceOp op, DType dtype, const Shape& shape, const void* x, const Shape& x_strides,
            const std::vector<uint8_t>& reduced, void* out) {
  auto numeric = [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xp = static_cast<const T*>(x);
    T* o = static_cast<T*>(out);
    switch (op) {
      case ReduceOp::Sum:
        return run_reduce<SumF<T>>(shape, xp, x_strides, reduced, o);
      case ReduceOp::Mean:
        return run_reduce<MeanF<T>>(shape, xp, x_strides, reduced, o);
      case ReduceOp::Max:
        return run_reduce<MaxF<T>>(shape, xp, x_strides, reduced, o);
      case ReduceOp::Min:
        return run_reduce<MinF<T>>(shape, xp, x_strides, reduced, o);
      case ReduceOp::Prod:
        return run_reduce<ProdF<T>>(shape, xp, x_strides, reduced, o);
      case ReduceOp::LogSumExp:
        if constexpr (std::is_floating_point_v<T>) {
          return run_reduce<LogSumExpF<T>>(shape, xp, x_strides, reduced, o);
        }
        break;
      default:
        break;
    }
    throw TypeError(std::string(reduce_op_name(op)) + ": the CUDA kernel has no " +
                    dtype_name(dtype) + " variant");
  };
  switch (dtype) {
    case DType::Bool: {
      const bool* xp = static_cast<const bool*>(x);
      bool* o = static_cast<bool*>(out);
      if (op == ReduceOp::Any) return run_reduce<AnyF>(shape, xp, x_strides, reduced, o);
      if (op == ReduceOp::All) return run_reduce<AllF>(shape, xp, x_strides, reduced, o);
      throw TypeError(std::string(reduce_op_name(op)) + ": the CUDA kernel has no bool variant");
    }
    case DType::Int32:
      return numeric(TypeTag<int32_t>{});
    case DType::Int64:
      return numeric(TypeTag<int64_t>{});
    case DType::Float32:
      return numeric(TypeTag<float>{});
    case DType::Float64:
      return numeric(TypeTag<double>{});
    case DType::String:
    case DType::Float16:
    case DType::BFloat16:
      break;
  }
  throw TypeError("reduce: unknown dtype");
}

}  // namespace corten::cuda
