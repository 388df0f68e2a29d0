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
#include <type_traits>

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
  using Mask = __mmask16;
  static Mask first(int n) { return static_cast<Mask>((1u << n) - 1u); }
  static V load(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, Mask m, V v) { _mm512_mask_storeu_ps(p, m, v); }
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
  using Mask = __mmask8;
  static Mask first(int n) { return static_cast<Mask>((1u << n) - 1u); }
  static V load(const double* p, Mask m) { return _mm512_maskz_loadu_pd(m, p); }
  static void store(double* p, Mask m, V v) { _mm512_mask_storeu_pd(p, m, v); }
};

// MR x (NV * kLanes) tile. kLdb > 0: packed B, its row stride a compile-time constant
// (addresses fold into displacements); kLdb == 0: B read in place with the run-time stride.
// kPackedA: A is a packed panel (strides 1, MR), else A is read in place with the run-time
// strides (MR row offsets held in registers). kMaskB: a partial in-place B panel, of which
// only the first nr columns are read (masked loads cost as much as plain ones).
template <class T, int MR, int NV, int64_t kLdb, bool kPackedA, bool kMaskB>
void ukernel_impl(int64_t kc, const T* a, int64_t a_rs_rt, int64_t a_cs_rt, const T* b,
                  int64_t ldb_rt, T* c, int64_t ldc, int mr, int nr, bool accumulate) {
  using Z = Zmm<T>;
  using V = typename Z::V;
  constexpr int L = Z::kLanes;
  const int64_t ldb = kLdb > 0 ? kLdb : ldb_rt;
  const int64_t ars = kPackedA ? 1 : a_rs_rt, acs = kPackedA ? MR : a_cs_rt;
  // Lanes of each vector that hold columns < nr.
  typename Z::Mask mask[NV];
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) {
    const int left = nr - j * L;
    mask[j] = Z::first(left <= 0 ? 0 : left >= L ? L : left);
  }
  V acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = Z::zero();
  auto step = [&]() __attribute__((always_inline)) {
    V bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = kMaskB ? Z::load(b + j * L, mask[j]) : Z::load(b + j * L);
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
  // end: fetch it while the k loop runs (a prefetch past a partial tile is harmless).
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
  if (mr == MR && nr == NV * L) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      T* ci = c + i * ldc;
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) {
        Z::store(ci + j * L, accumulate ? Z::add(Z::load(ci + j * L), acc[i][j]) : acc[i][j]);
      }
    }
    return;
  }
  // A partial tile: masked stores of its mr x nr corner.
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    if (i >= mr) break;
    T* ci = c + i * ldc;
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      const V v = accumulate ? Z::add(Z::load(ci + j * L, mask[j]), acc[i][j]) : acc[i][j];
      Z::store(ci + j * L, mask[j], v);
    }
  }
}

template <class T, int MR, int NV>
void ukernel(int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t ldb, T* c,
             int64_t ldc, int mr, int nr, bool accumulate) {
  constexpr int64_t kPacked = NV * Zmm<T>::kLanes;
  const bool packed_a = a_rs == 1 && a_cs == MR;
  // A partial panel's B loads are masked whether B is packed (zero padded: no harm) or read in
  // place (the columns past nr may not exist); ldb alone cannot tell the two apart.
  const bool mask_b = nr < kPacked;
  auto run = [&](auto ldb_c, auto packed_a_c, auto mask_b_c) {
    ukernel_impl<T, MR, NV, decltype(ldb_c)::value, decltype(packed_a_c)::value,
                 decltype(mask_b_c)::value>(kc, a, a_rs, a_cs, b, ldb, c, ldc, mr, nr, accumulate);
  };
  using Packed = std::integral_constant<int64_t, kPacked>;
  using InPlace = std::integral_constant<int64_t, 0>;
  if (mask_b) {
    if (packed_a) run(InPlace(), std::true_type(), std::true_type());
    else run(InPlace(), std::false_type(), std::true_type());
  } else if (ldb == kPacked) {
    if (packed_a) run(Packed(), std::true_type(), std::false_type());
    else run(Packed(), std::false_type(), std::false_type());
  } else {
    if (packed_a) run(InPlace(), std::true_type(), std::false_type());
    else run(InPlace(), std::false_type(), std::false_type());
  }
}

}  // namespace

Ukernel<float> ukernel_f32() { return {&ukernel<float, 6, 4>, 6, 64, "ukernel_avx512_6x64", true}; }
Ukernel<double> ukernel_f64() {
  return {&ukernel<double, 6, 4>, 6, 32, "ukernel_avx512_6x32", true};
}

// One vector per row is bound by the broadcasts (one load per FMA): 8 rows keep 8 FMA chains
// in flight and measured as fast as 12 or 16 (~145 GFLOP/s at 1 thread, against ~175 for the
// wide tiles); two vectors per row reach the wide tiles' speed. 8 rows divide the usual batch
// sizes.
Ukernel<float> ukernel_narrow_f32(int nv) {
  if (nv == 1) return {&ukernel<float, 8, 1>, 8, 16, "ukernel_avx512_8x16", true};
  return {&ukernel<float, 8, 2>, 8, 32, "ukernel_avx512_8x32", true};
}
Ukernel<double> ukernel_narrow_f64(int nv) {
  if (nv == 1) return {&ukernel<double, 8, 1>, 8, 8, "ukernel_avx512_8x8", true};
  return {&ukernel<double, 8, 2>, 8, 16, "ukernel_avx512_8x16", true};
}

}  // namespace corten::cpu::gemm::avx512
