// AVX-512 GEMM micro-kernels (see Note [GEMM micro-kernel contract] in cpu/gemm/ukernel.h).
// This file is compiled with the avx512 flags and only called when the CPU supports them.
//
// One template for float32 and float64: MR rows x NV zmm vectors of C in MR * NV accumulators;
// per k step, NV vector loads of packed B and MR broadcasts of packed A feed MR * NV FMAs.
// ukernel_avx512_6x64 (float32) and ukernel_avx512_6x32 (float64) are MR = 6, NV = 4: 24
// accumulators + 4 B vectors + 1 broadcast of the 32 zmm registers, 12 cycles per k step on
// 2 FMA units, 10 loads in that time. Of the layouts that fit the register file this one
// measured fastest (bench/bench_gemm.py, 1 thread): 14x32 and 12x32 lose up to 10% on the
// 2048^2 square (a power-of-two row stride puts their 14 C rows in one 12-way L1 set) and on
// the 64 x 784 . 784 x 64 MLP product; 8x48 and 7x64 waste tiles (n = 64) or spill.

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "cpu/gemm/ukernel.h"

namespace corten::cpu::gemm::avx512 {
namespace {

// Prefetches `bytes` past p; computed on integers, as the address may lie past the panel's end.
inline void prefetch_ahead(const void* p, size_t bytes) {
  _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(p) + bytes), _MM_HINT_T0);
}

// The two zmm types behind one interface.
template <class T>
struct Zmm;
template <>
struct Zmm<float> {
  using V = __m512;
  static constexpr int kLanes = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
};
template <>
struct Zmm<double> {
  using V = __m512d;
  static constexpr int kLanes = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  static V broadcast(const double* p) { return _mm512_set1_pd(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
};

// MR x (NV * kLanes) tile. kLdb > 0: packed B, its row stride a compile-time constant
// (addresses fold into displacements); kLdb == 0: B read in place with the run-time stride.
// kPackedA: A is a packed panel (strides 1, MR), else A is read in place with the run-time
// strides (MR row offsets held in registers).
template <class T, int MR, int NV, int64_t kLdb, bool kPackedA>
void ukernel_impl(int64_t kc, const T* a, int64_t a_rs_rt, int64_t a_cs_rt, const T* b,
                  int64_t ldb_rt, T* c, int64_t ldc, bool accumulate) {
  using Z = Zmm<T>;
  using V = typename Z::V;
  constexpr int L = Z::kLanes;
  const int64_t ldb = kLdb > 0 ? kLdb : ldb_rt;
  const int64_t ars = kPackedA ? 1 : a_rs_rt, acs = kPackedA ? MR : a_cs_rt;
  V acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = Z::zero();
  auto step = [&]() __attribute__((always_inline)) {
    V bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = Z::load(b + j * L);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const V av = Z::broadcast(a + i * ars);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = Z::fma(av, bv[j], acc[i][j]);
    }
    a += acs;
    b += ldb;
  };
  // The C tile (MR rows of NV cache lines, NV + 1 when unaligned) is read or written at the
  // end: fetch it while the k loop runs.
  for (int i = 0; i < MR; ++i) {
    const char* ci = reinterpret_cast<const char*>(c + i * ldc);
    for (int j = 0; j <= NV; ++j) prefetch_ahead(ci, j * 64 - (j == NV));
  }
  int64_t p = 0;
  for (; p + 4 <= kc; p += 4) {
    if (kPackedA) prefetch_ahead(a, 4 * MR * sizeof(T) + 256);
    step();
    step();
    step();
    step();
  }
  for (; p < kc; ++p) step();
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    T* ci = c + i * ldc;
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      Z::store(ci + j * L, accumulate ? Z::add(Z::load(ci + j * L), acc[i][j]) : acc[i][j]);
    }
  }
}

template <class T, int MR, int NV>
void ukernel(int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t ldb, T* c,
             int64_t ldc, bool accumulate) {
  constexpr int64_t kPacked = NV * Zmm<T>::kLanes;
  const bool packed_a = a_rs == 1 && a_cs == MR;
  if (ldb == kPacked && packed_a) {
    ukernel_impl<T, MR, NV, kPacked, true>(kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
  } else if (ldb == kPacked) {
    ukernel_impl<T, MR, NV, kPacked, false>(kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
  } else if (packed_a) {
    ukernel_impl<T, MR, NV, 0, true>(kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
  } else {
    ukernel_impl<T, MR, NV, 0, false>(kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
  }
}

}  // namespace

Ukernel<float> ukernel_f32() { return {&ukernel<float, 6, 4>, 6, 64, "ukernel_avx512_6x64"}; }
Ukernel<double> ukernel_f64() { return {&ukernel<double, 6, 4>, 6, 32, "ukernel_avx512_6x32"}; }

}  // namespace corten::cpu::gemm::avx512
