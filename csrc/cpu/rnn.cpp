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

// Note [Input projection in the sequence]
// The layers pass the input x itself with the input kernel W and bias b (RnnDims::project),
// not x @ W + b: the projections of a whole sequence, (T, B, G*H), are 6.5 MB for LSTM(128)
// at batch 32 and 100 steps, and their gradient as much again; written by one GEMM, read by
// the time loop, then the gradient written by the loop and read (and packed) by the dU, dX, dW
// and bias-gradient products, they made the layer memory-bound (Note [Recurrent kernel]). On
// the packed path the op instead
//   - forward: computes each step's projections of the block's rows right before its gates,
//     xs = x_t @ W (W packed once like U), into a buffer that stays in L1, the bias added by
//     the fused gate kernels (the fused LSTM rows: x_t @ W summed into the recurrent
//     product's output instead, Note [Recurrent kernel]);
//   - backward: per step and row group, writes the gate gradients dxw (dinner) of the group's
//     rows as the next rows of the group's block buffer, then dh += dinner @ U^T and
//     dx_t = dxw @ W^T (W^T packed once; skipped when x needs no gradient), adds the rows to
//     db (drb) and packs the rows' x and h_prev as the next k rows of the block products
//     dW += x^T @ dxw and dU += h_prev^T @ dinner, which run on the micro-kernel every
//     steps_blk steps (kBlockRows rows of k) while the block is in L2, their B (dxw, dinner)
//     read in place from the block buffer (the copies and sums with AVX-512 vectors:
//     rnn_row_kernels).
// x, y, dy and dx may be batch-major (B, T, .) (RnnDims::batch_major), the layer's layout,
// read and written in place: no transposes around the op. Only the last output
// (return_sequences false in the op) is not stored at all without a mask: it is h_T.
// Determinism: the batch splits into fixed row groups (RowGroups: whole row panels, a count
// that depends on the batch only) and each group sums its own dW, dU, db in block order;
// group 0 sums into the outputs, the others into buffers added in group order at the end. The
// threads take whole groups, so the sums do not depend on the thread count.
// Other paths (reference, recurrent dropout, GruResetBefore) compute all projections first
// (project_all) and the input gradients after the loop, from the same arguments.

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
// The whole layer (LSTM(128), batch 32, 64 features, 100 steps, forward + GradientTape
// gradients of x and every weight), profiled at 1 thread with `perf record -g` (cpu-clock) in
// steady state: the per-step products were only 28% of its time. The input projection (one
// GEMM over T * B rows) and the dX, dW (linear's backward) and dU products, each reading or
// writing a (T, B, G*H) operand of 6.5 MB and packing it, took 40% (memmove of the packing 6%
// more), the gate rows 13%, the bias gradient's reduction 4%, zero fills, casts and transposes
// around the op 3%. So the op now projects its input itself and sums the weight gradients in
// the time loop (Note [Input projection in the sequence]): every product is a packed per-step
// or per-block micro-kernel call, at 90-95% of the core's FMA peak (245 GFLOP/s measured
// here), and per-step products 51%, block products (dW, dU) 26%, gate rows 11%, the backward's
// row copies and sums 5% make up the layer. Times (the layer's step in a loop, minimum over 60
// calls, best of 3 rounds alternating corten and PyTorch 2.13 processes on the shared 2-vCPU
// host; bench/results/lstm-2026-12-06.txt has the bench's runs):
//   100 steps: 1 thread 12.4 -> 10.1 ms, 2 threads 7.1 -> 5.25 ms (PyTorch 11.2 / 8.0 ms);
//   10 steps:  1 thread 1.46 -> 1.17 ms, 2 threads 1.07 -> 0.69 ms (PyTorch 1.52 / 1.25 ms).
//   `python -m corten.bench --filter "layers/LSTM(128) fwd+bwd" --libraries corten,torch
//   --peer torch=... --rounds 5`, 5 runs: PyTorch / corten 1.48-1.56x at 100 steps, 1.73-1.82x
//   at 10 (1.49x in the run with tf.keras's workers in the rotation too; 1.11-1.16x before).
//   GRU(128) fwd+bwd went from 2.1-2.5x to 3.6-4.7x.
// Tried and not kept (A/B alternated; profile shares in the same runs): one forward product
// over [x_t, h_{t-1}] @ [W; U] (k = 192) instead of two (no faster); recomputing act(c) in the
// backward instead of saving it (backward gate rows 4% -> 7%, forward no faster); the gate
// gradients' bias sums and panel copies inside the AVX-512 gate kernel (the kernel slowed by
// more than the loops it replaced); non-temporal stores of the saved gates; software prefetch
// of the next step's saved rows; a 2-way unrolled forward gate loop; block depths 64 and 256
// (128 kept); 32-row instead of 16-row per-step products at 1 thread (3% slower: the 32 rows
// of dpre no longer fit L1); 4 row groups instead of 2 at batch 32. Measuring: numpy's
// OpenBLAS server thread, woken by the orthogonal initializer's QR, spins for a while and takes
// the pool worker's core whenever it yields (OPENBLAS_NUM_THREADS=1 for such timings); another
// process on the host makes 2-thread figures bimodal.
// Second round (same layer and host; profile shares at 1 thread, 100 steps, before -> after):
//   - The forward gate rows run in two passes: the four gates and c of every vector, then
//     act(c) and h. In one pass each vector's act(c) waits on two chains of about 25 dependent
//     instructions (a sigmoid, then tanh of c): the out-of-order window held little more than
//     one vector's chain and the samples sat on the tanh of c. The second pass's vectors are
//     independent. sigmoid is now 1 / (1 + exp(-x)) on x capped to [-80, 80], with n rounded
//     by the 1.5 * 2^23 add-and-subtract and no blend between x < 0 and x >= 0 (19 vector
//     instructions against 25; max relative error 2.1e-7 against 2.5e-7). Forward gate rows
//     1.03 -> 0.70 ms per 100 steps of 32 rows in isolation; 7.0% -> 5.6% of the layer.
//   - The block products read their B (the dxw, dinner rows) in place from a block buffer of
//     kmax rows per group, at the row stride ld of whole NR-column panels; only the rows of x
//     and h_prev (A) are packed. Row packing 3.9% -> 1.7% of the layer.
//   - At 1 thread the backward's row groups run one after another, each through the whole
//     sequence (as the 2 threads do, one group each): one group's dW and dU sums (384 KB) and
//     block buffers in L2 at a time, not two. 3-6% off the layer (LSTM and GRU, 10 and 100
//     steps). The forward's 16-row blocks likewise (about 1%).
//   - While a step's products run, the saved rows that the group's next step reads (gates,
//     act(c), c_prev, h_prev) are prefetched into L2: about 1%.
//   - The fused LSTM forward sums x_t @ W into the recurrent product (the second product
//     accumulates), so the gate kernel reads one buffer of pre-activations, not two, and the
//     separate projection buffer is gone: about 1% at 1 thread. The pre-activation is now
//     (h U + x W) + b instead of (x W + b) + h U (a different rounding, within the tests'
//     tolerances; still the same on any thread count).
//   Tried and not kept: the block products with A read in place too (x^T and h_prev^T as the
//   rows of x and states, one batch-reduce call per tile over the block's steps, no packing at
//   all): 2% slower than packing A (every k step reads another row's cache line). The
//   backward's per-step products (k = 512: a 64 KB B panel, more than L1, read once per row
//   panel) in k chunks of 128 summed through C: 1% slower at 1 thread.
//   After: per-step products 53%, block products 27%, forward gate rows 5.6%, backward gate
//   rows 4.0%, row packing 1.7%, bias-gradient sums 0.7%. The backward gate rows run at about
//   38 cycles per vector with their operands in L1 and about 30% more streaming them from
//   L3; in the layer they still wait on the saved gates' loads.
//   Same-process ratios PyTorch / corten (both libraries alternated in one process;
//   bench/lab/rnn_torch_ratio.py, bench/results/lstm-2026-12-06.txt), before -> after: LSTM
//   100 steps 1 thread 1.09 -> 1.16 (9.6-9.8 ms), 2 threads 1.48 -> 1.54 (5.0-5.1 ms); 10
//   steps 1.30 -> 1.36 and 1.77 -> 1.85; GRU 100 steps 2.29 -> 2.49 and 4.11 -> 4.33. The 2
//   threads already ran one row group (one 16-row block) each: they gain only the kernels'
//   part (4-5%), not the 1-thread ordering's.
// The plain reference kernel (RnnDims::reference) keeps the unpacked loops and scalar math.

