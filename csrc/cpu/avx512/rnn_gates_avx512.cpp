// AVX-512 fused LSTM gate rows (cpu/rnn_gates.h). Compiled with the avx512 flags and only
// called when the CPU supports them. 16 units per iteration; a partial last vector goes
// through the same code with masked loads and stores, so every unit takes the same path.

#include "cpu/avx512/vec_math.h"
#include "cpu/rnn_gates.h"

namespace corten::cpu::avx512 {
namespace {

using V = Vec16;
using F = V::F;

// 1 / d from the 14-bit reciprocal estimate and one Newton step (relative error about 2^-27):
// a 512-bit division is one of the costliest instructions here and each gate takes one.
inline F rcp(F d) {
  const F r = _mm512_rcp14_ps(d);
  return V::mul(r, V::fnmadd(d, r, V::set1(2.0f)));
}

// sigmoid(x) = 1 / (1 + exp(-x)), x capped to [-80, 80] (exp(80) and exp(-80) are normal
// floats: no overflow, no std::exp fallback; the capped values differ from the true ones by
// less than 2e-35), exp as cpu/vec_math.h's exp_in_range with n rounded by adding and
// subtracting 1.5 * 2^23 (a 512-bit round is two uops on the port that also runs the scale)
// and the reduction's negation folded into it, the division replaced by rcp. 1 / (1 + e) is
// as accurate relatively as e / (1 + e) for x < 0 (both carry exp's relative error), so no
// blend between the two: 19 instructions against 25.
inline F sigmoid(F x) {
  const F xc = V::max(V::set1(-80.0f), V::min(V::set1(80.0f), x));
  const F magic = V::set1(12582912.0f);
  const F n = V::sub(V::fmadd(xc, V::set1(-1.44269504088896341f), magic), magic);
  // r = -x - n ln2, ln2 in two parts (n * 0.693359375 is exact).
  F r = _mm512_fnmsub_ps(n, V::set1(0.693359375f), xc);
  r = V::fnmadd(n, V::set1(-2.12194440e-4f), r);
  return rcp(V::add(V::set1(1.0f), V::ldexp(vec::exp_reduced<V>(r), n)));
}

// tanh as in cpu/vec_math.h with the division replaced by rcp.
inline F tanh(F x) {
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
  const F p2 = V::ldexp(V::set1(2.0f), n);
  const F e = V::fmadd(half_em1, p2, V::fmadd(p2, V::set1(0.5f), V::set1(-1.0f)));
  return V::or_sign(V::mul(e, rcp(V::add(e, V::set1(2.0f)))), x);
}

inline F ld(const float* p, int64_t n) { return n == 16 ? V::load(p) : V::load_n(p, n); }
inline void st(float* p, F v, int64_t n) {
  if (n == 16) V::store(p, v);
  else V::store_n(p, v, n);
}

// x + xb (xb null: x).
inline F plus_bias(const float* x, const float* xb, int64_t j, int64_t n) {
  return xb ? V::add(ld(x + j, n), ld(xb + j, n)) : ld(x + j, n);
}

// Two passes over the row: the gates and the cell state of every vector first, then act(c)
// and h. Each vector's act(c) depends on its gates through two chains of about 25 dependent
// instructions; in one pass the out-of-order window held little more than one vector's chain
// and the kernel ran at its latency, not at the FMA ports' throughput (the samples sat on
// the tanh of c). The second pass's vectors are independent of each other.
template <bool kIn>
void forward_row_impl(int64_t nh, const float* x, const float* xb, const float* in,
                      const float* cp, float* g, float* cn, float* ac, float* hn) {
  // The pre-activation of gate q: (x + xb) + in, or x + xb without in.
  auto pre = [&](int64_t q, int64_t j, int64_t n) __attribute__((always_inline)) {
    const F v = plus_bias(x, xb, q * nh + j, n);
    return kIn ? V::add(v, ld(in + q * nh + j, n)) : v;
  };
  for (int64_t j = 0; j < nh; j += 16) {
    const int64_t n = nh - j < 16 ? nh - j : 16;
    const F gi = sigmoid(pre(0, j, n));
    const F gf = sigmoid(pre(1, j, n));
    const F gc = tanh(pre(2, j, n));
    const F go = sigmoid(pre(3, j, n));
    st(g + j, gi, n);
    st(g + nh + j, gf, n);
    st(g + 2 * nh + j, gc, n);
    st(g + 3 * nh + j, go, n);
    st(cn + j, V::add(V::mul(gf, ld(cp + j, n)), V::mul(gi, gc)), n);
  }
  for (int64_t j = 0; j < nh; j += 16) {
    const int64_t n = nh - j < 16 ? nh - j : 16;
    const F a = tanh(ld(cn + j, n));
    st(ac + j, a, n);
    st(hn + j, V::mul(ld(g + 3 * nh + j, n), a), n);
  }
}

void forward_row(int64_t nh, const float* x, const float* xb, const float* in, const float* cp,
                 float* g, float* cn, float* ac, float* hn) {
  if (in) forward_row_impl<true>(nh, x, xb, in, cp, g, cn, ac, hn);
  else forward_row_impl<false>(nh, x, xb, in, cp, g, cn, ac, hn);
}

void backward_row(int64_t nh, const float* g, const float* ac, const float* cp, const float* dy,
                  float* dh, float* carry, float* dc, float* dx) {
  const F one = V::set1(1.0f), zero = V::set1(0.0f);
  for (int64_t j = 0; j < nh; j += 16) {
    const int64_t n = nh - j < 16 ? nh - j : 16;
    F dhn = V::add(ld(dh + j, n), ld(carry + j, n));
    if (dy) dhn = V::add(dhn, ld(dy + j, n));
    st(dh + j, zero, n);
    st(carry + j, zero, n);
    const F gi = ld(g + j, n), gf = ld(g + nh + j, n), gc = ld(g + 2 * nh + j, n),
            go = ld(g + 3 * nh + j, n), a = ld(ac + j, n);
    // The same operations, in the same order, as the generic loop in cpu/rnn.cpp.
    const F dct = V::add(ld(dc + j, n), V::mul(V::mul(dhn, go), V::sub(one, V::mul(a, a))));
    st(dx + j, V::mul(V::mul(dct, gc), V::mul(gi, V::sub(one, gi))), n);
    st(dx + nh + j, V::mul(V::mul(dct, ld(cp + j, n)), V::mul(gf, V::sub(one, gf))), n);
    st(dx + 2 * nh + j, V::mul(V::mul(dct, gi), V::sub(one, V::mul(gc, gc))), n);
    st(dx + 3 * nh + j, V::mul(V::mul(dhn, a), V::mul(go, V::sub(one, go))), n);
    st(dc + j, V::mul(dct, gf), n);
  }
}

void gru_forward_row(int64_t nh, const float* x, const float* xb, const float* in,
                     const float* rb, const float* hp, float* g, float* ih, float* hn) {
  const F one = V::set1(1.0f);
  for (int64_t j = 0; j < nh; j += 16) {
    const int64_t n = nh - j < 16 ? nh - j : 16;
    F pz = V::add(plus_bias(x, xb, j, n), ld(in + j, n));
    F pr = V::add(plus_bias(x, xb, nh + j, n), ld(in + nh + j, n));
    F ihv = ld(in + 2 * nh + j, n);
    if (rb) {
      pz = V::add(pz, ld(rb + j, n));
      pr = V::add(pr, ld(rb + nh + j, n));
      ihv = V::add(ihv, ld(rb + 2 * nh + j, n));
    }
    const F z = sigmoid(pz), r = sigmoid(pr);
    const F hh = tanh(V::add(plus_bias(x, xb, 2 * nh + j, n), V::mul(r, ihv)));
    st(g + j, z, n);
    st(g + nh + j, r, n);
    st(g + 2 * nh + j, hh, n);
    st(ih + j, ihv, n);
    st(hn + j, V::add(V::mul(z, ld(hp + j, n)), V::mul(V::sub(one, z), hh)), n);
  }
}

void gru_backward_row(int64_t nh, const float* g, const float* ih, const float* hp,
                      const float* dy, float* dh, float* carry, float* dx, float* di) {
  const F one = V::set1(1.0f), zero = V::set1(0.0f);
  for (int64_t j = 0; j < nh; j += 16) {
    const int64_t n = nh - j < 16 ? nh - j : 16;
    F dhn = V::add(ld(dh + j, n), ld(carry + j, n));
    if (dy) dhn = V::add(dhn, ld(dy + j, n));
    st(carry + j, zero, n);
    const F z = ld(g + j, n), r = ld(g + nh + j, n), hh = ld(g + 2 * nh + j, n);
    const F dz = V::mul(V::mul(dhn, V::sub(ld(hp + j, n), hh)), V::mul(z, V::sub(one, z)));
    const F dph = V::mul(V::mul(dhn, V::sub(one, z)), V::sub(one, V::mul(hh, hh)));
    const F dr = V::mul(V::mul(dph, ld(ih + j, n)), V::mul(r, V::sub(one, r)));
    st(dx + j, dz, n);
    st(dx + nh + j, dr, n);
    st(dx + 2 * nh + j, dph, n);
    st(di + j, dz, n);
    st(di + nh + j, dr, n);
    st(di + 2 * nh + j, V::mul(dph, r), n);
    st(dh + j, V::mul(dhn, z), n);
  }
}

void sum_rows(int64_t n, int64_t rows, const float* src, int64_t rs, float* sum) {
  for (int64_t j = 0; j < n; j += 16) {
    const int64_t m = n - j < 16 ? n - j : 16;
    F acc = ld(sum + j, m);
    for (int64_t r = 0; r < rows; ++r) acc = V::add(acc, ld(src + r * rs + j, m));
    st(sum + j, acc, m);
  }
}

template <int W>
void pack_rows_w(int64_t n, int64_t rows, const float* src, int64_t rs, int64_t p0,
                 int64_t stride, float* dst) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = src + r * rs;
    float* d = dst + (p0 + r) * W;
    for (int64_t j0 = 0; j0 < n; j0 += W, d += stride) {
      for (int64_t j = 0; j < W && j0 + j < n; j += 16) {
        const int64_t m = n - j0 - j < 16 ? n - j0 - j : 16;
        if (W == 8) {
          // Half a vector: masked to the panel's 8 columns.
          const int64_t m8 = m < 8 ? m : 8;
          V::store_n(d + j, V::load_n(row + j0 + j, m8), m8);
        } else {
          st(d + j, ld(row + j0 + j, m), m);
        }
      }
    }
  }
}

void pack_rows(int64_t n, int64_t rows, const float* src, int64_t rs, int64_t w, int64_t p0,
               int64_t stride, float* dst) {
  switch (w) {
    case 8: return pack_rows_w<8>(n, rows, src, rs, p0, stride, dst);
    case 16: return pack_rows_w<16>(n, rows, src, rs, p0, stride, dst);
    case 32: return pack_rows_w<32>(n, rows, src, rs, p0, stride, dst);
    default: return pack_rows_w<64>(n, rows, src, rs, p0, stride, dst);
  }
}

}  // namespace

LstmGateKernels lstm_gate_kernels() { return {&forward_row, &backward_row}; }
GruGateKernels gru_gate_kernels() { return {&gru_forward_row, &gru_backward_row}; }
RnnRowKernels rnn_row_kernels() { return {&sum_rows, &pack_rows}; }

}  // namespace corten::cpu::avx512
