// AVX2+FMA GEMM micro-kernels (see Note [GEMM micro-kernel contract] in cpu/gemm/ukernel.h).
// This file is compiled with -mavx2 -mfma and only called when the CPU supports both.
//
// ukernel_avx2_6x16 (float32) and ukernel_avx2_6x8 (float64): 6 rows x 2 vectors of C in 12
// ymm accumulators; per k step, 2 vector loads of packed B and 6 broadcasts of packed A feed
// 12 FMAs (2 FMA ports: 6 cycles per step at peak). 12 + 2 + 1 registers of the 16.

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "cpu/gemm/ukernel.h"

namespace corten::cpu::gemm::avx2 {
namespace {

constexpr int kMr = 6;

inline void prefetch_c(const void* c, int64_t ldc_bytes) {
  const char* p = static_cast<const char*>(c);
  for (int i = 0; i < kMr; ++i) {
    _mm_prefetch(p + i * ldc_bytes, _MM_HINT_T0);
    _mm_prefetch(p + i * ldc_bytes + 63, _MM_HINT_T0);
  }
}

// Prefetches `bytes` past p; computed on integers, as the address may lie past the panel's end.
inline void prefetch_ahead(const void* p, size_t bytes) {
  _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(p) + bytes), _MM_HINT_T0);
}

// The two ymm types behind one interface, so one kernel template serves float32 and float64.
template <class T>
struct Ymm;
template <>
struct Ymm<float> {
  using V = __m256;
  static constexpr int kLanes = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
};
template <>
struct Ymm<double> {
  using V = __m256d;
  static constexpr int kLanes = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static V broadcast(const double* p) { return _mm256_broadcast_sd(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
};

// kMr x (2 * kLanes) tile. kLdb > 0: packed B, its row stride a compile-time constant
// (addresses fold into displacements, leaving the 16 registers to the tile); kLdb == 0: B read
// in place with the run-time stride. kPackedA: A is a packed panel (strides 1, kMr), else A is
// read in place with the run-time strides.
template <class T, int64_t kLdb, bool kPackedA>
void ukernel_impl(int64_t kc, const T* a, int64_t a_rs_rt, int64_t a_cs_rt, const T* b,
                  int64_t ldb_rt, T* c, int64_t ldc, bool accumulate) {
  using Y = Ymm<T>;
  using V = typename Y::V;
  constexpr int L = Y::kLanes;
  const int64_t ldb = kLdb > 0 ? kLdb : ldb_rt;
  const int64_t ars = kPackedA ? 1 : a_rs_rt, acs = kPackedA ? kMr : a_cs_rt;
  prefetch_c(c, ldc * static_cast<int64_t>(sizeof(T)));
  V c00 = Y::zero(), c01 = Y::zero(), c10 = Y::zero(), c11 = Y::zero();
  V c20 = Y::zero(), c21 = Y::zero(), c30 = Y::zero(), c31 = Y::zero();
  V c40 = Y::zero(), c41 = Y::zero(), c50 = Y::zero(), c51 = Y::zero();
  auto step = [&]() __attribute__((always_inline)) {
    const V b0 = Y::load(b);
    const V b1 = Y::load(b + L);
    V av = Y::broadcast(a);
    c00 = Y::fma(av, b0, c00);
    c01 = Y::fma(av, b1, c01);
    av = Y::broadcast(a + 1 * ars);
    c10 = Y::fma(av, b0, c10);
    c11 = Y::fma(av, b1, c11);
    av = Y::broadcast(a + 2 * ars);
    c20 = Y::fma(av, b0, c20);
    c21 = Y::fma(av, b1, c21);
    av = Y::broadcast(a + 3 * ars);
    c30 = Y::fma(av, b0, c30);
    c31 = Y::fma(av, b1, c31);
    av = Y::broadcast(a + 4 * ars);
    c40 = Y::fma(av, b0, c40);
    c41 = Y::fma(av, b1, c41);
    av = Y::broadcast(a + 5 * ars);
    c50 = Y::fma(av, b0, c50);
    c51 = Y::fma(av, b1, c51);
    a += acs;
    b += ldb;
  };
  int64_t p = 0;
  // Unrolled only for packed operands: with run-time strides the unrolled loop spills registers.
  for (; kLdb > 0 && kPackedA && p + 4 <= kc; p += 4) {
    prefetch_ahead(a, 4 * kMr * L * sizeof(T));
    step();
    step();
    step();
    step();
  }
  for (; p < kc; ++p) step();
  const V acc[kMr][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (int i = 0; i < kMr; ++i) {
    T* ci = c + i * ldc;
    if (accumulate) {
      Y::store(ci, Y::add(Y::load(ci), acc[i][0]));
      Y::store(ci + L, Y::add(Y::load(ci + L), acc[i][1]));
    } else {
      Y::store(ci, acc[i][0]);
      Y::store(ci + L, acc[i][1]);
    }
  }
}

template <class T>
void ukernel_full(int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t ldb,
                  T* c, int64_t ldc, bool accumulate) {
  constexpr int64_t kPacked = 2 * Ymm<T>::kLanes;
  const bool packed_a = a_rs == 1 && a_cs == kMr;
  if (ldb == kPacked && packed_a) {
    ukernel_impl<T, kPacked, true>(kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
  } else if (packed_a) {
    ukernel_impl<T, 0, true>(kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
  } else {
    ukernel_impl<T, 0, false>(kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
  }
}

// Partial tiles go through a buffer.
template <class T>
void ukernel(int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t ldb, T* c,
             int64_t ldc, int mr, int nr, bool accumulate) {
  constexpr int NR = 2 * Ymm<T>::kLanes;
  if (mr == kMr && nr == NR) {
    ukernel_full<T>(kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
  } else {
    alignas(32) T tile[kMr * NR];
    ukernel_full<T>(kc, a, a_rs, a_cs, b, ldb, tile, NR, false);
    store_corner(tile, NR, c, ldc, mr, nr, accumulate);
  }
}

void ukernel_avx2_6x16(int64_t kc, const float* a, int64_t a_rs, int64_t a_cs, const float* b,
                       int64_t ldb, float* c, int64_t ldc, int mr, int nr, bool accumulate) {
  ukernel<float>(kc, a, a_rs, a_cs, b, ldb, c, ldc, mr, nr, accumulate);
}

void ukernel_avx2_6x8(int64_t kc, const double* a, int64_t a_rs, int64_t a_cs, const double* b,
                      int64_t ldb, double* c, int64_t ldc, int mr, int nr, bool accumulate) {
  ukernel<double>(kc, a, a_rs, a_cs, b, ldb, c, ldc, mr, nr, accumulate);
}

}  // namespace

Ukernel<float> ukernel_f32() { return {&ukernel_avx2_6x16, 6, 16, "ukernel_avx2_6x16"}; }
Ukernel<double> ukernel_f64() { return {&ukernel_avx2_6x8, 6, 8, "ukernel_avx2_6x8"}; }

}  // namespace corten::cpu::gemm::avx2
