// AVX-512 build of the fused optimizer updates (cpu/optimizer_kernels.inc); called only when
// cpu_isa() is avx512.
#include <corten/parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "cpu/optimizers.h"

#define CORTEN_ISA_NS avx512
#include "cpu/optimizer_kernels.inc"
