// AVX2+FMA build of the fused optimizer updates (cpu/optimizer_kernels.inc); called only when
// cpu_isa() is avx2.
#include <corten/parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "cpu/optimizers.h"

#define CORTEN_ISA_NS avx2
#include "cpu/optimizer_kernels.inc"
