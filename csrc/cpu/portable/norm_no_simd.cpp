// Non-x86 builds: the AVX-512 normalisation table is the baseline one.
#include "cpu/batch_norm.h"

namespace corten::cpu::avx512 {
const NormTable& norm_table() { return baseline::norm_table(); }
}  // namespace corten::cpu::avx512
