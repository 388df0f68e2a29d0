// AVX-512 build of the elementwise row kernels (see elementwise_kernels.inc): the generic loops
// compiled for 512-bit vectors, and 16-lane exp, tanh and sigmoid (cpu/vec_math.h). This file is
// compiled with the avx512 flags (CMakeLists.txt) and only called when the CPU supports them.
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <corten/cpu_features.h>

#include "cpu/elementwise.h"

#define CORTEN_ISA_NS avx512
#include "cpu/elementwise_kernels.inc"

#include "cpu/avx512/vec_math.h"

namespace corten::cpu::avx512 {

void specialize(ElementwiseTable& t) {
  constexpr int f32 = static_cast<int>(DType::Float32);
  t.unary[static_cast<int>(UnaryOp::Exp)][f32] = &vec::unary_row<Vec16, vec::exp<Vec16>>;
  t.unary[static_cast<int>(UnaryOp::Tanh)][f32] = &vec::unary_row<Vec16, vec::tanh<Vec16>>;
  t.unary[static_cast<int>(UnaryOp::Sigmoid)][f32] = &vec::unary_row<Vec16, vec::sigmoid<Vec16>>;
  t.unary[static_cast<int>(UnaryOp::GeluExact)][f32] = &vec::unary_row<Vec16, vec::gelu<Vec16>>;
  if (cpu_has_avx512_bf16()) avx512_bf16::specialize_bf16_rows(t);
}

}  // namespace corten::cpu::avx512
