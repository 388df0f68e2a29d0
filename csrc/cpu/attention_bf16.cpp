// The bfloat16 attention kernels (Note [bfloat16 attention] in cpu/attention.h).
//
// The loop structure is Note [Attention tiles]'s; what changes is the tile products, which
// run the bfloat16 GEMM's micro-kernels (Note [bfloat16 GEMM]) on operands laid out here:
//   - S = Qs K^T and dP = dO V^T: the kernel as wide as the tile's keys padded to 16 (12x16,
//     8x32 or 6x64), whose width is then the scores' row stride; the row kernels (masks, row
//     maximum, exp, dropout, dS) are the float32 ones. The A rows are the scaled query's and
//     dO's, copied into buffers of whole rows; B is K (or V) transposed, packed once per key
//     tile (once per (b, h) in the forward).
//   - O += P V, dV += Pd^T dO, dK += dS^T Q and dQ += dS K: the 8x32 kernel over panels of 32
//     output columns (D or Dv padded to a multiple of 32). P and dS rows are rounded to
//     bfloat16 as A rows (VCVTNE2PS2BF16 where the CPU has it); their transposes are the same
//     rows interleaved in pairs (row i's and row i + 1's values side by side), which is the pair
//     layout of a transposed A; Q, dO, K and V are packed into pair panels once per (b, h) or
//     key tile.
// The kernels read whole micro-tiles of rows (up to 12), so the row buffers are padded past the
// last tile's rows; what the padding rows compute is never read. Results are summed in float32
// per task and each output row rounded to bfloat16 once, when its sum is complete.
// On AMX (Note [AMX tiles]) the products take the tile kernel's strided form, with the tile
// configuration checked once per task, not per product: reading it back after every product
// of an attention tile's one or two 16-pair blocks cost more than the products.
// Measured at the transformer classifier's shape (batch 32, T = 200, 2 heads of 32), forward /
// forward + backward, 1 thread: on a Zen 4 EPYC, 4.7 / 13.8 ms against float32's 7.7 / 21.2
// (bench/results/mixed-precision-kernels-2026-12-07b.txt); on a Xeon with AMX, the VDPBF16PS
// kernels 5.8 / 18.7, the tiles 3.6 / 10.9, float32 5.0 / 14.2. On the tiles each product is a
// few dependent tile instructions, so their latency, not their rate, bounds it: the products
// take a quarter of the time there, the exponentials a ninth.
//
// Note [Rounding in the row kernels]
// P (forward) and Pd, dS (backward) are the products' A operands in bfloat16. The row kernels
// that compute them write them rounded (AttentionTable::exp_sum_bf16 and exp_grad_scores_bf16,
// VCVTNEPS2BF16 in their stores) instead of storing float32 tiles that a second pass reads back
// and rounds: a tile of 64 rows of 224 scores is 57 KB, past L1, so that pass ran at L2's pace
// (9% of the samples of a forward + backward at the transformer classifier's shape, as much as
// the exponentials). The backward's row kernel also computes P itself (exp_sum, then
// grad_scores on it, in one pass). The values are the float32 rows' (cpu/attention_rows.h),
// rounded as before: the outputs and gradients are the same bits. With dropout the forward
// keeps the float32 tile (the factors apply to it before the rounding). Batch 32, medians of 8
// alternated runs, forward + backward at 2 threads: T = 200 with 2 heads of 32, 5.33 -> 5.19
// ms; T = 128 with 8 heads, 9.92 -> 9.33; T = 512, 117.6 -> 111.8 (forward alone 2-6% faster;
// at 1 thread within noise: bench/results/mixed-precision-kernels-2026-12-07i.txt).

#include <corten/half.h>
#include <corten/parallel.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "cpu/attention_tiles.h"
#include "cpu/elementwise.h"
#include "cpu/gemm/gemm_bf16.h"
#include "cpu/scratch.h"

