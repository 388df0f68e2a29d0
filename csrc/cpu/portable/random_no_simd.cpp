// Non-x86 builds: the AVX2 and AVX-512 random tables are the baseline one.
#include "cpu/random_kernels.h"

namespace corten::cpu::avx2 {
const RandomTable& random_table() { return baseline::random_table(); }
}  // namespace corten::cpu::avx2

namespace corten::cpu::avx512 {
const RandomTable& random_table() { return baseline::random_table(); }
}  // namespace corten::cpu::avx512
