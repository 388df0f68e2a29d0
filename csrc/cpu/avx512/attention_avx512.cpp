// AVX-512 build of the attention tile kernels (cpu/attention_kernels.inc); called only when
// cpu_isa() is avx512. 4 rows x 4 vectors: 16 accumulators of the 32 registers.
#include <algorithm>
#include <cstdint>

#include "cpu/attention.h"
#include "cpu/avx512/vec_math.h"

#define CORTEN_ISA_NS avx512
#define CORTEN_ATTENTION_VEC Vec16
#define CORTEN_ATTENTION_MR 4
#define CORTEN_ATTENTION_NV 4
#include "cpu/attention_kernels.inc"
