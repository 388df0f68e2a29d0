#include "cpu/attention.h"

#include <corten/parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu/attention_tiles.h"
#include "cpu/elementwise.h"
#include "cpu/scratch.h"

namespace corten::cpu {

// Note [Attention tiles]
// The forward walks, for each (b, h) and block of kBM query rows, the keys kBN at a time (the
// flash-attention scheme): S = Q K^T for the tile (the ISA's tile_gemm against K packed
// transposed; Q scaled once per block, so S is already scaled), masks applied in the tile
// (-inf where not visible), then the online
// softmax: the row maximum m and sum l are updated, the row of O rescaled by exp(m_old - m),
// and O += P V. Only kBM x kBN scores exist at a time (a last tile can be larger: Note [Tile
// tails]). The row log-sum-exp m + log(l) is saved.
// The backward recomputes P = exp(S - lse) tile by tile, with D_i = rowsum(dO_i * O_i), one
// task per (b, h) walking the key blocks and, inside each, the query blocks:
//   dV += Pd^T dO, dK += scale * dS^T Q (the key block's, in the task's buffers),
//   dQ += scale * dS K (the whole (b, h)'s, in the task's buffer),
// with dP = (dO V^T) * keep, dS = P * (dP - D), Pd = P * keep (keep: 0 or 1 / (1 - rate)):
// five tile products per tile, no atomics. Every output element is written by one task that
// sums in a fixed order, so the results do not depend on the thread count; the price is that
// the backward has B * H tasks to share among the threads (the forward has B * H * Tq / kBM).
// A transposed operand is the same tile_gemm with its strides swapped, and rows of q, k, v
// and dout are the B operands in place when their depth is a multiple of 16 (else padded
// copies). The forward skips the tiles wholly above the causal diagonal; the backward does
// only without a mask, since a row whose keys are all masked attends every key
// (Note [Attention masks]).

namespace {

using namespace attention_tiles;

// Packs rows [j0, j0 + nb) of x (row stride ld, `cols` values) transposed into t (cols,
// kBNMax), zero past nb.
void pack_transposed(const float* x, int64_t ld, int64_t nb, int64_t cols, float* t) {
  // Rows read in order, the writes strided inside the small buffer (L1).
  for (int64_t j = 0; j < nb; ++j) {
    const float* xr = x + j * ld;
    for (int64_t c = 0; c < cols; ++c) t[c * kBNMax + j] = xr[c];
  }
  if (nb < kBNMax) {
    for (int64_t c = 0; c < cols; ++c) std::fill(t + c * kBNMax + nb, t + (c + 1) * kBNMax, 0.0f);
  }
}

// Packs `rows` rows of x (row stride ld, `cols` values) into t (rows, padded), zero past cols.
void pack_rows(const float* x, int64_t ld, int64_t rows, int64_t cols, int64_t padded, float* t) {
  for (int64_t r = 0; r < rows; ++r) {
    float* tr = t + r * padded;
    std::copy(x + r * ld, x + r * ld + cols, tr);
    std::fill(tr + cols, tr + padded, 0.0f);
  }
}

// rows x cols values of x (row stride ld) times scale into t (rows, cols): the A operand of
// S = (scale Q) K^T, made the same way by the forward and the backward, so both get the same S.
void scaled_rows(const float* x, int64_t ld, int64_t rows, int64_t cols, float scale, float* t) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) t[r * cols + c] = x[r * ld + c] * scale;
  }
}

