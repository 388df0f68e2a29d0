// AVX2+FMA build of the elementwise row kernels (see elementwise_kernels.inc); this file is
// compiled with -mavx2 -mfma and only called when the CPU supports both.
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "cpu/elementwise.h"

#define CORTEN_ISA_NS avx2
#include "cpu/elementwise_kernels.inc"

#include <immintrin.h>

#include "cpu/avx2/vec_math.h"

namespace corten::cpu::avx2 {

void specialize(ElementwiseTable& t) {
  constexpr int f32 = static_cast<int>(DType::Float32);
  t.unary[static_cast<int>(UnaryOp::Exp)][f32] = &vec::unary_row<Vec8, vec::exp<Vec8>>;
  t.unary[static_cast<int>(UnaryOp::Tanh)][f32] = &vec::unary_row<Vec8, vec::tanh<Vec8>>;
  t.unary[static_cast<int>(UnaryOp::Sigmoid)][f32] = &vec::unary_row<Vec8, vec::sigmoid<Vec8>>;
  t.unary[static_cast<int>(UnaryOp::GeluExact)][f32] = &vec::unary_row<Vec8, vec::gelu<Vec8>>;
}

}  // namespace corten::cpu::avx2
