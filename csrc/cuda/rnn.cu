// CUDA kernels of the fused recurrent layers: rnn_forward and rnn_backward, with the CPU
// kernels' signatures (csrc/cpu/rnn.h) and buffers (Note [Fused recurrent sequence] in
// cpu/rnn.cpp: the states' slots, the saved gates, the product operands aop, extra). Every
// pointer is a device pointer; callers have validated dtypes and shapes.
//
// Note [CUDA recurrent sequence]
// The sequence runs as the CPU's generic path does (the projections of every step first, then
// per step the recurrent products and the gate rows), step after step on one stream:
// - the products (the input projections, h_{t-1} @ U per product group, dpre @ U^T, and the
//   weight gradients over all steps) go through the CUDA GEMM (cuda/gemm.cuh, Note [CUDA
//   GEMM]);
// - the gate rows are one kernel per step with a thread per (batch row, unit): each unit's
//   gates, state update, mask and output are independent of the other units', so the thread
//   computes exactly the CPU loops' expressions for its unit: the activations of the
//   elementwise kernels (cuda/elementwise_functors.cuh, as the CPU's apply_act), or the scalar
//   ones with RnnDims::reference, and the shared formulas of cpu/rnn_math.h;
// - the bias gradients are column sums with one thread per column over the rows in order, the
//   CPU's order.
// Accuracy: the gate arithmetic is the CPU's, but the products' sums are in another order and
// the CPU's AVX-512 LSTM and GRU rows use their own exp and tanh, so results agree within
// rounding, compounded over the steps: the shim cases allow 2e-4 (float32) and 1e-10
// (float64), relative, with the same absolute floor. Deterministic: the products as Note [CUDA
// GEMM] says, and the other kernels use no atomics and a geometry that depends on the shapes.
// Still to come (performance only): a step's gate rows fused into its product's write-back, and
// short sequences' steps in one persistent kernel with U in shared memory (fewer launches).

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cpu/rnn.h"
#include "cpu/rnn_math.h"
#include "cuda/common.cuh"
#include "cuda/elementwise_functors.cuh"
#include "cuda/gemm.cuh"

