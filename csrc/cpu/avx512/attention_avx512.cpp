// AVX-512 build of the attention tile kernels (cpu/attention_kernels.inc); called only when
// cpu_isa() is avx512. Blocks of up to 4 vectors, 24 accumulators of the 32 registers.
#include <algorithm>
#include <cstdint>
#include <cmath>
#include <limits>

#include "cpu/attention.h"
#include "cpu/avx512/vec_math.h"

#define CORTEN_ISA_NS avx512
#define CORTEN_ATTENTION_VEC Vec16
#define CORTEN_ATTENTION_ACC 24
#define CORTEN_ATTENTION_NV 4
#include "cpu/attention_kernels.inc"
