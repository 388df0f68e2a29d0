#pragma once
// bfloat16 GEMM with float32 accumulation.
//
// Note [bfloat16 GEMM]
// AVX-512 BF16's VDPBF16PS multiplies 16 pairs of bfloat16 values and adds each pair's two
// products into a float32 lane: acc += a[2i+1] * b[2i+1], then acc += a[2i] * b[2i], each
// addition rounded to nearest even (a product of two bfloat16 values is exact in float32), with
// bfloat16 subnormal inputs and float32 subnormal results flushed to zero. One instruction does
// twice the multiply-adds of a float32 FMA at the same rate (measured on Zen 4: 0.28 ns per
// zmm instruction for both).
// The driver (gemm_bf16.cpp) packs the operands into pairs of consecutive k, the layout the
// instruction reads:
//   A: MR-row panels, a[p][i] = (A[i, 2p], A[i, 2p + 1]) as one 32-bit word, kp = ceil(k / 2)
//      words per row (a zero pads an odd k), rows past m zero;
//   B: NR-column panels, b[p][j] = (B[2p, j], B[2p + 1, j]), columns past n zero.
// The packing reads any strides, so transposed and batched operands are packed in place (the
// layout change happens there, never as a separate pass). A micro-kernel sums the whole depth
// in registers (kp pair steps: NV loads of B, MR broadcasts of A, MR * NV VDPBF16PS) and writes
// an MR x NR float32 tile; the write-back adds the bias, applies the activation in float32 and
// rounds to bfloat16 once, as the float32 path's linear() followed by a cast.
// Kernels, by ISA (cpu_isa() and the CPU's AVX-512 BF16 flag):
//   - avx512 with AVX-512 BF16: the VDPBF16PS kernels (cpu/avx512_bf16/gemm_bf16_avx512.cpp);
//   - avx512 without it, and avx2: the float32 path, the operands widened to float32 and the
//     float32 GEMM run. Products are exact either way and both accumulate in float32; only the
//     order of the additions differs: the float32 sums differ by at most 2k * 2^-24 *
//     sum_p |a_ip b_pj|, so the bfloat16 results agree to one unit in the last place, or to
//     that bound where cancellation makes it the larger (documented tolerance,
//     tests/python/ops/test_gemm_bf16.py);
//   - baseline: the reference micro-kernel (gemm_bf16_ref.cpp), plain C++ computing exactly the
//     instruction's sums, so the VDPBF16PS kernels are tested against it bit for bit.
// float16 has no such instruction on these CPUs; its products run the float32 path at the op
// level (Note [Half-precision compute] in ops/common.h), as PyTorch's CPU kernels do.

#include <corten/half.h>
#include <corten/ops/linalg.h>

#include <cstdint>

namespace corten::cpu::gemm {

// tile (MR x NR float32, row stride NR) = sum over kp pairs of the packed panels a (kp x MR
// words) and b (kp x NR words), in the order of Note [bfloat16 GEMM].
using Bf16UkernelFn = void (*)(int64_t kp, const uint32_t* a, const uint32_t* b, float* tile);

struct Bf16Ukernel {
  Bf16UkernelFn fn;
  int mr;
  int nr;
  const char* name;
};

// Kernels by tile width: nv = 1, 2 or 4 vectors of 16 columns (12x16, 8x32 and 6x64 tiles).
namespace reference {
Bf16Ukernel ukernel_bf16(int nv);
}
namespace avx512_bf16 {
Bf16Ukernel ukernel_bf16(int nv);
}

// c[b] (m x n, contiguous) = act(a[b] @ b[b] + bias) rounded to bfloat16, for b in
// [0, batch), with the kernels of Note [bfloat16 GEMM]. bias (n,) contiguous or null.
void gemm_bf16(int64_t batch, int64_t m, int64_t n, int64_t k, const bfloat16* a,
               const int64_t* a_off, int64_t a_rs, int64_t a_cs, const bfloat16* b,
               const int64_t* b_off, int64_t b_rs, int64_t b_cs, bfloat16* c,
               const bfloat16* bias, Activation act);

// The widest kernel for the current ISA, or null on the float32 path.
const Bf16Ukernel* gemm_bf16_kernel();

}  // namespace corten::cpu::gemm
