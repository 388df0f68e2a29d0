// Non-x86 builds: the AVX-512 random table is the baseline one.
#include "cpu/random_kernels.h"

namespace corten::cpu::avx512 {
const RandomTable& random_table() { return baseline::random_table(); }
}  // namespace corten::cpu::avx512
