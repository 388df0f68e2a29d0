// The Winograd F(2x2, 3x3) transforms compiled for AVX-512 (cpu/conv_winograd_kernels.inc).
#include "cpu/conv_winograd.h"

namespace corten::cpu::avx512 {
#include "cpu/conv_winograd_kernels.inc"
}  // namespace corten::cpu::avx512
