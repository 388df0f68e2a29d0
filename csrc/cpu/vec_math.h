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
//   floor abs sign(x) (the sign bit of x) or_ pow2i(n) (2^n, n integral in [-126, 127])
//   lt le ge unord select(m, t, f) (m ? t : f) bits(m) (bit i = lane i) and_ for masks,
//   kAll (bits of a full mask), first(x) (lane 0)

#include <cmath>
#include <cstdint>

namespace corten::cpu::vec {
namespace {

// Note [Vectorised transcendental functions]
// exp uses Cephes' expf reduction (x = n ln2 + r, |r| <= ln2/2, degree-5 minimax polynomial,
// 2^n built in the exponent field): within 2 ulp of the true value (tanh 2.5, sigmoid 3) over the
// range where the result is a normal float. Lanes outside that range (overflow to inf,
// underflow to denormals or 0, NaN) are recomputed with std::exp, so the edge behaviour is
// exactly the scalar one. tanh and sigmoid are built on it; tests/python/ops/test_elementwise.py
// measures the error bounds under every ISA.
constexpr float kExpHi = 88.3762626647949f;
constexpr float kExpLo = -87.3365447505531f;

template <class V>
inline typename V::F exp_in_range(typename V::F x) {
  using F = typename V::F;
  const F fx = V::floor(V::fmadd(x, V::set1(1.44269504088896341f), V::set1(0.5f)));
  F r = V::fnmadd(fx, V::set1(0.693359375f), x);
  r = V::fnmadd(fx, V::set1(-2.12194440e-4f), r);
  F y = V::set1(1.9875691500E-4f);
  y = V::fmadd(y, r, V::set1(1.3981999507E-3f));
  y = V::fmadd(y, r, V::set1(8.3334519073E-3f));
  y = V::fmadd(y, r, V::set1(4.1665795894E-2f));
  y = V::fmadd(y, r, V::set1(1.6666665459E-1f));
  y = V::fmadd(y, r, V::set1(5.0000001201E-1f));
  y = V::fmadd(y, V::mul(r, r), V::add(r, V::set1(1.0f)));
  return V::mul(y, V::pow2i(fx));
}

// exp of every lane; lanes outside [kExpLo, kExpHi] or NaN are recomputed by std::exp.
template <class V>
inline typename V::F exp(typename V::F x) {
  using F = typename V::F;
  const auto in_range = V::and_(V::ge(x, V::set1(kExpLo)), V::le(x, V::set1(kExpHi)));
  F y = exp_in_range<V>(V::select(in_range, x, V::set1(0.0f)));
  const unsigned bits = V::bits(in_range);
  if (bits != V::kAll) {
    alignas(64) float xs[V::kLanes], ys[V::kLanes];
    V::store(xs, x);
    V::store(ys, y);
    for (int i = 0; i < V::kLanes; ++i)
      if (!(bits & (1u << i))) ys[i] = std::exp(xs[i]);
    y = V::load(ys);
  }
  return y;
}

template <class V>
inline typename V::F tanh(typename V::F x) {
  using F = typename V::F;
  const F ax = V::abs(x);
  // Small |x|: Cephes tanhf odd polynomial (relative error ~1 ulp where 1 - 2/(e^2x+1) would
  // cancel).
  const F z = V::mul(x, x);
  F p = V::set1(-5.70498872745E-3f);
  p = V::fmadd(p, z, V::set1(2.06390887954E-2f));
  p = V::fmadd(p, z, V::set1(-5.37397155531E-2f));
  p = V::fmadd(p, z, V::set1(1.33314422036E-1f));
  p = V::fmadd(p, z, V::set1(-3.33332819422E-1f));
  const F small = V::fmadd(V::mul(p, z), x, x);
  // Large |x|: 1 - 2 / (exp(2|x|) + 1), with |x| capped at 10, where tanh rounds to 1 in float32.
  const F e = exp_in_range<V>(V::mul(V::min(ax, V::set1(10.0f)), V::set1(2.0f)));
  F big = V::sub(V::set1(1.0f), V::div(V::set1(2.0f), V::add(e, V::set1(1.0f))));
  big = V::or_(big, V::sign(x));
  const F r = V::select(V::lt(ax, V::set1(0.625f)), small, big);
  return V::select(V::unord(x, x), x, r);
}

template <class V>
inline typename V::F sigmoid(typename V::F x) {
  using F = typename V::F;
  // e = exp(-|x|) <= 1; sigmoid = 1/(1+e) for x >= 0 and e/(1+e) for x < 0.
  const F e = exp<V>(V::sub(V::set1(0.0f), V::abs(x)));
  const F inv = V::div(V::set1(1.0f), V::add(V::set1(1.0f), e));
  return V::select(V::lt(x, V::set1(0.0f)), V::mul(e, inv), inv);
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
  for (; i + L <= n; i += L) V::store(out + i, Fn(V::load(x + i)));
  if (i < n) V::store_n(out + i, Fn(V::load_n(x + i, n - i)), n - i);
}

}  // namespace
}  // namespace corten::cpu::vec
