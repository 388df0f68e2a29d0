// Note [Fused recurrent sequence]
// SimpleRNN, LSTM and GRU run a whole sequence in one op. The caller computes the input
// projections of every step at once (one GEMM over T * B rows, bias fused) and passes them
// time-major, xw: (T, B, G*H). Each step then does the recurrent product h_{t-1} @ U (one GEMM
// of (B, H) by (H, G*H)) and one fused gate kernel per batch row (activations, the cell update,
// the mask). The backward walks the steps in reverse with the saved gates: one gate kernel and
// one GEMM (dpre @ U^T) per step; the recurrent kernel's gradient is a single GEMM over all
// steps at the end, sum_t operand_t^T @ dpre_t, because the per-step operands are saved.
//
// Recurrent-product groups: the columns of U are multiplied in groups that share one left
// operand. Without recurrent dropout there is one group (all G*H columns, operand h_{t-1}),
// except for GRU with reset_after=False, whose h columns multiply r * h_{t-1} and form a
// second group computed after r. With recurrent dropout, tf.keras (implementation 1) draws one
// mask per gate, so every gate is its own group with operand h_{t-1} * mask_g.
//
// States: states holds T + 1 slots. Processing step s reads its previous state from one slot
// and writes the new state to the next, in the direction of the input time t (t = s, or
// T - 1 - s with go_backwards), so that slot t (forward) or t + 1 (go_backwards) is the
// previous state of input time t: the states themselves are the operand matrix of the final
// GEMM when no separate operands are needed, in the row order of the saved gates.
//
// Masks follow tf_keras backend.rnn: at a masked step (mask[b, t] false) the states carry
// forward unchanged and the output repeats the previous step's output (zeros at the first
// step), or is zeros with zero_output_for_mask.
//
// Every batch row is independent in the gate kernels, and the GEMM's sums do not depend on the
// thread count (Note [GEMM threading]): results are bit-identical on any thread count.

// Note [Recurrent kernel]
// LSTM(128), batch 32: each step is a (32, 128) x (128, 512) product forward and a (32, 512) x
// (512, 128) product backward (4.2 MFLOP each), plus the gate kernels. Measured per step at 1
// thread (thread CPU time, bench/lab/rnn_time.py and timers around the loops, 100 steps):
// product 25 us each way, forward gates 11.5 us, backward gates 14.5 us; the final dU GEMM
// (128 x 512, k = 3200) 2.7 ms for the whole sequence. So:
//   - The recurrent kernel U (and U^T for the backward) is packed ONCE per sequence into the
//     main micro-kernel's NR-column panels (cpu/gemm/prepacked.h), and each step calls the
//     micro-kernel directly: no per-step packing of the 256 KB operand (the GEMM driver packs
//     a B whose row stride is a multiple of 256 bytes, Note [GEMM threading]), no driver setup.
//     The backward accumulates dpre @ U^T straight into dh (the kernel's accumulate mode).
//   - Batch rows never interact in a recurrent sequence (forward or backward through time):
//     the threads split the batch in blocks of whole MR-row panels and each block runs the
//     whole time loop, with no synchronisation between steps. The former split (one GEMM per
//     step with its tiles on both threads, then a parallel_for over the gate rows) paid two
//     fork/joins per step and moved the step's gate pre-activations between cores. Every C
//     element is still one micro-kernel sum over the whole k, and every gate row is computed
//     alone, so results are bit-identical on any thread count. (A single row panel splits the
//     product's column panels instead, mm_packed.)
//   - The LSTM gate rows (float32, tanh/sigmoid) run one fused AVX-512 kernel per row
//     (cpu/rnn_gates.h): the pre-activation sums, the four gates, the cell update and act(c) in
//     registers, and sigmoid/tanh with a reciprocal estimate plus a Newton step in place of the
//     division (the division was the costliest instruction of the gates). Forward gates 14.5 ->
//     12.5 us per step, backward 17 -> 10 us (same machine and run, 1 thread, A/B alternated).
//     GRU (reset_after) likewise: forward gates 1.0 -> 0.86 ms per 100 steps, backward 1.8 ->
//     1.1 ms.
//   - With a batch that 8-row panels pad less than 6-row ones (32), the products use the
//     8-row AVX-512 micro-kernel (cpu/gemm/prepacked.cpp): 2.4-2.5 ms per 100 forward
//     products against 2.4-3.0 ms.
// What is left at 1 thread (100 steps, thread CPU time): products 2 x 2.5 ms, gates 1.1 + 0.9
// ms, dU 2.7-3.3 ms, all GEMMs running at 130-170 GFLOP/s; the layer adds its input projection
// and the dW and dX products (about 1.4 ms each). Not done: fusing the gates into the product
// loop (a 6- or 8-row panel's gates need all four gate column blocks, i.e. every column panel
// of the step, so B would stream from L2 once per row panel instead of once per step), and
// accumulating dU per step (k = batch per call: C traffic of the 256 KB dU at every step).
// The plain reference kernel (RnnDims::reference) keeps the unpacked loops and scalar math.

