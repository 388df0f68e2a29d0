#pragma once
// The kernel of a fused group of elementwise ops (Note [Pointwise fusion] in
// csrc/trace/fusion.cpp): a short program of unary and binary ops of the elementwise table,
// evaluated tile by tile so that its intermediates never leave L1.

#include <corten/dtype.h>
#include <corten/ops/elementwise_ops.h>

#include <cstdint>
#include <vector>

namespace corten::cpu {

/// One instruction: its result is register `i` (its index in the program). An operand >= 0 is
/// the register of an earlier instruction, < 0 the program input -1 - operand.
struct FusedInstr {
  bool binary = false;
  uint8_t op = 0;  // UnaryOp or BinaryOp, with a result of the input dtype
  double alpha = 0.0;
  int32_t a = 0, b = 0;
};

struct FusedProgram {
  std::vector<FusedInstr> code;
  std::vector<int32_t> stores;  // the registers written to the outputs, in output order
  int32_t num_inputs = 0;
  // A register whose rows (the last axis) are summed, or averaged with reduce_mean, into one
  // more output after the stores; -1 for none (Note [Row reductions in fused nodes] in
  // trace/fusion.cpp).
  int32_t reduce = -1;
  bool reduce_mean = false;
};

/// How program input k is read over the program's shape: a contiguous array of its elements
/// (`strides` empty), one element for every position (`scalar`), or elements at `strides`
/// (one per dimension of the shape, 0 where the input is broadcast).
struct FusedInput {
  const void* data = nullptr;
  bool scalar = false;
  std::vector<int64_t> strides;
};

/// Runs `p` over the elements of `shape` in `dtype` (float32 or float64); outputs are
/// contiguous arrays of that shape, then, when p.reduce >= 0, the contiguous row results
/// (shape without its last axis).
void fused_elementwise(const FusedProgram& p, DType dtype, const std::vector<int64_t>& shape,
                       const std::vector<FusedInput>& inputs, void* const* outputs);

}  // namespace corten::cpu
