// AVX-512 build of the attention tile kernels (cpu/attention_kernels.inc); called only when
// cpu_isa() is avx512. Blocks of up to 4 vectors, 24 accumulators of the 32 registers.
#include <algorithm>
#include <cstdint>
#include <cmath>
#include <limits>

#include <corten/cpu_features.h>

#include "cpu/attention.h"
#include "cpu/attention_rows.h"
#include "cpu/avx512/vec_math.h"

#define CORTEN_ISA_NS avx512
#define CORTEN_ATTENTION_VEC Vec16
#define CORTEN_ATTENTION_ACC 24
#define CORTEN_ATTENTION_NV 4
#include "cpu/attention_kernels.inc"

namespace corten::cpu::avx512 {
namespace {
void specialize(AttentionTable& t) {
  if (cpu_has_avx512_bf16()) avx512_bf16::specialize_attention_rows(t);
}
}  // namespace
}  // namespace corten::cpu::avx512
