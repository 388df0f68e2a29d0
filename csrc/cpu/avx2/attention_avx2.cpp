// AVX2+FMA build of the attention tile kernels (cpu/attention_kernels.inc); called only when
// cpu_isa() is avx2 or above. 4 rows x 2 vectors: 8 accumulators of the 16 registers.
#include <algorithm>
#include <cstdint>

#include "cpu/attention.h"
#include "cpu/avx2/vec_math.h"

#define CORTEN_ISA_NS avx2
#define CORTEN_ATTENTION_VEC Vec8
#define CORTEN_ATTENTION_MR 4
#define CORTEN_ATTENTION_NV 2
#include "cpu/attention_kernels.inc"
