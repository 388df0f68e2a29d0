#include "autograd/grad_rules_rnn.h"

#include <corten/autograd.h>

#include <utility>

#include "autograd/registry.h"

namespace corten::autograd {
namespace {

const bool kRegistered = register_ops({"rnn_sequence"});

}  // namespace

void record_rnn_sequence(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs,
                         std::shared_ptr<const detail::RnnSaved> saved) {
  record("rnn_sequence", inputs, outputs, [&]() -> BackwardFn {
    // One fused backward through time from the saved gates and states; not recorded itself,
    // so the sequence has first derivatives only.
    return [saved = std::move(saved)](const std::vector<Tensor>& g) {
      return detail::rnn_sequence_backward(*saved, g);
    };
  });
}

}  // namespace corten::autograd
