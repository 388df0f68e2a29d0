// The reference random kernels (cpu/random_ref_kernels.inc) built with AVX2 and FMA, so that
// their explicit fused multiply-adds are single instructions rather than library calls; the same
// bits as the baseline build (Note [Reproducible random transforms]).
#include "cpu/philox.h"
#include "cpu/random_kernels.h"
#include "cpu/random_transform.h"

#define CORTEN_ISA_NS avx2
#include "cpu/random_ref_kernels.inc"

namespace corten::cpu::avx2 {
const RandomTable& random_table() {
  static const RandomTable t{&ref::philox_words, &ref::normal_f32, &ref::uniform_f32,
                             &ref::normal_f64};
  return t;
}
}  // namespace corten::cpu::avx2