void forward_f32(const AttentionParams& p, const float* q, const float* k, const float* v,
                 float* out, float* lse) {
  const AttentionTable& t = active_table();
  const RandomTable& rt = active_random_table();
  const Strides st = strides_of(p);
  const Tiles qt(p.tq, kBM), kt_(p.tk, kBN);  // Note [Tile tails]
  const int64_t dvp = pad16(p.dv);
  const bool v_in_place = dvp == p.dv;  // V rows serve as the B operand of O += P V
  const float inv = p.rate > 0 ? static_cast<float>(1.0 / (1.0 - p.rate)) : 1.0f;
  parallel_for(0, p.batch * p.heads * qt.count, 1, [&](int64_t t0, int64_t t1) {
    std::vector<float> kt(static_cast<size_t>(p.dk * kBNMax));
    std::vector<float> vp(v_in_place ? 0 : static_cast<size_t>(kBNMax * dvp));
    std::vector<float> s(kBMMax * kBNMax), pr(kBMMax * kBNMax);
    std::vector<float> o(static_cast<size_t>(kBMMax * dvp));
    std::vector<float> f(kBNMax), qs(static_cast<size_t>(kBMMax * p.dk));
    float mrow[kBMMax], alpha[kBMMax];
    double lrow[kBMMax];
    for (int64_t task = t0; task < t1; ++task) {
      const int64_t qb = task % qt.count, bh = task / qt.count, b = bh / p.heads, h = bh % p.heads;
      const int64_t i0 = qt.begin(qb), m = qt.len(qb);
      const float* qb0 = q + st.q_bh(p, b, h) + i0 * st.q_row;
      const float* kb0 = k + st.k_bh(p, b, h);
      const float* vb0 = v + st.v_bh(p, b, h);
      scaled_rows(qb0, st.q_row, m, p.dk, static_cast<float>(p.scale), qs.data());
      std::fill(o.begin(), o.end(), 0.0f);
      std::fill(mrow, mrow + kBMMax, -kInf);
      std::fill(lrow, lrow + kBMMax, 0.0);
      // Rows with no visible key are finished below, so causal tiles are skipped with a mask too.
      const int64_t jmax = p.causal ? std::min(p.tk, i0 + m) : p.tk;
      for (int64_t kb = 0; kb < kt_.count && kt_.begin(kb) < jmax; ++kb) {
        const int64_t j0 = kt_.begin(kb), nb = kt_.len(kb);
        pack_transposed(kb0 + j0 * st.k_row, st.k_row, nb, p.dk, kt.data());
        const float* vsrc = vb0 + j0 * st.v_row;
        int64_t ldv = st.v_row;
        if (!v_in_place) {
          pack_rows(vsrc, st.v_row, nb, p.dv, dvp, vp.data());
          vsrc = vp.data();
          ldv = dvp;
        }
        const int64_t n = row_width(nb);
        t.tile_gemm(m, n, p.dk, qs.data(), p.dk, 1, kt.data(), kBNMax, s.data(), kBNMax, false);
        finish_scores(p, b, h, i0, m, j0, nb, s.data(), kBNMax);
        online_softmax_tile(t, rt, p, bh * p.tq + i0, m, j0, nb, s.data(), pr.data(), kBNMax,
                            mrow, lrow, alpha, f.data(), inv);
        for (int64_t r = 0; r < m; ++r) {
          if (alpha[r] == 1.0f) continue;
          float* orow = o.data() + r * dvp;
          for (int64_t c = 0; c < dvp; ++c) orow[c] *= alpha[r];
        }
        t.tile_gemm(m, dvp, nb, pr.data(), kBNMax, 1, vsrc, ldv, o.data(), dvp, true);
      }
      for (int64_t r = 0; r < m; ++r) {
        const int64_t i = i0 + r;
        float* dst = out + st.o_bh(p, b, h) + i * p.heads * p.dv;
        const float* orow = o.data() + r * dvp;
        if (lrow[r] > 0) {
          const float rl = static_cast<float>(1.0 / lrow[r]);
          for (int64_t c = 0; c < p.dv; ++c) dst[c] = orow[c] * rl;
          lse[bh * p.tq + i] = mrow[r] + static_cast<float>(std::log(lrow[r]));
          continue;
        }
        // Every key masked: uniform weights over all Tk keys (Note [Attention masks]).
        uniform_row(p, rt, bh * p.tq + i, vb0, st.v_row, inv, f.data(), dst);
        lse[bh * p.tq + i] = kInf;
      }
    }
  });
}

