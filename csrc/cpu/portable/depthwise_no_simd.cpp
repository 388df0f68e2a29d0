// Non-x86 builds: cpu_isa() never selects AVX2 or AVX-512; their depthwise tables are the
// reference one.
#include "cpu/window_common.h"

namespace corten::cpu::avx2 {
const DepthwiseTable& depthwise_table() { return reference_depthwise_table(); }
}  // namespace corten::cpu::avx2

namespace corten::cpu::avx512 {
const DepthwiseTable& depthwise_table() { return reference_depthwise_table(); }
}  // namespace corten::cpu::avx512
