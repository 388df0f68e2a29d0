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
//
// Note [AMX tiles]
// Where the CPU has AMX-BF16 (Sapphire Rapids and later Xeons) and cpu_amx_enabled(), the
// avx512 level's driver runs the tile kernel instead (cpu/avx512_amx/gemm_bf16_amx.cpp): one
// TDPBF16PS multiplies a 16 x 32 bfloat16 block of A by a 32 x 16 block of B, pair-packed as
// above, into a 16 x 16 float32 tile (measured on a Xeon with AMX: 3.5 TFLOP/s on one core in
// a loop of the instruction alone; the GEMM reaches 0.6-0.8 TFLOP/s at 1024-2048 squared,
// where the float32 GEMM reaches 170-200 GFLOP/s and the VDPBF16PS kernels only 115, that
// core running VDPBF16PS at half the float32 FMAs' rate, not the same rate). Its 32 x 32
// tile is four accumulator tiles fed per block of 16 pairs by two A tiles, read from A's rows
// (A's pairs consecutive: the kernel's `a_rows`, so packed A panels are laid out row by row),
// and two B tiles, read from the packed panel. Products are exact and sums are in float32, as
// with VDPBF16PS; the hardware's order of the additions inside a block is its own, so the AMX
// kernel meets the float32 path's tolerance against the reference kernel rather than its bits
// (tests/python/ops/test_gemm_bf16.py). Results still do not depend on the thread count: each
// tile's whole depth runs in one call. The attention kernels call the same tiles with strides
// of their own (Bf16StridedFn).
// float16 has no such instruction on these CPUs; its products run the float32 path at the op
// level (Note [Half-precision compute] in ops/common.h), as PyTorch's CPU kernels do.

#include <corten/half.h>
#include <corten/ops/linalg.h>

#include <cstdint>
#include <vector>