// The per-task buffers of the backward.
struct BackwardTile {
  std::vector<float> kt, vt, s, pr, dp, f;
  explicit BackwardTile(const AttentionParams& p)
      : kt(static_cast<size_t>(p.dk * kBNMax)),
        vt(static_cast<size_t>(p.dv * kBNMax)),
        s(kBMMax * kBNMax),
        pr(kBMMax * kBNMax),
        dp(kBMMax * kBNMax),
        f(kBNMax) {}
};

// For the tile of query rows [i0, i0 + m) and keys [j0, j0 + nb) of (b, h), with kt and vt
// packed: pr = Pd (the dropped-out probabilities) and dp = dS * scale, dS = P * (dP - D).
void backward_tile(const AttentionParams& p, const AttentionTable& t, const RandomTable& rt,
                   BackwardTile& w, int64_t b, int64_t h, int64_t i0, int64_t m, int64_t j0,
                   int64_t nb, const float* qs, const float* dob0, int64_t o_row, const float* lse,
                   const float* dd, float inv) {
  const int64_t bh = b * p.heads + h;
  const int64_t n = row_width(nb);
  t.tile_gemm(m, n, p.dk, qs + i0 * p.dk, p.dk, 1, w.kt.data(), kBNMax, w.s.data(), kBNMax,
              false);
  finish_scores(p, b, h, i0, m, j0, nb, w.s.data(), kBNMax);
  t.tile_gemm(m, n, p.dv, dob0 + i0 * o_row, o_row, 1, w.vt.data(), kBNMax, w.dp.data(), kBNMax,
              false);
  backward_scores_tile(t, rt, p, bh * p.tq + i0, m, j0, nb, w.s.data(), w.pr.data(), w.dp.data(),
                       kBNMax, lse, dd, w.f.data(), inv);
}