namespace corten::cuda {
namespace {

using cpu::RnnAct;
using cpu::RnnCell;
using cpu::RnnDims;
namespace rd = cpu::rnn_detail;

// act(x) as the CPU's apply_act: the elementwise kernels' functors, or the scalar reference.
template <class T>
__device__ __forceinline__ T activate(RnnAct a, T x, bool reference) {
  using namespace functors;  // NOLINT(google-build-using-namespace)
  if (reference) return rd::act_scalar(a, x);
  switch (a) {
    case RnnAct::Tanh:
      return TanhF::f(x, T(0));
    case RnnAct::Sigmoid:
      return SigmoidF::f(x, T(0));
    case RnnAct::Relu:
      return ReluF::f(x, T(0));
    case RnnAct::HardSigmoid:
      return HardSigmoidF::f(x, T(0));
    case RnnAct::Linear:
      break;
  }
  return x;
}

// The derivative from the output (the CPU's ActGrad, TanhGrad and SigmoidGrad are the same
// expressions).
struct DeviceActGrad {
  RnnAct a;
  template <class T>
  CORTEN_HD T operator()(T y) const {
    return rd::act_grad(a, y);
  }
};

// One product group: U's columns [col0, col0 + ncols), operand h_prev * rdrop[gate] (gate >= 0).
struct Group {
  int64_t col0, ncols, gate;
};

std::vector<Group> groups_of(const RnnDims& d, bool rdrop) {
  const int64_t g = cpu::rnn_num_gates(d.cell), h = d.units;
  std::vector<Group> out;
  if (rdrop) {
    for (int64_t i = 0; i < g; ++i) out.push_back({i * h, h, i});
  } else if (d.cell == RnnCell::GruResetBefore) {
    out.push_back({0, 2 * h, -1});
    out.push_back({2 * h, h, -1});
  } else {
    out.push_back({0, g * h, -1});
  }
  return out;
}

// What every step's kernels need (passed by value).
template <class T>
struct Seq {
  RnnCell cell;
  RnnAct act, rec_act;
  bool reference, zero_output_for_mask, batch_major, go_backwards;
  int64_t nt, nb, nh, gh;
  const bool* mask;
  CORTEN_HD int64_t time(int64_t s) const { return go_backwards ? nt - 1 - s : s; }
  CORTEN_HD int64_t slot_prev(int64_t s) const { return go_backwards ? nt - s : s; }
  CORTEN_HD int64_t slot_new(int64_t s) const { return go_backwards ? nt - s - 1 : s + 1; }
  CORTEN_HD bool on(int64_t b, int64_t t) const { return !mask || mask[b * nt + t]; }
  CORTEN_HD int64_t row(int64_t i, int64_t b) const {
    return batch_major ? b * nt + i : i * nb + b;
  }
};

template <class T>
Seq<T> seq_of(const RnnDims& d, const bool* mask) {
  return {d.cell,
          d.act,
          d.rec_act,
          d.reference,
          d.zero_output_for_mask,
          d.batch_major,
          d.go_backwards,
          d.steps,
          d.batch,
          d.units,
          cpu::rnn_num_gates(d.cell) * d.units,
          mask};
}

// ---- forward ---------------------------------------------------------------------------

// The pointers of step s of the forward.
template <class T>
struct FwdStep {
  int64_t s, t;
  const T* xt;     // (B, G*H) this step's input projections
  const T* inner;  // (B, G*H) the recurrent products
  const T* rb;     // (G*H,) GruResetAfter's recurrent bias, or null
  const T* hp;     // (B, H) previous state
  T* hn;           // (B, H) new state
  const T* cp;     // LSTM cell states
  T* cn;
  T* g;             // (B, G*H) saved gates
  T* et;            // (B, H) extra: LSTM act(c), GruResetAfter h U_h + rb_h
  T* y;             // outputs, or null
  const T* late;    // GruResetBefore: (B, H) (r * h_prev) @ U_h, for phase 1
  T* ap_late;       // GruResetBefore: (B, H) that product's operand, written by phase 0
  const T* m_late;  // its recurrent-dropout mask, or null
  int phase;        // GruResetBefore: 0 z and r, 1 the candidate and the state
};

// Output and carried state of unit j of row b once its new state is in hn (and cn): the
// CPU's finish_row for one unit.
template <class T>
__device__ __forceinline__ void finish_unit(const Seq<T>& q, const FwdStep<T>& st, int64_t b,
                                            int64_t j) {
  if (!st.y) return;
  const int64_t i = b * q.nh + j;
  T* yr = st.y + q.row(st.s, b) * q.nh;
  if (q.on(b, st.t)) {
    yr[j] = st.hn[i];
    return;
  }
  st.hn[i] = st.hp[i];
  if (q.cell == RnnCell::Lstm) st.cn[i] = st.cp[i];
  yr[j] = (q.zero_output_for_mask || st.s == 0) ? T(0) : st.y[q.row(st.s - 1, b) * q.nh + j];
}

template <class T>
__global__ void __launch_bounds__(kThreads) forward_gates(Seq<T> q, FwdStep<T> st) {
  const int64_t n = q.nb * q.nh, nh = q.nh;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n;
       e += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t b = e / nh, j = e % nh;
    const T* x = st.xt + b * q.gh;
    const T* in = st.inner + b * q.gh;
    T* g = st.g + b * q.gh;
    const T hp = st.hp[e];
    switch (q.cell) {
      case RnnCell::Simple: {
        g[j] = activate(q.act, x[j] + in[j], q.reference);
        st.hn[e] = g[j];
        break;
      }
      case RnnCell::Lstm: {
        const T gi = activate(q.rec_act, x[j] + in[j], q.reference);
        const T gf = activate(q.rec_act, x[nh + j] + in[nh + j], q.reference);
        const T gc = activate(q.act, x[2 * nh + j] + in[2 * nh + j], q.reference);
        const T go = activate(q.rec_act, x[3 * nh + j] + in[3 * nh + j], q.reference);
        g[j] = gi, g[nh + j] = gf, g[2 * nh + j] = gc, g[3 * nh + j] = go;
        const T cr = rd::lstm_cell(gf, st.cp[e], gi, gc);
        st.cn[e] = cr;
        const T ac = activate(q.act, cr, q.reference);
        st.et[e] = ac;
        st.hn[e] = go * ac;
        break;
      }
      case RnnCell::GruResetAfter: {
        const T z = activate(q.rec_act, x[j] + in[j] + (st.rb ? st.rb[j] : T(0)), q.reference);
        const T r = activate(q.rec_act, x[nh + j] + in[nh + j] + (st.rb ? st.rb[nh + j] : T(0)),
                             q.reference);
        const T ih = in[2 * nh + j] + (st.rb ? st.rb[2 * nh + j] : T(0));
        st.et[e] = ih;
        const T hh = activate(q.act, x[2 * nh + j] + r * ih, q.reference);
        g[j] = z, g[nh + j] = r, g[2 * nh + j] = hh;
        st.hn[e] = rd::gru_state(z, hp, hh);
        break;
      }
      case RnnCell::GruResetBefore: {
        if (st.phase == 0) {
          g[j] = activate(q.rec_act, x[j] + in[j], q.reference);
          const T r = activate(q.rec_act, x[nh + j] + in[nh + j], q.reference);
          g[nh + j] = r;
          st.ap_late[e] = r * hp * (st.m_late ? st.m_late[e] : T(1));
          continue;  // the state follows the product of ap_late
        }
        const T hh = activate(q.act, x[2 * nh + j] + st.late[e], q.reference);
        g[2 * nh + j] = hh;
        st.hn[e] = rd::gru_state(g[j], hp, hh);
        break;
      }
    }
    finish_unit(q, st, b, j);
  }
}

// ap = h_prev * mask (mask null: a copy), n elements.
template <class T>
__global__ void __launch_bounds__(kThreads)
    masked_copy(const T* __restrict__ h, const T* __restrict__ m, T* __restrict__ ap, int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    ap[i] = m ? h[i] * m[i] : h[i];
  }
}

