// The direct few-channel convolution kernels compiled for AVX512 (cpu/conv_direct_kernels.inc).
#include <cstring>

#include "cpu/conv_direct.h"

#define CORTEN_CONV_DIRECT_VECTOR_BYTES 64

namespace corten::cpu::avx512 {
#include "cpu/conv_direct_kernels.inc"
}  // namespace corten::cpu::avx512

#undef CORTEN_CONV_DIRECT_VECTOR_BYTES
