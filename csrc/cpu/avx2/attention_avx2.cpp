// AVX2+FMA build of the attention tile kernels (cpu/attention_kernels.inc); called only when
// cpu_isa() is avx2 or above. Blocks of up to 2 vectors, 12 accumulators of the 16 registers.
#include <algorithm>
#include <cstdint>
#include <cmath>
#include <limits>

#include "cpu/attention.h"
#include "cpu/attention_rows.h"
#include "cpu/avx2/vec_math.h"

#define CORTEN_ISA_NS avx2
#define CORTEN_ATTENTION_VEC Vec8
#define CORTEN_ATTENTION_ACC 12
#define CORTEN_ATTENTION_NV 2
#include "cpu/attention_kernels.inc"

namespace corten::cpu::avx2 {
namespace {
void specialize(AttentionTable&) {}
}  // namespace
}  // namespace corten::cpu::avx2