template <class T>
void copy_device(T* dst, const T* src, int64_t n) {
  if (n > 0) {
    CORTEN_CUDA_CHECK(cudaMemcpyAsync(dst, src, sizeof(T) * static_cast<size_t>(n),
                                      cudaMemcpyDeviceToDevice, current_stream()));
  }
}

template <class T>
void forward_impl(const RnnDims& d, const T* xw_in, const T* h0, const T* c0, const T* u,
                  const T* rb, const bool* mask, const T* rdrop, T* y, T* h_last, T* c_last,
                  T* gates, T* states, T* cstates, T* aop, T* extra, const T* w, const T* bias) {
  const Seq<T> q = seq_of<T>(d, mask);
  const std::vector<Group> groups = groups_of(d, rdrop != nullptr);
  const int64_t nt = q.nt, nb = q.nb, nh = q.nh, gh = q.gh, bh = nb * nh;
  const bool lstm = d.cell == RnnCell::Lstm, before = d.cell == RnnCell::GruResetBefore;
  const bool use_aop = rdrop != nullptr || before;
  const int64_t nf = d.project ? d.features : 0;
  // The input projections of every step, time-major (B, G*H) per step, bias included.
  DeviceScratch xw_all(d.project ? static_cast<size_t>(nt * nb * gh) * sizeof(T) : 0,
                       "rnn_forward");
  const T* xw = xw_in;
  if (d.project) {
    GemmCall<T> p;
    p.batch = nt, p.m = nb, p.n = gh, p.k = nf;
    p.a = xw_in, p.a_bstride = d.batch_major ? nf : nb * nf;
    p.a_rs = d.batch_major ? nt * nf : nf, p.a_cs = 1;
    p.b = w, p.b_rs = gh, p.b_cs = 1;
    p.c = xw_all.as<T>(), p.ldc = gh, p.bias = bias;
    gemm<T>("rnn_forward", p);
    xw = xw_all.as<T>();
  }
  DeviceScratch inner(static_cast<size_t>(nb * gh) * sizeof(T), "rnn_forward");
  DeviceScratch late(before ? static_cast<size_t>(bh) * sizeof(T) : 0, "rnn_forward");
  copy_device(states + q.slot_prev(0) * bh, h0, bh);
  if (lstm) copy_device(cstates + q.slot_prev(0) * bh, c0, bh);
  const size_t n_early = before ? groups.size() - 1 : groups.size();
  const unsigned blocks = blocks_for(bh, kThreads);
  for (int64_t s = 0; s < nt; ++s) {
    const int64_t t = q.time(s);
    const T* hp = states + q.slot_prev(s) * bh;
    FwdStep<T> st{};
    st.s = s, st.t = t;
    st.xt = xw + t * nb * gh;
    st.inner = inner.as<T>();
    st.rb = rb;
    st.hp = hp;
    st.hn = states + q.slot_new(s) * bh;
    st.cp = lstm ? cstates + q.slot_prev(s) * bh : nullptr;
    st.cn = lstm ? cstates + q.slot_new(s) * bh : nullptr;
    st.g = gates + t * nb * gh;
    st.et = extra ? extra + t * bh : nullptr;
    st.y = y;
    // The recurrent products known before the gates.
    for (size_t gi = 0; gi < n_early; ++gi) {
      const Group& g = groups[gi];
      const T* a = hp;
      if (use_aop) {
        T* ap = aop + (static_cast<int64_t>(gi) * nt + t) * bh;
        launch("rnn_forward", &masked_copy<T>, dim3(blocks), dim3(kThreads), 0, hp,
               g.gate >= 0 ? rdrop + g.gate * bh : nullptr, ap, bh);
        a = ap;
      }
      GemmCall<T> p;
      p.m = nb, p.n = g.ncols, p.k = nh;
      p.a = a, p.a_rs = nh, p.a_cs = 1;
      p.b = u + g.col0, p.b_rs = gh, p.b_cs = 1;
      p.c = inner.as<T>() + g.col0, p.ldc = gh;
      gemm<T>("rnn_forward", p);
    }
    if (before) {
      const Group& g = groups.back();
      st.ap_late = aop + (static_cast<int64_t>(groups.size() - 1) * nt + t) * bh;
      st.m_late = g.gate >= 0 ? rdrop + g.gate * bh : nullptr;
      st.late = late.as<T>();
      st.phase = 0;
      launch("rnn_forward", &forward_gates<T>, dim3(blocks), dim3(kThreads), 0, q, st);
      GemmCall<T> p;
      p.m = nb, p.n = nh, p.k = nh;
      p.a = st.ap_late, p.a_rs = nh, p.a_cs = 1;
      p.b = u + 2 * nh, p.b_rs = gh, p.b_cs = 1;
      p.c = late.as<T>(), p.ldc = nh;
      gemm<T>("rnn_forward", p);
      st.phase = 1;
    }
    launch("rnn_forward", &forward_gates<T>, dim3(blocks), dim3(kThreads), 0, q, st);
  }
  const int64_t last = nt > 0 ? q.slot_new(nt - 1) : q.slot_prev(0);
  copy_device(h_last, states + last * bh, bh);
  if (lstm) copy_device(c_last, cstates + last * bh, bh);
}

