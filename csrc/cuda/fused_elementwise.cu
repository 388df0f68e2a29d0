// CUDA kernel of a fused group of elementwise ops (Note [Pointwise fusion] in
// csrc/trace/fusion.cpp), with the CPU kernel's signature (csrc/cpu/fused_elementwise.h).
//
// Note [CUDA fused elementwise]
// The CPU kernel runs the program a tile at a time so that intermediates stay in L1; on the GPU
// each thread runs the whole program for its elements, so intermediates stay in registers and
// only the stored values are written: one read of each input and one write of each output per
// element, where the unfused ops would make one pass each. The program (at most kMaxGroup = 24
// instructions, Note [Pointwise fusion]) and its operands are too large for kernel parameters,
// so the host writes them as one FusedDesc into device scratch memory (a small host-to-device
// copy on the kernel's stream) and every thread reads it from there (it stays in L1/L2). Each
// instruction is a switch over the elementwise op table calling the functors of
// cuda/elementwise_functors.cuh, so every element gets exactly the arithmetic of the unfused
// CUDA kernels (Note [CUDA elementwise accuracy]): bit for bit the CPU's baseline kernels for the
// exact ops, within CUDA's math-library bounds for the transcendental ones. Strided inputs
// decode their own offsets (each merges its dimensions independently; merging keeps the C-order
// mapping from the linear index).

#include <corten/ops/elementwise_ops.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cpu/fused_elementwise.h"
#include "cuda/common.cuh"
#include "cuda/elementwise_functors.cuh"

