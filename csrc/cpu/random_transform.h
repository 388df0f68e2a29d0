#pragma once
// The maps from Philox words to random values, written once over a lane type so that the
// scalar reference (ScalarLane below) and the vector kernels (cpu/avx512/random_avx512.cpp)
// run the same operations in the same order, and the value of one element of each draw from
// its Philox block (the end of this file). The scalar functions are CORTEN_HD: the reference
// kernels (cpu/random_ref_kernels.inc), the scalar paths of cpu/random.cpp and the CUDA kernels
// (cuda/random.cu) all run this one copy. Internal linkage: the copies compiled with different
// flags never meet at link time.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <corten/half.h>

#include "cpu/host_device.h"
#include "cpu/philox.h"

namespace corten::cpu::rng {
namespace {

// Note [Reproducible random transforms]
// A random value is a pure function of (key, counter offset, element index) (Note [Philox
// counters] in cpu/random.cpp), and that must hold bit for bit across the scalar reference, the
// vector kernels, every ISA, every thread count and the CUDA kernels. So the maps from
// words to values use only operations that IEEE 754 rounds exactly (integer operations, +, -,
// *, /, sqrt, conversions, and fma written out explicitly on every path), and no libm call
// (whose last bit differs between libraries). The files that compile them are built with
// -ffp-contract=off (CMakeLists.txt), so no compiler fuses a * b + c on one path only; nvcc
// compiles the CUDA kernels with --fmad=false for the same reason, and device code runs these
// functions themselves (IEEE +, -, *, /, sqrt and fma round as on the host; no __logf, sincosf
// or other device intrinsic).
//
// Box-Muller for float32: a pair of words (w0, w1) gives
//   u1 = ((w0 >> 8) + 1) / 2^24 in (0, 1], u2 = (w1 >> 8) / 2^24 in [0, 1),
//   r = sqrt(-2 log u1), z0 = r cos(2 pi u2), z1 = r sin(2 pi u2).
// log is Cephes' logf (mantissa in [sqrt(1/2), sqrt(2)), degree-8 polynomial, exponent times ln 2
// in two parts): within 1 ulp. The angle is reduced exactly in integers: with k = w1 >> 8,
// q = round(k / 2^22) and f = k - q 2^22 in [-2^21, 2^21], 2 pi u2 = q pi/2 + a with
// a = f (2 pi / 2^24) in [-pi/4, pi/4], where Cephes' sinf/cosf polynomials are accurate to
// about 1 ulp; the quadrant q swaps and negates them. float64 takes the same steps with 53-bit
// uniforms and Cephes' double polynomials (log within 1 ulp; sin, cos within 1-2 ulp).
constexpr float kSqrtHalfF = 0.707106781186547524f;
constexpr double kSqrtHalf = 0.70710678118654752440;
constexpr double kTwoPi = 6.283185307179586476925286766559;
constexpr auto kTwoPiOver2p24 = static_cast<float>(kTwoPi * 0x1p-24);
constexpr double kTwoPiOver2p53 = kTwoPi * 0x1p-53;

// One float32 lane in plain C++: the reference, and what a CUDA thread runs.
struct ScalarLane {
  using F = float;
  using I = uint32_t;
  CORTEN_HD static F fset(float v) { return v; }
  CORTEN_HD static I iset(uint32_t v) { return v; }
  CORTEN_HD static I srl(I a, int n) { return a >> n; }
  CORTEN_HD static I sll(I a, int n) { return a << n; }
  CORTEN_HD static I iand(I a, I b) { return a & b; }
  CORTEN_HD static I ior(I a, I b) { return a | b; }
  CORTEN_HD static I ixor(I a, I b) { return a ^ b; }
  CORTEN_HD static I iadd(I a, I b) { return a + b; }
  CORTEN_HD static I isub(I a, I b) { return a - b; }
  // Signed int32 to float (|a| < 2^25 here: exact).
  CORTEN_HD static F cvt(I a) {
    int32_t s;
    std::memcpy(&s, &a, sizeof s);
    return static_cast<float>(s);
  }
  CORTEN_HD static F asf(I a) {
    F f;
    std::memcpy(&f, &a, sizeof f);
    return f;
  }
  CORTEN_HD static I asi(F a) {
    I i;
    std::memcpy(&i, &a, sizeof i);
    return i;
  }
  CORTEN_HD static F add(F a, F b) { return a + b; }
  CORTEN_HD static F sub(F a, F b) { return a - b; }
  CORTEN_HD static F mul(F a, F b) { return a * b; }
  CORTEN_HD static F fma(F a, F b, F c) { return std::fma(a, b, c); }
  CORTEN_HD static F sqrt(F a) { return std::sqrt(a); }
  CORTEN_HD static F select_lt(F a, F b, F t, F f) { return a < b ? t : f; }
  // (m & 1) ? t : f for m in {0, 1} per lane.
  CORTEN_HD static F select_odd(I m, F t, F f) { return (m & 1u) != 0 ? t : f; }
};

// Natural log of lanes x in (0, 1] built as k / 2^24 with integral k = kk in [1, 2^24]: the
// scaling folds into the exponent, so the argument is float(kk), exact.
template <class V>
CORTEN_HD inline typename V::F log_u24(typename V::I kk) {
  using F = typename V::F;
  using I = typename V::I;
  const I bits = V::asi(V::cvt(kk));
  // kk = m 2^e with m in [1/2, 1): e = biased exponent - 126; then u = m 2^(e - 24).
  F e = V::cvt(V::isub(V::srl(bits, 23), V::iset(126 + 24)));
  F m = V::asf(V::ior(V::iand(bits, V::iset(0x007fffffu)), V::iset(0x3f000000u)));
  const F small = V::fset(1.0f);
  e = V::select_lt(m, V::fset(kSqrtHalfF), V::sub(e, small), e);
  m = V::select_lt(m, V::fset(kSqrtHalfF), V::add(m, m), m);
  const F x = V::sub(m, V::fset(1.0f));
  const F z = V::mul(x, x);
  F y = V::fset(7.0376836292E-2f);
  y = V::fma(y, x, V::fset(-1.1514610310E-1f));
  y = V::fma(y, x, V::fset(1.1676998740E-1f));
  y = V::fma(y, x, V::fset(-1.2420140846E-1f));
  y = V::fma(y, x, V::fset(1.4249322787E-1f));
  y = V::fma(y, x, V::fset(-1.6668057665E-1f));
  y = V::fma(y, x, V::fset(2.0000714765E-1f));
  y = V::fma(y, x, V::fset(-2.4999993993E-1f));
  y = V::fma(y, x, V::fset(3.3333331174E-1f));
  y = V::mul(V::mul(y, x), z);
  y = V::fma(e, V::fset(-2.12194440E-4f), y);
  y = V::fma(z, V::fset(-0.5f), y);
  return V::fma(e, V::fset(0.693359375f), V::add(x, y));
}

// Box-Muller of word lanes (w0, w1) -> (z0, z1), as in Note [Reproducible random transforms].
template <class V>
CORTEN_HD inline void normal_f32(typename V::I w0, typename V::I w1, typename V::F& z0,
                                 typename V::F& z1) {
  using F = typename V::F;
  using I = typename V::I;
  const F l = log_u24<V>(V::iadd(V::srl(w0, 8), V::iset(1)));
  const F r = V::sqrt(V::mul(l, V::fset(-2.0f)));
  const I k = V::srl(w1, 8);
  const I q = V::srl(V::iadd(k, V::iset(1u << 21)), 22);  // 0..4
  const F a = V::mul(V::cvt(V::isub(k, V::sll(q, 22))), V::fset(kTwoPiOver2p24));
  const F z = V::mul(a, a);
  F p = V::fma(V::fset(-1.9515295891E-4f), z, V::fset(8.3321608736E-3f));
  p = V::fma(p, z, V::fset(-1.6666654611E-1f));
  const F s = V::fma(p, V::mul(z, a), a);
  F c = V::fma(V::fset(2.443315711809948E-5f), z, V::fset(-1.388731625493765E-3f));
  c = V::fma(c, z, V::fset(4.166664568298827E-2f));
  c = V::fma(c, V::mul(z, z), V::fma(z, V::fset(-0.5f), V::fset(1.0f)));
  // sin(q pi/2 + a), cos(q pi/2 + a): odd q swaps; sin is negative for q = 2, 3 and cos for
  // q = 1, 2 (bit 1 of q and of q + 1, moved to the sign bit).
  const F sn = V::select_odd(q, c, s);
  const F cs = V::select_odd(q, s, c);
  const I sign_s = V::sll(V::iand(q, V::iset(2)), 30);
  const I sign_c = V::sll(V::iand(V::iadd(q, V::iset(1)), V::iset(2)), 30);
  z0 = V::mul(r, V::asf(V::ixor(V::asi(cs), sign_c)));
  z1 = V::mul(r, V::asf(V::ixor(V::asi(sn), sign_s)));
}

// float64 Box-Muller of 64-bit words (scalar only): the same steps with 53-bit uniforms
// u1 = ((b0 >> 11) + 1) / 2^53, u2 = (b1 >> 11) / 2^53.
CORTEN_HD inline double log_u53(uint64_t kk) {  // log(kk / 2^53), kk in [1, 2^53]
  const double v = static_cast<double>(kk);  // exact
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  double e = static_cast<double>(static_cast<int64_t>(bits >> 52) - (1022 + 53));
  const uint64_t mb = (bits & 0x000fffffffffffffull) | 0x3fe0000000000000ull;
  double m;
  std::memcpy(&m, &mb, sizeof m);
  if (m < kSqrtHalf) {
    e = e - 1.0;
    m = m + m;
  }
  const double x = m - 1.0;
  const double z = x * x;
  double p = 1.01875663804580931796E-4;
  p = std::fma(p, x, 4.97494994976747001425E-1);
  p = std::fma(p, x, 4.70579119878881725854E0);
  p = std::fma(p, x, 1.44989225341610930846E1);
  p = std::fma(p, x, 1.79368678507819816313E1);
  p = std::fma(p, x, 7.70838733755885391666E0);
  double q = x + 1.12873587189167450590E1;
  q = std::fma(q, x, 4.52279145837532221105E1);
  q = std::fma(q, x, 8.29875266912776603211E1);
  q = std::fma(q, x, 7.11544750618563894466E1);
  q = std::fma(q, x, 2.31251620126765340583E1);
  double y = x * (z * p / q);
  y = std::fma(e, -2.121944400546905827679E-4, y);
  y = std::fma(z, -0.5, y);
  return std::fma(e, 0.693359375, x + y);
}

CORTEN_HD inline void normal_f64(uint64_t b0, uint64_t b1, double& z0, double& z1) {
  const double r = std::sqrt(log_u53((b0 >> 11) + 1) * -2.0);
  const uint64_t k = b1 >> 11;
  const uint64_t q = (k + (uint64_t{1} << 50)) >> 51;  // 0..4
  const auto f = static_cast<int64_t>(k - (q << 51));
  const double a = static_cast<double>(f) * kTwoPiOver2p53;
  const double z = a * a;
  double sp = 1.58962301576546568060E-10;
  sp = std::fma(sp, z, -2.50507477628578072866E-8);
  sp = std::fma(sp, z, 2.75573136213857245213E-6);
  sp = std::fma(sp, z, -1.98412698295895385996E-4);
  sp = std::fma(sp, z, 8.33333333332211858878E-3);
  sp = std::fma(sp, z, -1.66666666666666307295E-1);
  const double s = std::fma(sp, z * a, a);
  double cp = -1.13585365213876817300E-11;
  cp = std::fma(cp, z, 2.08757008419747316778E-9);
  cp = std::fma(cp, z, -2.75573141792967388112E-7);
  cp = std::fma(cp, z, 2.48015872888517045348E-5);
  cp = std::fma(cp, z, -1.38888888888730564116E-3);
  cp = std::fma(cp, z, 4.16666666666665929218E-2);
  const double c = std::fma(cp, z * z, std::fma(z, -0.5, 1.0));
  const double sn = (q & 1) != 0 ? c : s;
  const double cs = (q & 1) != 0 ? s : c;
  z0 = r * ((((q + 1) & 2) != 0) ? -cs : cs);
  z1 = r * (((q & 2) != 0) ? -sn : sn);
}

// ---- One element of each draw --------------------------------------------------------------
// Note [Random element values]
// The value of element i of a draw is a function of the Philox block (key, offset + i / K) and
// the lane j = i % K alone (Note [Philox counters] in cpu/random.cpp), written once below:
// - float32 normal: lanes (0, 1) are the Box-Muller pair of words (v0, v1), lanes (2, 3) that of
//   (v2, v3); float64 normal: lanes (0, 1) are the pair of the 64-bit words (v1:v0, v3:v2);
// - uniform and integer draws: lane j takes word j (32-bit elements) or the 64-bit word
//   v[2j + 1]:v[2j] (64-bit elements); dropout masks take word j, 4 per block;
// - truncated normal: the standard normal of the lane, redrawn from the same lane of streams
//   1, 2, ... of the same counter while it lies outside [-2, 2].
// The CPU kernels compute a run of blocks at a time (vectorised through cpu/random_kernels.h
// on some ISAs, with the same bits), the CUDA kernels one block per thread.

/// Elements per Philox block of a draw of T: 4 of 32 bits, 2 of 64 bits (dropout masks: 4).
template <class T>
constexpr int kPerBlock = sizeof(T) == 4 ? 4 : 2;
constexpr int kMaskPerBlock = 4;

/// The 64-bit word hi:lo.
CORTEN_HD inline uint64_t bits64(uint32_t lo, uint32_t hi) {
  return static_cast<uint64_t>(hi) << 32 | lo;
}

/// (a, b) = mean + stddev * (z0, z1), the float32 Box-Muller pair of words (w0, w1).
CORTEN_HD inline void normal_pair_f32(uint32_t w0, uint32_t w1, float mean, float stddev, float& a,
                                      float& b) {
  float z0, z1;
  normal_f32<ScalarLane>(w0, w1, z0, z1);
  a = mean + stddev * z0;
  b = mean + stddev * z1;
}

/// (a, b) = mean + stddev * (z0, z1), the float64 Box-Muller pair of 64-bit words (b0, b1).
CORTEN_HD inline void normal_pair_f64(uint64_t b0, uint64_t b1, double mean, double stddev,
                                      double& a, double& b) {
  double z0, z1;
  normal_f64(b0, b1, z0, z1);
  a = mean + stddev * z0;
  b = mean + stddev * z1;
}

/// The standard normal of lane j of block r (Note [Random element values]), computed as
/// 0 + 1 * z like the table kernels called with mean 0 and stddev 1 (so -0 reads +0).
template <class T>
CORTEN_HD inline T standard_normal_lane(const Philox4x32Block& r, int j) {
  T a, b;
  if constexpr (std::is_same_v<T, float>) {
    normal_pair_f32(r.v[2 * (j / 2)], r.v[2 * (j / 2) + 1], 0.0f, 1.0f, a, b);
  } else {
    normal_pair_f64(bits64(r.v[0], r.v[1]), bits64(r.v[2], r.v[3]), 0.0, 1.0, a, b);
  }
  return j % 2 == 0 ? a : b;
}

/// The standard normals of the K lanes of block r, as standard_normal_lane computes them.
template <class T>
CORTEN_HD inline void standard_normals(const Philox4x32Block& r, T (&z)[kPerBlock<T>]) {
  if constexpr (std::is_same_v<T, float>) {
    normal_pair_f32(r.v[0], r.v[1], 0.0f, 1.0f, z[0], z[1]);
    normal_pair_f32(r.v[2], r.v[3], 0.0f, 1.0f, z[2], z[3]);
  } else {
    normal_pair_f64(bits64(r.v[0], r.v[1]), bits64(r.v[2], r.v[3]), 0.0, 1.0, z[0], z[1]);
  }
}

/// Redraws of one truncated-normal element before giving up and returning 0 (the chance of
/// reaching this is 0.0455^64, about 1e-86).
constexpr uint64_t kMaxTruncatedAttempts = 64;

/// z (the standard normal of lane j of block (key, ctr), stream 0) redrawn from the same lane of
/// streams 1, 2, ... until |z| <= 2.
template <class T>
CORTEN_HD inline T truncate_normal(T z, uint64_t key, uint64_t ctr, int j) {
  for (uint64_t stream = 1; !(std::fabs(z) <= T(2)); ++stream) {
    if (stream > kMaxTruncatedAttempts) return T(0);
    z = standard_normal_lane<T>(philox_block(key, ctr, stream), j);
  }
  return z;
}

/// The K elements mean + stddev * z of block r = (key, ctr) of a truncated-normal draw.
template <class T>
CORTEN_HD inline void truncated_normal_block(const Philox4x32Block& r, uint64_t key, uint64_t ctr,
                                             T mean, T stddev, T (&v)[kPerBlock<T>]) {
  standard_normals<T>(r, v);
  for (int j = 0; j < kPerBlock<T>; ++j) v[j] = mean + stddev * truncate_normal(v[j], key, ctr, j);
}

/// The parameters of a uniform draw of T in [minval, maxval): the rounding of
/// minval + u * range can reach maxval, and the interval is half-open, so values at or above hi
/// become below_hi (the largest T under hi) when clamp.
template <class T>
struct UniformParams {
  double minval, range;
  T hi, below_hi;
  bool clamp;
};
template <class T>
inline UniformParams<T> uniform_params(double minval, double maxval) {
  const auto lo = static_cast<T>(minval), hi = static_cast<T>(maxval);
  return {minval, maxval - minval, hi, lo < hi ? std::nextafter(hi, lo) : hi, lo < hi};
}

/// float32 uniform of word w: minval + u * range with u = (w >> 8) / 2^24, in double.
CORTEN_HD inline float uniform_f32(uint32_t w, double minval, double range, float hi,
                                   float below_hi, bool clamp) {
  const double u = static_cast<double>(w >> 8) * 0x1p-24;
  const auto x = static_cast<float>(minval + u * range);
  return clamp && x >= hi ? below_hi : x;
}

/// float64 uniform of the 64-bit word hi:lo: minval + u * range with u = (bits >> 11) / 2^53.
CORTEN_HD inline double uniform_f64(uint32_t lo, uint32_t hi, const UniformParams<double>& p) {
  const double u = static_cast<double>(bits64(lo, hi) >> 11) * 0x1p-53;
  const double x = p.minval + u * p.range;
  return p.clamp && x >= p.hi ? p.below_hi : x;
}

/// An integer draw of T: lo + bits % range in the unsigned type (TensorFlow's integer uniform).
template <class T>
struct IntParams {
  using U = std::make_unsigned_t<T>;
  U lo, range;
};
template <class T>
inline IntParams<T> int_params(int64_t minval, int64_t maxval) {
  using U = std::make_unsigned_t<T>;
  const auto lo = static_cast<U>(static_cast<T>(minval));
  return {lo, static_cast<U>(static_cast<U>(static_cast<T>(maxval)) - lo)};
}
template <class T>
CORTEN_HD inline T uniform_int(std::make_unsigned_t<T> bits, const IntParams<T>& p) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(p.lo + bits % p.range));
}

/// Dropout keeps the element of word w when u = w / 2^32 >= rate, as TensorFlow does. u and
/// rate * 2^32 are exact in double (a power-of-two scaling), so for an integer w the test is
/// w >= ceil(rate * 2^32): this threshold, computed once per draw, in [0, 2^32] for rate in
/// [0, 1) (2^32 keeps nothing). An integer compare per element vectorises; the float64 form
/// of the test did not (a uint32 to double conversion per element).
struct DropoutThreshold {
  uint64_t value;
};
inline DropoutThreshold dropout_threshold(double rate) {
  return {static_cast<uint64_t>(std::ceil(rate * 0x1p32))};
}
CORTEN_HD inline bool dropout_keep(uint32_t w, DropoutThreshold t) {
  return static_cast<uint64_t>(w) >= t.value;
}

/// The value of a kept element: x * scale in x's arithmetic; for bfloat16, in float32 and
/// rounded once (the values of dropout on a float32 copy).
template <class T>
CORTEN_HD inline T dropout_kept(T x, T scale) {
  return x * scale;
}
CORTEN_HD inline bfloat16 dropout_kept(bfloat16 x, float scale) {
  return bfloat16::from_float(x.to_float() * scale);
}

}  // namespace
}  // namespace corten::cpu::rng
