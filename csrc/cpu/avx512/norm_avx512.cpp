// AVX-512 build of the normalisation kernels (cpu/norm_kernels.inc); called only when cpu_isa()
// is avx512.
#include <corten/parallel.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/batch_norm.h"

#define CORTEN_ISA_NS avx512
#include "cpu/norm_kernels.inc"
