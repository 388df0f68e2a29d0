#pragma once
// The attention row kernels' per-vector arithmetic, over a vector traits type (cpu/vec_math.h),
// shared by the float32 tile kernels (cpu/attention_kernels.inc) and the rows that round to
// bfloat16 (cpu/avx512_bf16/attention_rows_bf16.cpp, Note [Rounding in the row kernels]), so
// that both give the same values bit for bit. For translation units of one ISA each.
#include <cmath>
#include <cstdint>

#include "cpu/vec_math.h"

namespace corten::cpu::attention_rows {
namespace {

// The lanes of v summed as a tree: a fixed order, log2(kLanes) dependent steps.
template <class V>
float lanes_sum(typename V::F v) {
  alignas(64) float l[V::kLanes];
  V::store(l, v);
  for (int w = V::kLanes / 2; w > 0; w /= 2) {
    for (int i = 0; i < w; ++i) l[i] += l[i + w];
  }
  return l[0];
}

// exp(s - m): 0 below the underflow bound (masked scores are -inf).
template <class V>
typename V::F exp_shifted(typename V::F s, typename V::F mv) {
  using F = typename V::F;
  const F lo = V::set1(vec::kExpLo), zero = V::set1(0.0f);
  const F x = V::sub(s, mv);
  const auto below = V::lt(x, lo);
  return V::select(below, zero, vec::exp_in_range<V>(V::select(below, zero, x)));
}

// AttentionTable::exp_sum, each row's vectors handed to store(pointer into p, vector).
template <class V, class Out, class Store>
void exp_sum_rows(const float* s, int64_t ld, const float* m, Out* p, int64_t rows, int64_t n,
                  float* sums, Store store) {
  using F = typename V::F;
  const F zero = V::set1(0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    const float* sr = s + r * ld;
    Out* pr = p + r * ld;
    if (!std::isfinite(m[r])) {
      for (int64_t j = 0; j < n; j += V::kLanes) store(pr + j, zero);
      if (sums) sums[r] = 0.0f;
      continue;
    }
    const F mv = V::set1(m[r]);
    F sum = zero;
    for (int64_t j = 0; j < n; j += V::kLanes) {
      const F e = exp_shifted<V>(V::load(sr + j), mv);
      store(pr + j, e);
      sum = V::add(sum, e);
    }
    if (sums) sums[r] = lanes_sum<V>(sum);
  }
}

// AttentionTable::grad_scores of one vector: returns dS * scale = p (g f - d) scale and sets
// *pd = p f (f: the dropout factors at this vector, or null for none).
template <class V>
typename V::F grad_scores_vec(typename V::F p, typename V::F g, const float* f,
                              typename V::F d, typename V::F scale, typename V::F* pd) {
  *pd = p;
  if (f) {
    const typename V::F fj = V::load(f);
    g = V::mul(g, fj);
    *pd = V::mul(p, fj);
  }
  return V::mul(V::mul(p, V::sub(g, d)), scale);
}

}  // namespace
}  // namespace corten::cpu::attention_rows
