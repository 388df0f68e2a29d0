// Non-x86 builds: the AVX2 and AVX-512 attention tables are the baseline one.
#include "cpu/attention.h"

namespace corten::cpu {
namespace avx2 {
const AttentionTable& attention_table() { return baseline::attention_table(); }
}  // namespace avx2
namespace avx512 {
const AttentionTable& attention_table() { return baseline::attention_table(); }
}  // namespace avx512
}  // namespace corten::cpu