void backward_f32(const AttentionParams& p, const float* q, const float* k, const float* v,
                  const float* out, const float* lse, const float* dout, float* dq, float* dk,
                  float* dv) {
  const AttentionTable& t = active_table();
  const RandomTable& rt = active_random_table();
  const Strides st = strides_of(p);
  const int64_t o_row = p.heads * p.dv;
  const float inv = p.rate > 0 ? static_cast<float>(1.0 / (1.0 - p.rate)) : 1.0f;
  const bool skip_causal = p.causal && p.mask == nullptr;
  const int64_t dkp = pad16(p.dk), dvp = pad16(p.dv);
  // Rows of q, k and dout serve as B operands in place when their depth is a multiple of 16.
  const bool qk_in_place = dkp == p.dk, do_in_place = dvp == p.dv;
  const Tiles qt(p.tq, kBM), kt_(p.tk, kBN);  // Note [Tile tails]
  // float32 rows are read in place: no widening.
  const std::vector<float> dd = output_dots(p, out, dout, [](const float*, float*, int64_t) {});
  // One task per (b, h): key blocks in order, query blocks in order inside each; dK and dV of
  // a key block and dQ of the whole (b, h) accumulate in the task's buffers.
  parallel_for(0, p.batch * p.heads, 1, [&](int64_t t0, int64_t t1) {
    BackwardTile w(p);
    std::vector<float> dqa(static_cast<size_t>(dq ? p.tq * dkp : 0));
    std::vector<float> dka(static_cast<size_t>(kBNMax * dkp));
    std::vector<float> dva(static_cast<size_t>(kBNMax * dvp));
    std::vector<float> qp(qk_in_place ? 0 : static_cast<size_t>(p.tq * dkp));
    std::vector<float> kp(qk_in_place ? 0 : static_cast<size_t>(kBNMax * dkp));
    std::vector<float> dop(do_in_place ? 0 : static_cast<size_t>(p.tq * dvp));
    std::vector<float> qs(static_cast<size_t>(p.tq * p.dk));
    for (int64_t bh = t0; bh < t1; ++bh) {
      const int64_t b = bh / p.heads, h = bh % p.heads;
      const float* qb0 = q + st.q_bh(p, b, h);
      const float* kb0 = k + st.k_bh(p, b, h);
      const float* vb0 = v + st.v_bh(p, b, h);
      const float* dob0 = dout + st.o_bh(p, b, h);
      scaled_rows(qb0, st.q_row, p.tq, p.dk, static_cast<float>(p.scale), qs.data());
      const float* qsrc = qb0;
      int64_t ldq = st.q_row;
      if (!qk_in_place) {
        pack_rows(qb0, st.q_row, p.tq, p.dk, dkp, qp.data());
        qsrc = qp.data();
        ldq = dkp;
      }
      const float* dosrc = dob0;
      int64_t lddo = o_row;
      if (!do_in_place) {
        pack_rows(dob0, o_row, p.tq, p.dv, dvp, dop.data());
        dosrc = dop.data();
        lddo = dvp;
      }
      std::fill(dqa.begin(), dqa.end(), 0.0f);
      for (int64_t kb = 0; kb < kt_.count; ++kb) {
        const int64_t j0 = kt_.begin(kb), nb = kt_.len(kb);
        pack_transposed(kb0 + j0 * st.k_row, st.k_row, nb, p.dk, w.kt.data());
        pack_transposed(vb0 + j0 * st.v_row, st.v_row, nb, p.dv, w.vt.data());
        const float* ksrc = kb0 + j0 * st.k_row;
        int64_t ldk = st.k_row;
        if (!qk_in_place && dq) {
          pack_rows(ksrc, st.k_row, nb, p.dk, dkp, kp.data());
          ksrc = kp.data();
          ldk = dkp;
        }
        std::fill(dka.begin(), dka.end(), 0.0f);
        std::fill(dva.begin(), dva.end(), 0.0f);
        // Causal without a mask: query tiles wholly before the key tile see none of its keys.
        const int64_t qb0 = !skip_causal ? 0 : j0 < p.tq ? qt.of(j0) : qt.count;
        for (int64_t qb = qb0; qb < qt.count; ++qb) {
          const int64_t i0 = qt.begin(qb), m = qt.len(qb);
          backward_tile(p, t, rt, w, b, h, i0, m, j0, nb, qs.data(), dob0, o_row, lse, dd.data(),
                        inv);
          if (dv) {  // dV += Pd^T dO
            t.tile_gemm(nb, dvp, m, w.pr.data(), 1, kBNMax, dosrc + i0 * lddo, lddo, dva.data(), dvp,
                        true);
          }
          if (dk) {  // dK += scale * dS^T Q
            t.tile_gemm(nb, dkp, m, w.dp.data(), 1, kBNMax, qsrc + i0 * ldq, ldq, dka.data(), dkp,
                        true);
          }
          if (dq) {  // dQ += scale * dS K
            t.tile_gemm(m, dkp, nb, w.dp.data(), kBNMax, 1, ksrc, ldk, dqa.data() + i0 * dkp, dkp,
                        true);
          }
        }
        for (int64_t j = 0; j < nb; ++j) {
          if (dk) {
            float* dst = dk + st.k_bh(p, b, h) + (j0 + j) * st.k_row;
            std::copy(dka.data() + j * dkp, dka.data() + j * dkp + p.dk, dst);
          }
          if (dv) {
            float* dst = dv + st.v_bh(p, b, h) + (j0 + j) * st.v_row;
            std::copy(dva.data() + j * dvp, dva.data() + j * dvp + p.dv, dst);
          }
        }
      }
      for (int64_t i = 0; dq && i < p.tq; ++i) {
        float* dst = dq + st.q_bh(p, b, h) + i * st.q_row;
        std::copy(dqa.data() + i * dkp, dqa.data() + i * dkp + p.dk, dst);
      }
    }
  });
}