// ---- backward --------------------------------------------------------------------------

// The pointers of step s of the backward.
template <class T>
struct BwdStep {
  int64_t s, t;
  const T* hp;  // (B, H) previous state
  const T* cp;  // LSTM previous cell state
  const T* g;   // (B, G*H) saved gates
  const T* et;  // (B, H) extra
  const T* dy;  // outputs' gradient, or null
  T* dh;        // (B, H) the state's gradient, carried from step to step
  T* dc;        // LSTM cell's
  T* carry;     // (B, H) a masked step's output gradient, carried to the previous output
  T* dx;        // (B, G*H) the pre-activations' gradients
  T* di;        // GruResetAfter: (B, G*H) the recurrent product columns', else dx
};

// One row's gradients at step s for unit j: the CPU's row_grad, unit by unit.
template <class T>
__global__ void __launch_bounds__(kThreads) backward_gates(Seq<T> q, BwdStep<T> st) {
  const int64_t n = q.nb * q.nh, nh = q.nh, ng = q.gh / (nh > 0 ? nh : 1);
  const DeviceActGrad ag{q.act}, rg{q.rec_act};
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n;
       e += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t b = e / nh, j = e % nh;
    T* dx = st.dx + b * q.gh;
    T* di = st.di + b * q.gh;
    const T dyv = st.dy ? st.dy[q.row(st.s, b) * nh + j] : T(0);
    const bool after = q.cell == RnnCell::GruResetAfter;
    if (!q.on(b, st.t)) {
      // The state passes through; the output's gradient goes to the previous output.
      st.carry[e] = q.zero_output_for_mask ? T(0) : st.carry[e] + dyv;
      for (int64_t k = 0; k < ng; ++k) {
        dx[k * nh + j] = T(0);
        if (after) di[k * nh + j] = T(0);
      }
      continue;
    }
    const T dhn = st.dh[e] + st.carry[e] + dyv;
    st.carry[e] = T(0);
    const T* g = st.g + b * q.gh;
    switch (q.cell) {
      case RnnCell::Lstm:
        rd::lstm_unit_grad(ag, rg, g[j], g[nh + j], g[2 * nh + j], g[3 * nh + j], st.et[e],
                           st.cp[e], dhn, st.dc[e], dx[j], dx[nh + j], dx[2 * nh + j],
                           dx[3 * nh + j]);
        st.dh[e] = T(0);
        break;
      case RnnCell::GruResetAfter:
      case RnnCell::GruResetBefore: {
        const T z = g[j], r = g[nh + j], hh = g[2 * nh + j];
        T dph;
        const T dhp = rd::gru_unit_grad(ag, rg, z, hh, st.hp[e], dhn, dx[j], dph);
        dx[2 * nh + j] = dph;
        if (after) {
          const T dr = dph * st.et[e] * rg(r);
          dx[nh + j] = dr;
          di[j] = dx[j];
          di[nh + j] = dr;
          di[2 * nh + j] = dph * r;
        }
        st.dh[e] = dhp;
        break;
      }
      case RnnCell::Simple:
        dx[j] = dhn * ag(g[j]);
        st.dh[e] = T(0);
        break;
    }
  }
}

