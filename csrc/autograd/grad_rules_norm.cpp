#include "autograd/grad_rules.h"
#include "autograd/registry.h"

namespace corten::autograd {
namespace {

const bool kRegistered = register_ops({"batch_norm", "group_norm", "unit_norm"});

}  // namespace

void record_batch_norm(const Tensor& x, const Tensor& x_contiguous, const Tensor& mask,
                       const Tensor& gamma, const Tensor& beta, const Tensor& mean,
                       const Tensor& invstd, int64_t axis, bool training, const Tensor& out) {
  // The moving statistics are not inputs of the tape: Keras does not differentiate them (they
  // are non-trainable) and the batch statistics' dependence on x is in the training backward.
  record("batch_norm", {x, gamma, beta}, {out}, [&]() -> BackwardFn {
    // One fused backward kernel from the saved statistics; not recorded itself (first
    // derivatives only).
    // dbeta takes beta's shape (the kernel gives gamma's, or (C,) without gamma).
    const Shape beta_shape = beta.defined() ? beta.shape() : Shape{};
    return [xc = x_contiguous, mask, gamma, mean, invstd, axis, training,
            beta_shape](const std::vector<Tensor>& g) {
      std::vector<Tensor> out =
          batch_norm_backward(xc, gamma, mean, invstd, g[0], axis, training, needs_input_grad(0),
                              needs_input_grad(1), needs_input_grad(2), mask);
      if (out[2].defined() && out[2].shape() != beta_shape) out[2] = reshape(out[2], beta_shape);
      return out;
    };
  });
}

void record_group_norm(const Tensor& x, const Tensor& x_contiguous, const Tensor& gamma,
                       const Tensor& beta, const Tensor& mean, const Tensor& rstd, int64_t groups,
                       int64_t axis, const Tensor& out) {
  record("group_norm", {x, gamma, beta}, {out}, [&]() -> BackwardFn {
    const Shape beta_shape = beta.defined() ? beta.shape() : Shape{};
    return [xc = x_contiguous, gamma, mean, rstd, groups, axis,
            beta_shape](const std::vector<Tensor>& g) {
      std::vector<Tensor> out =
          group_norm_backward(xc, gamma, mean, rstd, g[0], groups, axis, needs_input_grad(0),
                              needs_input_grad(1), needs_input_grad(2));
      if (out[2].defined() && out[2].shape() != beta_shape) out[2] = reshape(out[2], beta_shape);
      return out;
    };
  });
}

void record_unit_norm(const Tensor& x, const Tensor& x_contiguous, const Tensor& inv,
                      const Tensor& cube, const Tensor& out) {
  record("unit_norm", {x}, {out}, [&]() -> BackwardFn {
    return [xc = x_contiguous, inv, cube](const std::vector<Tensor>& g) {
      return std::vector<Tensor>{unit_norm_backward(xc, inv, cube, g[0])};
    };
  });
}

}  // namespace corten::autograd
