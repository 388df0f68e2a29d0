#pragma once
// Fused per-row LSTM and GRU gate kernels (float32, activation tanh, recurrent activation
// sigmoid: the tf.keras defaults) for ISAs with vector exp/tanh/sigmoid; see Note [Recurrent
// kernel] in cpu/rnn.cpp. One call handles one batch row of one step; rows are independent.

#include <cstdint>

namespace corten::cpu {

struct LstmGateKernels {
  // pre = (x + xb) + in (4 * nh values, gates i, f, c, o; xb the input bias or null; in null:
  // pre = x + xb, the recurrent product already summed into x); g =
  // (sigmoid(i), sigmoid(f), tanh(c), sigmoid(o)); cn = g_f * cp + g_i * g_c; ac = tanh(cn);
  // hn = g_o * ac.
  void (*forward_row)(int64_t nh, const float* x, const float* xb, const float* in,
                      const float* cp, float* g, float* cn, float* ac, float* hn);
  // dhn = dh + carry + dy (dy may be null); dh and carry are then zeroed; dct = dc + dhn * g_o *
  // (1 - ac^2); dx = the gradients of the four pre-activations; dc = dct * g_f.
  void (*backward_row)(int64_t nh, const float* g, const float* ac, const float* cp,
                       const float* dy, float* dh, float* carry, float* dc, float* dx);
};

// GRU with reset_after (gates z, r, h; rb the recurrent bias or null).
struct GruGateKernels {
  // With x' = x + xb (xb the input bias or null): z, r = sigmoid(x' + in + rb) (first 2 * nh
  // values); ih = in_h + rb_h; g_h = tanh(x'_h + r * ih); hn = z * hp + (1 - z) * g_h.
  void (*forward_row)(int64_t nh, const float* x, const float* xb, const float* in,
                      const float* rb, const float* hp, float* g, float* ih, float* hn);
  // dhn = dh + carry + dy (dy may be null), carry zeroed; dx = the gradients of the three input
  // pre-activations, di those of the recurrent product's columns; dh = dhn * z.
  void (*backward_row)(int64_t nh, const float* g, const float* ih, const float* hp,
                       const float* dy, float* dh, float* carry, float* dx, float* di);
};

// The backward's per-row glue of the projected sequence (Note [Input projection in the
// sequence]), float32.
struct RnnRowKernels {
  // sum[j] += src[r * ld + j] for r < rows in order, j < n.
  void (*sum_rows)(int64_t n, int64_t rows, const float* src, int64_t ld, float* sum);
  // Row r (src[r * ld + j], j < n) to row p0 + r of panels of w columns (w = 8, 16, 32 or
  // 64): column j at dst + (j / w) * stride + (p0 + r) * w + j % w; a partial last panel's
  // columns past n are not written.
  void (*pack_rows)(int64_t n, int64_t rows, const float* src, int64_t ld, int64_t w,
                    int64_t p0, int64_t stride, float* dst);
};

/// The fused kernels of the ISA in use, or null where there are none (the generic loops run).
const LstmGateKernels* lstm_gate_kernels();
const GruGateKernels* gru_gate_kernels();
const RnnRowKernels* rnn_row_kernels();

namespace avx512 {
LstmGateKernels lstm_gate_kernels();
GruGateKernels gru_gate_kernels();
RnnRowKernels rnn_row_kernels();
}  // namespace avx512

}  // namespace corten::cpu