// The baseline tile kernels: plain loops.
void tile_gemm_baseline(int64_t m, int64_t n, int64_t kd, const float* a, int64_t ars, int64_t acs,
                        const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  for (int64_t i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    if (!accumulate) std::fill(ci, ci + n, 0.0f);
    for (int64_t p = 0; p < kd; ++p) {
      const float av = a[i * ars + p * acs];
      const float* bp = b + p * ldb;
      for (int64_t j = 0; j < n; ++j) ci[j] += av * bp[j];
    }
  }
}

void exp_sum_baseline(const float* s, int64_t ld, const float* m, float* p, int64_t rows,
                      int64_t n, float* sums) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* sr = s + r * ld;
    float* pr = p + r * ld;
    float total = 0.0f;
    for (int64_t j = 0; j < n; ++j) {
      const float x = sr[j] - m[r];
      pr[j] = !std::isfinite(m[r]) || x < -87.3365447505531f ? 0.0f : std::exp(x);
      total += pr[j];
    }
    if (sums) sums[r] = total;
  }
}

void grad_scores_baseline(float* pr, float* dp, const float* f, float d, float scale, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const float pj = pr[j];
    if (f) {
      dp[j] = pj * (dp[j] * f[j] - d) * scale;
      pr[j] = pj * f[j];
    } else {
      dp[j] = pj * (dp[j] - d) * scale;
    }
  }
}

void exp_sum_bf16_baseline(const float* s, int64_t ld, const float* m, uint16_t* p,
                           int64_t rows, int64_t n, float* sums) {
  std::vector<float> row(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    exp_sum_baseline(s + r * ld, ld, m + r, row.data(), 1, n, sums ? sums + r : nullptr);
    for (int64_t j = 0; j < n; ++j) p[r * ld + j] = bfloat16::from_float(row[j]).bits;
  }
}

void exp_grad_scores_bf16_baseline(const float* s, const float* dp, float m, const float* f,
                                   float d, float scale, int64_t n, uint16_t* pd, uint16_t* ds) {
  std::vector<float> pr(static_cast<size_t>(n)), g(dp, dp + n);
  exp_sum_baseline(s, n, &m, pr.data(), 1, n, nullptr);
  grad_scores_baseline(pr.data(), g.data(), f, d, scale, n);
  for (int64_t j = 0; j < n; ++j) {
    pd[j] = bfloat16::from_float(pr[j]).bits;
    ds[j] = bfloat16::from_float(g[j]).bits;
  }
}

void row_max_baseline(const float* s, int64_t ld, int64_t rows, int64_t n, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    float mx = -kInf;
    for (int64_t j = 0; j < n; ++j) mx = s[r * ld + j] > mx ? s[r * ld + j] : mx;
    out[r] = mx;
  }
}

}  // namespace

namespace baseline {
const AttentionTable& attention_table() {
  static const AttentionTable table{tile_gemm_baseline,    exp_sum_baseline,
                                    row_max_baseline,      grad_scores_baseline,
                                    exp_sum_bf16_baseline, exp_grad_scores_bf16_baseline};
  return table;
}
}  // namespace baseline

namespace {

// bfloat16 on the float32 path (Note [bfloat16 attention]): n float32 values from the caching
// allocator, a bfloat16 operand widened into them or a result rounded out of them, split over
// the threads. (In std::vectors, faulted in and zeroed on every call, the float32 path took
// 16.5 ms forward + backward at b32 T=200 2x32, 2 threads, against the float32 kernels' 8.7;
// here 9.6.)
class WideBuffer {
 public:
  explicit WideBuffer(int64_t n, const void* x = nullptr)
      : n_(n), buf_(n, "scaled_dot_product_attention") {
    if (x) convert(n, [&](int64_t i0, int64_t i1) {
        active_elementwise_table().bf16_to_f32(static_cast<const bfloat16*>(x) + i0,
                                               buf_.data() + i0, i1 - i0);
      });
  }
  float* data() const { return buf_.data(); }
  void zero() const { std::fill(buf_.data(), buf_.data() + n_, 0.0f); }
  void narrow_into(void* out) const {
    convert(n_, [&](int64_t i0, int64_t i1) {
      active_elementwise_table().f32_to_bf16(buf_.data() + i0, static_cast<bfloat16*>(out) + i0,
                                             i1 - i0);
    });
  }

