#pragma once
// CPU kernels of scaled_dot_product_attention (corten/ops/attention.h). Callers have validated
// every argument: shapes, dtypes (float32/float64/bfloat16), a dropout rate in [0, 1), mask
// strides broadcast to (B, H, Tq, Tk). q, k, v, out, dout, dq, dk, dv are contiguous.
//
// q: (B, Tq, H, D), k: (B, Tk, H, D), v: (B, Tk, H, Dv) -> out: (B, Tq, H, Dv),
// lse: (B, H, Tq) of the input dtype, float32 for bfloat16 (the row log-sum-exp of the scaled,
// masked scores).
//
// Note [Attention masks]
// Key j is visible to query i when mask[b, h, i, j] (if a mask is given) and, with `causal`,
// j <= i (Keras's _compute_causal_mask: band_part(ones(Tq, Tk), -1, 0)). Keras adds -1e9 to
// the masked scores before its softmax, so a row whose keys are all masked gets, in float32,
// the same score -1e9 everywhere: uniform weights 1/Tk over all Tk keys (causally hidden ones
// included). corten gives such a row exactly that, P = 1/Tk over every key, dropout applied
// as usual. Its scores are then constants: dV receives P^T dO from the row, and q and k
// receive nothing, the true derivative that finite differences see. (TensorFlow's float32
// tape would pass the softmax gradient through the rounded -1e9 to q and k; and in float64,
// where -1e9 does not swamp the scores, Keras gives the softmax of the masked-out scores.
// corten gives the uniform weights in both dtypes.) lse holds +inf for such rows, which is
// how the backward knows them.
//
// Note [Attention dropout counters]
// Dropout of the probabilities keeps element (b, h, i, j) with probability 1 - rate and scales
// it by 1 / (1 - rate); its keep decision is rng::dropout_keep of word e % 4 of the Philox
// block (key, offset + e / 4), e = ((b * H + h) * Tq + i) * Tk + j: the mask dropout() would
// draw for a (B, H, Tq, Tk) tensor at the same seed. The forward, the backward and the
// reference regenerate it from (key, offset) alone, on any thread count and ISA. A draw uses
// philox_counters_used(B * H * Tq * Tk) counters.

// Note [bfloat16 attention]
// bfloat16 q, k and v (out and the gradients bfloat16, lse float32) run the tile products on the
// bfloat16 GEMM's micro-kernels (Note [bfloat16 GEMM]; cpu/attention_bf16.cpp) where the ISA has
// them, each product summed in float32 from exact bfloat16 products:
//   - S = (q * scale, rounded to bfloat16) K^T, as tf.keras's MultiHeadAttention scales the
//     query in the compute dtype before its einsum; the softmax, the row statistics (lse) and
//     dS run in float32 on the float32 row kernels;
//   - P V, Pd^T dO, dS^T Q and dS K take P, Pd and dS * scale rounded to bfloat16, as flash
//     attention does on GPUs; the outputs are rounded once.
// Each rounding is relative 2^-9, so out, dq, dk and dv are within a few bfloat16 units of the
// float32 kernels' results on the same inputs (tests/python/ops/test_attention_bf16.py bounds
// the difference from a float64 reference, with the AMX tiles on and off). On the float32 path
// (CPUs without AVX-512 BF16) the inputs are widened and the float32 kernels run, and the
// results are rounded once. Where the CPU has AMX tiles (Note [AMX tiles]) the products run on
// them, 32 x 32 float32 tiles at a time: S and dP in whole 32-column tiles, dV and dK from
// Pd^T's and dS^T's rows (the tiles read A's rows, so the transposes are packed, 32 keys a
// block, where the VDPBF16PS kernels read the row pairs in place).

#include <corten/dtype.h>
#include <corten/half.h>

#include <cstdint>

