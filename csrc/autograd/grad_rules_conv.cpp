// Backward rules of the convolutions. conv and conv_transpose are each other's adjoints in
// their input, so each one's input gradient is the other op (recorded, hence differentiable
// again); the kernel gradient is conv_backward_filter (first derivatives only).

#include "autograd/grad_rules.h"
#include "autograd/registry.h"

namespace corten::autograd {
namespace {

const bool kRegistered = register_ops({"conv", "conv_transpose"});

// sum of g over every axis but the channels'.
Tensor bias_grad(const Tensor& g, const ConvOptions& o) {
  const int64_t r = g.ndim();
  std::vector<int64_t> axes;
  for (int64_t i = 0; i < r; ++i)
    if (i != (o.channels_last ? r - 1 : 1)) axes.push_back(i);
  return reduce(ReduceOp::Sum, g, axes, false);
}

std::vector<int64_t> spatial_of(const Tensor& t, const ConvOptions& o) {
  const int64_t nd = t.ndim() - 2;
  const int64_t first = o.channels_last ? 1 : 2;
  return std::vector<int64_t>(t.shape().begin() + first, t.shape().begin() + first + nd);
}

}  // namespace

void record_conv(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvOptions& o,
                 Activation act, const Tensor& out) {
  record("conv", {x, w, bias}, {out}, [&]() -> BackwardFn {
    return [x, w, bias, o, act, out](const std::vector<Tensor>& grads) {
      const Tensor gz = grad_before_activation(act, out, grads[0], [&] {
        return conv(x, w, bias, o, Activation::Identity);
      });
      Tensor gx, gw, gb;
      if (needs_input_grad(0)) gx = conv_transpose(gz, w, Tensor(), spatial_of(x, o), o);
      if (needs_input_grad(1)) gw = conv_backward_filter(x, gz, w.shape(), o);
      if (bias.defined() && needs_input_grad(2)) gb = bias_grad(gz, o);
      return std::vector<Tensor>{gx, gw, gb};
    };
  });
}

void record_conv_transpose(const Tensor& x, const Tensor& w, const Tensor& bias,
                           const ConvOptions& o, Activation act, const Tensor& out) {
  record("conv_transpose", {x, w, bias}, {out}, [&]() -> BackwardFn {
    return [x, w, bias, o, act, out](const std::vector<Tensor>& grads) {
      const Tensor gz = grad_before_activation(act, out, grads[0], [&] {
        return conv_transpose(x, w, bias, spatial_of(out, o), o, Activation::Identity);
      });
      Tensor gx, gw, gb;
      if (needs_input_grad(0)) gx = conv(gz, w, Tensor(), o);
      // out = C_w^T x, so <g, out> = <C_w g, x>: the kernel gradient of conv(g, w) against x.
      if (needs_input_grad(1)) gw = conv_backward_filter(gz, x, w.shape(), o);
      if (bias.defined() && needs_input_grad(2)) gb = bias_grad(gz, o);
      return std::vector<Tensor>{gx, gw, gb};
    };
  });
}

}  // namespace corten::autograd
