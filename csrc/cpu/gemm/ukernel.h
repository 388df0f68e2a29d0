#pragma once
// GEMM micro-kernels, one set per ISA (see gemm.cpp for the loops around them).
//
// Note [GEMM micro-kernel contract]
// ukernel(kc, a, a_rs, a_cs, b, ldb, c, ldc, mr, nr, accumulate) computes one MR x NR tile of
// C and stores its top-left mr x nr corner (1 <= mr <= MR, 1 <= nr <= NR):
//   c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0)
//                    + sum_p a[i * a_rs + p * a_cs] * b[p * ldb + j]       for i < mr, j < nr.
// `a` is a packed MR-row panel (a_rs == 1, a_cs == MR: kc x MR, MR-interleaved, zero padded) or
// MR rows of an unpacked A read in place (any strides, all MR rows must exist); `b` is a
// kc x NR panel with unit column stride and row stride ldb (a packed panel has ldb == NR,
// zero padded; an unpacked row-major B is read in place: all NR columns must exist, or only
// the first nr for a kernel with `masked_b`). The packed layouts are the kernels' fast paths
// (strides known at compile time). Elements of C outside the corner are neither read nor
// written. kc may be 0.

#include <cstdint>

namespace corten::cpu::gemm {

template <class T>
using UkernelFn = void (*)(int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
                           int64_t ldb, T* c, int64_t ldc, int mr, int nr, bool accumulate);

// Note [Batch-reduce micro-kernel]
// batch_reduce(kc, batch, a, a_off, a_rs, a_cs, b, b_off, ldb, c, ldc, mr, nr, accumulate) is
// the same tile summed over `batch` products of the contract above:
//   c = (accumulate ? c : 0) + sum_t (a + a_off[t]) . (b + b_off[t])       (each kc deep),
// with the tile's accumulators in registers across all t: the convolutions' sum over kernel
// taps (and dW's over output rows) stores C once instead of once per tap. A kernel without
// one runs the per-product loop (same sums, C round-tripping through memory in between).
template <class T>
using BatchReduceFn = void (*)(int64_t kc, int64_t batch, const T* a, const int64_t* a_off,
                               int64_t a_rs, int64_t a_cs, const T* b, const int64_t* b_off,
                               int64_t ldb, T* c, int64_t ldc, int mr, int nr, bool accumulate);

// Packs a column-major kc x nr block of B (element (p, j) at src[j * cs + p]) into an NR-column
// panel: dst[p * NR + j], zero for nr <= j < NR.
template <class T>
using PackBFn = void (*)(int NR, int64_t kc, int64_t nr, const T* src, int64_t cs, T* dst);

template <class T>
struct Ukernel {
  UkernelFn<T> fn;
  int mr;
  int nr;
  const char* name;
  bool masked_b = false;  // reads only columns < nr of a B read in place
  PackBFn<T> pack_b_transposed = nullptr;  // a faster packing of column-major B, if any
  BatchReduceFn<T> batch_reduce = nullptr;  // Note [Batch-reduce micro-kernel], if any
};

// The batch-reduce product of Note [Batch-reduce micro-kernel] with `uk`: its own kernel, or
// one call of uk.fn per product.
template <class T>
inline void batch_reduce(const Ukernel<T>& uk, int64_t kc, int64_t batch, const T* a,
                         const int64_t* a_off, int64_t a_rs, int64_t a_cs, const T* b,
                         const int64_t* b_off, int64_t ldb, T* c, int64_t ldc, int mr, int nr,
                         bool accumulate) {
  if (uk.batch_reduce != nullptr) {
    uk.batch_reduce(kc, batch, a, a_off, a_rs, a_cs, b, b_off, ldb, c, ldc, mr, nr, accumulate);
    return;
  }
  if (batch == 0) uk.fn(0, a, a_rs, a_cs, b, ldb, c, ldc, mr, nr, accumulate);
  for (int64_t t = 0; t < batch; ++t)
    uk.fn(kc, a + a_off[t], a_rs, a_cs, b + b_off[t], ldb, c, ldc, mr, nr, accumulate || t > 0);
}

// For kernels that store whole tiles: the mr x nr corner of an MR x NR tile computed into a
// buffer (row stride NR), copied to or added into c.
template <class T>
inline void store_corner(const T* tile, int NR, T* c, int64_t ldc, int mr, int nr,
                         bool accumulate) {
  for (int i = 0; i < mr; ++i) {
    T* ci = c + i * ldc;
    const T* ti = tile + i * NR;
    if (accumulate) {
      for (int j = 0; j < nr; ++j) ci[j] += ti[j];
    } else {
      for (int j = 0; j < nr; ++j) ci[j] = ti[j];
    }
  }
}

namespace baseline {
// Portable kernels: plain loops over a local accumulator tile the compiler vectorises.
Ukernel<float> ukernel_f32();
Ukernel<double> ukernel_f64();
}  // namespace baseline

namespace avx2 {
// AVX2+FMA kernels (csrc/cpu/avx2/gemm_ukernel_avx2.cpp): 6x16 float32, 6x8 float64.
Ukernel<float> ukernel_f32();
Ukernel<double> ukernel_f64();
}  // namespace avx2

namespace avx512 {
// AVX-512 kernels (csrc/cpu/avx512/gemm_ukernel_avx512.cpp): 6x64 float32, 6x32 float64.
Ukernel<float> ukernel_f32();
Ukernel<double> ukernel_f64();
// Narrower tiles for products at most NR columns wide, where the 4-vector tile would mostly
// compute padding: nv = 1 or 2 vectors of 8 rows (8x16 and 8x32 float32, 8x8 and 8x16 float64).
Ukernel<float> ukernel_narrow_f32(int nv);
Ukernel<double> ukernel_narrow_f64(int nv);
// One row of 4 vectors (1x64 float32, 1x32 float64), for products with a single row (a
// one-sample Dense layer): a 6-row tile would spend 5/6 of its FMAs on padding.
Ukernel<float> ukernel_row_f32();
Ukernel<double> ukernel_row_f64();
}  // namespace avx512

}  // namespace corten::cpu::gemm
