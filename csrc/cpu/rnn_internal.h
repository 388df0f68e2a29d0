#pragma once
// What the recurrent sequence's forward (cpu/rnn.cpp) and backward (cpu/rnn_backward.cpp)
// share: the gate groups, activations, products and packing helpers and the sequence's
// context (Note [Fused recurrent sequence] in cpu/rnn.cpp).

#include <corten/allocator.h>
#include <corten/cpu_features.h>
#include <corten/parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <memory>
#include <type_traits>
#include <vector>

#include "cpu/elementwise.h"
#include "cpu/gemm/gemm.h"
#include "cpu/gemm/prepacked.h"
#include "cpu/rnn.h"
#include "cpu/rnn_gates.h"
#include "cpu/rnn_gemm.h"
#include "cpu/rnn_math.h"
#include "cpu/scratch.h"

namespace corten::cpu::rnn_detail {

// Per-step recurrent products with at least this many multiply-adds split their column panels
// between the threads.
constexpr int64_t kPackedParallelMacs = int64_t{1} << 19;

struct Group {
  int64_t col0, ncols, gate;  // gate: the recurrent-dropout mask of the group, -1 for none
};

inline std::vector<Group> make_groups(RnnCell cell, int64_t h, bool rdrop) {
  const int64_t g = rnn_num_gates(cell);
  std::vector<Group> out;
  if (rdrop) {
    for (int64_t i = 0; i < g; ++i) out.push_back({i * h, h, i});
  } else if (cell == RnnCell::GruResetBefore) {
    out.push_back({0, 2 * h, -1});
    out.push_back({2 * h, h, -1});
  } else {
    out.push_back({0, g * h, -1});
  }
  return out;
}

// Derivative functors: the common activations as their own types, so that the backward's row
// loops are compiled (and vectorised) without a switch per element; any other pair goes
// through ActGrad.
struct ActGrad {
  RnnAct a;
  template <class T>
  T operator()(T y) const { return act_grad(a, y); }
};
struct TanhGrad {
  explicit TanhGrad(RnnAct) {}
  template <class T>
  T operator()(T y) const { return T(1) - y * y; }
};
struct SigmoidGrad {
  explicit SigmoidGrad(RnnAct) {}
  template <class T>
  T operator()(T y) const { return y * (T(1) - y); }
};

// out[0:n] = act(x[0:n]) (x and out distinct): the vectorised elementwise row kernels, or
// scalar math in reference mode.
template <class T>
void apply_act(RnnAct a, const T* x, T* out, int64_t n, bool reference) {
  if (a == RnnAct::Linear || reference) {
    for (int64_t i = 0; i < n; ++i) out[i] = act_scalar(a, x[i]);
    return;
  }
  const UnaryOp op = a == RnnAct::Tanh      ? UnaryOp::Tanh
                     : a == RnnAct::Sigmoid ? UnaryOp::Sigmoid
                     : a == RnnAct::Relu    ? UnaryOp::Relu
                                            : UnaryOp::HardSigmoid;
  const DType dt = std::is_same_v<T, float> ? DType::Float32 : DType::Float64;
  active_elementwise_table().unary[static_cast<int>(op)][static_cast<int>(dt)](x, 1, out, n,
                                                                                0.0);
}

// c (m, n) contiguous = a (m, k) @ b (k, n), both addressed by row and column strides.
template <class T>
void mm(bool reference, int64_t m, int64_t n, int64_t k, const T* a, int64_t a_rs, int64_t a_cs,
        const T* b, int64_t b_rs, int64_t b_cs, T* c) {
  if (m == 0 || n == 0) return;
  if (k == 0 || reference) {
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        T s = T(0);
        for (int64_t p = 0; p < k; ++p) s += a[i * a_rs + p * a_cs] * b[p * b_rs + j * b_cs];
        c[i * n + j] = s;
      }
    }
    return;
  }
  const int64_t zero = 0;
  gemm::gemm<T>(1, m, n, k, a, &zero, a_rs, a_cs, b, &zero, b_rs, b_cs, c, nullptr,
                Activation::Identity);
}

// c (m x pk.n(), row stride ldc) (+)= a (m x pk.k(), row stride lda) @ B, its column panels
// split between the threads (Note [Recurrent kernel]).
template <class T>
void mm_packed(const gemm::PackedB<T>& pk, int64_t m, const T* a, int64_t lda, T* c, int64_t ldc,
               bool accumulate) {
  const int64_t np = pk.panels();
  if (get_num_threads() > 1 && np > 1 && m * pk.k() * pk.n() >= kPackedParallelMacs) {
    parallel_for(0, np, 1, [&](int64_t s0, int64_t s1) {
      pk.multiply(m, a, lda, s0, s1, c, ldc, accumulate);
    });
  } else {
    pk.multiply(m, a, lda, 0, np, c, ldc, accumulate);
  }
}

