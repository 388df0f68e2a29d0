#pragma once
// GEMM micro-kernels, one set per ISA (see gemm.cpp for the loops around them).
//
// Note [GEMM micro-kernel contract]
// ukernel(kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate) computes one MR x NR tile of C:
//   c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0)
//                    + sum_p a[i * a_rs + p * a_cs] * b[p * ldb + j]
// for i < MR, j < NR. `a` is a packed MR-row panel (a_rs == 1, a_cs == MR: kc x MR,
// MR-interleaved, zero padded) or MR rows of an unpacked A read in place (any strides, all MR
// rows must exist); `b` is a kc x NR panel with unit column stride and row stride ldb (a packed
// panel has ldb == NR; an unpacked row-major B is read in place). The packed layouts are
// the kernels' fast paths (strides known at compile time). The whole tile is read and written:
// edge tiles go through a small MR x NR buffer in the caller. kc may be 0.

#include <cstdint>

namespace corten::cpu::gemm {

template <class T>
using UkernelFn = void (*)(int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
                           int64_t ldb, T* c, int64_t ldc, bool accumulate);

template <class T>
struct Ukernel {
  UkernelFn<T> fn;
  int mr;
  int nr;
  const char* name;
};

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
}  // namespace avx512

}  // namespace corten::cpu::gemm