namespace corten::cpu::gemm {

// tile (MR x NR float32, row stride NR) = (accumulate ? tile : 0) + the sum over kp pairs of
// a's rows times the packed panel b (kp x NR words), in the order of Note [bfloat16 GEMM].
// Row i's pair p is the 32-bit word at a + i * a_rs + p * a_step (in bfloat16 elements): a
// packed panel has a_rs = 2, a_step = 2 * MR; a row-major A read in place has its row stride
// and a_step = 2 (all MR rows must exist).
using Bf16UkernelFn = void (*)(int64_t kp, const uint16_t* a, int64_t a_rs, int64_t a_step,
                               const uint32_t* b, float* tile, bool accumulate);

// Packs rows [0, k) x columns [0, nr) of a row-major b (row stride rs) into one NR-column
// pair panel (kp x NR words, zero past nr and for the odd k's missing row). Also packs a
// column-major A's MR-row panel (NR = MR, b = A^T).
using PackRowsFn = void (*)(int NR, int64_t nr, int64_t k, const uint16_t* b, int64_t rs,
                            uint32_t* dst);

// For a kernel reading A's rows (Bf16Ukernel::a_rows): rows [0, MR) of A, given A^T (k x mr,
// row-major, row stride rs), as MR rows of kp = ceil(k / 2) words (row stride kp), zero past
// mr and for an odd k's missing half.
using PackColsFn = void (*)(int MR, int64_t mr, int64_t k, const uint16_t* at, int64_t rs,
                            uint32_t* dst);

// For a kernel whose A may be read block by block (the AMX one; Note [Implicit bfloat16
// convolution] in cpu/conv_bf16.cpp): tile (MR x NR float32) = the sum over blocks i <
// nblocks of A's MR rows of 16 pairs at a + a_off[i] (row stride a_rs bfloat16 elements, pairs
// consecutive) times pair rows [16 i, 16 i + 16) of the packed panel b.
using Bf16BlocksFn = void (*)(int64_t nblocks, const uint16_t* a, const int64_t* a_off,
                              int64_t a_rs, const uint32_t* b, float* tile);

// For a kernel whose tiles take strides (the AMX one; the attention kernels, cpu/
// attention_bf16.cpp): c (MR x NR float32, row stride ldc) = (accumulate ? c : 0) + A's MR rows
// (row stride a_rs bfloat16 elements, pairs consecutive) times kp pair rows of b, row stride
// ldb words (NR of them read a row). The caller has run the kernel's `setup` on this thread
// since anything else could have changed the tile configuration: the check that `fn` makes on
// every call (reading the configuration back) cost more than the products of an attention
// tile's few 16-pair blocks.
using Bf16StridedFn = void (*)(int64_t kp, const uint16_t* a, int64_t a_rs, const uint32_t* b,
                               int64_t ldb, float* c, int64_t ldc, bool accumulate);

// For a kernel with a vector write-back (the AMX one): rows [0, rows) of a float32 tile (row
// stride NR) plus bias (nr values, or null), through relu if asked, rounded to bfloat16 and
// stored as nr values at dst[r]; a null dst[r] drops the row.
using FinishRowsFn = void (*)(const float* tile, int64_t rows, int64_t nr, const float* bias,
                              bool relu, uint16_t* const* dst);

// Rounds n float32 values to bfloat16 (nearest even) for the kernel to read as operands. A
// result below bfloat16's normal range may come out as zero: the kernel reads it as zero.
using RoundOperandsFn = void (*)(const float* x, uint16_t* out, int64_t n);

struct Bf16Ukernel {
  Bf16UkernelFn fn;
  int mr;
  int nr;
  const char* name;
  PackRowsFn pack_b_rows = nullptr;          // a vector packing of row-major B, if any
  RoundOperandsFn round_operands = nullptr;  // the ISA's one-instruction rounding, if any
  // Reads A's pairs along rows only (a_step == 2 at full speed; Note [AMX tiles]): packed A
  // panels then hold MR rows of kp words each, and other layouts are copied per call.
  bool a_rows = false;
  PackColsFn pack_a_cols = nullptr;  // its packing of a column-major A, if any
  Bf16BlocksFn blocks = nullptr;     // its product over A blocks at offsets, if any
  Bf16StridedFn strided = nullptr;   // its product with strided B and C, if any
  void (*setup)() = nullptr;         // makes this thread's state ready for `strided`
  FinishRowsFn finish_rows = nullptr;
};

// Kernels by tile width: nv = 1, 2 or 4 vectors of 16 columns (12x16, 8x32 and 6x64 tiles).
namespace reference {
Bf16Ukernel ukernel_bf16(int nv);
}
namespace avx512_bf16 {
Bf16Ukernel ukernel_bf16(int nv);
}
namespace avx512_amx {
Bf16Ukernel ukernel_bf16();  // 32 x 32
}

// c[b] (m x n, contiguous) = act(a[b] @ b[b] + bias) rounded to bfloat16, for b in
// [0, batch), with the kernels of Note [bfloat16 GEMM]. bias (n,) contiguous or null.
void gemm_bf16(int64_t batch, int64_t m, int64_t n, int64_t k, const bfloat16* a,
               const int64_t* a_off, int64_t a_rs, int64_t a_cs, const bfloat16* b,
               const int64_t* b_off, int64_t b_rs, int64_t b_cs, bfloat16* c,
               const bfloat16* bias, Activation act);

// c (m x n float32, contiguous) = (accumulate ? c : 0) + a @ b, the float32 sums unrounded: for
// drivers that add several products (the bfloat16 convolutions' dx and dw, cpu/conv_bf16.cpp).
void gemm_bf16(int64_t m, int64_t n, int64_t k, const bfloat16* a, int64_t a_rs, int64_t a_cs,
               const bfloat16* b, int64_t b_rs, int64_t b_cs, float* c, bool accumulate);

// A B operand packed once for several products with it (a convolution's weights, cpu/
// conv_bf16.cpp), for the ISA in use when it was packed: the kernel's pair panels, or on the
// float32 path B widened (k x n, row-major).
struct PackedBf16B {
  int64_t k = 0, n = 0;
  bool float32 = false;
  Bf16Ukernel uk{};
  std::vector<uint32_t> words;
  std::vector<float> wide;
};
// b: k x n with strides rs, cs.
PackedBf16B pack_bf16_b(int64_t k, int64_t n, const bfloat16* b, int64_t rs, int64_t cs);
// c (m x b.n, contiguous) = act(a @ b + bias) rounded to bfloat16, or (accumulate ? c : 0) +
// a @ b in float32; a is m x b.k with strides a_rs, a_cs.
void gemm_bf16(int64_t m, const bfloat16* a, int64_t a_rs, int64_t a_cs, const PackedBf16B& b,
               bfloat16* c, const bfloat16* bias, Activation act);
void gemm_bf16(int64_t m, const bfloat16* a, int64_t a_rs, int64_t a_cs, const PackedBf16B& b,
               float* c, bool accumulate);

// The driver's kernel for the current ISA (the AMX one where enabled, else the widest), or
// null on the float32 path.
const Bf16Ukernel* gemm_bf16_kernel();
// The kernel nv vectors wide (1, 2 or 4: 12x16, 8x32, 6x64) for the current ISA, or null on the
// float32 path: for drivers that lay out their own tiles (the attention kernels).
const Bf16Ukernel* gemm_bf16_kernel(int nv);

// Columns [0, nr) of b (k x nr, strides rs, cs) as one pair panel of uk (ceil(k / 2) x uk.nr
// words, zero past nr and for an odd k's missing row), with the kernel's vector packing where b
// is row-major.
void pack_bf16_panel(const Bf16Ukernel& uk, int64_t nr, int64_t k, const bfloat16* b, int64_t rs,
                     int64_t cs, uint32_t* dst);
// pack_bf16_panel into a panel `width` words wide (a multiple of 16, at least nr) instead of
// uk.nr: rows interleaved in pairs as a whole, for a driver that reads them as an A in place
// (a_rs = 2, a_step = 2 * width; the bfloat16 dw, cpu/conv_bf16.cpp).
void pack_bf16_pairs(const Bf16Ukernel& uk, int64_t width, int64_t nr, int64_t k,
                     const bfloat16* b, int64_t rs, int64_t cs, uint32_t* dst);

}  // namespace corten::cpu::gemm
