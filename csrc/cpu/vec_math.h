#pragma once
// Vectorised float32 math written once for every SIMD width: each function is a template over
// a vector traits type V (cpu/avx2/vec_avx2.h: 8 lanes, cpu/avx512/vec_avx512.h: 16 lanes) and
// is instantiated only inside the translation units built for that ISA. Everything here has
// internal linkage, so copies compiled with different flags never meet at link time.
//
// A traits type V provides:
//   F, M            vector of kLanes floats; comparison result (lane mask)
//   set1 load store load_n store_n (first n lanes; the others read as 0 / left untouched)
//   add sub mul div min max fmadd(a, b, c) = a*b + c, fnmadd(a, b, c) = c - a*b
//   floor abs sign(x) (the sign bit of x) or_ or_sign(t, x) (t with x's sign bit or-ed in)
//   pow2i(n) (2^n, n integral in [-126, 127]) ldexp(c, n) (c * 2^n, for such n)
//   lt le ge unord select(m, t, f) (m ? t : f) bits(m) (bit i = lane i) and_ for masks,
//   kAll (bits of a full mask), first(x) (lane 0)

#include <cmath>
#include <cstdint>

namespace corten::cpu::vec {
namespace {

// Note [Vectorised transcendental functions]
// exp uses Cephes' expf reduction (x = n ln2 + r, |r| <= ln2/2, degree-5 minimax polynomial,
// scaled by 2^n): within 2 ulp of the true value (tanh 2.5, sigmoid 3) over the range where the
// result is a normal float. Lanes outside that range (overflow to inf, underflow to denormals or
// 0, NaN; exp tests |x| <= -kExpLo, so the stretch (-kExpLo, kExpHi] as well) are
// recomputed with std::exp, so the edge behaviour is exactly the scalar one. sigmoid is built on
// it, tanh on the same reduction (below); tests/python/ops/test_elementwise.py and
// test_vec_exp.py measure the error bounds and the edges under every ISA.
constexpr float kExpHi = 88.3762626647949f;
constexpr float kExpLo = -87.3365447505531f;

// e^r on the reduced argument |r| <= ln2/2: 1 + r + r^2 p(r), p Cephes' degree-5 polynomial.
template <class V>
inline typename V::F exp_reduced(typename V::F r) {
  using F = typename V::F;
  F y = V::set1(1.9875691500E-4f);
  y = V::fmadd(y, r, V::set1(1.3981999507E-3f));
  y = V::fmadd(y, r, V::set1(8.3334519073E-3f));
  y = V::fmadd(y, r, V::set1(4.1665795894E-2f));
  y = V::fmadd(y, r, V::set1(1.6666665459E-1f));
  y = V::fmadd(y, r, V::set1(5.0000001201E-1f));
  return V::fmadd(y, V::mul(r, r), V::add(r, V::set1(1.0f)));
}

// exp of lanes in [kExpLo, kExpHi]: n = round(x log2 e) by adding and subtracting 1.5 * 2^23
// (not floor(x log2 e + 1/2): a 512-bit round is two uops), r = x - n ln2 in two parts,
// e^r = 1 + r + r^2 p(r) with exp_reduced's coefficients evaluated in Estrin's scheme (a chain
// of 4 dependent operations instead of 8: with 16-lane vectors the loop is bound by the uops
// waiting on that chain), and e^r 2^n in one scale. Within the same 2 ulp
// (Note [Vectorised transcendental functions]); exp over 4096 floats in L1, AVX-512:
// 0.98 -> 0.81 us with the range test below.
template <class V>
inline typename V::F exp_in_range(typename V::F x) {
  using F = typename V::F;
  const F n = V::sub(V::fmadd(x, V::set1(1.44269504088896341f), V::set1(12582912.0f)),
                     V::set1(12582912.0f));
  F r = V::fnmadd(n, V::set1(0.693359375f), x);
  r = V::fnmadd(n, V::set1(-2.12194440e-4f), r);
  const F r2 = V::mul(r, r);
  const F a01 = V::add(r, V::set1(1.0f));
  const F a23 = V::fmadd(V::set1(1.6666665459E-1f), r, V::set1(5.0000001201E-1f));
  const F a45 = V::fmadd(V::set1(8.3334519073E-3f), r, V::set1(4.1665795894E-2f));
  const F a67 = V::fmadd(V::set1(1.9875691500E-4f), r, V::set1(1.3981999507E-3f));
  const F r4 = V::mul(r2, r2);
  const F b0 = V::fmadd(a23, r2, a01);
  const F b1 = V::fmadd(a67, r2, a45);
  const F y = V::fmadd(b1, r4, b0);
  return V::ldexp(y, n);
}

// Lanes of y whose bit in `bits` is clear recomputed as std::exp of x's. Out of line and cold:
// a call inside exp's loops would make every caller keep its constants on the stack around it
// (all vector registers are caller-saved), reloading them on the hot path (sigmoid over 64x784
// at 1 thread: 15.8 us with the call inline, 14.2 without).
template <class V>
[[gnu::noinline, gnu::cold]] typename V::F exp_edge_lanes(typename V::F x, typename V::F y,
                                                          unsigned bits) {
  alignas(64) float xs[V::kLanes], ys[V::kLanes];
  V::store(xs, x);
  V::store(ys, y);
  for (int i = 0; i < V::kLanes; ++i)
    if (!(bits & (1u << i))) ys[i] = std::exp(xs[i]);
  return V::load(ys);
}

// Whether this thread computes in flush-to-zero mode (Note [Denormals]), as ops and the pool's
// workers do: std::exp then returns 0 below kExpLo, where its result would be denormal.
inline bool flushes_denormals() {
#if defined(__SSE__) || defined(__x86_64__)
  return (__builtin_ia32_stmxcsr() & 0x8000u) != 0;
#else
  return false;
#endif
}

// exp of every lane; lanes with |x| > -kExpLo (beyond the underflow bound, or near the overflow
// bound, where the reduction is not trusted) or NaN are recomputed by std::exp. The range test
// is one compare of |x|, and the in-range formula runs on x unmasked (the lanes it gets wrong
// are replaced): 3 instructions per vector instead of 5. Lanes below kExpLo (-inf included)
// are std::exp's 0 directly in flush-to-zero mode: masked logits (-1e9) or a saturated sigmoid
// sent their vectors to the scalar calls. At 1 thread, a softmax over 12,800 rows of 200 with
// half of each row at -1e9: 7.0 -> 2.0 ms (1.9 unmasked); a sigmoid over 512 x 512 values of
// scale 200: 1.6 ms -> 74 us (bench/results/row-kernels-2026-12-07.txt).
template <class V>
inline typename V::F exp(typename V::F x) {
  using F = typename V::F;
  const auto in_range = V::le(V::abs(x), V::set1(-kExpLo));
  F y = exp_in_range<V>(x);
  unsigned bits = V::bits(in_range);
  if (__builtin_expect(bits != V::kAll, 0)) {
    if (flushes_denormals()) {
      const auto below = V::lt(x, V::set1(kExpLo));
      y = V::select(below, V::set1(0.0f), y);
      bits |= V::bits(below);
    }
    if (bits != V::kAll) y = exp_edge_lanes<V>(x, y, bits);
  }
  return y;
}

// tanh|x| = e / (e + 2) with e = expm1(2|x|): one path for every |x| (no second polynomial
// for small |x| and no blend), and no cancellation for small |x|, where expm1 keeps its
// relative accuracy (1 - 2 / (exp(2|x|) + 1) loses it). expm1 reuses exp's reduction, halved:
// |x| = n ln2/2 + h, |h| <= ln2/4, 2|x| = n ln2 + 2h, and
//   expm1(2|x|) = 2^n expm1(2h) + (2^n - 1) = 2^(n+1) (expm1(2h) / 2) + (2^(n+1) / 2 - 1),
//   expm1(2h) / 2 = h + h^2 q(h),  q(h) = 2 p(2h),
// p a degree-5 fit of (expm1(r) - r) / r^2 on |r| <= ln2/2 (relative error of expm1 below 0.05
// ulp; the coefficients below are q's, p's scaled by 2^(i+1)). n is rounded by adding and
// subtracting 1.5 * 2^23 (a 512-bit round instruction costs two uops on the port that also
// runs the scale and the division: 5% of the function's time). Within 2.42 ulp over every
// float (the rounding of e + 2 and of the quotient dominate); tests/python/ops/
// test_elementwise.py checks 2.5. |x| is capped at 9.1, past which tanh rounds to 1 in float32;
// min(cap, |x|) keeps a NaN (min returns its second operand). About 20 instructions and a
// division per vector, against 35 and a division for the former two-branch version.
template <class V>
inline typename V::F tanh(typename V::F x) {
  using F = typename V::F;
  const F ax = V::min(V::set1(9.1f), V::abs(x));
  const F n = V::sub(V::fmadd(ax, V::set1(2.0f * 1.44269504088896341f), V::set1(12582912.0f)),
                     V::set1(12582912.0f));
  F h = V::fnmadd(n, V::set1(0.693359375f / 2), ax);
  h = V::fnmadd(n, V::set1(-2.12194440e-4f / 2), h);
  F q = V::set1(0.00019845881615765393f * 64);
  q = V::fmadd(q, h, V::set1(0.001394066959619522f * 32));
  q = V::fmadd(q, h, V::set1(0.008333389647305012f * 16));
  q = V::fmadd(q, h, V::set1(0.04166635870933533f * 8));
  q = V::fmadd(q, h, V::set1(0.1666666567325592f * 4));
  q = V::fmadd(q, h, V::set1(0.5f * 2));
  const F half_em1 = V::fmadd(q, V::mul(h, h), h);
  const F p2 = V::ldexp(V::set1(2.0f), n);  // 2^(n+1)
  const F e = V::fmadd(half_em1, p2, V::fmadd(p2, V::set1(0.5f), V::set1(-1.0f)));
  return V::or_sign(V::div(e, V::add(e, V::set1(2.0f))), x);
}

// Note [Vectorised sigmoid]
// About 33 vector
// uops per vector on the two 512-bit ports, so the cost is instruction throughput: replacing the
// division by a 7-FMA Newton reciprocal, and exp's scalar fallback by a blend, measured no
// faster (64x784 float32 at 1 thread: 16.2 us before, 17.0 after), so neither is done.
template <class V>
inline typename V::F sigmoid(typename V::F x) {
  using F = typename V::F;
  // e = exp(-|x|) <= 1; sigmoid = 1/(1+e) for x >= 0 and e/(1+e) for x < 0.
  const F e = exp<V>(V::sub(V::set1(0.0f), V::abs(x)));
  const F inv = V::div(V::set1(1.0f), V::add(V::set1(1.0f), e));
  return V::select(V::lt(x, V::set1(0.0f)), V::mul(e, inv), inv);
}

// Note [Vectorised gelu]
// gelu(x) = x Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2, with erfc from Numerical Recipes'
// erfcc (Chebyshev fit, relative error below 1.2e-7 for every z >= 0):
//   erfc(z) = t exp(-z^2 + P(t)),  t = 1 / (1 + z/2),  z = |x| / sqrt 2,
// Phi(x) = erfc(z)/2 for x < 0 and 1 - erfc(z)/2 for x >= 0: relative accuracy on both sides
// (1 + erf(x / sqrt 2) would cancel for negative x). exp's argument is clamped at kExpLo
// (below it the product is under the smallest normal float: flushed anyway); a NaN x stays
// NaN through the final product. float32 64x784 at 1 thread: 319 us with std::erf, 27 us here;
// the gelu epilogue of a 64x64 . 64x784 Dense: 751 -> 64 us (its GEMM alone: 41 us).
template <class V>
inline typename V::F gelu(typename V::F x) {
  using F = typename V::F;
  const F z = V::mul(V::abs(x), V::set1(0.70710678118654752f));
  const F t = V::div(V::set1(1.0f), V::fmadd(z, V::set1(0.5f), V::set1(1.0f)));
  F p = V::set1(0.17087277f);
  p = V::fmadd(p, t, V::set1(-0.82215223f));
  p = V::fmadd(p, t, V::set1(1.48851587f));
  p = V::fmadd(p, t, V::set1(-1.13520398f));
  p = V::fmadd(p, t, V::set1(0.27886807f));
  p = V::fmadd(p, t, V::set1(-0.18628806f));
  p = V::fmadd(p, t, V::set1(0.09678418f));
  p = V::fmadd(p, t, V::set1(0.37409196f));
  p = V::fmadd(p, t, V::set1(1.00002368f));
  p = V::fmadd(p, t, V::set1(-1.26551223f));
  const F arg = V::max(V::fnmadd(z, z, p), V::set1(kExpLo));
  const F half_erfc = V::mul(V::mul(t, V::set1(0.5f)), exp_in_range<V>(arg));
  const F phi = V::select(V::lt(x, V::set1(0.0f)), half_erfc, V::sub(V::set1(1.0f), half_erfc));
  return V::mul(x, phi);
}

// out[i] = Fn(x[i * sx]) for i < n: an elementwise row kernel (cpu/elementwise.h) from a
// vector function. The tail goes through the same vector code, so every element takes the same
// path and rounding.
template <class V, typename V::F (*Fn)(typename V::F)>
void unary_row(const void* x_, int64_t sx, void* out_, int64_t n, double) {
  const float* x = static_cast<const float*>(x_);
  float* out = static_cast<float*>(out_);
  if (sx != 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = V::first(Fn(V::set1(x[i * sx])));
    return;
  }
  constexpr int L = V::kLanes;
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    // Software prefetch, 2 KiB ahead for the input and 1 KiB for the output (a store to a line
    // not in cache waits for it): the hardware streams stop at page boundaries. 1M-element tanh
    // at 1 thread: 0.356 ms without, 0.325 with the output's, 0.294 with both. Address
    // arithmetic on integers: it may point past the row.
    __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(x + i) + 2048));
    __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(out + i) + 1024),
                       1);
    V::store(out + i, Fn(V::load(x + i)));
  }
  if (i < n) V::store_n(out + i, Fn(V::load_n(x + i, n - i)), n - i);
}

}  // namespace
}  // namespace corten::cpu::vec