namespace corten::cpu {
namespace {

using namespace attention_tiles;
using gemm::Bf16Ukernel;

constexpr int64_t kNR = 32;       // output columns per panel (the 8x32 kernel)
constexpr int64_t kRowSlack = 8;  // rows past a tile that its 6-row micro-tiles may touch

constexpr int64_t pairs(int64_t n) { return (n + 1) / 2; }
constexpr int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// Rows of a query tile and keys of a key tile that the products may touch: the AMX kernel
// works in blocks of 32 rows, and only it takes the larger last tiles of Note [Tile tails]
// (the VDPBF16PS kernels compute S and dP in one panel of at most 64 columns); the others'
// micro-tiles reach kRowSlack past a 64-row tile.
constexpr int64_t kTileRows = std::max(round_up(kBMMax, 32), kBM + kRowSlack);
constexpr int64_t kTileKeys = round_up(kBNMax, 32);

struct Kernels {
  const Bf16Ukernel& wide;    // 6x64: S and dP of full key tiles; P's and dS's row pairs
  const Bf16Ukernel& narrow;  // 8x32: the products with D or Dv columns
  const Bf16Ukernel& thin;    // 12x16
  const Bf16Ukernel* tiles;   // the AMX kernel where enabled, else null (Note [AMX tiles])
  const AttentionTable& t;
  const ElementwiseTable& et;
  // The kernel of S and dP for a tile whose rows span n columns (row_width): its nr is their
  // row stride.
  const Bf16Ukernel& scores(int64_t n) const { return n <= 16 ? thin : n <= 32 ? narrow : wide; }
  // The row stride of S and dP for rows spanning n columns: whole 32-column tiles on AMX.
  int64_t scores_ld(int64_t n) const { return tiles ? round_up(n, 32) : scores(n).nr; }
  // The kernel whose pair panels hold the 32 output columns of O, dQ, dK and dV.
  const Bf16Ukernel& panel() const { return tiles ? *tiles : narrow; }
  // c (rows x kNR, row stride kNR) += a's rows (row stride a_rs, pairs consecutive) times the
  // pair panel b over kp pairs.
  void panel_product(int64_t rows, int64_t kp, const bfloat16* a, int64_t a_rs, const uint32_t* b,
                     float* c) const;
  // On AMX: the tile configuration, once per task (Bf16StridedFn).
  void setup() const {
    if (tiles) tiles->setup();
  }
  // B of S or dP: columns [0, nb) of b (k x nb, strides rs, cs) as pair rows scores_ld wide.
  void pack_scores(int64_t nb, int64_t k, const bfloat16* b, int64_t rs, int64_t cs,
                   uint32_t* dst) const {
    const int64_t n = row_width(nb);
    if (tiles) {
      gemm::pack_bf16_pairs(*tiles, scores_ld(n), nb, k, b, rs, cs, dst);
    } else {
      gemm::pack_bf16_panel(scores(n), nb, k, b, rs, cs, dst);
    }
  }
  // c (m rows spanning n columns, row stride scores_ld(n)) = a's rows (row stride a_rs, pairs
  // consecutive) times pack_scores' b over kp pairs.
  void scores_product(int64_t m, int64_t n, int64_t kp, const bfloat16* a, int64_t a_rs,
                      const uint32_t* b, float* c) const;
  // n float32 values rounded to bfloat16 as operands of the kernels.
  void round_operands(const float* x, bfloat16* out, int64_t n) const {
    if (wide.round_operands) {
      wide.round_operands(x, reinterpret_cast<uint16_t*>(out), n);
    } else {
      et.f32_to_bf16(x, out, n);
    }
  }
};

// c (rows x uk.nr, row stride uk.nr) = [c +] a b over kp pairs: row i's pair p at a + i * a_rs +
// p * a_step (bfloat16 elements), b one pair panel. Rows are run in whole micro-tiles.
void rows_times_panel(const Bf16Ukernel& uk, int64_t rows, int64_t kp, const bfloat16* a,
                      int64_t a_rs, int64_t a_step, const uint32_t* b, float* c, bool accumulate) {
  const auto* a16 = reinterpret_cast<const uint16_t*>(a);
  for (int64_t r = 0; r < rows; r += uk.mr) {
    uk.fn(kp, a16 + r * a_rs, a_rs, a_step, b, c + r * uk.nr, accumulate);
  }
}

void Kernels::scores_product(int64_t m, int64_t n, int64_t kp, const bfloat16* a, int64_t a_rs,
                             const uint32_t* b, float* c) const {
  if (!tiles) {
    rows_times_panel(scores(n), m, kp, a, a_rs, 2, b, c, false);
    return;
  }
  const auto* a16 = reinterpret_cast<const uint16_t*>(a);
  const int64_t ld = scores_ld(n);
  for (int64_t r = 0; r < m; r += tiles->mr) {
    for (int64_t j = 0; j < n; j += tiles->nr) {
      tiles->strided(kp, a16 + r * a_rs, a_rs, b + j, ld, c + r * ld + j, ld, false);
    }
  }
}

void Kernels::panel_product(int64_t rows, int64_t kp, const bfloat16* a, int64_t a_rs,
                            const uint32_t* b, float* c) const {
  if (!tiles) {
    rows_times_panel(narrow, rows, kp, a, a_rs, 2, b, c, true);
    return;
  }
  const auto* a16 = reinterpret_cast<const uint16_t*>(a);
  for (int64_t r = 0; r < rows; r += tiles->mr) {
    tiles->strided(kp, a16 + r * a_rs, a_rs, b, kNR, c + r * kNR, kNR, true);
  }
}

// `rows` rows of x (row stride ld, `cols` values) as rows of `width` values (zero past cols).
void copy_rows(const bfloat16* x, int64_t ld, int64_t rows, int64_t cols, int64_t width,
               bfloat16* dst) {
  for (int64_t r = 0; r < rows; ++r) {
    bfloat16* d = dst + r * width;
    std::copy(x + r * ld, x + r * ld + cols, d);
    std::fill(d + cols, d + width, bfloat16{0});
  }
}

// The n values of x times scale, rounded to bfloat16, into out: the query as S's A operand
// (Note [bfloat16 attention]).
void scale_into(const Kernels& kn, const bfloat16* x, int64_t n, float scale, bfloat16* out) {
  parallel_for(0, n, 1 << 14, [&](int64_t i0, int64_t i1) {
    const Scratch<float> tmp(i1 - i0, "attention");
    float* t = tmp.data();
    kn.et.bf16_to_f32(x + i0, t, i1 - i0);
    for (int64_t i = 0; i < i1 - i0; ++i) t[i] *= scale;
    kn.round_operands(t, out + i0, i1 - i0);  // products: no denormals, as gather_row_rounded
  });
}

// Packs a (rows, cols) operand x (row stride ld) into ceil(cols / kNR) pair panels of the
// narrow kernel, pairs of rows interleaved: panel c at dst + c * panel_pairs * kNR.
void pack_row_pairs(const Kernels& kn, const bfloat16* x, int64_t ld, int64_t rows, int64_t cols,
                    int64_t panel_pairs, uint32_t* dst) {
  for (int64_t c = 0; c * kNR < cols; ++c) {
    gemm::pack_bf16_panel(kn.narrow, std::min(kNR, cols - c * kNR), rows, x + c * kNR, ld, 1,
                          dst + c * panel_pairs * kNR);
  }
}

// Row r of a panelled (rows x ceil(cols / kNR) * kNR) float32 operand into `row`, times `mul`.
void gather_row(const float* panels, int64_t rows, int64_t r, int64_t cols, float* row,
                float mul = 1.0f) {
  for (int64_t c0 = 0; c0 < cols; c0 += kNR) {
    const float* src = panels + (c0 / kNR) * rows * kNR + r * kNR;
    const int64_t w = std::min(kNR, cols - c0);
    for (int64_t c = 0; c < w; ++c) row[c0 + c] = src[c] * mul;
  }
}

// gather_row's row rounded to bfloat16 into `out` (row: a float32 buffer of cols values). The
// operands' rounding (VCVTNE2PS2BF16 where the CPU has it) gives bfloat16::from_float's bits
// here: it differs only on denormal inputs, and the row is a product computed in the ops'
// flush-to-zero mode (Note [Denormals]), so it has none.
void gather_row_rounded(const Kernels& kn, const float* panels, int64_t rows, int64_t r,
                        int64_t cols, float* row, bfloat16* out, float mul = 1.0f) {
  gather_row(panels, rows, r, cols, row, mul);
  kn.round_operands(row, out, cols);
}

void forward(const Kernels& kn, const AttentionParams& p, const bfloat16* q, const bfloat16* k,
             const bfloat16* v, bfloat16* out, float* lse) {
  const RandomTable& rt = active_random_table();
  const Strides st = strides_of(p);
  const int64_t tail = kn.tiles ? kTail : 0;  // Note [Tile tails]
  const Tiles qt(p.tq, kBM, tail), kt_(p.tk, kBN, tail);
  const int64_t kpd = pairs(p.dk), nvp = (p.dv + kNR - 1) / kNR;
  const int64_t kt_words = kpd * kTileKeys, v_words = (kTileKeys / 2) * kNR;
  const float inv = p.rate > 0 ? static_cast<float>(1.0 / (1.0 - p.rate)) : 1.0f;
  // From the caching allocator, not a zero-filled vector: every element is written before it
  // is read, and the fill ran on the calling thread alone.
  const int64_t nq = p.batch * p.tq * p.heads;
  const Scratch<bfloat16> qs(nq * p.dk, "attention");
  scale_into(kn, q, nq * p.dk, static_cast<float>(p.scale), qs.data());
  parallel_for(0, p.batch * p.heads * qt.count, 1, [&](int64_t t0, int64_t t1) {
    // K^T and V of the current (b, h), packed when a task moves to another.
    std::vector<uint32_t> kt(static_cast<size_t>(kt_.count * kt_words));
    std::vector<uint32_t> vp(static_cast<size_t>(kt_.count * nvp * v_words));
    std::vector<bfloat16> qa(static_cast<size_t>(kTileRows * 2 * kpd), bfloat16{0});
    std::vector<bfloat16> pa(kTileRows * kTileKeys, bfloat16{0});
    std::vector<float> s(kTileRows * kTileKeys), pr(kTileRows * kTileKeys);
    std::vector<float> o(static_cast<size_t>(nvp * kTileRows * kNR)), f(kBNMax), row(p.dv);
    float mrow[kBMMax], alpha[kBMMax];
    double lrow[kBMMax];
    int64_t packed_bh = -1;
    kn.setup();
    for (int64_t task = t0; task < t1; ++task) {
      const int64_t qb = task % qt.count, bh = task / qt.count, b = bh / p.heads, h = bh % p.heads;
      const int64_t i0 = qt.begin(qb), m = qt.len(qb);
      const bfloat16* kb0 = k + st.k_bh(p, b, h);
      const bfloat16* vb0 = v + st.v_bh(p, b, h);
      if (bh != packed_bh) {
        for (int64_t kb = 0; kb < kt_.count; ++kb) {
          const int64_t j0 = kt_.begin(kb), nb = kt_.len(kb);
          kn.pack_scores(nb, p.dk, kb0 + j0 * st.k_row, 1, st.k_row, kt.data() + kb * kt_words);
          for (int64_t c = 0; c < nvp; ++c) {
            gemm::pack_bf16_panel(kn.panel(), std::min(kNR, p.dv - c * kNR), nb,
                                  vb0 + j0 * st.v_row + c * kNR, st.v_row, 1,
                                  vp.data() + (kb * nvp + c) * v_words);
          }
        }
        packed_bh = bh;
      }
      copy_rows(qs.data() + st.q_bh(p, b, h) + i0 * st.q_row, st.q_row, m, p.dk, 2 * kpd,
                qa.data());
      std::fill(o.begin(), o.end(), 0.0f);
      std::fill(mrow, mrow + kBMMax, -kInf);
      std::fill(lrow, lrow + kBMMax, 0.0);
      const int64_t jmax = p.causal ? std::min(p.tk, i0 + m) : p.tk;
      for (int64_t kb = 0; kb < kt_.count && kt_.begin(kb) < jmax; ++kb) {
        const int64_t j0 = kt_.begin(kb), nb = kt_.len(kb), n = row_width(nb);
        const int64_t ld = kn.scores_ld(n);
        kn.scores_product(m, n, kpd, qa.data(), 2 * kpd, kt.data() + kb * kt_words, s.data());
        finish_scores(p, b, h, i0, m, j0, nb, s.data(), ld);
        // Without dropout the row kernel rounds P into the products' operand itself (Note
        // [Rounding in the row kernels]).
        online_softmax_tile(kn.t, rt, p, bh * p.tq + i0, m, j0, nb, s.data(), pr.data(), ld, mrow,
                            lrow, alpha, f.data(), inv, reinterpret_cast<uint16_t*>(pa.data()));
        for (int64_t r = 0; r < m; ++r) {
          if (alpha[r] == 1.0f) continue;
          for (int64_t c = 0; c < nvp; ++c) {
            float* orow = o.data() + (c * kTileRows + r) * kNR;
            for (int64_t x = 0; x < kNR; ++x) orow[x] *= alpha[r];
          }
        }
        // Whole rows in one call; the columns past n are never read.
        if (p.rate > 0) kn.round_operands(pr.data(), pa.data(), m * ld);
        for (int64_t c = 0; c < nvp; ++c) {
          kn.panel_product(m, pairs(nb), pa.data(), ld, vp.data() + (kb * nvp + c) * v_words,
                           o.data() + c * kTileRows * kNR);
        }
      }
      for (int64_t r = 0; r < m; ++r) {
        const int64_t i = i0 + r;
        // Each row rounded to bfloat16 once, straight into the output.
        bfloat16* dst = out + st.o_bh(p, b, h) + i * p.heads * p.dv;
        if (lrow[r] > 0) {
          gather_row_rounded(kn, o.data(), kTileRows, r, p.dv, row.data(), dst,
                             static_cast<float>(1.0 / lrow[r]));
          lse[bh * p.tq + i] = mrow[r] + static_cast<float>(std::log(lrow[r]));
          continue;
        }
        // Every key masked: uniform weights over all Tk keys (Note [Attention masks]).
        uniform_row(p, rt, bh * p.tq + i, vb0, st.v_row, inv, f.data(), row.data());
        kn.et.f32_to_bf16(row.data(), dst, p.dv);
        lse[bh * p.tq + i] = kInf;
      }
    }
  });
}

// The per-task buffers of the backward (one (b, h) at a time).
struct BackwardBuffers {
  int64_t tq_rows, kpd, kpv, nkp, nvp;
  std::vector<bfloat16> qa, doa;        // scaled Q rows and dO rows: A of S and dP
  std::vector<uint32_t> qb, dob;        // Q and dO pair panels: B of dK and dV
  std::vector<uint32_t> kt, vt, kbp;    // a key tile's K^T, V^T (B of S, dP) and K panels (dQ)
  std::vector<float> s, dp, pr, f;      // the tile's scores, dS * scale and Pd, as float32
  std::vector<bfloat16> pda, dsa;       // Pd and dS * scale rows: A of dQ
  std::vector<uint32_t> pdt, dst;       // the same in row pairs: A of dV and dK
  std::vector<float> dqa, dka, dva;
  explicit BackwardBuffers(const AttentionParams& p)
      : tq_rows(round_up(p.tq, kBM) + kRowSlack),
        kpd(pairs(p.dk)),
        kpv(pairs(p.dv)),
        nkp((p.dk + kNR - 1) / kNR),
        nvp((p.dv + kNR - 1) / kNR),
        qa(static_cast<size_t>(tq_rows * 2 * kpd), bfloat16{0}),
        doa(static_cast<size_t>(tq_rows * 2 * kpv), bfloat16{0}),
        qb(static_cast<size_t>(nkp * pairs(p.tq) * kNR)),
        dob(static_cast<size_t>(nvp * pairs(p.tq) * kNR)),
        kt(static_cast<size_t>(kpd * kTileKeys)),
        vt(static_cast<size_t>(kpv * kTileKeys)),
        kbp(static_cast<size_t>(nkp * (kTileKeys / 2) * kNR)),
        s(kTileRows * kTileKeys),
        dp(kTileRows * kTileKeys),
        pr(kTileRows * kTileKeys),
        f(kBNMax),
        pda(kTileRows * kTileKeys, bfloat16{0}),
        dsa(kTileRows * kTileKeys, bfloat16{0}),
        pdt((kTileRows / 2) * kTileKeys),
        dst((kTileRows / 2) * kTileKeys),
        dqa(static_cast<size_t>(nkp * round_up(p.tq, kBM) * kNR)),
        dka(static_cast<size_t>(nkp * kTileKeys * kNR)),
        dva(static_cast<size_t>(nvp * kTileKeys * kNR)) {}
};

// For the tile of query rows [i0, i0 + m) and keys [j0, j0 + nb) of (b, h): pr = Pd and dp =
// dS * scale (Note [Attention tiles]), then their bfloat16 rows and row pairs. Returns the rows'
// stride (the scores kernel's width).
int64_t backward_tile(const Kernels& kn, const AttentionParams& p, const RandomTable& rt,
                   BackwardBuffers& w, int64_t b, int64_t h, int64_t i0, int64_t m, int64_t j0,
                   int64_t nb, const float* lse, const float* dd, float inv) {
  const int64_t bh = b * p.heads + h;
  const int64_t n = row_width(nb);
  const int64_t ld = kn.scores_ld(n);
  kn.scores_product(m, n, w.kpd, w.qa.data() + i0 * 2 * w.kpd, 2 * w.kpd, w.kt.data(),
                    w.s.data());
  finish_scores(p, b, h, i0, m, j0, nb, w.s.data(), ld);
  kn.scores_product(m, n, w.kpv, w.doa.data() + i0 * 2 * w.kpv, 2 * w.kpv, w.vt.data(),
                    w.dp.data());
  backward_scores_tile(kn.t, rt, p, bh * p.tq + i0, m, j0, nb, w.s.data(), w.pr.data(),
                       w.dp.data(), ld, lse, dd, w.f.data(), inv,
                       reinterpret_cast<uint16_t*>(w.pda.data()),
                       reinterpret_cast<uint16_t*>(w.dsa.data()));
  if (kn.tiles) {
    // Pd^T and dS^T as rows of pairs(m) words, 32 keys a block (the tiles read A's rows).
    const int MR = kn.tiles->mr;
    for (int64_t j = 0; j < nb; j += MR) {
      const int64_t rows = std::min<int64_t>(MR, nb - j);
      kn.tiles->pack_a_cols(MR, rows, m, reinterpret_cast<const uint16_t*>(w.pda.data() + j), ld,
                            w.pdt.data() + j * pairs(m));
      kn.tiles->pack_a_cols(MR, rows, m, reinterpret_cast<const uint16_t*>(w.dsa.data() + j), ld,
                            w.dst.data() + j * pairs(m));
    }
    return ld;
  }
  // Row pairs kBN keys wide whatever n (the products read the keys below nb).
  gemm::pack_bf16_panel(kn.wide, n, m, w.pda.data(), ld, 1, w.pdt.data());
  gemm::pack_bf16_panel(kn.wide, n, m, w.dsa.data(), ld, 1, w.dst.data());
  return ld;
}

void backward(const Kernels& kn, const AttentionParams& p, const bfloat16* q, const bfloat16* k,
              const bfloat16* v, const bfloat16* out, const float* lse, const bfloat16* dout,
              bfloat16* dq, bfloat16* dk, bfloat16* dv) {
  const RandomTable& rt = active_random_table();
  const Strides st = strides_of(p);
  const int64_t o_row = p.heads * p.dv;
  const float inv = p.rate > 0 ? static_cast<float>(1.0 / (1.0 - p.rate)) : 1.0f;
  const bool skip_causal = p.causal && p.mask == nullptr;
  const int64_t tail = kn.tiles ? kTail : 0;  // Note [Tile tails]
  const Tiles qt(p.tq, kBM, tail), kt_(p.tk, kBN, tail);
  const int64_t tq_pairs = pairs(p.tq), tq_pad = round_up(p.tq, kBM);
  const std::vector<float> dd = output_dots(p, out, dout, [&](const bfloat16* x, float* y,
                                                                int64_t n) {
    kn.et.bf16_to_f32(x, y, n);
  });
  const int64_t nq = p.batch * p.tq * p.heads;
  const Scratch<bfloat16> qs(nq * p.dk, "attention");
  scale_into(kn, q, nq * p.dk, static_cast<float>(p.scale), qs.data());
  parallel_for(0, p.batch * p.heads, 1, [&](int64_t t0, int64_t t1) {
    BackwardBuffers w(p);
    std::vector<float> row(static_cast<size_t>(std::max(p.dk, p.dv)));
    kn.setup();
    for (int64_t bh = t0; bh < t1; ++bh) {
      const int64_t b = bh / p.heads, h = bh % p.heads;
      const bfloat16* qb0 = q + st.q_bh(p, b, h);
      const bfloat16* kb0 = k + st.k_bh(p, b, h);
      const bfloat16* vb0 = v + st.v_bh(p, b, h);
      const bfloat16* dob0 = dout + st.o_bh(p, b, h);
      copy_rows(qs.data() + st.q_bh(p, b, h), st.q_row, p.tq, p.dk, 2 * w.kpd, w.qa.data());
      copy_rows(dob0, o_row, p.tq, p.dv, 2 * w.kpv, w.doa.data());
      if (dk) pack_row_pairs(kn, qb0, st.q_row, p.tq, p.dk, tq_pairs, w.qb.data());
      if (dv) pack_row_pairs(kn, dob0, o_row, p.tq, p.dv, tq_pairs, w.dob.data());
      std::fill(w.dqa.begin(), w.dqa.end(), 0.0f);
      for (int64_t kb = 0; kb < kt_.count; ++kb) {
        const int64_t j0 = kt_.begin(kb), nb = kt_.len(kb);
        kn.pack_scores(nb, p.dk, kb0 + j0 * st.k_row, 1, st.k_row, w.kt.data());
        kn.pack_scores(nb, p.dv, vb0 + j0 * st.v_row, 1, st.v_row, w.vt.data());
        if (dq) {
          pack_row_pairs(kn, kb0 + j0 * st.k_row, st.k_row, nb, p.dk, kTileKeys / 2,
                         w.kbp.data());
        }
        std::fill(w.dka.begin(), w.dka.end(), 0.0f);
        std::fill(w.dva.begin(), w.dva.end(), 0.0f);
        const int64_t kb_pairs = pairs(nb);
        // Causal without a mask: query tiles wholly before the key tile see none of its keys.
        const int64_t qb0 = !skip_causal ? 0 : j0 < p.tq ? qt.of(j0) : qt.count;
        for (int64_t qb = qb0; qb < qt.count; ++qb) {
          const int64_t i0 = qt.begin(qb), m = qt.len(qb);
          const int64_t ld = backward_tile(kn, p, rt, w, b, h, i0, m, j0, nb, lse, dd.data(), inv);
          if (kn.tiles) {
            // dV += Pd^T dO and dK += scale * dS^T Q from the transposes' rows, 32 keys a tile.
            const int64_t mp = pairs(m);
            for (int64_t j = 0; j < nb; j += kn.tiles->mr) {
              const auto* pdt = reinterpret_cast<const bfloat16*>(w.pdt.data() + j * mp);
              const auto* dst = reinterpret_cast<const bfloat16*>(w.dst.data() + j * mp);
              for (int64_t c = 0; dv && c < w.nvp; ++c) {
                kn.panel_product(kn.tiles->mr, mp, pdt, 2 * mp,
                                 w.dob.data() + (c * tq_pairs + i0 / 2) * kNR,
                                 w.dva.data() + (c * kTileKeys + j) * kNR);
              }
              for (int64_t c = 0; dk && c < w.nkp; ++c) {
                kn.panel_product(kn.tiles->mr, mp, dst, 2 * mp,
                                 w.qb.data() + (c * tq_pairs + i0 / 2) * kNR,
                                 w.dka.data() + (c * kTileKeys + j) * kNR);
              }
            }
          } else {
            // The row-pair operands: key j's pair p at element 2 * (p * kBN + j).
            const auto* pdt = reinterpret_cast<const bfloat16*>(w.pdt.data());
            const auto* dst = reinterpret_cast<const bfloat16*>(w.dst.data());
            for (int64_t c = 0; dv && c < w.nvp; ++c) {  // dV += Pd^T dO
              rows_times_panel(kn.narrow, nb, pairs(m), pdt, 2, 2 * kBN,
                               w.dob.data() + (c * tq_pairs + i0 / 2) * kNR,
                               w.dva.data() + c * kTileKeys * kNR, true);
            }
            for (int64_t c = 0; dk && c < w.nkp; ++c) {  // dK += scale * dS^T Q
              rows_times_panel(kn.narrow, nb, pairs(m), dst, 2, 2 * kBN,
                               w.qb.data() + (c * tq_pairs + i0 / 2) * kNR,
                               w.dka.data() + c * kTileKeys * kNR, true);
            }
          }
          for (int64_t c = 0; dq && c < w.nkp; ++c) {  // dQ += scale * dS K
            kn.panel_product(m, kb_pairs, w.dsa.data(), ld,
                             w.kbp.data() + c * (kTileKeys / 2) * kNR,
                             w.dqa.data() + (c * tq_pad + i0) * kNR);
          }
        }
        for (int64_t j = 0; j < nb; ++j) {
          // Each row rounded to bfloat16 once its sum is complete, straight into the output.
          if (dk) {
            gather_row_rounded(kn, w.dka.data(), kTileKeys, j, p.dk, row.data(),
                               dk + st.k_bh(p, b, h) + (j0 + j) * st.k_row);
          }
          if (dv) {
            gather_row_rounded(kn, w.dva.data(), kTileKeys, j, p.dv, row.data(),
                               dv + st.v_bh(p, b, h) + (j0 + j) * st.v_row);
          }
        }
      }
      for (int64_t i = 0; dq && i < p.tq; ++i) {
        gather_row_rounded(kn, w.dqa.data(), tq_pad, i, p.dk, row.data(),
                           dq + st.q_bh(p, b, h) + i * st.q_row);
      }
    }
  });
}

// The kernels of the current ISA, or nullopt on the float32 path.
std::optional<Kernels> kernels() {
  const Bf16Ukernel* wide = gemm::gemm_bf16_kernel(4);
  if (!wide) return std::nullopt;
  const Bf16Ukernel* main = gemm::gemm_bf16_kernel();
  return Kernels{*wide,
                 *gemm::gemm_bf16_kernel(2),
                 *gemm::gemm_bf16_kernel(1),
                 main != nullptr && main->strided != nullptr ? main : nullptr,
                 active_table(),
                 active_elementwise_table()};
}

}  // namespace

bool attention_forward_bf16(const AttentionParams& p, const bfloat16* q, const bfloat16* k,
                            const bfloat16* v, bfloat16* out, float* lse) {
  const std::optional<Kernels> kn = kernels();
  if (!kn) return false;
  forward(*kn, p, q, k, v, out, lse);
  return true;
}

bool attention_backward_bf16(const AttentionParams& p, const bfloat16* q, const bfloat16* k,
                             const bfloat16* v, const bfloat16* out, const float* lse,
                             const bfloat16* dout, bfloat16* dq, bfloat16* dk, bfloat16* dv) {
  const std::optional<Kernels> kn = kernels();
  if (!kn) return false;
  backward(*kn, p, q, k, v, out, lse, dout, dq, dk, dv);
  return true;
}

}  // namespace corten::cpu