// c (m x p1.n(), row stride ldc) = a1 (m x p1.k()) @ B1 + a2 (m x p2.k()) @ B2, p1 and p2
// packed alike (the fused LSTM forward: h_{t-1} @ U + x_t @ W). Whole 8-row panels run the
// two-operand tile (cpu/rnn_gemm.h), one running sum per element; a partial last row panel,
// or an ISA without the tile, takes two products (the second accumulating). Each element's
// path depends only on its row, so results do not depend on the thread count.
template <class T>
void mm_packed_sum(const gemm::PackedB<T>& p1, int64_t m, const T* a1, int64_t lda1,
                   const gemm::PackedB<T>& p2, const T* a2, int64_t lda2, T* c, int64_t ldc) {
  const RnnDualKernels* dk = nullptr;
  if constexpr (std::is_same_v<T, float>) {
    if (p1.mr() == 8 && p1.nr() == 32 && p2.mr() == 8 && p2.nr() == 32 && p1.n() == p2.n()) {
      dk = rnn_dual_kernels();
    }
  }
  if (!dk) {
    mm_packed(p1, m, a1, lda1, c, ldc, false);
    mm_packed(p2, m, a2, lda2, c, ldc, true);
    return;
  }
  const int64_t np = p1.panels(), m_full = m / 8 * 8, n = p1.n();
  auto cols = [&](int64_t s0, int64_t s1) {
    if constexpr (std::is_same_v<T, float>) {
      for (int64_t s = s0; s < s1; ++s) {
        const int nr = static_cast<int>(std::min<int64_t>(32, n - s * 32));
        for (int64_t i = 0; i < m_full; i += 8) {
          dk->tile_8x32(p1.k(), a1 + i * lda1, lda1, p1.panel(s), p2.k(), a2 + i * lda2, lda2,
                        p2.panel(s), c + i * ldc + s * 32, ldc, nr);
        }
      }
      if (m_full < m) {
        p1.multiply(m - m_full, a1 + m_full * lda1, lda1, s0, s1, c + m_full * ldc, ldc, false);
        p2.multiply(m - m_full, a2 + m_full * lda2, lda2, s0, s1, c + m_full * ldc, ldc, true);
      }
    }
  };
  const int64_t macs = m * (p1.k() + p2.k()) * n;
  if (get_num_threads() > 1 && np > 1 && macs >= kPackedParallelMacs) {
    parallel_for(0, np, 1, cols);
  } else {
    cols(0, np);
  }
}

// A right-hand side to pack: b (strides rs, cs) into pk, when pk is not null.
template <class T>
struct PackJob {
  gemm::PackedB<T>* pk;
  const T* b;
  int64_t rs, cs;
};

// Packs the jobs' panels, split between the threads: a sequence packs its kernels once per
// call, before its time loop.
template <class T>
void pack_all(std::initializer_list<PackJob<T>> jobs) {
  int64_t total = 0;
  for (const PackJob<T>& j : jobs) total += j.pk ? j.pk->panels() : 0;
  auto run = [&](int64_t i0, int64_t i1) {
    int64_t base = 0;
    for (const PackJob<T>& j : jobs) {
      if (!j.pk) continue;
      const int64_t np = j.pk->panels();
      const int64_t s0 = std::max(i0, base), s1 = std::min(i1, base + np);
      if (s0 < s1) j.pk->pack(j.b, j.rs, j.cs, s0 - base, s1 - base);
      base += np;
    }
  };
  if (get_num_threads() > 1 && total > 1) parallel_for(0, total, 1, run);
  else run(0, total);
}

// The fused LSTM gate kernels when they apply (float32, tanh and sigmoid, not reference).
template <class T>
const LstmGateKernels* fused_lstm(const RnnDims& d) {
  if (!std::is_same_v<T, float> || d.reference || d.cell != RnnCell::Lstm ||
      d.act != RnnAct::Tanh || d.rec_act != RnnAct::Sigmoid) {
    return nullptr;
  }
  return lstm_gate_kernels();
}

// The fused GRU (reset_after) gate kernels when they apply.
template <class T>
const GruGateKernels* fused_gru(const RnnDims& d) {
  if (!std::is_same_v<T, float> || d.reference || d.cell != RnnCell::GruResetAfter ||
      d.act != RnnAct::Tanh || d.rec_act != RnnAct::Sigmoid) {
    return nullptr;
  }
  return gru_gate_kernels();
}

