#pragma once
/// Fused recurrent sequences (the SimpleRNN, LSTM and GRU layers): one op runs every time step
/// of a sequence, forward and backward, from precomputed input projections.

#include <corten/tensor.h>

#include <string>
#include <vector>

namespace corten {

/// The recurrence of a whole sequence, Keras gate order (Note [Fused recurrent sequence]).
///
/// cell: "simple_rnn", "lstm", "gru" (reset_after=True) or "gru_reset_before"; G gates (1, 4,
/// 3, 3). xw: (T, B, G*H) the input projections x_t @ kernel + bias, time-major in input time
/// order. h0, c0: (B, H) initial states (c0 for "lstm" only, else undefined). recurrent_kernel:
/// (H, G*H). recurrent_bias: (G*H,) for "gru" or undefined. mask: bool (B, T) or undefined.
/// recurrent_dropout: (G, B, H) masks (one per gate, scaled) or undefined. activation and
/// recurrent_activation: "tanh", "sigmoid", "relu", "hard_sigmoid" or "linear".
/// Returns {y (T, B, H) the outputs in processing order, h_T (B, H)} plus c_T for "lstm".
/// float32 and float64; differentiable in xw, h0, c0, recurrent_kernel and recurrent_bias
/// (first derivatives). reference: run the plain reference kernels (for tests).
///
/// With `kernel` (F, G*H) defined, the op projects its input itself: xw is then the input x,
/// (T, B, F), and the projections are x_t @ kernel + bias (bias (G*H,) or undefined); the op is
/// also differentiable in kernel and bias. batch_major (only with kernel): x is (B, T, F) and y
/// (B, T, H). See Note [Input projection in the sequence] in csrc/cpu/rnn.cpp.
/// return_sequences false: y is the last step's output only, (B, H) (without a mask, the
/// outputs are not stored at all).
std::vector<Tensor> rnn_sequence(const std::string& cell, const Tensor& xw, const Tensor& h0,
                                 const Tensor& c0, const Tensor& recurrent_kernel,
                                 const Tensor& recurrent_bias, const Tensor& mask,
                                 const Tensor& recurrent_dropout, const std::string& activation,
                                 const std::string& recurrent_activation, bool go_backwards,
                                 bool zero_output_for_mask, bool reference = false,
                                 const Tensor& kernel = Tensor(), const Tensor& bias = Tensor(),
                                 bool batch_major = false, bool return_sequences = true);

}  // namespace corten
