#pragma once
// The backward rule of the fused recurrent sequence (grad_rules_rnn.cpp).

#include <corten/tensor.h>

#include <memory>
#include <vector>

#include "ops/rnn_saved.h"

namespace corten::autograd {

/// Records rnn_sequence: inputs {xw, h0, c0, recurrent_kernel, recurrent_bias, kernel, bias} as
/// given, outputs {y, h_T[, c_T]}; the backward runs the fused kernel from `saved`.
void record_rnn_sequence(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs,
                         std::shared_ptr<const detail::RnnSaved> saved);

}  // namespace corten::autograd