// GruResetBefore: from dap = dpre_h @ U_h^T, r's gradient and the direct path to h_prev
// through r * h_prev * m (the rows that are on).
template <class T>
__global__ void __launch_bounds__(kThreads)
    reset_before_grad(Seq<T> q, BwdStep<T> st, const T* dap, const T* m) {
  const int64_t n = q.nb * q.nh, nh = q.nh;
  const DeviceActGrad rg{q.rec_act};
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t b = i / nh, j = i % nh;
    if (!q.on(b, st.t)) continue;
    const T r = st.g[b * q.gh + nh + j];
    const T mh = m ? m[i] : T(1);
    st.dx[b * q.gh + nh + j] = dap[i] * st.hp[i] * mh * rg(r);
    st.dh[i] += dap[i] * r * mh;
  }
}

// dh += dap * m, n elements.
template <class T>
__global__ void __launch_bounds__(kThreads)
    add_masked(T* __restrict__ dh, const T* __restrict__ dap, const T* __restrict__ m, int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    dh[i] += dap[i] * m[i];
  }
}

// out[j] = sum over rows r in order of src[r * n + j]: the CPU's col_sums order, one thread per
// column (consecutive threads read consecutive columns of a row).
template <class T>
__global__ void __launch_bounds__(kThreads)
    column_sums(const T* __restrict__ src, int64_t rows, int64_t n, T* __restrict__ out) {
  for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < n;
       j += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    T s = T(0);
    for (int64_t r = 0; r < rows; ++r) s += src[r * n + j];
    out[j] = s;
  }
}

// dst (T, B, F) time-major = src (B, T, F) batch-major.
template <class T>
__global__ void __launch_bounds__(kThreads)
    to_time_major(const T* __restrict__ src, int64_t nt, int64_t nb, int64_t nf,
                  T* __restrict__ dst) {
  const int64_t n = nt * nb * nf;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t f = i % nf, r = i / nf, t = r / nb, b = r % nb;
    dst[i] = src[(b * nt + t) * nf + f];
  }
}

template <class T>
void zero_device(T* p, int64_t n) {
  if (n > 0) {
    CORTEN_CUDA_CHECK(cudaMemsetAsync(p, 0, sizeof(T) * static_cast<size_t>(n), current_stream()));
  }
}

