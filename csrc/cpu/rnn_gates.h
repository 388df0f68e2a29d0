#pragma once
// Fused per-row LSTM and GRU gate kernels (float32, activation tanh, recurrent activation
// sigmoid: the tf.keras defaults) for ISAs with vector exp/tanh/sigmoid; see Note [Recurrent
// kernel] in cpu/rnn.cpp. One call handles one batch row of one step; rows are independent.

#include <cstdint>

namespace corten::cpu {

struct LstmGateKernels {
  // pre = x + in (4 * nh values, gates i, f, c, o); g = (sigmoid(i), sigmoid(f), tanh(c),
  // sigmoid(o)); cn = g_f * cp + g_i * g_c; ac = tanh(cn); hn = g_o * ac.
  void (*forward_row)(int64_t nh, const float* x, const float* in, const float* cp, float* g,
                      float* cn, float* ac, float* hn);
  // dhn = dh + carry + dy (dy may be null); dh and carry are then zeroed; dct = dc + dhn * g_o *
  // (1 - ac^2); dx = the gradients of the four pre-activations; dc = dct * g_f.
  void (*backward_row)(int64_t nh, const float* g, const float* ac, const float* cp,
                       const float* dy, float* dh, float* carry, float* dc, float* dx);
};

// GRU with reset_after (gates z, r, h; rb the recurrent bias or null).
struct GruGateKernels {
  // z, r = sigmoid(x + in + rb) (first 2 * nh values); ih = in_h + rb_h; g_h = tanh(x_h + r *
  // ih); hn = z * hp + (1 - z) * g_h.
  void (*forward_row)(int64_t nh, const float* x, const float* in, const float* rb,
                      const float* hp, float* g, float* ih, float* hn);
  // dhn = dh + carry + dy (dy may be null), carry zeroed; dx = the gradients of the three input
  // pre-activations, di those of the recurrent product's columns; dh = dhn * z.
  void (*backward_row)(int64_t nh, const float* g, const float* ih, const float* hp,
                       const float* dy, float* dh, float* carry, float* dx, float* di);
};

/// The fused kernels of the ISA in use, or null where there are none (the generic loops run).
const LstmGateKernels* lstm_gate_kernels();
const GruGateKernels* gru_gate_kernels();

namespace avx512 {
LstmGateKernels lstm_gate_kernels();
GruGateKernels gru_gate_kernels();
}  // namespace avx512

}  // namespace corten::cpu
