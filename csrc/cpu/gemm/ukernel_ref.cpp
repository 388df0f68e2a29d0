// Portable GEMM micro-kernels (see Note [GEMM micro-kernel contract] in ukernel.h). Written as
// fixed-size loops over a local tile so that the compiler keeps it in vector registers with the
// baseline ISA (SSE2 on x86-64: 16 registers of 4 floats / 2 doubles).

#include "cpu/gemm/ukernel.h"

namespace corten::cpu::gemm::baseline {
namespace {

// kPackedA: A is a packed panel, its strides (1, MR) known at compile time.
template <class T, int MR, int NR, bool kPackedA>
void ukernel_impl(int64_t kc, const T* a, int64_t a_rs_rt, int64_t a_cs_rt, const T* b,
                  int64_t ldb, T* c, int64_t ldc, bool accumulate) {
  const int64_t a_rs = kPackedA ? 1 : a_rs_rt, a_cs = kPackedA ? MR : a_cs_rt;
  T acc[MR][NR] = {};
  for (int64_t p = 0; p < kc; ++p) {
    const T* ap = a + p * a_cs;
    const T* bp = b + p * ldb;
    for (int i = 0; i < MR; ++i) {
      const T av = ap[i * a_rs];
      for (int j = 0; j < NR; ++j) acc[i][j] += av * bp[j];
    }
  }
  for (int i = 0; i < MR; ++i) {
    T* ci = c + i * ldc;
    if (accumulate) {
      for (int j = 0; j < NR; ++j) ci[j] += acc[i][j];
    } else {
      for (int j = 0; j < NR; ++j) ci[j] = acc[i][j];
    }
  }
}

template <class T, int MR, int NR>
void ukernel_full(int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t ldb,
                  T* c, int64_t ldc, bool accumulate) {
  if (a_rs == 1 && a_cs == MR) {
    ukernel_impl<T, MR, NR, true>(kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
  } else {
    ukernel_impl<T, MR, NR, false>(kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
  }
}

template <class T, int MR, int NR>
void ukernel_ref(int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t ldb,
                 T* c, int64_t ldc, int mr, int nr, bool accumulate) {
  if (mr == MR && nr == NR) {
    ukernel_full<T, MR, NR>(kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
  } else {
    T tile[MR * NR];
    ukernel_full<T, MR, NR>(kc, a, a_rs, a_cs, b, ldb, tile, NR, false);
    store_corner(tile, NR, c, ldc, mr, nr, accumulate);
  }
}

}  // namespace

// 4x8 float32 and 4x4 float64: 8 accumulator registers of the 16 SSE2 ones.
Ukernel<float> ukernel_f32() { return {&ukernel_ref<float, 4, 8>, 4, 8, "ukernel_ref_4x8"}; }
Ukernel<double> ukernel_f64() { return {&ukernel_ref<double, 4, 4>, 4, 4, "ukernel_ref_4x4"}; }

}  // namespace corten::cpu::gemm::baseline
