// The fast depthwise kernels compiled for AVX2 (cpu/depthwise_kernels.inc).
#include <corten/parallel.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/window_common.h"

#define CORTEN_DEPTHWISE_VECTOR_BYTES 32

namespace corten::cpu::avx2 {
#include "cpu/depthwise_kernels.inc"
}  // namespace corten::cpu::avx2

#undef CORTEN_DEPTHWISE_VECTOR_BYTES