#include "cpu/rnn.h"

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
#include "cpu/rnn_gates.h"
#include "cpu/scratch.h"

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

template <class T>
void forward_impl(const RnnDims& d, const T* xw_in, const T* h0, const T* c0, const T* u,
                  const T* rb, const bool* mask, const T* rdrop, T* y, T* h_last, T* c_last,
                  T* gates, T* states, T* cstates, T* aop, T* extra, const T* w,
                  const T* bias) {
  const Ctx<T> c(d, rdrop != nullptr);
  const int64_t nt = c.nt, nb = c.nb, nh = c.nh, gh = c.gh, nf = c.nf, bh = nb * nh;
  // The whole recurrent kernel is one product per step: packed once (Note [Recurrent kernel]).
  const bool packed = c.packed();
  // The input projection inside the time loop (Note [Input projection in the sequence]), or
  // all at once before it.
  const bool proj_loop = d.project && packed;
  Scratch<T> xw_all(d.project && !proj_loop ? nt * nb * gh : 0, "rnn_sequence");
  const T* xw = xw_in;
  if (d.project && !proj_loop) {
    project_all(c, xw_in, w, bias, xw_all.data());
    xw = xw_all.data();
  }
  Scratch<T> inner(nb * gh, "rnn_sequence");
  Scratch<T> tmp(c.groups.size() > 1 ? nb * gh : 0, "rnn_sequence");
  std::vector<T> late(c.before ? static_cast<size_t>(bh) : 0);  // GruResetBefore's h product
  std::memcpy(states + c.slot_prev(0) * bh, h0, sizeof(T) * bh);
  if (c.lstm) std::memcpy(cstates + c.slot_prev(0) * bh, c0, sizeof(T) * bh);
  const size_t n_early = c.before ? c.groups.size() - 1 : c.groups.size();
  const LstmGateKernels* lk = fused_lstm<T>(d);
  const GruGateKernels* gk = fused_gru<T>(d);
  // The input bias, added by the fused gate kernels in the projected loop (else null).
  const T* xb = proj_loop && (lk || gk) ? bias : nullptr;
  // The fused LSTM rows take x_t @ W summed into the recurrent product (accumulated by the
  // second product): one buffer of pre-activations for the gate kernel to read, not two.
  const bool merged = proj_loop && lk && nf > 0;
  std::unique_ptr<gemm::PackedB<T>> pu, pw;
  if (packed) pu = std::make_unique<gemm::PackedB<T>>(nh, gh, nb);
  if (proj_loop && nf > 0) pw = std::make_unique<gemm::PackedB<T>>(nf, gh, nb);
  pack_all<T>({{pu.get(), u, gh, 1}, {pw.get(), w, gh, 1}});
  // Batch rows never interact: each block of rows runs the whole sequence (Note [Recurrent
  // kernel]).
  for_row_blocks(d, nb, pu ? pu->mr() : 8, [&](int64_t b0, int64_t b1) {
  const int64_t rb_rows = b1 - b0;
  std::vector<T> pre(static_cast<size_t>(gh));
  // This block's input projections of the current step (proj_loop).
  Scratch<T> xs(proj_loop && !merged ? rb_rows * gh : 0, "rnn_sequence");
  for (int64_t s = 0; s < nt; ++s) {
    const int64_t t = c.time(s);
    const T* hp = states + c.slot_prev(s) * bh;
    T* hn = states + c.slot_new(s) * bh;
    const T* cp = c.lstm ? cstates + c.slot_prev(s) * bh : nullptr;
    T* cn = c.lstm ? cstates + c.slot_new(s) * bh : nullptr;
    // Row b's input projection is at xt + b * gh.
    const T* xt = proj_loop ? nullptr : xw + t * nb * gh;
    if (proj_loop && !merged) {
      // x_t @ W, plus the bias: added by the fused gate kernels (xb), else copied in first.
      T* x0 = xs.data();
      const bool bias_rows = bias && !xb;
      if (bias_rows) {
        for (int64_t i = 0; i < rb_rows; ++i) std::memcpy(x0 + i * gh, bias, sizeof(T) * gh);
      } else if (!pw) {
        std::fill(x0, x0 + rb_rows * gh, T(0));
      }
      if (pw) {
        mm_packed(*pw, rb_rows, xw_in + c.row(t, b0) * nf, c.row_stride() * nf, x0, gh,
                  bias_rows);
      }
      xt = x0 - b0 * gh;
    }
    T* gt = gates + t * nb * gh;
    T* et = extra ? extra + t * bh : nullptr;
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
        if (merged) {
          mm_packed(*pw, rb_rows, xw_in + c.row(t, b0) * nf, c.row_stride() * nf,
                    inner.data() + b0 * gh, gh, true);
        }
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
      if (!y) return;  // no mask (checked by the caller): the state is the output
      T* yr = y + c.row(s, b) * nh;
      if (c.on(mask, b, t)) {
        std::memcpy(yr, hr, sizeof(T) * nh);
        return;
      }
      std::memcpy(hr, hp + b * nh, sizeof(T) * nh);
      if (c.lstm) std::memcpy(cn + b * nh, cp + b * nh, sizeof(T) * nh);
      if (d.zero_output_for_mask || s == 0) std::memset(yr, 0, sizeof(T) * nh);
      else std::memcpy(yr, y + c.row(s - 1, b) * nh, sizeof(T) * nh);
    };
    {
      for (int64_t b = b0; b < b1; ++b) {
        const T* x = xt ? xt + b * gh : nullptr;
        const T* in = inner.data() + b * gh;
        T* g = gt + b * gh;
        T* hr = hn + b * nh;
        const T* hpr = hp + b * nh;
        if constexpr (std::is_same_v<T, float>) {
          if (gk) {
            gk->forward_row(nh, x, xb, in, rb, hpr, g, et + b * nh, hr);
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
            lk->forward_row(nh, merged ? in : x, xb, merged ? nullptr : in, cp + b * nh, g,
                            cn + b * nh, et + b * nh, hr);
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

// The fixed row groups of the backward with the projection inside the time loop (Note [Input
// projection in the sequence]): whole row panels of `mr` rows; each group sums its own part of
// the weight gradients, so that the sums do not depend on which thread runs which group.
struct RowGroups {
  int64_t count, panels, mr, nb;
  RowGroups(int64_t nb_, int64_t mr_) : mr(mr_), nb(nb_) {
    panels = (nb + mr - 1) / mr;
    count = panels <= 3 ? panels : std::clamp<int64_t>(panels / 2, 2, 8);
  }
  int64_t begin(int64_t g) const { return std::min(nb, g * panels / count * mr); }
  int64_t end(int64_t g) const { return begin(g + 1); }
};

// Copies row p of an n-column matrix into its panels of W columns (the layout of a
// micro-kernel's A panels, W = MR, or of its B panels, W = NR): panel q of the matrix starts at
// dst + q * stride and holds column q * W + i of row p at p * W + i. A partial last panel's
// columns past n are left as they are: they only feed tile rows or columns that are not
// stored.
template <int W, class T>
inline void pack_row(const T* src, int64_t n, int64_t p, int64_t stride, T* dst) {
  dst += p * W;
  int64_t j = 0;
  for (; j + W <= n; j += W, dst += stride) std::memcpy(dst, src + j, sizeof(T) * W);
  for (int64_t i = 0; j + i < n; ++i) dst[i] = src[j + i];
}

template <class T>
void pack_row(int w, const T* src, int64_t n, int64_t p, int64_t stride, T* dst) {
  switch (w) {
    case 6: return pack_row<6>(src, n, p, stride, dst);
    case 8: return pack_row<8>(src, n, p, stride, dst);
    case 16: return pack_row<16>(src, n, p, stride, dst);
    case 32: return pack_row<32>(src, n, p, stride, dst);
    case 64: return pack_row<64>(src, n, p, stride, dst);
    default: break;
  }
  dst += p * w;
  for (int64_t j0 = 0; j0 < n; j0 += w, dst += stride) {
    for (int64_t i = 0; i < w && j0 + i < n; ++i) dst[i] = src[j0 + i];
  }
}

// Rows of each group per block of the weight-gradient products (their k): enough that the
// product's C tile loads and stores are a small part of its work.
constexpr int64_t kBlockRows = 128;

// The backward when the input projection runs inside the time loop (Note [Input projection in
// the sequence]). Per step, each group of rows gets its pre-activations' gradients dxw (and
// dinner, GruResetAfter) from row_grad, written as the next rows of the group's block buffer,
// then dh += dinner @ U^T and dx_t = dxw @ W^T (both packed once); the rows are added to the
// group's db (drb), and the rows of x and h_prev packed as the next k rows of the block
// products dw += x^T @ dxw and du += h_prev^T @ dinner, which run every steps_blk steps on the
// block, B (dxw, dinner) read in place from the block buffer. Group 0 sums into the outputs,
// the others into their own buffers, added in group order at the end. `prefetch(b0, rows, s)`
// fetches the saved rows that row_grad reads at step s.
template <class T, class RowGrad, class Prefetch>
void backward_projected(const Ctx<T>& c, const gemm::PackedB<T>* put,
                        const gemm::PackedB<T>* pwt, const RowGrad& row_grad,
                        const Prefetch& prefetch, const T* states, const T* x, T* dx, T* dh,
                        T* dw, T* du, T* db, T* drb) {
  const int64_t nt = c.nt, nb = c.nb, nh = c.nh, gh = c.gh, nf = c.nf;
  const RowGroups groups(nb, put->mr());
  int64_t max_rows = 0;
  for (int64_t g = 0; g < groups.count; ++g) {
    max_rows = std::max(max_rows, groups.end(g) - groups.begin(g));
  }
  const int64_t steps_blk = std::clamp<int64_t>((kBlockRows + max_rows - 1) / max_rows, 1, nt);
  const int64_t kmax = steps_blk * max_rows;
  // The block products: A the block's x and h_prev rows as MR-row panels of x^T and h_prev^T,
  // each panel kmax deep; B the block's dxw (dinner) rows in place.
  const gemm::Ukernel<T> uk = gemm::packed_kernel<T>(nh);
  const int64_t MR = uk.mr, NR = uk.nr;
  const int64_t af = (nf + MR - 1) / MR, ah = (nh + MR - 1) / MR;  // A panels: x, h_prev
  const int64_t bn = (gh + NR - 1) / NR;                           // B panels
  // Row stride of the dxw (dinner) rows, the per-step products' A and the block products' B:
  // whole NR-column panels (B read in place: every column of a panel must exist), and not a
  // multiple of 256 bytes (the rows would share a few L1 sets).
  int64_t ld = bn * NR;
  const int64_t ld_bytes = ld * static_cast<int64_t>(sizeof(T));
  if ((ld_bytes & -ld_bytes) > 128) ld += 64 / static_cast<int64_t>(sizeof(T));
  // The sums of groups 1.. : dw (F, G*H), du (H, G*H), db, drb; group 0's are the outputs.
  const int64_t psize = (nf + nh + 2) * gh;
  Scratch<T> partial((groups.count - 1) * psize, "rnn_sequence");
  for (int64_t g = 1; g < groups.count; ++g) {  // db, drb are summed row by row
    T* p = partial.data() + (g - 1) * psize + (nf + nh) * gh;
    std::fill(p, p + 2 * gh, T(0));
  }
  std::vector<T> sums0(static_cast<size_t>(2 * gh), T(0));  // group 0's db, drb
  const int64_t a_stride = kmax * MR;                          // between A panels
  const int64_t a_size = (af + ah) * a_stride;
  // The per-row copies and sums with the ISA's vectors, where it has them (float32).
  const RnnRowKernels* rk =
      std::is_same_v<T, float> && (MR == 8 || MR == 16 || MR == 32 || MR == 64)
          ? rnn_row_kernels()
          : nullptr;
  auto run = [&](int64_t g0, int64_t g1) {
    const int64_t ngr = g1 - g0;
    // Per group, its dxw (dinner) rows of the block's steps.
    Scratch<T> step_x(ngr * kmax * ld, "rnn_sequence");
    Scratch<T> step_i(c.after ? ngr * kmax * ld : 0, "rnn_sequence");
    if (gh % NR != 0) {
      // The last B panel's columns past gh feed discarded lanes only: zero (finite) once.
      for (int64_t r = 0; r < ngr * kmax; ++r) {
        std::fill(step_x.data() + r * ld + gh, step_x.data() + (r + 1) * ld, T(0));
        if (c.after) std::fill(step_i.data() + r * ld + gh, step_i.data() + (r + 1) * ld, T(0));
      }
    }
    // Per group: A panels of x^T and h_prev^T. Panels with padding rows are zeroed once, so
    // that no garbage reaches a discarded lane of the micro-kernel (denormals there would slow
    // it down).
    Scratch<T> pk(ngr * a_size, "rnn_sequence");
    if (nf % MR != 0 || nh % MR != 0) std::fill(pk.data(), pk.data() + ngr * a_size, T(0));
    std::vector<T> dhn(static_cast<size_t>(nh));
    int64_t nblk = 0;
    bool first = true;
    // Group g's sums.
    auto sums = [&](int64_t g, T*& gw, T*& gu, T*& gdb) {
      if (g == 0) {
        gw = dw;
        gu = du;
        gdb = sums0.data();
      } else {
        gw = partial.data() + (g - 1) * psize;
        gu = gw + nf * gh;
        gdb = gu + nh * gh;
      }
    };
    auto flush = [&]() {
      for (int64_t g = g0; g < g1; ++g) {
        const int64_t k = nblk * (groups.end(g) - groups.begin(g));
        const T* ap = pk.data() + (g - g0) * a_size;
        const T* bx = step_x.data() + (g - g0) * kmax * ld;
        const T* bi = c.after ? step_i.data() + (g - g0) * kmax * ld : bx;
        T *gw, *gu, *gdb;
        sums(g, gw, gu, gdb);
        // Each B panel stays in L1 while the A panels stream past.
        for (int64_t jp = 0; jp < bn; ++jp) {
          const int64_t j0 = jp * NR;
          const int nr = static_cast<int>(std::min<int64_t>(NR, gh - j0));
          for (int64_t q = 0; q < af + ah; ++q) {
            const bool xq = q < af;
            const int64_t i0 = (xq ? q : q - af) * MR;
            const int mr = static_cast<int>(std::min<int64_t>(MR, (xq ? nf : nh) - i0));
            uk.fn(k, ap + q * a_stride, 1, MR, (xq ? bx : bi) + j0, ld,
                  (xq ? gw : gu) + i0 * gh + j0, gh, mr, nr, !first);
          }
        }
      }
      nblk = 0;
      first = false;
    };
    for (int64_t s = nt - 1; s >= 0; --s) {
      const int64_t t = c.time(s);
      for (int64_t g = g0; g < g1; ++g) {
        const int64_t gb0 = groups.begin(g), rows = groups.end(g) - gb0;
        const int64_t p0 = nblk * rows;  // the rows' place in the block
        T* gx = step_x.data() + ((g - g0) * kmax + p0) * ld;
        T* gi = c.after ? step_i.data() + ((g - g0) * kmax + p0) * ld : gx;
        for (int64_t r = 0; r < rows; ++r) {
          row_grad(gb0 + r, s, t, gx + r * ld, gi + r * ld, dhn.data());
        }
        if (s > 0) prefetch(gb0, rows, s - 1);  // into L2 while the products run
        mm_packed(*put, rows, gi, ld, dh + gb0 * nh, nh, true);
        if (pwt) {
          mm_packed(*pwt, rows, gx, ld, dx + c.row(t, gb0) * nf, c.row_stride() * nf, false);
        }
        T *gw, *gu, *gdb;
        sums(g, gw, gu, gdb);
        T* ap = pk.data() + (g - g0) * a_size;
        if constexpr (std::is_same_v<T, float>) {
          if (rk) {  // the same copies and sums, with the ISA's vectors
            const T* hp = states + (c.slot_prev(s) * nb + gb0) * nh;
            rk->pack_rows(nf, rows, x + c.row(t, gb0) * nf, c.row_stride() * nf, MR, p0,
                          a_stride, ap);
            rk->pack_rows(nh, rows, hp, nh, MR, p0, a_stride, ap + af * a_stride);
            if (db) rk->sum_rows(gh, rows, gx, ld, gdb);
            if (drb) rk->sum_rows(gh, rows, gi, ld, gdb + gh);
            continue;
          }
        }
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t p = p0 + r, b = gb0 + r;
          pack_row(static_cast<int>(MR), x + c.row(t, b) * nf, nf, p, a_stride, ap);
          pack_row(static_cast<int>(MR), states + (c.slot_prev(s) * nb + b) * nh, nh, p,
                   a_stride, ap + af * a_stride);
          if (db) {
            T* __restrict o = gdb;
            const T* __restrict xr = gx + r * ld;
            for (int64_t j = 0; j < gh; ++j) o[j] += xr[j];
          }
          if (drb) {
            T* __restrict o = gdb + gh;
            const T* __restrict ir = gi + r * ld;
            for (int64_t j = 0; j < gh; ++j) o[j] += ir[j];
          }
        }
      }
      if (++nblk == steps_blk || s == 0) flush();
    }
  };
  if (get_num_threads() == 1) {
    // One group after another, each through the whole sequence: one group's weight-gradient
    // sums and block buffers in L2 at a time (Note [Recurrent kernel]).
    for (int64_t g = 0; g < groups.count; ++g) run(g, g + 1);
  } else if (groups.count == 1) {
    run(0, 1);
  } else {
    parallel_for(0, groups.count, 1, run);
  }
  // The other groups' sums, in group order, element ranges split between the threads.
  T* sdb = sums0.data();
  const int64_t nw = nf * gh, nwu = (nf + nh) * gh;
  auto add_partials = [&](int64_t i0, int64_t i1) {
    for (int64_t g = 1; g < groups.count; ++g) {
      const T* p = partial.data() + (g - 1) * psize;
      for (int64_t i = i0; i < std::min(i1, nw); ++i) dw[i] += p[i];
      for (int64_t i = std::max(i0, nw); i < i1; ++i) du[i - nw] += p[i];
    }
  };
  if (groups.count > 1) parallel_for(0, nwu, 1 << 14, add_partials);
  for (int64_t g = 1; g < groups.count; ++g) {
    const T* p = partial.data() + (g - 1) * psize + nwu;
    for (int64_t i = 0; i < 2 * gh; ++i) sdb[i] += p[i];
  }
  if (db) std::memcpy(db, sdb, sizeof(T) * gh);
  if (drb) std::memcpy(drb, sdb + gh, sizeof(T) * gh);
}

template <class T, class AG, class RG>
void backward_impl(const RnnDims& d, AG ag, RG rg, const T* u, const bool* mask, const T* rdrop,
                   const T* gates, const T* states, const T* cstates, const T* aop,
                   const T* extra, const T* dy, const T* dh_last, const T* dc_last, T* dxw_out,
                   T* dh0, T* dc0, T* du, T* drb, const T* x, const T* w, T* dw, T* db) {
  const Ctx<T> c(d, rdrop != nullptr);
  const int64_t nt = c.nt, nb = c.nb, nh = c.nh, gh = c.gh, nf = c.nf, bh = nb * nh;
  std::vector<T> dh(static_cast<size_t>(bh), T(0)), dc(static_cast<size_t>(bh), T(0));
  std::vector<T> carry(static_cast<size_t>(bh), T(0)), dap(static_cast<size_t>(bh));
  if (dh_last) std::memcpy(dh.data(), dh_last, sizeof(T) * bh);
  if (dc_last && c.lstm) std::memcpy(dc.data(), dc_last, sizeof(T) * bh);
  const LstmGateKernels* lk = fused_lstm<T>(d);
  const GruGateKernels* gk = fused_gru<T>(d);
  // One product group without masks: dh += dpre @ U^T straight into dh, U^T packed once.
  const bool packed = c.packed();
  const bool proj_loop = d.project && packed;
  // Without the projection in the loop: the input projections' gradient, (T, B, G*H).
  // (Every row is written by the loop: no zero fill.)
  Scratch<T> dxw_all(d.project && !proj_loop ? nt * nb * gh : 0, "rnn_sequence");
  T* dxw = d.project ? dxw_all.data() : dxw_out;
  // GRU with reset_after: the h columns of the recurrent product get dpre_h * r, not dpre_h.
  std::vector<T> dinner_buf(c.after && !proj_loop ? static_cast<size_t>(nt * nb * gh) : 0);
  T* dinner = c.after ? dinner_buf.data() : dxw;
  const size_t n_late = c.before ? c.groups.size() - 1 : c.groups.size();
  std::unique_ptr<gemm::PackedB<T>> put, pwt;
  std::vector<T> ut;
  if (packed) {
    put = std::make_unique<gemm::PackedB<T>>(gh, nh, nb);
  } else {
    // U^T (G*H, H) row-major: each step's dpre @ U^T then reads its B operand in place.
    ut.resize(static_cast<size_t>(gh * nh));
    for (int64_t k = 0; k < nh; ++k) {
      for (int64_t j = 0; j < gh; ++j) ut[j * nh + k] = u[k * gh + j];
    }
  }
  // dx_t = dxw_t @ W^T in the loop, W^T packed once.
  if (proj_loop && dxw_out && nf > 0) pwt = std::make_unique<gemm::PackedB<T>>(gh, nf, nb);
  pack_all<T>({{put.get(), u, 1, gh}, {pwt.get(), w, 1, gh}});

  // One row's gradients at step s (input time t): dx (G*H) the pre-activations' gradient, di
  // (G*H, GruResetAfter) the recurrent product's columns'.
  auto row_grad = [&](int64_t b, int64_t s, int64_t t, T* dx, T* di, T* dhn) {
    const T* hp = states + c.slot_prev(s) * bh;
    const T* cp = c.lstm ? cstates + c.slot_prev(s) * bh : nullptr;
    const T* gt = gates + t * nb * gh;
    const T* et = extra ? extra + t * bh : nullptr;
    T* cr = carry.data() + b * nh;
    T* dhr = dh.data() + b * nh;
    T* dcr = dc.data() + b * nh;
    const T* dyr = dy ? dy + c.row(s, b) * nh : nullptr;
    if (!c.on(mask, b, t)) {
      // The state passes through; the output's gradient goes to the previous output.
      for (int64_t j = 0; j < nh; ++j) {
        cr[j] = d.zero_output_for_mask ? T(0) : cr[j] + (dyr ? dyr[j] : T(0));
      }
      std::memset(dx, 0, sizeof(T) * gh);
      if (c.after) std::memset(di, 0, sizeof(T) * gh);
      return;
    }
    if constexpr (std::is_same_v<T, float>) {
      if (lk) {
        lk->backward_row(nh, gt + b * gh, et + b * nh, cp + b * nh, dyr, dhr, cr, dcr, dx);
        return;
      }
      if (gk) {
        gk->backward_row(nh, gt + b * gh, et + b * nh, hp + b * nh, dyr, dhr, cr, dx, di);
        return;
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
  };

  if (proj_loop) {
    // The saved rows of a group's next step, fetched into L2 while the step's products run.
    auto prefetch = [&](int64_t b0, int64_t rows, int64_t s) {
      auto pf = [](const T* p, int64_t n) {
        const char* b = reinterpret_cast<const char*>(p);
        for (int64_t i = 0; i < n * static_cast<int64_t>(sizeof(T)); i += 64)
          __builtin_prefetch(b + i, 0, 2);
      };
      const int64_t t = c.time(s);
      pf(gates + (t * nb + b0) * gh, rows * gh);
      if (extra) pf(extra + t * bh + b0 * nh, rows * nh);
      if (c.lstm) pf(cstates + c.slot_prev(s) * bh + b0 * nh, rows * nh);
      pf(states + c.slot_prev(s) * bh + b0 * nh, rows * nh);
    };
    backward_projected(c, put.get(), pwt.get(), row_grad, prefetch, states, x, dxw_out,
                       dh.data(), dw, du, db, drb);
  } else {
    for_row_blocks(d, nb, put ? put->mr() : 8, [&](int64_t b0, int64_t b1) {
    const int64_t rb_rows = b1 - b0;
    std::vector<T> dhn(static_cast<size_t>(nh));
    for (int64_t s = nt - 1; s >= 0; --s) {
      const int64_t t = c.time(s);
      const T* hp = states + c.slot_prev(s) * bh;
      const T* gt = gates + t * nb * gh;
      T* dxt = dxw + t * nb * gh;
      T* dit = dinner + t * nb * gh;
      for (int64_t b = b0; b < b1; ++b) row_grad(b, s, t, dxt + b * gh, dit + b * gh, dhn.data());
      if (c.before) {
        // d(r * h_prev * m_h) from the h columns, then r's gradient and the direct path to
        // h_prev.
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
  }
  std::memcpy(dh0, dh.data(), sizeof(T) * bh);
  if (c.lstm) std::memcpy(dc0, dc.data(), sizeof(T) * bh);
  if (proj_loop) return;  // the weight gradients were summed in the loop
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
  // Column sums over every step and row: blocks of columns in parallel, rows in order (one
  // summation order on any thread count), each block's rows read along the row.
  auto col_sums = [&](const T* src, T* out) {
    auto sums = [&](int64_t j0, int64_t j1) {
      std::fill(out + j0, out + j1, T(0));
      for (int64_t r = 0; r < rows; ++r) {
        const T* __restrict row = src + r * gh;
        T* __restrict o = out;
        for (int64_t j = j0; j < j1; ++j) o[j] += row[j];
      }
    };
    if (d.reference) sums(0, gh);
    else parallel_for(0, gh, 64, sums);
  };
  if (drb) col_sums(dinner, drb);
  if (!d.project) return;
  // The input projection's gradients from dxw (T, B, G*H).
  if (db) col_sums(dxw, db);
  // dw = x^T @ dxw and dx = dxw @ w^T, each one product over all T * B rows (time-major).
  const Scratch<T> copy(d.batch_major ? rows * nf : 0, "rnn_sequence");
  mm<T>(d.reference, nf, gh, rows, time_major_x(c, x, copy), 1, nf, dxw, gh, 1, dw);
  if (dxw_out) {
    if (!d.batch_major) {
      mm<T>(d.reference, rows, nf, gh, dxw, gh, 1, w, 1, gh, dxw_out);
      return;
    }
    const Scratch<T> dx_tm(rows * nf, "rnn_sequence");
    mm<T>(d.reference, rows, nf, gh, dxw, gh, 1, w, 1, gh, dx_tm.data());
    for (int64_t t = 0; t < nt; ++t)
      for (int64_t b = 0; b < nb; ++b)
        std::memcpy(dxw_out + c.row(t, b) * nf, dx_tm.data() + (t * nb + b) * nf,
                    sizeof(T) * nf);
  }
}

template <class T>
void dispatch_forward(const RnnDims& d, const void* xw, const void* h0, const void* c0,
                      const void* u, const void* rb, const bool* mask, const void* rdrop,
                      void* y, void* h_last, void* c_last, void* gates, void* states,
                      void* cstates, void* aop, void* extra, const void* w, const void* bias) {
  forward_impl<T>(d, static_cast<const T*>(xw), static_cast<const T*>(h0),
                  static_cast<const T*>(c0), static_cast<const T*>(u),
                  static_cast<const T*>(rb), mask, static_cast<const T*>(rdrop),
                  static_cast<T*>(y), static_cast<T*>(h_last), static_cast<T*>(c_last),
                  static_cast<T*>(gates), static_cast<T*>(states), static_cast<T*>(cstates),
                  static_cast<T*>(aop), static_cast<T*>(extra), static_cast<const T*>(w),
                  static_cast<const T*>(bias));
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

const RnnRowKernels* rnn_row_kernels() {
#if defined(__x86_64__) || defined(_M_X64)
  if (cpu_isa_at_least(CpuIsa::Avx512)) {
    static const RnnRowKernels k = avx512::rnn_row_kernels();
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
                 void* aop, void* extra, const void* w, const void* bias) {
  if (dtype == DType::Float64) {
    dispatch_forward<double>(d, xw, h0, c0, u, rb, mask, rdrop, y, h_last, c_last, gates,
                             states, cstates, aop, extra, w, bias);
  } else {
    dispatch_forward<float>(d, xw, h0, c0, u, rb, mask, rdrop, y, h_last, c_last, gates, states,
                            cstates, aop, extra, w, bias);
  }
}

void rnn_backward(DType dtype, const RnnDims& d, const void* u, const bool* mask,
                  const void* rdrop, const void* gates, const void* states, const void* cstates,
                  const void* aop, const void* extra, const void* dy, const void* dh_last,
                  const void* dc_last, void* dxw, void* dh0, void* dc0, void* du, void* drb,
                  const void* x, const void* w, void* dw, void* db) {
  auto run = [&](auto tag, auto ag, auto rg) {
    using T = decltype(tag);
    backward_impl<T>(d, ag, rg, static_cast<const T*>(u), mask, static_cast<const T*>(rdrop),
                     static_cast<const T*>(gates), static_cast<const T*>(states),
                     static_cast<const T*>(cstates), static_cast<const T*>(aop),
                     static_cast<const T*>(extra), static_cast<const T*>(dy),
                     static_cast<const T*>(dh_last), static_cast<const T*>(dc_last),
                     static_cast<T*>(dxw), static_cast<T*>(dh0), static_cast<T*>(dc0),
                     static_cast<T*>(du), static_cast<T*>(drb), static_cast<const T*>(x),
                     static_cast<const T*>(w), static_cast<T*>(dw), static_cast<T*>(db));
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
