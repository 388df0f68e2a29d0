#include "autograd/grad_rules.h"
#include "autograd/registry.h"

namespace corten::autograd {
namespace {

const bool kRegistered = register_ops({"dropout", "layer_norm", "scaled_dot_product_attention"});

}  // namespace

void record_dropout(const Tensor& x, double rate, const Shape& noise_shape, PhiloxSeed seed,
                    const Tensor& out) {
  record("dropout", {x}, {out}, [&]() -> BackwardFn {
    // out = x * mask / (1 - rate) is linear in x: the same key and offset regenerate the same
    // mask, so dropout of the gradient applies exactly the forward's mask and scale.
    return [rate, noise_shape, seed](const std::vector<Tensor>& g) {
      return std::vector<Tensor>{dropout(g[0], rate, noise_shape, seed)};
    };
  });
}

void record_dropout(const Tensor& x, double rate, const Shape& noise_shape, const Tensor& seed,
                    const Tensor& out) {
  record("dropout", {x}, {out}, [&]() -> BackwardFn {
    // As above, from the forward's seed tensor (a traced plan's backward then reads the seed
    // its forward drew on the same replay).
    return [rate, noise_shape, seed](const std::vector<Tensor>& g) {
      return std::vector<Tensor>{dropout(g[0], rate, noise_shape, seed)};
    };
  });
}

void record_layer_norm(const Tensor& x, const Tensor& x_contiguous, const Tensor& gamma,
                       const Tensor& beta, const Tensor& mean, const Tensor& rstd,
                       const Tensor& out) {
  record("layer_norm", {x, gamma, beta}, {out}, [&]() -> BackwardFn {
    // One fused backward kernel from the saved statistics; it is not recorded itself, so
    // layer_norm has first derivatives only.
    return [xc = x_contiguous, gamma, mean, rstd](const std::vector<Tensor>& g) {
      return layer_norm_backward(xc, gamma, mean, rstd, g[0], needs_input_grad(0),
                                 needs_input_grad(1), needs_input_grad(2));
    };
  });
}

void record_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                      const Tensor& seed, const Tensor& out, const Tensor& lse, bool causal,
                      double scale, double rate, bool reference) {
  record("scaled_dot_product_attention", {q, k, v}, {out}, [&]() -> BackwardFn {
    // One fused backward that recomputes the probabilities from the saved lse and regenerates
    // the dropout mask from the same seed tensor; not recorded itself (first derivatives only).
    return [q, k, v, mask, seed, out, lse, causal, scale, rate,
            reference](const std::vector<Tensor>& g) {
      return scaled_dot_product_attention_backward(q, k, v, mask, out, lse, g[0], seed, causal,
                                                   scale, rate, reference, needs_input_grad(0),
                                                   needs_input_grad(1), needs_input_grad(2));
    };
  });
}

}  // namespace corten::autograd
