// The direct few-channel convolution kernels at the baseline ISA level (16-byte vectors);
// non-x86 builds also use them for the AVX2 and AVX-512 entries (cpu/portable).
#include "cpu/conv_direct.h"

#include <cstring>

#define CORTEN_CONV_DIRECT_VECTOR_BYTES 16

namespace corten::cpu::portable_direct {
#include "cpu/conv_direct_kernels.inc"
}  // namespace corten::cpu::portable_direct

#undef CORTEN_CONV_DIRECT_VECTOR_BYTES

namespace corten::cpu {
const ConvDirectTable& portable_conv_direct_table() {
  return portable_direct::conv_direct_table();
}
}  // namespace corten::cpu
