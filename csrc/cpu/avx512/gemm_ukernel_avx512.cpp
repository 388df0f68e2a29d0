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

#include "cpu/avx512/intrinsics.h"

#include <algorithm>
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
// The tile is summed over `batch` products (Note [Batch-reduce micro-kernel]); the plain
// micro-kernel is batch 1 with zero offsets.
template <class T, int MR, int NV, int64_t kLdb, bool kPackedA, bool kMaskB>
void ukernel_impl(int64_t kc, int64_t batch, const T* a0, const int64_t* a_off, int64_t a_rs_rt,
                  int64_t a_cs_rt, const T* b0, const int64_t* b_off, int64_t ldb_rt, T* c,
                  int64_t ldc, int mr, int nr, bool accumulate) {
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
  const T* a = a0;
  const T* b = b0;
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
  for (int64_t t = 0; t < batch; ++t) {
    a = a0 + a_off[t];
    b = b0 + b_off[t];
    int64_t p = 0;
    for (; p + 4 <= kc; p += 4) {
      if (kPackedA) prefetch_ahead(a, 4 * MR * sizeof(T) + 256);
      step();
      step();
      step();
      step();
    }
    for (; p < kc; ++p) step();
  }
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
void batch_reduce(int64_t kc, int64_t batch, const T* a, const int64_t* a_off, int64_t a_rs,
                  int64_t a_cs, const T* b, const int64_t* b_off, int64_t ldb, T* c, int64_t ldc,
                  int mr, int nr, bool accumulate) {
  constexpr int64_t kPacked = NV * Zmm<T>::kLanes;
  const bool packed_a = a_rs == 1 && a_cs == MR;
  // A partial panel's B loads are masked whether B is packed (zero padded: no harm) or read in
  // place (the columns past nr may not exist); ldb alone cannot tell the two apart.
  const bool mask_b = nr < kPacked;
  auto run = [&](auto ldb_c, auto packed_a_c, auto mask_b_c) {
    ukernel_impl<T, MR, NV, decltype(ldb_c)::value, decltype(packed_a_c)::value,
                 decltype(mask_b_c)::value>(kc, batch, a, a_off, a_rs, a_cs, b, b_off, ldb, c,
                                            ldc, mr, nr, accumulate);
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

constexpr int64_t kNoOffset[1] = {0};

template <class T, int MR, int NV>
void ukernel(int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t ldb, T* c,
             int64_t ldc, int mr, int nr, bool accumulate) {
  batch_reduce<T, MR, NV>(kc, 1, a, kNoOffset, a_rs, a_cs, b, kNoOffset, ldb, c, ldc, mr, nr,
                          accumulate);
}

// Note [Transposed B packing]
// A column-major B (element (p, j) at src[j * cs + p]: the transposed operand of dX = G . W^T)
// is packed by register transposes of 16 x 16 floats (8 x 8 doubles): a block of columns is
// loaded as rows, transposed, and stored as panel rows, instead of one scalar store per
// element into a different panel row.
inline void transpose(__m512 r[16]) {
  __m512 a[16], b[16];
  for (int k = 0; k < 8; ++k) {
    a[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
    a[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
  }
  for (int m = 0; m < 4; ++m) {
    const __m512d lo = _mm512_castps_pd(a[4 * m]), hi = _mm512_castps_pd(a[4 * m + 1]);
    const __m512d lo2 = _mm512_castps_pd(a[4 * m + 2]), hi2 = _mm512_castps_pd(a[4 * m + 3]);
    b[4 * m + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo, lo2));
    b[4 * m + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo, lo2));
    b[4 * m + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(hi, hi2));
    b[4 * m + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(hi, hi2));
  }
  // b[4m + e], 128-bit lane L: rows 4m..4m+3 at element 4L + e; a 4 x 4 transpose of lanes.
  for (int e = 0; e < 4; ++e) {
    const __m512 c0 = _mm512_shuffle_f32x4(b[e], b[4 + e], 0x44);
    const __m512 c1 = _mm512_shuffle_f32x4(b[e], b[4 + e], 0xEE);
    const __m512 c2 = _mm512_shuffle_f32x4(b[8 + e], b[12 + e], 0x44);
    const __m512 c3 = _mm512_shuffle_f32x4(b[8 + e], b[12 + e], 0xEE);
    r[e] = _mm512_shuffle_f32x4(c0, c2, 0x88);
    r[4 + e] = _mm512_shuffle_f32x4(c0, c2, 0xDD);
    r[8 + e] = _mm512_shuffle_f32x4(c1, c3, 0x88);
    r[12 + e] = _mm512_shuffle_f32x4(c1, c3, 0xDD);
  }
}

inline void transpose(__m512d r[8]) {
  __m512d a[8];
  for (int k = 0; k < 4; ++k) {
    a[2 * k] = _mm512_unpacklo_pd(r[2 * k], r[2 * k + 1]);
    a[2 * k + 1] = _mm512_unpackhi_pd(r[2 * k], r[2 * k + 1]);
  }
  // a[2k + e], 128-bit lane L: rows 2k, 2k+1 at element 2L + e.
  for (int e = 0; e < 2; ++e) {
    const __m512d c0 = _mm512_shuffle_f64x2(a[e], a[2 + e], 0x44);
    const __m512d c1 = _mm512_shuffle_f64x2(a[e], a[2 + e], 0xEE);
    const __m512d c2 = _mm512_shuffle_f64x2(a[4 + e], a[6 + e], 0x44);
    const __m512d c3 = _mm512_shuffle_f64x2(a[4 + e], a[6 + e], 0xEE);
    r[e] = _mm512_shuffle_f64x2(c0, c2, 0x88);
    r[2 + e] = _mm512_shuffle_f64x2(c0, c2, 0xDD);
    r[4 + e] = _mm512_shuffle_f64x2(c1, c3, 0x88);
    r[6 + e] = _mm512_shuffle_f64x2(c1, c3, 0xDD);
  }
}

// dst[p * NR + j] = src[j * cs + p] for p < kc, j < nr; 0 for nr <= j < NR (NR a multiple of
// the lane count).
template <class T>
void pack_b_transposed(int NR, int64_t kc, int64_t nr, const T* src, int64_t cs, T* dst) {
  using Z = Zmm<T>;
  using V = typename Z::V;
  constexpr int L = Z::kLanes;
  for (int64_t p0 = 0; p0 < kc; p0 += L) {
    const int rows = static_cast<int>(std::min<int64_t>(L, kc - p0));
    const typename Z::Mask m = Z::first(rows);
    for (int j0 = 0; j0 < NR; j0 += L) {
      V r[L];
      for (int jj = 0; jj < L; ++jj) {
        const int64_t j = j0 + jj;
        r[jj] = j < nr ? Z::load(src + j * cs + p0, m) : Z::zero();
      }
      transpose(r);
      for (int pp = 0; pp < rows; ++pp) Z::store(dst + (p0 + pp) * NR + j0, r[pp]);
    }
  }
}

template <class T, int MR, int NV>
Ukernel<T> make(const char* name) {
  return {&ukernel<T, MR, NV>, MR, NV * Zmm<T>::kLanes, name, true, &pack_b_transposed<T>,
          &batch_reduce<T, MR, NV>};
}

}  // namespace

Ukernel<float> ukernel_f32() { return make<float, 6, 4>("ukernel_avx512_6x64"); }
Ukernel<double> ukernel_f64() { return make<double, 6, 4>("ukernel_avx512_6x32"); }

// One vector per row is bound by the broadcasts (one load per FMA): 8 rows keep 8 FMA chains
// in flight and measured as fast as 12 or 16 (~145 GFLOP/s at 1 thread, against ~175 for the
// wide tiles); two vectors per row reach the wide tiles' speed. 8 rows divide the usual batch
// sizes.
Ukernel<float> ukernel_narrow_f32(int nv) {
  return nv == 1 ? make<float, 8, 1>("ukernel_avx512_8x16")
                 : make<float, 8, 2>("ukernel_avx512_8x32");
}
Ukernel<double> ukernel_narrow_f64(int nv) {
  return nv == 1 ? make<double, 8, 1>("ukernel_avx512_8x8")
                 : make<double, 8, 2>("ukernel_avx512_8x16");
}

Ukernel<float> ukernel_row_f32() { return make<float, 1, 4>("ukernel_avx512_1x64"); }
Ukernel<double> ukernel_row_f64() { return make<double, 1, 4>("ukernel_avx512_1x32"); }

}  // namespace corten::cpu::gemm::avx512