namespace corten::cpu {

struct AttentionParams {
  int64_t batch = 0, tq = 0, tk = 0, heads = 0, dk = 0, dv = 0;
  const bool* mask = nullptr;    // null: no mask
  int64_t mask_strides[4] = {};  // element strides over (b, h, i, j), 0 where broadcast
  bool causal = false;
  double scale = 1.0;
  double rate = 0.0;  // dropout rate; 0: none
  uint64_t key = 0, offset = 0;
};

/// The tiled forward (online softmax, Note [Attention tiles] in cpu/attention.cpp): float32 on
/// the ISA's tile kernels, bfloat16 as Note [bfloat16 attention] says, float64 through
/// attention_forward_ref.
void attention_forward(DType dtype, const AttentionParams& p, const void* q, const void* k,
                       const void* v, void* out, void* lse);
/// The tiled backward from the saved lse: dq, dk, dv (each may be null when not needed).
void attention_backward(DType dtype, const AttentionParams& p, const void* q, const void* k,
                        const void* v, const void* out, const void* lse, const void* dout, void* dq,
                        void* dk, void* dv);

/// The kernels of Note [bfloat16 attention]; false (nothing written) on the float32 path.
bool attention_forward_bf16(const AttentionParams& p, const bfloat16* q, const bfloat16* k,
                            const bfloat16* v, bfloat16* out, float* lse);
bool attention_backward_bf16(const AttentionParams& p, const bfloat16* q, const bfloat16* k,
                             const bfloat16* v, const bfloat16* out, const float* lse,
                             const bfloat16* dout, bfloat16* dq, bfloat16* dk, bfloat16* dv);

/// Plain loops that materialise the (Tq, Tk) scores of each (b, h): the reference of the tests
/// (float32 and float64; sums in float64).
void attention_forward_ref(DType dtype, const AttentionParams& p, const void* q, const void* k,
                           const void* v, void* out, void* lse);
void attention_backward_ref(DType dtype, const AttentionParams& p, const void* q, const void* k,
                            const void* v, const void* out, const void* lse, const void* dout,
                            void* dq, void* dk, void* dv);

/// The per-ISA float32 tile kernels (cpu/attention_kernels.inc).
struct AttentionTable {
  /// C (m, n) = [C +] A (m, kd) * B (kd, n): A element (i, p) at a[i * ars + p * acs] (so a
  /// transposed A is the same call), B row p at b + p * ldb, C row i at c + i * ldc; n a
  /// multiple of 16, B and C rows readable that far.
  void (*tile_gemm)(int64_t m, int64_t n, int64_t kd, const float* a, int64_t ars, int64_t acs,
                    const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate);
  /// Rows r < rows of s and p (row stride ld, n columns, n a multiple of 16): p[j] = exp(s[j] -
  /// m[r]), 0 where s[j] - m[r] is below -87.33 (masked scores are -inf), and sums[r] (when not
  /// null) their sum in a fixed order; a row whose m[r] is not finite gets p = 0 and sum 0.
  void (*exp_sum)(const float* s, int64_t ld, const float* m, float* p, int64_t rows, int64_t n,
                  float* sums);
  /// out[r] = max of row r's n values (n a multiple of 16; -inf for all -inf), rows r < rows.
  void (*row_max)(const float* s, int64_t ld, int64_t rows, int64_t n, float* out);
  /// The backward's scores, j < n (n a multiple of 16): dp[j] = pr[j] * (dp[j] * f[j] - d) *
  /// scale and pr[j] *= f[j] (f: dropout factors, or null for none, read as 1).
  void (*grad_scores)(float* pr, float* dp, const float* f, float d, float scale, int64_t n);
  /// exp_sum with p's values rounded to bfloat16 (bfloat16::from_float's bits, row stride ld):
  /// the probabilities as the bfloat16 products' operand (Note [Rounding in the row kernels]).
  /// This and the next are null where the bfloat16 attention never runs (Note [bfloat16 GEMM]'s
  /// float32 path): in the AVX2 table, and in the AVX-512 one without AVX512-BF16.
  void (*exp_sum_bf16)(const float* s, int64_t ld, const float* m, uint16_t* p, int64_t rows,
                       int64_t n, float* sums);
  /// One backward row from its scores, j < n: pr = exp_sum's row of s against m, then
  /// grad_scores on pr and dp, with pd = pr * f and ds = dS * scale rounded to bfloat16 and
  /// nothing stored in float32 (Note [Rounding in the row kernels]).
  void (*exp_grad_scores_bf16)(const float* s, const float* dp, float m, const float* f, float d,
                               float scale, int64_t n, uint16_t* pd, uint16_t* ds);
};

namespace baseline {
const AttentionTable& attention_table();
}
namespace avx2 {
const AttentionTable& attention_table();
}
namespace avx512 {
const AttentionTable& attention_table();
}
namespace avx512_bf16 {
// The avx512 table's exp_sum_bf16 and exp_grad_scores_bf16, rounding with VCVTNEPS2BF16, where
// cpu_has_avx512_bf16() (Note [Rounding in the row kernels]).
void specialize_attention_rows(AttentionTable& t);
}

}  // namespace corten::cpu
