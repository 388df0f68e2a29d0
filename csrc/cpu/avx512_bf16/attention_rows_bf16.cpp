// The bfloat16 attention's row kernels that round their results themselves (Note [Rounding in
// the row kernels] in cpu/attention_bf16.cpp): the float32 rows' arithmetic (cpu/
// attention_rows.h) with the stores rounded by VCVTNEPS2BF16. This file is compiled with the
// AVX-512 BF16 flags and only called where the CPU has them.
#include <cmath>
#include <cstdint>

#include "cpu/attention.h"
#include "cpu/attention_rows.h"
#include "cpu/avx512/vec_math.h"

namespace corten::cpu::avx512_bf16 {
namespace {

using avx512::Vec16;
using F = Vec16::F;

// VCVTNEPS2BF16 rounds as bfloat16::from_float except for denormal inputs, which it reads as
// zero: the rows' values are computed in the ops' flush-to-zero mode (Note [Denormals]), so
// they have none, and the bits are from_float's (the float32 rows' values rounded by it).
inline void store_rounded(uint16_t* p, F v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), (__m256i)_mm512_cvtneps_pbh(v));
}

void exp_sum_bf16(const float* s, int64_t ld, const float* m, uint16_t* p, int64_t rows,
                  int64_t n, float* sums) {
  attention_rows::exp_sum_rows<Vec16>(s, ld, m, p, rows, n, sums, store_rounded);
}

void exp_grad_scores_bf16(const float* s, const float* dp, float m, const float* f, float d,
                          float scale, int64_t n, uint16_t* pd, uint16_t* ds) {
  const F dv = Vec16::set1(d), sv = Vec16::set1(scale), mv = Vec16::set1(m);
  const bool finite = std::isfinite(m);  // as exp_sum: p = 0 for a row without a finite m
  for (int64_t j = 0; j < n; j += Vec16::kLanes) {
    const F p = finite ? attention_rows::exp_shifted<Vec16>(Vec16::load(s + j), mv)
                       : Vec16::set1(0.0f);
    F pf;
    const F g = attention_rows::grad_scores_vec<Vec16>(p, Vec16::load(dp + j),
                                                       f ? f + j : nullptr, dv, sv, &pf);
    store_rounded(pd + j, pf);
    store_rounded(ds + j, g);
  }
}

}  // namespace

void specialize_attention_rows(AttentionTable& t) {
  t.exp_sum_bf16 = &exp_sum_bf16;
  t.exp_grad_scores_bf16 = &exp_grad_scores_bf16;
}

}  // namespace corten::cpu::avx512_bf16
