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
// Third round (LSTM(128), batch 32, 100 steps, forward + backward at 2 threads: the products
// ran at the micro-kernel's speed, 235-240 GFLOP/s a core, and were 76% of the time):
//   - The fused LSTM forward's two per-step products, h_{t-1} @ U then x_t @ W accumulated
//     into the same tile, are one call of a two-operand 8x32 tile (cpu/rnn_gemm.h,
//     mm_packed_sum): 16 accumulators summed over both, then one store. Each micro-kernel call
//     costs about 70 cycles of set-up and C-tile round trip, and x_t @ W (k = 64) alone ran at
//     215 GFLOP/s against 240 at k = 512: the forward made 64 calls per step and thread, now
//     32. The pre-activation is now one running sum over both products (a different rounding,
//     within the tests' tolerances, the same on any thread count). 1% off the layer at 1 and
//     2 threads (9.64 -> 9.53 ms and 5.09 -> 5.03 ms, minimum of 5 rounds, A/B alternated).
//   - The backward's block products (dW, dU: 384 micro-kernel calls of k = 128 per block of 8
//     steps and row group) run every A panel of a B panel in one call of a multi-panel kernel
//     (cpu/rnn_gemm.h: the same sums in the same order, bit for bit; the next panel's C tile
//     fetched during the current one): 2.5% less time in those products, 0.5-1% of the layer.
//   - The backward's block A panels (x^T and h_prev^T, kmax * MR elements each: 4 KB at batch
//     32) are one cache line apart more, so that the per-row packing's stores do not all fall
//     into one L1 set; the final sum of the groups' weight gradients is vectorised (it was
//     scalar: the compiler could not rule out aliasing). 13 us less per call (0.25 -> 0.22 ms
//     at 1 step, 2 threads).
//   Together (the layer's step in a loop, A/B alternated): 2 threads 5.06-5.15 -> 4.95-5.02 ms,
//   1 thread 9.73-9.92 -> 9.47-9.56 ms; GRU and SimpleRNN 2-3% faster too (the block-product
//   kernel is theirs as well); bench/results/lstm-t100-2026-12-06.txt has the bench's runs
//   (PyTorch / corten 1.53-1.62x at 100 steps, PyTorch's time moving by 5-10% between runs).
//   Tried and not kept: prefetching the next row's saved gates into L1 in the backward gate
//   rows; dh, dc and the carry in one buffer with starts off 4 KB multiples (no 4K-aliasing
//   stalls showed); the row kernels' full vectors without a test of the vector length per
//   load and store; block depth 256 (1% slower); prefetching the saved rows two steps ahead;
//   giving the calling thread the first row block in the forward and the first row group in
//   the backward (the pool hands chunks out first come, first served, so the rows' forward
//   data is in the other core's L2 half the time: the backward gate rows cost a third more at
//   2 threads than at 1, but pinning the rows gained nothing measurable). The rest: forward gate rows 5%, backward gate rows 4%
//   (waiting on the saved gates' loads), row packing and bias sums 2%, and per call about
//   0.15 ms of the layer's Python, the tape and packing the weights, which the second thread
//   does not share.
// The plain reference kernel (RnnDims::reference) keeps the unpacked loops and scalar math.

#include "cpu/rnn.h"

#include "cpu/rnn_internal.h"

namespace corten::cpu {

using namespace rnn_detail;  // NOLINT(google-build-using-namespace): this file's own helpers

namespace {

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
      if (pu && merged) {
        mm_packed_sum(*pu, rb_rows, a, nh, *pw, xw_in + c.row(t, b0) * nf,
                      c.row_stride() * nf, inner.data() + b0 * gh, gh);
      } else if (pu) {
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
          for (int64_t j = 0; j < nh; ++j) hr[j] = gru_state(z[j], hpr[j], hh[j]);
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
        for (int64_t j = 0; j < nh; ++j) cr[j] = lstm_cell(gf[j], cpr[j], gi[j], gc[j]);
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
          for (int64_t j = 0; j < nh; ++j) hr[j] = gru_state(z[j], hpr[j], hh[j]);
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

const RnnDualKernels* rnn_dual_kernels() {
#if defined(__x86_64__) || defined(_M_X64)
  if (cpu_isa_at_least(CpuIsa::Avx512)) {
    static const RnnDualKernels k = avx512::rnn_dual_kernels();
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

}  // namespace corten::cpu
