#include "autograd/grad_rules_losses.h"

#include "autograd/registry.h"

namespace corten::autograd {
namespace {

const bool kRegistered =
    register_ops({"softmax_cross_entropy_with_logits", "sparse_softmax_cross_entropy_with_logits",
                  "sigmoid_cross_entropy_with_logits"});

}  // namespace

void record_softmax_cross_entropy(const Tensor& labels, const Tensor& logits, int64_t axis,
                                  const Tensor& out) {
  record("softmax_cross_entropy_with_logits", {labels, logits}, {out}, [&]() -> BackwardFn {
    return [labels, logits, axis](const std::vector<Tensor>& grads) {
      // loss = sum(y) * logsumexp(z) - sum(y * z):
      //   dz = g * (softmax(z) * sum(y) - y),  dy = g * -log_softmax(z).
      const Tensor g = expand_dims(grads[0], axis);
      const Tensor y_sum = reduce(ReduceOp::Sum, labels, {axis}, true, false);
      const Tensor dz = multiply(g, subtract(multiply(softmax(logits, axis), y_sum), labels));
      const Tensor dy = multiply(g, negative(log_softmax(logits, axis)));
      return std::vector<Tensor>{dy, dz};
    };
  });
}

void record_sparse_softmax_cross_entropy(const Tensor& labels, const Tensor& logits,
                                         int64_t axis, const Tensor& out) {
  record("sparse_softmax_cross_entropy_with_logits", {labels, logits}, {out}, [&]() -> BackwardFn {
    return [labels, logits, axis](const std::vector<Tensor>& grads) {
      // loss = logsumexp(z) - z[label]:  dz = g * (softmax(z) - one_hot(label)), in one
      // pass unless a tape records this gradient (the fused op has no gradient).
      if (!is_recording()) {
        return std::vector<Tensor>{
            Tensor(), sparse_softmax_cross_entropy_grad(labels, logits, grads[0], axis)};
      }
      const Tensor g = expand_dims(grads[0], axis);
      const int64_t depth = logits.shape()[static_cast<size_t>(axis)];
      const Tensor hot = one_hot(labels, depth, 1.0, 0.0, axis, logits.dtype());
      const Tensor dz = multiply(g, subtract(softmax(logits, axis), hot));
      return std::vector<Tensor>{Tensor(), dz};
    };
  });
}

void record_sigmoid_cross_entropy(const Tensor& labels, const Tensor& logits, const Tensor& out) {
  record("sigmoid_cross_entropy_with_logits", {labels, logits}, {out}, [&]() -> BackwardFn {
    return [labels, logits](const std::vector<Tensor>& grads) {
      // loss = max(z, 0) - z * y + log1p(exp(-|z|)):  dz = g * (sigmoid(z) - y),  dy = -g * z.
      const Tensor& g = grads[0];
      const Tensor dz = multiply(g, subtract(sigmoid(logits), labels));
      const Tensor dy = negative(multiply(g, logits));
      return std::vector<Tensor>{dy, dz};
    };
  });
}

}  // namespace corten::autograd
