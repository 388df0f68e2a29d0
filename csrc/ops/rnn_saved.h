#pragma once
// What the fused recurrent sequence's backward reads (csrc/ops/rnn.cpp, its grad rule in
// csrc/autograd/grad_rules_rnn.cpp).

#include <corten/tensor.h>
#include <corten/trace_attrs.h>

#include <vector>

#include "cpu/rnn.h"

namespace corten::detail {

struct RnnSaved {
  cpu::RnnDims dims;
  Tensor u, mask, rdrop;                         // contiguous copies of the inputs
  Tensor x, w;                                   // with dims.project: the input and kernel
  Tensor gates, states, cstates, aop, extra;     // the forward's saved buffers
  bool has_recurrent_bias = false;
  bool has_bias = false;                         // with dims.project: an input bias
  bool return_sequences = true;                  // else y is the last output only
};

/// A traced node's attributes of a RnnSaved: its configuration (Note [Node attributes]).
void append_attr(std::vector<trace::Attr>& attrs, const RnnSaved& saved);

/// The tensors of `saved`: u, mask, rdrop, x, w, gates, states, cstates, aop, extra.
std::vector<Tensor> saved_tensors(const RnnSaved& saved);

/// {dxw, dh0, dc0, drecurrent_kernel, drecurrent_bias, dkernel, dbias} from the gradients of
/// {y, h_T[, c_T]}: dxw is dx with dims.project; dc0, drecurrent_bias, dkernel and dbias are
/// undefined where the cell or the call has none.
std::vector<Tensor> rnn_sequence_backward(const RnnSaved& saved, const std::vector<Tensor>& g);

}  // namespace corten::detail
