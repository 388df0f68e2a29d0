// The reference random kernels (cpu/random_kernels.h): one Philox block and one Box-Muller pair
// at a time, in plain C++ (cpu/random_ref_kernels.inc). They define the values; the vector
// kernels reproduce them bit for bit.
#include <corten/cpu_features.h>

#include "cpu/isa_table.h"
#include "cpu/philox.h"
#include "cpu/random_kernels.h"
#include "cpu/random_transform.h"

#define CORTEN_ISA_NS baseline
#include "cpu/random_ref_kernels.inc"

namespace corten::cpu {

namespace baseline {
const RandomTable& random_table() {
  static const RandomTable t{&ref::philox_words, &ref::normal_f32, &ref::uniform_f32,
                             &ref::normal_f64,
                             &ref::dropout_keep,    &ref::dropout_apply_f32, &ref::dropout_apply_f64,
                             &ref::dropout_apply_bf16};
  return t;
}
}  // namespace baseline

const RandomTable& active_random_table() {
  return table_for_isa(&baseline::random_table, &avx2::random_table, &avx512::random_table);
}

}  // namespace corten::cpu
