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
};

/// Runs `p` over n elements of `dtype` (float32 or float64). Input k is a contiguous array of
/// n elements, or one element broadcast when scalar[k]; outputs are contiguous arrays of n.
void fused_elementwise(const FusedProgram& p, DType dtype, int64_t n, const void* const* inputs,
                       const bool* scalar, void* const* outputs);

}  // namespace corten::cpu
