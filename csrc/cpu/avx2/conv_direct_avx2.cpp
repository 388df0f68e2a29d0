// The direct few-channel convolution kernels compiled for AVX2 (cpu/conv_direct_kernels.inc).
#include <cstring>

#include "cpu/conv_direct.h"

#define CORTEN_CONV_DIRECT_VECTOR_BYTES 32

namespace corten::cpu::avx2 {
#include "cpu/conv_direct_kernels.inc"
}  // namespace corten::cpu::avx2

#undef CORTEN_CONV_DIRECT_VECTOR_BYTES
