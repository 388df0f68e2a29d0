// bfloat16 rows with VCVTNE2PS2BF16: float32 rows rounded (Note [Exact bfloat16 rounding]) and
// the arithmetic rows fused (Note [Fused bfloat16 arithmetic rows]). This file is compiled with
// the AVX-512 BF16 flags and only called where the CPU has them.

#include <corten/half.h>

#include <cstdint>

#include "cpu/avx512/intrinsics.h"
#include "cpu/elementwise.h"

namespace corten::cpu::avx512_bf16 {
namespace {

// Note [Exact bfloat16 rounding]
// VCVTNE2PS2BF16 rounds 32 floats to nearest even and quiets NaNs exactly as
// bfloat16::from_float does, in one instruction where from_float's integer formula takes a
// dozen; but it reads denormal inputs as zero, where from_float keeps them (bfloat16 has
// float32's exponent range). So each block of 32 is tested for denormals first (two masked
// tests) and one that holds any takes from_float: the bits are from_float's for every input.
// With the rows' vectorised widening, at 1 thread, 65,536 values: a cast to bfloat16 7.4 -> 4.2
// us, a bfloat16 negative (whose row widens, negates and rounds, Note [bfloat16 elementwise
// rows]) 27 -> 7.6 us (bench/results/row-kernels-2026-12-07.txt).

// Lanes of v (float32 bits) that are denormal: exponent bits zero, mantissa bits not.
inline __mmask16 denormal_lanes(__m512i v) {
  const __mmask16 zero_exponent = _mm512_testn_epi32_mask(v, _mm512_set1_epi32(0x7f800000));
  return _mm512_mask_test_epi32_mask(zero_exponent, v, _mm512_set1_epi32(0x007fffff));
}

inline bool any_denormal(__m512 v) { return denormal_lanes(_mm512_castps_si512(v)) != 0; }

void round_scalar(const float* x, uint16_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = bfloat16::from_float(x[i]).bits;
}

// 32 values (lo: the first 16) rounded into out[0, 32).
inline void store_rounded(__m512 lo, __m512 hi, uint16_t* out) {
  if (any_denormal(lo) || any_denormal(hi)) {
    alignas(64) float tmp[32];
    _mm512_store_ps(tmp, lo);
    _mm512_store_ps(tmp + 16, hi);
    round_scalar(tmp, out, 32);
    return;
  }
  _mm512_storeu_si512(out, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
}

// The first `len` (<= 16) lanes of v rounded into out[0, len).
inline void store_rounded_n(__m512 v, uint16_t* out, int64_t len) {
  const __mmask16 m = len >= 16 ? __mmask16{0xffff} : static_cast<__mmask16>((1u << len) - 1u);
  if (any_denormal(v)) {
    alignas(64) float tmp[16];
    _mm512_store_ps(tmp, v);
    round_scalar(tmp, out, len);
    return;
  }
  _mm256_mask_storeu_epi16(out, m, (__m256i)_mm512_cvtneps_pbh(v));
}

void f32_to_bf16_row(const void* x_, void* out_, int64_t n) {
  const float* x = static_cast<const float*>(x_);
  auto* out = static_cast<uint16_t*>(out_);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    store_rounded(_mm512_loadu_ps(x + i), _mm512_loadu_ps(x + i + 16), out + i);
  }
  for (; i < n; i += 16) {
    const int64_t len = n - i < 16 ? n - i : 16;
    const __mmask16 m = static_cast<__mmask16>((1u << len) - 1u);
    store_rounded_n(_mm512_maskz_loadu_ps(m, x + i), out + i, len);
  }
}

// Note [Fused bfloat16 arithmetic rows]
// add, subtract, multiply and divide of bfloat16 rows whose operands are contiguous or one
// value: each 32 values widened in registers (a shift of the 16 bits), the float32 operation,
// and Note [Exact bfloat16 rounding]'s rounding, in one pass. The values are those of the
// generic row (Note [bfloat16 elementwise rows]: the float32 op of the widened values, rounded
// once); it took three passes over a stack buffer and a call per chunk. A (8, 200, 2, 32) +
// (2, 32) add at 1 thread: 21 -> 9.7 us, float32's 9.1 (row-kernels-2026-12-07.txt). The
// generic row hands them operands of stride 0 or 1 (bf16_contiguous in cpu/elementwise.h) and
// keeps strided ones.
inline __m512 widen16(__m256i h) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// 16 bfloat16 values from p, widened.
inline __m512 load16(const uint16_t* p) {
  return widen16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

struct AddV { static __m512 f(__m512 a, __m512 b) { return _mm512_add_ps(a, b); } };
struct SubtractV { static __m512 f(__m512 a, __m512 b) { return _mm512_sub_ps(a, b); } };
struct MultiplyV { static __m512 f(__m512 a, __m512 b) { return _mm512_mul_ps(a, b); } };
struct DivideV { static __m512 f(__m512 a, __m512 b) { return _mm512_div_ps(a, b); } };

template <class Op>
void fused_row(const uint16_t* a, int64_t sa, const uint16_t* b, int64_t sb, uint16_t* out,
               int64_t n) {
  if (n <= 0) return;
  const __m512 a0 = widen16(_mm256_set1_epi16(static_cast<int16_t>(a[0])));
  const __m512 b0 = widen16(_mm256_set1_epi16(static_cast<int16_t>(b[0])));
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 alo = sa ? load16(a + i) : a0, ahi = sa ? load16(a + i + 16) : a0;
    const __m512 blo = sb ? load16(b + i) : b0, bhi = sb ? load16(b + i + 16) : b0;
    store_rounded(Op::f(alo, blo), Op::f(ahi, bhi), out + i);
  }
  for (; i < n; i += 16) {
    const int64_t len = n - i < 16 ? n - i : 16;
    const __mmask16 m = static_cast<__mmask16>((1u << len) - 1u);
    // Lanes past len read as 1.0 (bits 0x3f80): no division by zero in lanes never stored.
    const __m256i one = _mm256_set1_epi16(0x3f80);
    const __m512 av = sa ? widen16(_mm256_mask_loadu_epi16(one, m, a + i)) : a0;
    const __m512 bv = sb ? widen16(_mm256_mask_loadu_epi16(one, m, b + i)) : b0;
    store_rounded_n(Op::f(av, bv), out + i, len);
  }
}

// The bf16_contiguous row of Op: operands of stride 0 or 1 (the table's bfloat16 row checks).
template <class Op>
void contiguous_row(const void* a, int64_t sa, const void* b, int64_t sb, void* out, int64_t n) {
  fused_row<Op>(static_cast<const uint16_t*>(a), sa, static_cast<const uint16_t*>(b), sb,
                static_cast<uint16_t*>(out), n);
}

}  // namespace

void specialize_bf16_rows(ElementwiseTable& t) {
  t.f32_to_bf16 = &f32_to_bf16_row;
  t.bf16_contiguous[static_cast<int>(BinaryOp::Add)] = &contiguous_row<AddV>;
  t.bf16_contiguous[static_cast<int>(BinaryOp::Subtract)] = &contiguous_row<SubtractV>;
  t.bf16_contiguous[static_cast<int>(BinaryOp::Multiply)] = &contiguous_row<MultiplyV>;
  t.bf16_contiguous[static_cast<int>(BinaryOp::Divide)] = &contiguous_row<DivideV>;
}

}  // namespace corten::cpu::avx512_bf16