 private:
  template <class F>
  static void convert(int64_t n, const F& fn) {
    parallel_for(0, n, int64_t{1} << 15, fn);
  }
  int64_t n_;
  Scratch<float> buf_;
};

}  // namespace

void attention_forward(DType dtype, const AttentionParams& p, const void* q, const void* k,
                       const void* v, void* out, void* lse) {
  if (dtype == DType::BFloat16) {
    const auto* q16 = static_cast<const bfloat16*>(q);
    const auto* k16 = static_cast<const bfloat16*>(k);
    const auto* v16 = static_cast<const bfloat16*>(v);
    auto* lse32 = static_cast<float*>(lse);
    if (attention_forward_bf16(p, q16, k16, v16, static_cast<bfloat16*>(out), lse32)) return;
    const int64_t nq = p.batch * p.tq * p.heads, nk = p.batch * p.tk * p.heads;
    const WideBuffer o(nq * p.dv);
    o.zero();
    forward_f32(p, WideBuffer(nq * p.dk, q).data(), WideBuffer(nk * p.dk, k).data(),
                WideBuffer(nk * p.dv, v).data(), o.data(), lse32);
    o.narrow_into(out);
    return;
  }
  if (dtype != DType::Float32) {
    attention_forward_ref(dtype, p, q, k, v, out, lse);
    return;
  }
  forward_f32(p, static_cast<const float*>(q), static_cast<const float*>(k),
              static_cast<const float*>(v), static_cast<float*>(out), static_cast<float*>(lse));
}

void attention_backward(DType dtype, const AttentionParams& p, const void* q, const void* k,
                        const void* v, const void* out, const void* lse, const void* dout, void* dq,
                        void* dk, void* dv) {
  if (dtype == DType::BFloat16) {
    const auto* lse32 = static_cast<const float*>(lse);
    if (attention_backward_bf16(
            p, static_cast<const bfloat16*>(q), static_cast<const bfloat16*>(k),
            static_cast<const bfloat16*>(v), static_cast<const bfloat16*>(out), lse32,
            static_cast<const bfloat16*>(dout), static_cast<bfloat16*>(dq),
            static_cast<bfloat16*>(dk), static_cast<bfloat16*>(dv))) {
      return;
    }
    const int64_t nq = p.batch * p.tq * p.heads, nk = p.batch * p.tk * p.heads;
    const WideBuffer gq(dq ? nq * p.dk : 0), gk(dk ? nk * p.dk : 0), gv(dv ? nk * p.dv : 0);
    gq.zero();
    gk.zero();
    gv.zero();
    backward_f32(p, WideBuffer(nq * p.dk, q).data(), WideBuffer(nk * p.dk, k).data(),
                 WideBuffer(nk * p.dv, v).data(), WideBuffer(nq * p.dv, out).data(), lse32,
                 WideBuffer(nq * p.dv, dout).data(), dq ? gq.data() : nullptr,
                 dk ? gk.data() : nullptr, dv ? gv.data() : nullptr);
    if (dq) gq.narrow_into(dq);
    if (dk) gk.narrow_into(dk);
    if (dv) gv.narrow_into(dv);
    return;
  }
  if (dtype != DType::Float32) {
    attention_backward_ref(dtype, p, q, k, v, out, lse, dout, dq, dk, dv);
    return;
  }
  backward_f32(p, static_cast<const float*>(q), static_cast<const float*>(k),
               static_cast<const float*>(v), static_cast<const float*>(out),
               static_cast<const float*>(lse), static_cast<const float*>(dout),
               static_cast<float*>(dq), static_cast<float*>(dk), static_cast<float*>(dv));
}

}  // namespace corten::cpu
