#pragma once
// What the float32 and bfloat16 attention kernels share (Note [Attention tiles] in
// cpu/attention.cpp): the tile sizes, the per-ISA float32 row kernels, the masks and dropout
// factors of a tile, and the strides of the (B, T, H, D) operands.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include <corten/half.h>
#include <corten/parallel.h>

#include "cpu/attention.h"
#include "cpu/isa_table.h"
#include "cpu/random_kernels.h"
#include "cpu/random_transform.h"

namespace corten::cpu::attention_tiles {

constexpr int64_t kBM = 64;  // query rows per tile
constexpr int64_t kBN = 64;  // keys per tile (a multiple of 16: tile_gemm's n)
constexpr float kInf = std::numeric_limits<float>::infinity();

// Note [Tile tails]
// A length that leaves a thin last tile (T = 200: 64 + 64 + 64 + 8) pays a whole tile's fixed
// work for a few rows or keys: the online softmax's rescaling, the row kernels' set-up,
// products padded to 16 (or 32) columns, and, for a thin key tile, one more pass over every
// query tile. The last tile takes up to kTail more instead (200: 64 + 64 + 72, nine tile pairs
// per (b, h) instead of sixteen). At the transformer classifier's shape (b32, T = 200, 2 heads
// of 32), forward + backward at 1 thread, processes of the builds before and after alternated
// three times on a Xeon (medians): float32 13.10 -> 12.17 ms, bfloat16 on AMX 9.12 -> 8.93 ms
// (its 72 keys still run as 96: AMX rows are whole 32-column tiles); T = 192, which has no thin
// tile, unchanged. The bfloat16 kernels
// without AMX keep 64 (kTail 0): their S and dP products are one panel of at most 64 columns.
// (bench/lab/mixed_precision_kernels.py's "attention b32 T=200 2x32" line times the current
// build.) The tiles depend only on the length, never on the thread count.
constexpr int64_t kTail = 16;
constexpr int64_t kBMMax = kBM + kTail;  // rows of the largest query tile
constexpr int64_t kBNMax = kBN + kTail;  // keys of the largest key tile (a multiple of 16)

// The tiles of `total` positions: `size` each, the last one the rest (up to size + tail).
struct Tiles {
  int64_t total, size, count;
  Tiles(int64_t total_, int64_t size_, int64_t tail = kTail)
      : total(total_), size(size_), count((total_ + size_ - 1) / size_) {
    if (count > 1 && total - (count - 1) * size <= tail) --count;
  }
  int64_t begin(int64_t t) const { return t * size; }
  int64_t len(int64_t t) const { return t + 1 == count ? total - t * size : size; }
  // The tile that holds position i (< total).
  int64_t of(int64_t i) const { return std::min(i / size, count - 1); }
};

inline int64_t pad16(int64_t n) { return (n + 15) / 16 * 16; }

inline const AttentionTable& active_table() {
  return table_for_isa(&baseline::attention_table, &avx2::attention_table,
                       &avx512::attention_table);
}

// keep factors f[j], j < nb, of row `row` ((b * H + h) * Tq + i) from key j0
// (Note [Attention dropout counters]).
inline void keep_factors(const AttentionParams& p, const RandomTable& rt, int64_t row, int64_t j0,
                  int64_t nb, float inv, float* f) {
  const uint64_t e0 =
      static_cast<uint64_t>(row) * static_cast<uint64_t>(p.tk) + static_cast<uint64_t>(j0);
  const uint64_t blk0 = e0 / 4, blk1 = (e0 + static_cast<uint64_t>(nb) - 1) / 4;
  alignas(64) uint32_t words[4 * (kBNMax / 4 + 2)];
  rt.philox_words(p.key, p.offset + blk0, static_cast<int64_t>(blk1 - blk0 + 1), words);
  const uint64_t first = e0 - 4 * blk0;
  const rng::DropoutThreshold keep = rng::dropout_threshold(p.rate);
  for (int64_t j = 0; j < nb; ++j) {
    f[j] = rng::dropout_keep(words[first + static_cast<uint64_t>(j)], keep) ? inv : 0.0f;
  }
  for (int64_t j = nb; j < kBNMax; ++j) f[j] = 0.0f;
}

// Scores of a tile (scaled dot products) in s (m rows of `ld` values, row stride ld), with -inf
// where key j0 + j is not visible to query i0 + r or past the end (j >= nb).
inline void finish_scores(const AttentionParams& p, int64_t b, int64_t h, int64_t i0, int64_t m,
                          int64_t j0, int64_t nb, float* s, int64_t ld) {
  for (int64_t r = 0; r < m; ++r) {
    float* sr = s + r * ld;
    const int64_t i = i0 + r;
    const int64_t jend = p.causal ? std::min(nb, std::max<int64_t>(i - j0 + 1, 0)) : nb;
    if (p.mask) {
      const bool* mr = p.mask + b * p.mask_strides[0] + h * p.mask_strides[1] +
                       i * p.mask_strides[2] + j0 * p.mask_strides[3];
      const int64_t ms = p.mask_strides[3];
      for (int64_t j = 0; j < jend; ++j) sr[j] = mr[j * ms] ? sr[j] : -kInf;
    }
    for (int64_t j = jend; j < ld; ++j) sr[j] = -kInf;
  }
}

// The columns the row kernels of a tile of nb keys run over (their n is a multiple of 16).
inline int64_t row_width(int64_t nb) { return pad16(nb); }

// One key tile of the forward's online softmax (Note [Attention tiles]) over the rows r < m of
// s (row stride ld, row_width(nb) columns; query row `row0 + r` of the (B * H * Tq) rows, keys
// from j0): the row maxima mrow and sums lrow are updated, pr = exp(s - mrow) times the dropout
// factors (f: a kBNMax buffer), and alpha[r] is what row r of O is to be scaled by before this
// tile's P V is added (1 where nothing is visible yet).
inline void online_softmax_tile(const AttentionTable& t, const RandomTable& rt,
                                const AttentionParams& p, int64_t row0, int64_t m, int64_t j0,
                                int64_t nb, const float* s, float* pr, int64_t ld, float* mrow,
                                double* lrow, float* alpha, float* f, float inv,
                                uint16_t* pr16 = nullptr) {
  const int64_t n = row_width(nb);
  float mnew[kBMMax], sums[kBMMax];
  t.row_max(s, ld, m, n, mnew);
  for (int64_t r = 0; r < m; ++r) {
    mnew[r] = std::max(mrow[r], mnew[r]);
    alpha[r] = mnew[r] == -kInf ? 1.0f : mrow[r] == -kInf ? 0.0f : std::exp(mrow[r] - mnew[r]);
  }
  // rows with nothing visible: 0
  if (pr16 != nullptr && p.rate == 0) {
    t.exp_sum_bf16(s, ld, mnew, pr16, m, n, sums);
  } else {
    t.exp_sum(s, ld, mnew, pr, m, n, sums);
  }
  for (int64_t r = 0; r < m; ++r) {
    if (mnew[r] == -kInf) continue;
    lrow[r] = lrow[r] * alpha[r] + sums[r];
    mrow[r] = mnew[r];
    if (p.rate > 0) {
      keep_factors(p, rt, row0 + r, j0, nb, inv, f);
      for (int64_t j = 0; j < nb; ++j) pr[r * ld + j] *= f[j];
    }
  }
}

// The backward's scores of a tile (Note [Attention tiles]) over the rows r < m (query row
// `row0 + r`, keys from j0), from s (the tile's scores) and dp (dO V^T), both of row stride ld:
// pr = Pd (the dropped-out probabilities) and dp = dS * scale, dS = P * (dP - D). Past nb, pr
// is 0 (scores -inf) and dp is 0 (V zero-padded), so dS is 0 there.
// With pr16 and dp16 (row stride ld), Pd and dS * scale go there rounded to bfloat16 instead,
// and nothing is stored in float32 (Note [Rounding in the row kernels]).
inline void backward_scores_tile(const AttentionTable& t, const RandomTable& rt,
                                 const AttentionParams& p, int64_t row0, int64_t m, int64_t j0,
                                 int64_t nb, const float* s, float* pr, float* dp, int64_t ld,
                                 const float* lse, const float* dd, float* f, float inv,
                                 uint16_t* pr16 = nullptr, uint16_t* dp16 = nullptr) {
  const int64_t n = row_width(nb);
  const float scale = static_cast<float>(p.scale);
  const float uniform = 1.0f / static_cast<float>(p.tk);
  const bool rounded = pr16 != nullptr;
  if (!rounded) t.exp_sum(s, ld, lse + row0, pr, m, n, nullptr);
  for (int64_t r = 0; r < m; ++r) {
    const int64_t row = row0 + r;
    float* prr = pr + r * ld;
    float* dpr = dp + r * ld;
    if (lse[row] == kInf) {
      // Constant scores (Note [Attention masks]): no gradient to q and k from this row.
      for (int64_t j = 0; j < n; ++j) prr[j] = j < nb ? uniform : 0.0f;
      if (p.rate > 0) {
        keep_factors(p, rt, row, j0, nb, inv, f);
        for (int64_t j = 0; j < nb; ++j) prr[j] *= f[j];
      }
      std::fill(dpr, dpr + n, 0.0f);
      if (rounded) {
        for (int64_t j = 0; j < n; ++j) {
          pr16[r * ld + j] = bfloat16::from_float(prr[j]).bits;
          dp16[r * ld + j] = 0;
        }
      }
      continue;
    }
    if (p.rate > 0) keep_factors(p, rt, row, j0, nb, inv, f);
    if (rounded) {
      t.exp_grad_scores_bf16(s + r * ld, dpr, lse[row], p.rate > 0 ? f : nullptr, dd[row], scale,
                             n, pr16 + r * ld, dp16 + r * ld);
    } else {
      t.grad_scores(prr, dpr, p.rate > 0 ? f : nullptr, dd[row], scale, n);
    }
  }
}

inline float value_of(float v) { return v; }
inline float value_of(bfloat16 v) { return v.to_float(); }

// Output row `row` ((b * H + h) * Tq + i) when every key is masked (Note [Attention masks]):
// uniform weights over all Tk keys of V (vb0: the (b, h)'s first row, rows v_row apart), the
// dropout factors applied (f: a kBNMax buffer), summed in float64 into dst (Dv values).
template <class T>
void uniform_row(const AttentionParams& p, const RandomTable& rt, int64_t row, const T* vb0,
                 int64_t v_row, float inv, float* f, float* dst) {
  std::vector<double> acc(static_cast<size_t>(p.dv), 0.0);
  const float w = 1.0f / static_cast<float>(p.tk);
  for (int64_t j0 = 0; j0 < p.tk; j0 += kBN) {
    const int64_t nb = std::min(kBN, p.tk - j0);
    if (p.rate > 0) {
      keep_factors(p, rt, row, j0, nb, inv, f);
    } else {
      std::fill(f, f + nb, 1.0f);
    }
    for (int64_t j = 0; j < nb; ++j) {
      const T* vr = vb0 + (j0 + j) * v_row;
      const double wj = static_cast<double>(w * f[j]);
      for (int64_t c = 0; c < p.dv; ++c) acc[c] += wj * value_of(vr[c]);
    }
  }
  for (int64_t c = 0; c < p.dv; ++c) dst[c] = static_cast<float>(acc[c]);
}

// D_i = rowsum(dO_i * O_i) of every row (b * H + h) * Tq + i, summed in float64. float32 rows
// are read in place; other dtypes' rows are read through `widen(x, y, n)` (n values of out or
// dout as float32).
template <class T, class Widen>
std::vector<float> output_dots(const AttentionParams& p, const T* out, const T* dout,
                               const Widen& widen) {
  constexpr bool kInPlace = std::is_same_v<T, float>;
  const int64_t o_row = p.heads * p.dv, rows = p.batch * p.heads * p.tq;
  std::vector<float> dd(static_cast<size_t>(rows));
  parallel_for(0, rows, 256, [&](int64_t r0, int64_t r1) {
    std::vector<float> gbuf(kInPlace ? 0 : static_cast<size_t>(p.dv));
    std::vector<float> obuf(kInPlace ? 0 : static_cast<size_t>(p.dv));
    for (int64_t row = r0; row < r1; ++row) {
      const int64_t i = row % p.tq, bh = row / p.tq, b = bh / p.heads, h = bh % p.heads;
      const int64_t off = (b * p.tq + i) * o_row + h * p.dv;
      const float* g = nullptr;
      const float* o = nullptr;
      if constexpr (kInPlace) {
        g = dout + off;
        o = out + off;
      } else {
        widen(dout + off, gbuf.data(), p.dv);
        widen(out + off, obuf.data(), p.dv);
        g = gbuf.data();
        o = obuf.data();
      }
      // Eight partial sums: one running sum is a chain of dependent additions, four cycles
      // each (0.6 of the transformer classifier's 11 ms attention backward at 1 thread).
      double acc[8] = {};
      int64_t c = 0;
      for (; c + 8 <= p.dv; c += 8) {
        for (int u = 0; u < 8; ++u) acc[u] += static_cast<double>(g[c + u]) * o[c + u];
      }
      for (; c < p.dv; ++c) acc[c % 8] += static_cast<double>(g[c]) * o[c];
      dd[static_cast<size_t>(row)] = static_cast<float>(((acc[0] + acc[4]) + (acc[2] + acc[6])) +
                                                        ((acc[1] + acc[5]) + (acc[3] + acc[7])));
    }
  });
  return dd;
}

struct Strides {
  int64_t q_row, k_row, v_row;  // between consecutive positions t (H * D or H * Dv)
  int64_t q_bh(const AttentionParams& p, int64_t b, int64_t h) const {
    return b * p.tq * q_row + h * p.dk;
  }
  int64_t k_bh(const AttentionParams& p, int64_t b, int64_t h) const {
    return b * p.tk * k_row + h * p.dk;
  }
  int64_t v_bh(const AttentionParams& p, int64_t b, int64_t h) const {
    return b * p.tk * v_row + h * p.dv;
  }
  int64_t o_bh(const AttentionParams& p, int64_t b, int64_t h) const {
    return b * p.tq * p.heads * p.dv + h * p.dv;
  }
};

inline Strides strides_of(const AttentionParams& p) {
  return {p.heads * p.dk, p.heads * p.dk, p.heads * p.dv};
}

}  // namespace corten::cpu::attention_tiles