namespace corten::cuda {
namespace {

using namespace functors;

constexpr int kMaxCode = 32;     // >= kMaxGroup of the fusion pass
constexpr int kMaxInputs = 64;   // at most two per instruction
constexpr int kMaxOutputs = 32;  // at most one per instruction

enum InputKind : int32_t { kContiguous = 0, kScalar = 1, kStrided = 2 };

struct Instr {
  int32_t binary, op, a, b;
  double alpha;
};

template <class T>
struct FusedDesc {
  int32_t n_code, n_in, n_out;
  Instr code[kMaxCode];
  int32_t stores[kMaxOutputs];
  const T* in[kMaxInputs];
  int32_t kind[kMaxInputs];
  Indexer<1> index[kMaxInputs];
  T* out[kMaxOutputs];
};

template <class T>
__device__ __forceinline__ T eval_unary(int op, T x, T alpha) {
  switch (static_cast<UnaryOp>(op)) {
#define CORTEN_FUSED_UNARY_(Name, ...)                                   \
  case UnaryOp::Name:                                                    \
    if constexpr (accepts(op_info(UnaryOp::Name).accepts, dtype_of<T>::value)) { \
      return static_cast<T>(Name##F::f(x, alpha));                       \
    }                                                                    \
    break;
    CORTEN_UNARY_OPS(CORTEN_FUSED_UNARY_)
#undef CORTEN_FUSED_UNARY_
    default:
      break;
  }
  return x;  // the fusion pass only admits ops of the input dtype
}

template <class T>
__device__ __forceinline__ T eval_binary(int op, T x, T y) {
  switch (static_cast<BinaryOp>(op)) {
#define CORTEN_FUSED_BINARY_(Name, ...)                                                    \
  case BinaryOp::Name:                                                                     \
    if constexpr (accepts(op_info(BinaryOp::Name).accepts, dtype_of<T>::value) &&                 \
                  !op_info(BinaryOp::Name).returns_bool) {                                 \
      return Name##F::f(x, y);                                                             \
    }                                                                                      \
    break;
    CORTEN_BINARY_OPS(CORTEN_FUSED_BINARY_)
#undef CORTEN_FUSED_BINARY_
    default:
      break;
  }
  return x;
}

// Operand r of element i: register r, or program input -1 - r.
template <class T>
__device__ __forceinline__ T operand(const FusedDesc<T>* desc, const T* reg, int32_t r,
                                     int64_t i) {
  if (r >= 0) return reg[r];
  const int k = -1 - r;
  switch (desc->kind[k]) {
    case kContiguous:
      return desc->in[k][i];
    case kScalar:
      return desc->in[k][0];
    default:
      return desc->in[k][desc->index[k].offset(i)];
  }
}

template <class T>
__global__ void __launch_bounds__(kThreads)
    fused_kernel(const FusedDesc<T>* __restrict__ desc, int64_t n) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  const int n_code = desc->n_code, n_out = desc->n_out;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    T reg[kMaxCode];  // register c is written by instruction c before any later one reads it
    for (int c = 0; c < n_code; ++c) {
      const Instr& in = desc->code[c];
      const T x = operand(desc, reg, in.a, i);
      reg[c] = in.binary ? eval_binary<T>(in.op, x, operand(desc, reg, in.b, i))
                         : eval_unary<T>(in.op, x, static_cast<T>(in.alpha));
    }
    for (int k = 0; k < n_out; ++k) desc->out[k][i] = reg[desc->stores[k]];
  }
}

template <class T>
void run_fused(const cpu::FusedProgram& p, const Shape& shape,
               const std::vector<cpu::FusedInput>& inputs, void* const* outputs) {
  const char* op = "fused_elementwise";
  const int64_t n = shape_numel(shape);
  if (n == 0 || p.stores.empty()) return;
  CORTEN_CHECK_VALUE(p.code.size() <= kMaxCode && inputs.size() <= kMaxInputs &&
                         p.stores.size() <= kMaxOutputs,
                     op, ": the CUDA kernel takes at most ", kMaxCode, " instructions, ",
                     kMaxInputs, " inputs and ", kMaxOutputs, " outputs; got ", p.code.size(),
                     ", ", inputs.size(), " and ", p.stores.size());
  auto desc = std::make_unique<FusedDesc<T>>();
  desc->n_code = static_cast<int32_t>(p.code.size());
  desc->n_in = static_cast<int32_t>(inputs.size());
  desc->n_out = static_cast<int32_t>(p.stores.size());
  for (size_t c = 0; c < p.code.size(); ++c) {
    const cpu::FusedInstr& in = p.code[c];
    desc->code[c] = {in.binary ? 1 : 0, in.op, in.a, in.b, in.alpha};
  }
  for (size_t k = 0; k < p.stores.size(); ++k) {
    desc->stores[k] = p.stores[k];
    desc->out[k] = static_cast<T*>(outputs[k]);
  }
  const Shape dims = all_dims(shape.size());
  for (size_t k = 0; k < inputs.size(); ++k) {
    const cpu::FusedInput& in = inputs[k];
    desc->in[k] = static_cast<const T*>(in.data);
    if (in.scalar) {
      desc->kind[k] = kScalar;
    } else if (in.strides.empty()) {
      desc->kind[k] = kContiguous;
    } else {
      desc->kind[k] = kStrided;
      const Shape strides(in.strides.begin(), in.strides.end());
      desc->index[k] = make_indexer<1>(op, shape, {&strides}, dims);
    }
  }
  DeviceScratch scratch(sizeof(FusedDesc<T>), op);
  auto* dev = scratch.as<FusedDesc<T>>();
  // Pageable memory is staged before the call returns, so `desc` may go once it has.
  const cudaError_t err = cudaMemcpyAsync(dev, desc.get(), sizeof(FusedDesc<T>),
                                          cudaMemcpyHostToDevice, current_stream());
  if (err != cudaSuccess) throw_cuda_error("fused_elementwise: program copy", err, __FILE__, __LINE__);
  launch(op, &fused_kernel<T>, dim3(blocks_for(n, kThreads)), dim3(kThreads), 0,
         static_cast<const FusedDesc<T>*>(dev), n);
}

}  // namespace

void fused_elementwise(const cpu::FusedProgram& p, DType dtype, const std::vector<int64_t>& shape,
                       const std::vector<cpu::FusedInput>& inputs, void* const* outputs) {
  // The fusion pass ends groups with a row reduction only in plans traced on the CPU.
  if (p.reduce >= 0) throw ValueError("fused_elementwise: row reductions run on the CPU only");
  if (dtype == DType::Float32) return run_fused<float>(p, shape, inputs, outputs);
  if (dtype == DType::Float64) return run_fused<double>(p, shape, inputs, outputs);
  throw TypeError(std::string("fused_elementwise: the CUDA kernel has no ") + dtype_name(dtype) +
                  " variant");
}

}  // namespace corten::cuda
