// Non-x86 builds: cpu_isa() never selects AVX2 or AVX-512; their direct convolution tables
// are the portable one.
#include "cpu/conv_direct.h"

namespace corten::cpu::avx2 {
const ConvDirectTable& conv_direct_table() { return portable_conv_direct_table(); }
}  // namespace corten::cpu::avx2

namespace corten::cpu::avx512 {
const ConvDirectTable& conv_direct_table() { return portable_conv_direct_table(); }
}  // namespace corten::cpu::avx512
