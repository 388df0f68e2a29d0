#pragma once
// CPU kernels of the fused recurrent layers (SimpleRNN, LSTM, GRU): a whole sequence forward
// and its backward through time. Callers have validated dtypes (float32/float64) and shapes;
// every pointer is contiguous. See Note [Fused recurrent sequence] in cpu/rnn.cpp.

#include <corten/dtype.h>

#include <cstdint>

namespace corten::cpu {

/// The recurrent cell of a fused sequence, with its gates in tf.keras order.
enum class RnnCell : uint8_t {
  Simple,          // 1 gate:  h = act(x_t + h U)
  Lstm,            // 4 gates: i, f, c, o
  GruResetAfter,   // 3 gates: z, r, h; r applied after the recurrent product (+ recurrent bias)
  GruResetBefore,  // 3 gates: z, r, h; r applied to h before the recurrent product
};

/// The activations the fused kernels support (their derivatives are taken from the output).
enum class RnnAct : uint8_t { Linear, Tanh, Sigmoid, Relu, HardSigmoid };

/// Gates per cell: 1, 4, 3, 3.
int64_t rnn_num_gates(RnnCell cell);
/// Number of recurrent-product operand groups (Note [Fused recurrent sequence]).
int64_t rnn_num_groups(RnnCell cell, bool recurrent_dropout);

struct RnnDims {
  RnnCell cell;
  int64_t steps, batch, units;  // T, B, H; G = rnn_num_gates(cell)
  RnnAct act, rec_act;
  bool go_backwards;
  bool zero_output_for_mask;
  bool reference;  // plain loops and scalar math (the reference the fast path is tested against)
  // The op projects its input itself (Note [Input projection in the sequence]): `xw` is then
  // the input x, (T, B, F) or (B, T, F), and the kernel w (F, G*H) and bias (G*H,) are given.
  bool project = false;
  int64_t features = 0;  // F
  // x, y, dy and dx are batch-major (B, T, .) instead of time-major (T, B, .); only with
  // project.
  bool batch_major = false;
};

// Forward. xw: (T, B, G*H) input projections (bias included) in input time order; h0, c0:
// (B, H) (c0 only for LSTM); u: (H, G*H); rb: (G*H,) recurrent bias (GruResetAfter) or null;
// mask: (B, T) or null; rdrop: (G, B, H) recurrent dropout masks (one per gate) or null.
// Outputs: y: (T, B, H) in step order; h_last, c_last: (B, H) (c_last LSTM only).
// Saved for the backward, indexed by input time t: gates (T, B, G*H) activated gates;
// states (T+1, B, H) and cstates (T+1, B, H) (LSTM) hold the state sequence (Note);
// aop (groups, T, B, H) the recurrent-product operands when they are not the states (rdrop or
// GruResetBefore), else null; extra (T, B, H): LSTM act(c), GruResetAfter h U_h + rb_h.
// With d.project: xw is x, w (F, G*H) the input kernel, bias (G*H,) or null; y follows x's
// layout (batch_major). y may be null when there is no mask (the outputs are then the states).
void rnn_forward(DType dtype, const RnnDims& d, const void* xw, const void* h0, const void* c0,
                 const void* u, const void* rb, const bool* mask, const void* rdrop, void* y,
                 void* h_last, void* c_last, void* gates, void* states, void* cstates,
                 void* aop, void* extra, const void* w = nullptr, const void* bias = nullptr);

// Backward through time from the forward's saved buffers. dy: (T, B, H) or null; dh_last,
// dc_last: (B, H) or null. Outputs: dxw (T, B, G*H), dh0 (B, H), dc0 (B, H) (LSTM), du (H, G*H),
// drb (G*H,) (GruResetAfter with a recurrent bias, else null).
// With d.project: x and w are the forward's input and kernel, dy follows x's layout, and the
// outputs are dx (x's shape; null when not wanted) in place of dxw, dw (F, G*H) and db (G*H,;
// null without a bias).
void rnn_backward(DType dtype, const RnnDims& d, const void* u, const bool* mask,
                  const void* rdrop, const void* gates, const void* states, const void* cstates,
                  const void* aop, const void* extra, const void* dy, const void* dh_last,
                  const void* dc_last, void* dxw, void* dh0, void* dc0, void* du, void* drb,
                  const void* x = nullptr, const void* w = nullptr, void* dw = nullptr,
                  void* db = nullptr);

}  // namespace corten::cpu
