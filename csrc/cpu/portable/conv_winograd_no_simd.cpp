// Non-x86 builds: cpu_isa() never selects AVX2 or AVX-512; their Winograd tables are the
// portable one.
#include "cpu/conv_winograd.h"

namespace corten::cpu::avx2 {
const WinogradTable& winograd_table() { return portable_winograd_table(); }
}  // namespace corten::cpu::avx2

namespace corten::cpu::avx512 {
const WinogradTable& winograd_table() { return portable_winograd_table(); }
}  // namespace corten::cpu::avx512