template <class T>
void backward_impl(const RnnDims& d, const T* u, const bool* mask, const T* rdrop, const T* gates,
                   const T* states, const T* cstates, const T* aop, const T* extra, const T* dy,
                   const T* dh_last, const T* dc_last, T* dxw_out, T* dh0, T* dc0, T* du, T* drb,
                   const T* x, const T* w, T* dw, T* db) {
  const char* op = "rnn_backward";
  const Seq<T> q = seq_of<T>(d, mask);
  const std::vector<Group> groups = groups_of(d, rdrop != nullptr);
  const int64_t nt = q.nt, nb = q.nb, nh = q.nh, gh = q.gh, bh = nb * nh, rows = nt * nb;
  const bool lstm = d.cell == RnnCell::Lstm, after = d.cell == RnnCell::GruResetAfter;
  const bool before = d.cell == RnnCell::GruResetBefore;
  const bool use_aop = rdrop != nullptr || before;
  const int64_t nf = d.project ? d.features : 0;
  const size_t bytes_bh = static_cast<size_t>(bh) * sizeof(T);
  DeviceScratch dh(bytes_bh, op), dc(bytes_bh, op), carry(bytes_bh, op), dap(bytes_bh, op);
  if (dh_last)
    copy_device(dh.as<T>(), dh_last, bh);
  else
    zero_device(dh.as<T>(), bh);
  if (lstm && dc_last)
    copy_device(dc.as<T>(), dc_last, bh);
  else
    zero_device(dc.as<T>(), bh);
  zero_device(carry.as<T>(), bh);
  // The input projections' gradient (T, B, G*H): the output, or scratch with a projection.
  DeviceScratch dxw_all(d.project ? static_cast<size_t>(rows * gh) * sizeof(T) : 0, op);
  T* dxw = d.project ? dxw_all.as<T>() : dxw_out;
  // GruResetAfter: the recurrent product's columns get dpre_h * r, not dpre_h.
  DeviceScratch dinner_all(after ? static_cast<size_t>(rows * gh) * sizeof(T) : 0, op);
  T* dinner = after ? dinner_all.as<T>() : dxw;
  const size_t n_late = before ? groups.size() - 1 : groups.size();
  const unsigned blocks = blocks_for(bh, kThreads);
  for (int64_t s = nt - 1; s >= 0; --s) {
    const int64_t t = q.time(s);
    BwdStep<T> st{};
    st.s = s, st.t = t;
    st.hp = states + q.slot_prev(s) * bh;
    st.cp = lstm ? cstates + q.slot_prev(s) * bh : nullptr;
    st.g = gates + t * nb * gh;
    st.et = extra ? extra + t * bh : nullptr;
    st.dy = dy;
    st.dh = dh.as<T>(), st.dc = dc.as<T>(), st.carry = carry.as<T>();
    st.dx = dxw + t * nb * gh;
    st.di = dinner + t * nb * gh;
    launch(op, &backward_gates<T>, dim3(blocks), dim3(kThreads), 0, q, st);
    if (before) {
      // d(r * h_prev * m_h) from the h columns: dap = dpre_h @ U_h^T.
      GemmCall<T> p;
      p.m = nb, p.n = nh, p.k = nh;
      p.a = st.di + 2 * nh, p.a_rs = gh, p.a_cs = 1;
      p.b = u + 2 * nh, p.b_rs = 1, p.b_cs = gh;
      p.c = dap.as<T>(), p.ldc = nh;
      gemm<T>(op, p);
      const Group& g = groups.back();
      launch(op, &reset_before_grad<T>, dim3(blocks), dim3(kThreads), 0, q, st,
             static_cast<const T*>(dap.as<T>()), g.gate >= 0 ? rdrop + g.gate * bh : nullptr);
    }
    // The recurrent products' gradient to h_prev (zero for masked rows, whose dpre is zero).
    for (size_t gi = 0; gi < n_late; ++gi) {
      const Group& g = groups[gi];
      GemmCall<T> p;
      p.m = nb, p.n = nh, p.k = g.ncols;
      p.a = st.di + g.col0, p.a_rs = gh, p.a_cs = 1;
      p.b = u + g.col0, p.b_rs = 1, p.b_cs = gh;
      if (g.gate < 0) {  // straight into dh
        p.c = dh.as<T>(), p.ldc = nh, p.accumulate = true;
        gemm<T>(op, p);
        continue;
      }
      p.c = dap.as<T>(), p.ldc = nh;
      gemm<T>(op, p);
      launch(op, &add_masked<T>, dim3(blocks), dim3(kThreads), 0, dh.as<T>(),
             static_cast<const T*>(dap.as<T>()), rdrop + g.gate * bh, bh);
    }
  }
  copy_device(dh0, static_cast<const T*>(dh.as<T>()), bh);
  if (lstm) copy_device(dc0, static_cast<const T*>(dc.as<T>()), bh);
  // du[:, cols] = sum over steps and rows of operand^T @ dpre[:, cols]: one product per group
  // over all T * B rows (k = 0: zeros).
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const Group& g = groups[gi];
    GemmCall<T> p;
    p.m = nh, p.n = g.ncols, p.k = rows;
    p.a = use_aop ? aop + static_cast<int64_t>(gi) * nt * bh : states + (d.go_backwards ? bh : 0);
    p.a_rs = 1, p.a_cs = nh;
    p.b = dinner + g.col0, p.b_rs = gh, p.b_cs = 1;
    p.c = du + g.col0, p.ldc = gh;
    gemm<T>(op, p);
  }
  const unsigned col_blocks = blocks_for(gh, kThreads);
  if (drb) launch(op, &column_sums<T>, dim3(col_blocks), dim3(kThreads), 0, dinner, rows, gh, drb);
  if (!d.project) return;
  if (db) launch(op, &column_sums<T>, dim3(col_blocks), dim3(kThreads), 0, dxw, rows, gh, db);
  // dw = x^T @ dxw over all T * B rows, time-major (a batch-major x is copied).
  DeviceScratch x_tm(d.batch_major ? static_cast<size_t>(rows * nf) * sizeof(T) : 0, op);
  const T* xt = x;
  if (d.batch_major) {
    launch(op, &to_time_major<T>, dim3(blocks_for(rows * nf, kThreads)), dim3(kThreads), 0, x, nt,
           nb, nf, x_tm.as<T>());
    xt = x_tm.as<T>();
  }
  GemmCall<T> p;
  p.m = nf, p.n = gh, p.k = rows;
  p.a = xt, p.a_rs = 1, p.a_cs = nf;
  p.b = dxw, p.b_rs = gh, p.b_cs = 1;
  p.c = dw, p.ldc = gh;
  gemm<T>(op, p);
  if (!dxw_out) return;
  // dx = dxw @ w^T; batch-major: one product per batch row b over its T steps.
  GemmCall<T> px;
  px.n = nf, px.k = gh;
  px.b = w, px.b_rs = 1, px.b_cs = gh;
  px.c = dxw_out, px.ldc = nf;
  px.a = dxw, px.a_cs = 1;
  if (d.batch_major) {
    px.batch = nb, px.m = nt, px.a_bstride = gh, px.a_rs = nb * gh;
  } else {
    px.m = rows, px.a_rs = gh;
  }
  gemm<T>(op, px);
}

}  // namespace

