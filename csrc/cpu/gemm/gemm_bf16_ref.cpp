// Reference bfloat16 micro-kernels: plain C++ with the sums of VDPBF16PS (Note [bfloat16 GEMM]),
// so that the vector kernels can be compared with them bit for bit.

#include <cstring>

#include "cpu/gemm/gemm_bf16.h"

namespace corten::cpu::gemm::reference {
namespace {

// The instruction flushes bfloat16 subnormal inputs and float32 subnormal results to zero
// (keeping the sign), whatever MXCSR says.
float input(uint32_t bits16) {
  if ((bits16 & 0x7f80u) == 0) bits16 &= 0x8000u;
  const uint32_t u = bits16 << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

float flush(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7f800000u) == 0) u &= 0x80000000u;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

template <int MR, int NR>
void ukernel(int64_t kp, const uint16_t* a, int64_t a_rs, int64_t a_step, const uint32_t* b,
             float* tile, bool accumulate) {
  float acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = accumulate ? tile[i * NR + j] : 0.0f;
  for (int64_t p = 0; p < kp; ++p) {
    const uint32_t* bp = b + p * NR;
    for (int i = 0; i < MR; ++i) {
      const uint16_t* pair = a + i * a_rs + p * a_step;
      const float a_even = input(pair[0]), a_odd = input(pair[1]);
      for (int j = 0; j < NR; ++j) {
        // Two statements: each addition rounds (the products are exact in float32).
        const float odd = flush(acc[i][j] + a_odd * input(bp[j] >> 16));
        acc[i][j] = flush(odd + a_even * input(bp[j] & 0xffffu));
      }
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) tile[i * NR + j] = acc[i][j];
}

}  // namespace

Bf16Ukernel ukernel_bf16(int nv) {
  if (nv == 1) return {&ukernel<12, 16>, 12, 16, "ukernel_bf16_ref_12x16"};
  if (nv == 2) return {&ukernel<8, 32>, 8, 32, "ukernel_bf16_ref_8x32"};
  return {&ukernel<6, 64>, 6, 64, "ukernel_bf16_ref_6x64"};
}

}  // namespace corten::cpu::gemm::reference
