// Non-x86 builds: there are no AVX2 or AVX-512 kernel sets; cpu_isa() never selects them, and
// their tables are the baseline one.
#include "cpu/elementwise.h"
#include "cpu/gemm/gemm_bf16.h"
#include "cpu/optimizers.h"

namespace corten::cpu::avx2 {
const ElementwiseTable& elementwise_table() { return baseline::elementwise_table(); }
const OptimizerTable& optimizer_table() { return baseline::optimizer_table(); }
}  // namespace corten::cpu::avx2

namespace corten::cpu::avx512 {
const ElementwiseTable& elementwise_table() { return baseline::elementwise_table(); }
const OptimizerTable& optimizer_table() { return baseline::optimizer_table(); }
}  // namespace corten::cpu::avx512

namespace corten::cpu::gemm::avx512_bf16 {
Bf16Ukernel ukernel_bf16(int nv) { return reference::ukernel_bf16(nv); }
}  // namespace corten::cpu::gemm::avx512_bf16

namespace corten::cpu::gemm::avx512_amx {
Bf16Ukernel ukernel_bf16() { return reference::ukernel_bf16(2); }
}  // namespace corten::cpu::gemm::avx512_amx