void rnn_forward(DType dtype, const RnnDims& d, const void* xw, const void* h0, const void* c0,
                 const void* u, const void* rb, const bool* mask, const void* rdrop, void* y,
                 void* h_last, void* c_last, void* gates, void* states, void* cstates, void* aop,
                 void* extra, const void* w, const void* bias) {
  visit_floating(dtype, "rnn_forward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    forward_impl<T>(d, static_cast<const T*>(xw), static_cast<const T*>(h0),
                    static_cast<const T*>(c0), static_cast<const T*>(u), static_cast<const T*>(rb),
                    mask, static_cast<const T*>(rdrop), static_cast<T*>(y), static_cast<T*>(h_last),
                    static_cast<T*>(c_last), static_cast<T*>(gates), static_cast<T*>(states),
                    static_cast<T*>(cstates), static_cast<T*>(aop), static_cast<T*>(extra),
                    static_cast<const T*>(w), static_cast<const T*>(bias));
  });
}

void rnn_backward(DType dtype, const RnnDims& d, const void* u, const bool* mask, const void* rdrop,
                  const void* gates, const void* states, const void* cstates, const void* aop,
                  const void* extra, const void* dy, const void* dh_last, const void* dc_last,
                  void* dxw, void* dh0, void* dc0, void* du, void* drb, const void* x,
                  const void* w, void* dw, void* db) {
  visit_floating(dtype, "rnn_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    backward_impl<T>(d, static_cast<const T*>(u), mask, static_cast<const T*>(rdrop),
                     static_cast<const T*>(gates), static_cast<const T*>(states),
                     static_cast<const T*>(cstates), static_cast<const T*>(aop),
                     static_cast<const T*>(extra), static_cast<const T*>(dy),
                     static_cast<const T*>(dh_last), static_cast<const T*>(dc_last),
                     static_cast<T*>(dxw), static_cast<T*>(dh0), static_cast<T*>(dc0),
                     static_cast<T*>(du), static_cast<T*>(drb), static_cast<const T*>(x),
                     static_cast<const T*>(w), static_cast<T*>(dw), static_cast<T*>(db));
  });
}

}  // namespace corten::cuda