// Runs fn(b0, b1) over blocks of batch rows, whole row panels of `mr` rows each, in parallel:
// the rows of a recurrent sequence are independent through every step (Note [Recurrent
// kernel]), so each block runs the whole time loop with no synchronisation between steps.
inline void for_row_blocks(const RnnDims& d, int64_t nb, int64_t mr,
                           const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t panels = (nb + mr - 1) / mr;
  if (d.reference || panels < 2) {
    fn(0, nb);
    return;
  }
  // From 4 panels, pairs of them: 16-row products with the 8-row micro-kernel (LSTM(128) at
  // batch 32: no slower than single panels at 100 steps, a little faster at 10). One thread
  // runs the pairs one after another, each through the whole sequence: half the rows' states
  // and step buffers in cache at a time.
  if (get_num_threads() == 1) {
    if (panels < 4) fn(0, nb);
    else for (int64_t p = 0; p < panels; p += 2) fn(p * mr, std::min(nb, (p + 2) * mr));
    return;
  }
  parallel_for(0, panels, panels >= 4 ? 2 : 1, [&](int64_t p0, int64_t p1) {
    fn(p0 * mr, std::min(nb, p1 * mr));
  });
}

template <class T>
struct Ctx {
  const RnnDims& d;
  int64_t nt, nb, nh, ng, gh, nf;
  bool lstm, after, before;
  std::vector<Group> groups;
  bool use_aop;

  Ctx(const RnnDims& dims, bool rdrop)
      : d(dims), nt(dims.steps), nb(dims.batch), nh(dims.units), ng(rnn_num_gates(dims.cell)),
        gh(ng * dims.units), nf(dims.project ? dims.features : 0),
        lstm(dims.cell == RnnCell::Lstm), after(dims.cell == RnnCell::GruResetAfter),
        before(dims.cell == RnnCell::GruResetBefore),
        groups(make_groups(dims.cell, dims.units, rdrop)),
        use_aop(rdrop || dims.cell == RnnCell::GruResetBefore) {}

  int64_t time(int64_t s) const { return d.go_backwards ? nt - 1 - s : s; }
  int64_t slot_prev(int64_t s) const { return d.go_backwards ? nt - s : s; }
  int64_t slot_new(int64_t s) const { return d.go_backwards ? nt - s - 1 : s + 1; }
  bool on(const bool* mask, int64_t b, int64_t t) const { return !mask || mask[b * nt + t]; }
  // Row of (step or time i, batch b) in x, y, dy and dx (in units of their last dimension),
  // and the distance between consecutive batch rows.
  int64_t row(int64_t i, int64_t b) const { return d.batch_major ? b * nt + i : i * nb + b; }
  int64_t row_stride() const { return d.batch_major ? nt : 1; }
  // Whether the recurrent kernel is one product per step, packed once (Note [Recurrent
  // kernel]); with d.project the input projection then runs inside the time loop too.
  bool packed() const {
    return !d.reference && groups.size() == 1 && !use_aop && nt > 0 && nh > 0;
  }
};

// x as time-major rows (T * B, F): x itself, or a batch-major x copied into `copy` (T * B * F
// elements).
template <class T>
const T* time_major_x(const Ctx<T>& c, const T* x, const Scratch<T>& copy) {
  if (!c.d.batch_major) return x;
  const int64_t nt = c.nt, nb = c.nb, nf = c.nf;
  for (int64_t t = 0; t < nt; ++t)
    for (int64_t b = 0; b < nb; ++b)
      std::memcpy(copy.data() + (t * nb + b) * nf, x + c.row(t, b) * nf, sizeof(T) * nf);
  return copy.data();
}

// xw (T * B, G*H) = the input projections of every step, time-major: x_t @ w + bias, one
// product over all T * B rows. For the paths that do not project inside the time loop
// (reference, several product groups).
template <class T>
void project_all(const Ctx<T>& c, const T* x, const T* w, const T* bias, T* xw) {
  const int64_t rows = c.nt * c.nb, gh = c.gh, nf = c.nf;
  const Scratch<T> copy(c.d.batch_major ? rows * nf : 0, "rnn_sequence");
  const T* xt = time_major_x(c, x, copy);
  if (!c.d.reference && rows > 0 && nf > 0) {  // the bias as the GEMM's epilogue
    const int64_t zero = 0;
    gemm::gemm<T>(1, rows, gh, nf, xt, &zero, nf, 1, w, &zero, gh, 1, xw, bias,
                  Activation::Identity);
    return;
  }
  mm<T>(c.d.reference, rows, gh, nf, xt, nf, 1, w, gh, 1, xw);
  if (bias) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < gh; ++j) xw[r * gh + j] += bias[j];
  }
}

}  // namespace corten::cpu::rnn_detail