#include "cpu/rnn.h"

#include <corten/cpu_features.h>
#include <corten/parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <type_traits>
#include <vector>

#include "cpu/elementwise.h"
#include "cpu/gemm/gemm.h"
#include "cpu/gemm/prepacked.h"
#include "cpu/rnn_gates.h"

namespace corten::cpu {
namespace {

// Per-step recurrent products with at least this many multiply-adds split their column panels
// between the threads.
constexpr int64_t kPackedParallelMacs = int64_t{1} << 19;

struct Group {
  int64_t col0, ncols, gate;  // gate: the recurrent-dropout mask of the group, -1 for none
};

std::vector<Group> make_groups(RnnCell cell, int64_t h, bool rdrop) {
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

template <class T>
T act_scalar(RnnAct a, T x) {
  switch (a) {
    case RnnAct::Tanh: return std::tanh(x);
    case RnnAct::Sigmoid: return T(1) / (T(1) + std::exp(-x));
    case RnnAct::Relu: return x > T(0) ? x : T(0);
    case RnnAct::HardSigmoid: {
      const T y = T(0.2) * x + T(0.5);
      return y < T(0) ? T(0) : (y > T(1) ? T(1) : y);
    }
    case RnnAct::Linear: break;
  }
  return x;
}

// The derivative of the activation from its output y.
template <class T>
inline T act_grad(RnnAct a, T y) {
  switch (a) {
    case RnnAct::Tanh: return T(1) - y * y;
    case RnnAct::Sigmoid: return y * (T(1) - y);
    case RnnAct::Relu: return y > T(0) ? T(1) : T(0);
    case RnnAct::HardSigmoid: return (y > T(0) && y < T(1)) ? T(0.2) : T(0);
    case RnnAct::Linear: break;
  }
  return T(1);
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
  if (d.reference || get_num_threads() == 1 || panels < 2) {
    fn(0, nb);
    return;
  }
  parallel_for(0, panels, 1, [&](int64_t p0, int64_t p1) {
    fn(p0 * mr, std::min(nb, p1 * mr));
  });
}

template <class T>
struct Ctx {
  const RnnDims& d;
  int64_t nt, nb, nh, ng, gh;
  bool lstm, after, before;
  std::vector<Group> groups;
  bool use_aop;

  Ctx(const RnnDims& dims, bool rdrop)
      : d(dims), nt(dims.steps), nb(dims.batch), nh(dims.units), ng(rnn_num_gates(dims.cell)),
        gh(ng * dims.units), lstm(dims.cell == RnnCell::Lstm),
        after(dims.cell == RnnCell::GruResetAfter), before(dims.cell == RnnCell::GruResetBefore),
        groups(make_groups(dims.cell, dims.units, rdrop)),
        use_aop(rdrop || dims.cell == RnnCell::GruResetBefore) {}

  int64_t time(int64_t s) const { return d.go_backwards ? nt - 1 - s : s; }
  int64_t slot_prev(int64_t s) const { return d.go_backwards ? nt - s : s; }
  int64_t slot_new(int64_t s) const { return d.go_backwards ? nt - s - 1 : s + 1; }
  bool on(const bool* mask, int64_t b, int64_t t) const { return !mask || mask[b * nt + t]; }
};

template <class T>
void forward_impl(const RnnDims& d, const T* xw, const T* h0, const T* c0, const T* u,
                  const T* rb, const bool* mask, const T* rdrop, T* y, T* h_last, T* c_last,
                  T* gates, T* states, T* cstates, T* aop, T* extra) {
  const Ctx<T> c(d, rdrop != nullptr);
  const int64_t nt = c.nt, nb = c.nb, nh = c.nh, gh = c.gh, bh = nb * nh;
  std::vector<T> inner(static_cast<size_t>(nb * gh)), tmp(static_cast<size_t>(nb * gh));
  std::vector<T> late(c.before ? static_cast<size_t>(bh) : 0);  // GruResetBefore's h product
  std::memcpy(states + c.slot_prev(0) * bh, h0, sizeof(T) * bh);
  if (c.lstm) std::memcpy(cstates + c.slot_prev(0) * bh, c0, sizeof(T) * bh);
  const size_t n_early = c.before ? c.groups.size() - 1 : c.groups.size();
  // The whole recurrent kernel is one product per step: packed once (Note [Recurrent kernel]).
  const bool packed = !d.reference && c.groups.size() == 1 && !c.use_aop && nt > 0 && nh > 0;
  const LstmGateKernels* lk = fused_lstm<T>(d);
  const GruGateKernels* gk = fused_gru<T>(d);
  std::unique_ptr<gemm::PackedB<T>> pu;
  if (packed) pu = std::make_unique<gemm::PackedB<T>>(nh, gh, u, gh, 1, nb);
  // Batch rows never interact: each block of rows runs the whole sequence (Note [Recurrent
  // kernel]).
  for_row_blocks(d, nb, pu ? pu->mr() : 8, [&](int64_t b0, int64_t b1) {
  const int64_t rb_rows = b1 - b0;
  std::vector<T> pre(static_cast<size_t>(gh));
  for (int64_t s = 0; s < nt; ++s) {
    const int64_t t = c.time(s);
    const T* hp = states + c.slot_prev(s) * bh;
    T* hn = states + c.slot_new(s) * bh;
    const T* cp = c.lstm ? cstates + c.slot_prev(s) * bh : nullptr;
    T* cn = c.lstm ? cstates + c.slot_new(s) * bh : nullptr;
    const T* xt = xw + t * nb * gh;
    T* gt = gates + t * nb * gh;
    T* et = extra ? extra + t * bh : nullptr;
    T* ys = y + s * bh;
    const T* yprev = s > 0 ? y + (s - 1) * bh : nullptr;
    // The recurrent products known before the gates.
    for (size_t gi = 0; gi < n_early; ++gi) {
      const Group& g = c.groups[gi];
      const T* a = hp + b0 * nh;
      if (c.use_aop) {
        T* ap = aop + (static_cast<int64_t>(gi) * nt + t) * bh;
        if (g.gate >= 0) {
          const T* m = rdrop + g.gate * bh;
          for (int64_t i = b0 * nh; i < b1 * nh; ++i) ap[i] = hp[i] * m[i];
        } else {
          std::memcpy(ap + b0 * nh, hp + b0 * nh, sizeof(T) * rb_rows * nh);
        }
        a = ap + b0 * nh;
      }
      if (pu) {
        mm_packed(*pu, rb_rows, a, nh, inner.data() + b0 * gh, gh, false);
      } else if (c.groups.size() == 1) {
        mm<T>(d.reference, rb_rows, gh, nh, a, nh, 1, u, gh, 1, inner.data() + b0 * gh);
      } else {
        T* tb = tmp.data() + b0 * g.ncols;
        mm<T>(d.reference, rb_rows, g.ncols, nh, a, nh, 1, u + g.col0, gh, 1, tb);
        for (int64_t b = b0; b < b1; ++b) {
          std::memcpy(inner.data() + b * gh + g.col0, tmp.data() + b * g.ncols,
                      sizeof(T) * g.ncols);
        }
      }
    }
    // Output and state of a row once its candidate state is in hn (and cn).
    auto finish_row = [&](int64_t b) {
      T* hr = hn + b * nh;
      T* yr = ys + b * nh;
      if (c.on(mask, b, t)) {
        std::memcpy(yr, hr, sizeof(T) * nh);
        return;
      }
      std::memcpy(hr, hp + b * nh, sizeof(T) * nh);
      if (c.lstm) std::memcpy(cn + b * nh, cp + b * nh, sizeof(T) * nh);
      if (d.zero_output_for_mask || !yprev) std::memset(yr, 0, sizeof(T) * nh);
      else std::memcpy(yr, yprev + b * nh, sizeof(T) * nh);
    };
    {
      for (int64_t b = b0; b < b1; ++b) {
        const T* x = xt + b * gh;
        const T* in = inner.data() + b * gh;
        T* g = gt + b * gh;
        T* hr = hn + b * nh;
        const T* hpr = hp + b * nh;
        if constexpr (std::is_same_v<T, float>) {
          if (gk) {
            gk->forward_row(nh, x, in, rb, hpr, g, et + b * nh, hr);
            finish_row(b);
            continue;
          }
        }
        if (c.after) {
          for (int64_t j = 0; j < 2 * nh; ++j) pre[j] = x[j] + in[j] + (rb ? rb[j] : T(0));
          T* ih = et + b * nh;
          for (int64_t j = 0; j < nh; ++j) ih[j] = in[2 * nh + j] + (rb ? rb[2 * nh + j] : T(0));
          apply_act(d.rec_act, pre.data(), g, 2 * nh, d.reference);
          const T* r = g + nh;
          for (int64_t j = 0; j < nh; ++j) pre[j] = x[2 * nh + j] + r[j] * ih[j];
          apply_act(d.act, pre.data(), g + 2 * nh, nh, d.reference);
          const T* z = g;
          const T* hh = g + 2 * nh;
          for (int64_t j = 0; j < nh; ++j) hr[j] = z[j] * hpr[j] + (T(1) - z[j]) * hh[j];
          finish_row(b);
          continue;
        }
        if (c.before) {  // z and r only; the candidate follows the second product
          for (int64_t j = 0; j < 2 * nh; ++j) pre[j] = x[j] + in[j];
          apply_act(d.rec_act, pre.data(), g, 2 * nh, d.reference);
          continue;
        }
        if constexpr (std::is_same_v<T, float>) {
          if (lk) {
            lk->forward_row(nh, x, in, cp + b * nh, g, cn + b * nh, et + b * nh, hr);
            finish_row(b);
            continue;
          }
        }
        for (int64_t j = 0; j < gh; ++j) pre[j] = x[j] + in[j];
        if (!c.lstm) {
          apply_act(d.act, pre.data(), g, nh, d.reference);
          std::memcpy(hr, g, sizeof(T) * nh);
          finish_row(b);
          continue;
        }
        apply_act(d.rec_act, pre.data(), g, 2 * nh, d.reference);
        apply_act(d.act, pre.data() + 2 * nh, g + 2 * nh, nh, d.reference);
        apply_act(d.rec_act, pre.data() + 3 * nh, g + 3 * nh, nh, d.reference);
        const T* gi = g;
        const T* gf = g + nh;
        const T* gc = g + 2 * nh;
        const T* go = g + 3 * nh;
        const T* cpr = cp + b * nh;
        T* cr = cn + b * nh;
        for (int64_t j = 0; j < nh; ++j) cr[j] = gf[j] * cpr[j] + gi[j] * gc[j];
        T* ac = et + b * nh;
        apply_act(d.act, cr, ac, nh, d.reference);
        for (int64_t j = 0; j < nh; ++j) hr[j] = go[j] * ac[j];
        finish_row(b);
      }
    }
    if (c.before) {
      const Group& g = c.groups.back();
      T* ap = aop + (static_cast<int64_t>(c.groups.size() - 1) * nt + t) * bh;
      const T* m = g.gate >= 0 ? rdrop + g.gate * bh : nullptr;
      for (int64_t b = b0; b < b1; ++b) {
        const T* r = gt + b * gh + nh;
        for (int64_t j = 0; j < nh; ++j) {
          const int64_t i = b * nh + j;
          ap[i] = r[j] * hp[i] * (m ? m[i] : T(1));
        }
      }
      mm<T>(d.reference, rb_rows, nh, nh, ap + b0 * nh, nh, 1, u + 2 * nh, gh, 1,
            late.data() + b0 * nh);
      {
        for (int64_t b = b0; b < b1; ++b) {
          const T* x = xt + b * gh;
          T* g2 = gt + b * gh;
          for (int64_t j = 0; j < nh; ++j) pre[j] = x[2 * nh + j] + late[b * nh + j];
          apply_act(d.act, pre.data(), g2 + 2 * nh, nh, d.reference);
          const T* z = g2;
          const T* hh = g2 + 2 * nh;
          const T* hpr = hp + b * nh;
          T* hr = hn + b * nh;
          for (int64_t j = 0; j < nh; ++j) hr[j] = z[j] * hpr[j] + (T(1) - z[j]) * hh[j];
          finish_row(b);
        }
      }
    }
  }
  });
  const int64_t last = nt > 0 ? c.slot_new(nt - 1) : c.slot_prev(0);
  std::memcpy(h_last, states + last * bh, sizeof(T) * bh);
  if (c.lstm) std::memcpy(c_last, cstates + last * bh, sizeof(T) * bh);
}

template <class T, class AG, class RG>
void backward_impl(const RnnDims& d, AG ag, RG rg, const T* u, const bool* mask, const T* rdrop,
                   const T* gates, const T* states, const T* cstates, const T* aop,
                   const T* extra, const T* dy, const T* dh_last, const T* dc_last, T* dxw,
                   T* dh0, T* dc0, T* du, T* drb) {
  const Ctx<T> c(d, rdrop != nullptr);
  const int64_t nt = c.nt, nb = c.nb, nh = c.nh, gh = c.gh, bh = nb * nh;
  std::vector<T> dh(static_cast<size_t>(bh), T(0)), dc(static_cast<size_t>(bh), T(0));
  std::vector<T> carry(static_cast<size_t>(bh), T(0)), dap(static_cast<size_t>(bh));
  if (dh_last) std::memcpy(dh.data(), dh_last, sizeof(T) * bh);
  if (dc_last && c.lstm) std::memcpy(dc.data(), dc_last, sizeof(T) * bh);
  // GRU with reset_after: the h columns of the recurrent product get dpre_h * r, not dpre_h.
  std::vector<T> dinner_buf(c.after ? static_cast<size_t>(nt * nb * gh) : 0);
  T* dinner = c.after ? dinner_buf.data() : dxw;
  const size_t n_late = c.before ? c.groups.size() - 1 : c.groups.size();
  const LstmGateKernels* lk = fused_lstm<T>(d);
  const GruGateKernels* gk = fused_gru<T>(d);
  // U^T (G*H, H) row-major: each step's dpre @ U^T then reads its B operand in place instead of
  // packing a transposed U at every step.
  std::vector<T> ut(static_cast<size_t>(gh * nh));
  for (int64_t k = 0; k < nh; ++k) {
    for (int64_t j = 0; j < gh; ++j) ut[j * nh + k] = u[k * gh + j];
  }
  // One group without masks: dh += dpre @ U^T straight into dh, U^T packed once.
  std::unique_ptr<gemm::PackedB<T>> put;
  if (!d.reference && n_late == 1 && c.groups[0].gate < 0 && c.groups[0].ncols == gh && nt > 0 &&
      nh > 0) {
    put = std::make_unique<gemm::PackedB<T>>(gh, nh, ut.data(), nh, 1, nb);
  }
  for_row_blocks(d, nb, put ? put->mr() : 8, [&](int64_t b0, int64_t b1) {
  const int64_t rb_rows = b1 - b0;
  std::vector<T> dhn(static_cast<size_t>(nh));
  for (int64_t s = nt - 1; s >= 0; --s) {
    const int64_t t = c.time(s);
    const T* hp = states + c.slot_prev(s) * bh;
    const T* cp = c.lstm ? cstates + c.slot_prev(s) * bh : nullptr;
    const T* gt = gates + t * nb * gh;
    const T* et = extra ? extra + t * bh : nullptr;
    T* dxt = dxw + t * nb * gh;
    T* dit = dinner + t * nb * gh;
    {
      for (int64_t b = b0; b < b1; ++b) {
        T* cr = carry.data() + b * nh;
        T* dhr = dh.data() + b * nh;
        T* dcr = dc.data() + b * nh;
        const T* dyr = dy ? dy + (s * nb + b) * nh : nullptr;
        T* dx = dxt + b * gh;
        T* di = dit + b * gh;
        if (!c.on(mask, b, t)) {
          // The state passes through; the output's gradient goes to the previous output.
          for (int64_t j = 0; j < nh; ++j) {
            cr[j] = d.zero_output_for_mask ? T(0) : cr[j] + (dyr ? dyr[j] : T(0));
          }
          std::memset(dx, 0, sizeof(T) * gh);
          if (c.after) std::memset(di, 0, sizeof(T) * gh);
          continue;
        }
        if constexpr (std::is_same_v<T, float>) {
          if (lk) {
            lk->backward_row(nh, gt + b * gh, et + b * nh, cp + b * nh, dyr, dhr, cr, dcr, dx);
            continue;
          }
          if (gk) {
            gk->backward_row(nh, gt + b * gh, et + b * nh, hp + b * nh, dyr, dhr, cr, dx, di);
            continue;
          }
        }
        for (int64_t j = 0; j < nh; ++j) {
          dhn[j] = dhr[j] + cr[j] + (dyr ? dyr[j] : T(0));
          cr[j] = T(0);
        }
        const T* g = gt + b * gh;
        const T* hpr = hp + b * nh;
        if (c.lstm) {
          const T* ac = et + b * nh;
          const T* cpr = cp + b * nh;
          for (int64_t j = 0; j < nh; ++j) {
            const T gi = g[j], gf = g[nh + j], gc = g[2 * nh + j], go = g[3 * nh + j];
            const T dct = dcr[j] + dhn[j] * go * ag(ac[j]);
            dx[j] = dct * gc * rg(gi);
            dx[nh + j] = dct * cpr[j] * rg(gf);
            dx[2 * nh + j] = dct * gi * ag(gc);
            dx[3 * nh + j] = dhn[j] * ac[j] * rg(go);
            dcr[j] = dct * gf;
            dhr[j] = T(0);
          }
        } else if (c.after || c.before) {
          const T* ih = c.after ? et + b * nh : nullptr;
          for (int64_t j = 0; j < nh; ++j) {
            const T z = g[j], r = g[nh + j], hh = g[2 * nh + j];
            dx[j] = dhn[j] * (hpr[j] - hh) * rg(z);
            const T dph = dhn[j] * (T(1) - z) * ag(hh);
            dx[2 * nh + j] = dph;
            if (c.after) {
              const T dr = dph * ih[j] * rg(r);
              dx[nh + j] = dr;
              di[j] = dx[j];
              di[nh + j] = dr;
              di[2 * nh + j] = dph * r;
            }
            dhr[j] = dhn[j] * z;
          }
        } else {
          for (int64_t j = 0; j < nh; ++j) {
            dx[j] = dhn[j] * ag(g[j]);
            dhr[j] = T(0);
          }
        }
      }
    }
    if (c.before) {
      // d(r * h_prev * m_h) from the h columns, then r's gradient and the direct path to h_prev.
      const Group& g = c.groups.back();
      mm<T>(d.reference, rb_rows, nh, nh, dit + b0 * gh + 2 * nh, gh, 1,
            ut.data() + 2 * nh * nh, nh, 1, dap.data() + b0 * nh);
      const T* m = g.gate >= 0 ? rdrop + g.gate * bh : nullptr;
      for (int64_t b = b0; b < b1; ++b) {
        if (!c.on(mask, b, t)) continue;
        const T* gr = gt + b * gh + nh;
        T* dx = dxt + b * gh + nh;
        for (int64_t j = 0; j < nh; ++j) {
          const int64_t i = b * nh + j;
          const T mh = m ? m[i] : T(1);
          dx[j] = dap[i] * hp[i] * mh * rg(gr[j]);
          dh[i] += dap[i] * gr[j] * mh;
        }
      }
    }
    // The recurrent products' gradient to h_prev (zero for masked rows, whose dpre is zero).
    if (put) {
      mm_packed(*put, rb_rows, dit + b0 * gh, gh, dh.data() + b0 * nh, nh, true);
      continue;
    }
    for (size_t gi = 0; gi < n_late; ++gi) {
      const Group& g = c.groups[gi];
      mm<T>(d.reference, rb_rows, nh, g.ncols, dit + b0 * gh + g.col0, gh, 1,
            ut.data() + g.col0 * nh, nh, 1, dap.data() + b0 * nh);
      const T* m = g.gate >= 0 ? rdrop + g.gate * bh : nullptr;
      for (int64_t i = b0 * nh; i < b1 * nh; ++i) dh[i] += m ? dap[i] * m[i] : dap[i];
    }
  }
  });
  std::memcpy(dh0, dh.data(), sizeof(T) * bh);
  if (c.lstm) std::memcpy(dc0, dc.data(), sizeof(T) * bh);
  // du[:, cols] = sum over steps and rows of operand^T @ dpre[:, cols]: one GEMM per group.
  const int64_t rows = nt * nb;
  std::vector<T> tmp(c.groups.size() > 1 ? static_cast<size_t>(nh * gh) : 0);
  for (size_t gi = 0; gi < c.groups.size(); ++gi) {
    const Group& g = c.groups[gi];
    const T* a = c.use_aop ? aop + static_cast<int64_t>(gi) * nt * bh
                           : states + (d.go_backwards ? bh : 0);
    if (rows == 0) {
      for (int64_t k = 0; k < nh; ++k) std::memset(du + k * gh + g.col0, 0, sizeof(T) * g.ncols);
      continue;
    }
    if (c.groups.size() == 1) {
      mm<T>(d.reference, nh, gh, rows, a, 1, nh, dinner, gh, 1, du);
    } else {
      mm<T>(d.reference, nh, g.ncols, rows, a, 1, nh, dinner + g.col0, gh, 1, tmp.data());
      for (int64_t k = 0; k < nh; ++k) {
        std::memcpy(du + k * gh + g.col0, tmp.data() + k * g.ncols, sizeof(T) * g.ncols);
      }
    }
  }
  if (drb) {
    // Columns in parallel, rows in order: one summation order on any thread count.
    auto sums = [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; ++j) {
        T acc = T(0);
        for (int64_t r = 0; r < rows; ++r) acc += dinner[r * gh + j];
        drb[j] = acc;
      }
    };
    if (d.reference) sums(0, gh);
    else parallel_for(0, gh, 64, sums);
  }
}

template <class T>
void dispatch_forward(const RnnDims& d, const void* xw, const void* h0, const void* c0,
                      const void* u, const void* rb, const bool* mask, const void* rdrop,
                      void* y, void* h_last, void* c_last, void* gates, void* states,
                      void* cstates, void* aop, void* extra) {
  forward_impl<T>(d, static_cast<const T*>(xw), static_cast<const T*>(h0),
                  static_cast<const T*>(c0), static_cast<const T*>(u),
                  static_cast<const T*>(rb), mask, static_cast<const T*>(rdrop),
                  static_cast<T*>(y), static_cast<T*>(h_last), static_cast<T*>(c_last),
                  static_cast<T*>(gates), static_cast<T*>(states), static_cast<T*>(cstates),
                  static_cast<T*>(aop), static_cast<T*>(extra));
}

}  // namespace

const LstmGateKernels* lstm_gate_kernels() {
#if defined(__x86_64__) || defined(_M_X64)
  if (cpu_isa_at_least(CpuIsa::Avx512)) {
    static const LstmGateKernels k = avx512::lstm_gate_kernels();
    return &k;
  }
#endif
  return nullptr;
}

const GruGateKernels* gru_gate_kernels() {
#if defined(__x86_64__) || defined(_M_X64)
  if (cpu_isa_at_least(CpuIsa::Avx512)) {
    static const GruGateKernels k = avx512::gru_gate_kernels();
    return &k;
  }
#endif
  return nullptr;
}

int64_t rnn_num_gates(RnnCell cell) {
  switch (cell) {
    case RnnCell::Lstm: return 4;
    case RnnCell::GruResetAfter:
    case RnnCell::GruResetBefore: return 3;
    case RnnCell::Simple: break;
  }
  return 1;
}

int64_t rnn_num_groups(RnnCell cell, bool recurrent_dropout) {
  return static_cast<int64_t>(make_groups(cell, 1, recurrent_dropout).size());
}

void rnn_forward(DType dtype, const RnnDims& d, const void* xw, const void* h0, const void* c0,
                 const void* u, const void* rb, const bool* mask, const void* rdrop, void* y,
                 void* h_last, void* c_last, void* gates, void* states, void* cstates,
                 void* aop, void* extra) {
  if (dtype == DType::Float64) {
    dispatch_forward<double>(d, xw, h0, c0, u, rb, mask, rdrop, y, h_last, c_last, gates,
                             states, cstates, aop, extra);
  } else {
    dispatch_forward<float>(d, xw, h0, c0, u, rb, mask, rdrop, y, h_last, c_last, gates, states,
                            cstates, aop, extra);
  }
}

void rnn_backward(DType dtype, const RnnDims& d, const void* u, const bool* mask,
                  const void* rdrop, const void* gates, const void* states, const void* cstates,
                  const void* aop, const void* extra, const void* dy, const void* dh_last,
                  const void* dc_last, void* dxw, void* dh0, void* dc0, void* du, void* drb) {
  auto run = [&](auto tag, auto ag, auto rg) {
    using T = decltype(tag);
    backward_impl<T>(d, ag, rg, static_cast<const T*>(u), mask, static_cast<const T*>(rdrop),
                     static_cast<const T*>(gates), static_cast<const T*>(states),
                     static_cast<const T*>(cstates), static_cast<const T*>(aop),
                     static_cast<const T*>(extra), static_cast<const T*>(dy),
                     static_cast<const T*>(dh_last), static_cast<const T*>(dc_last),
                     static_cast<T*>(dxw), static_cast<T*>(dh0), static_cast<T*>(dc0),
                     static_cast<T*>(du), static_cast<T*>(drb));
  };
  auto typed = [&](auto tag) {
    if (d.act == RnnAct::Tanh && d.rec_act == RnnAct::Sigmoid && !d.reference) {
      run(tag, TanhGrad(d.act), SigmoidGrad(d.rec_act));
    } else {
      run(tag, ActGrad{d.act}, ActGrad{d.rec_act});
    }
  };
  if (dtype == DType::Float64) typed(double{});
  else typed(float{});
}

}  // namespace corten::cpu
