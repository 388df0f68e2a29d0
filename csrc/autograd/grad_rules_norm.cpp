#include "autograd/grad_rules.h"
#include "autograd/registry.h"

namespace corten::autograd {
namespace {

const bool kRegistered = register_ops({"batch_norm"});

}  // namespace

void record_batch_norm(const Tensor& x, const Tensor& x_contiguous, const Tensor& gamma,
                       const Tensor& beta, const Tensor& mean, const Tensor& invstd, int64_t axis,
                       bool training, const Tensor& out) {
  // The moving statistics are not inputs of the tape: Keras does not differentiate them (they
  // are non-trainable) and the batch statistics' dependence on x is in the training backward.
  record("batch_norm", {x, gamma, beta}, {out}, [&]() -> BackwardFn {
    // One fused backward kernel from the saved statistics; not recorded itself (first
    // derivatives only).
    return [xc = x_contiguous, gamma, mean, invstd, axis, training](const std::vector<Tensor>& g) {
      return batch_norm_backward(xc, gamma, mean, invstd, g[0], axis, training,
                                 needs_input_grad(0), needs_input_grad(1), needs_input_grad(2));
    };
  });
}

}  // namespace corten::autograd
