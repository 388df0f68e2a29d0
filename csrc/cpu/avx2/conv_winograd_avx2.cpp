// The Winograd F(2x2, 3x3) transforms compiled for AVX2 (cpu/conv_winograd_kernels.inc).
#include "cpu/conv_winograd.h"

namespace corten::cpu::avx2 {
#include "cpu/conv_winograd_kernels.inc"
}  // namespace corten::cpu::avx2
