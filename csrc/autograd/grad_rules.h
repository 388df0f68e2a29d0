#pragma once
// Backward rules, one per differentiable op. Each op entry point calls its record_* function
// after computing its output, behind the cheap `autograd::is_recording()` check:
//
//   if (autograd::is_recording()) autograd::record_binary(op, a, b, out);
//
// Rules are written with the public ops, so the backward pass is itself recorded by any outer
// tape (higher-order gradients) and shares the forward kernels.

#include <corten/autograd.h>
#include <corten/ops.h>

#include <vector>

namespace corten::autograd {

// Elementwise (grad_rules_elementwise.cpp).
void record_unary(UnaryOp op, const Tensor& x, const Tensor& out, double alpha);
void record_binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out);
void record_where(const Tensor& cond, const Tensor& x, const Tensor& y, const Tensor& out);
void record_cast(const Tensor& x, const Tensor& out);

// Linear algebra, reductions, softmax (grad_rules_math.cpp). `reduced` flags the reduced axes.
void record_matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b,
                   const Tensor& out);
void record_reduce(ReduceOp op, const Tensor& x, const std::vector<uint8_t>& reduced,
                   bool keepdims, const Tensor& out);
void record_reduce_grad(ReduceOp op, const Tensor& g, const std::vector<uint8_t>& reduced,
                        bool keepdims, const Tensor& out);
void record_softmax(bool log, const Tensor& x, int64_t axis, const Tensor& out);
void record_linear(const Tensor& x, const Tensor& w, const Tensor& bias, Activation act,
                   const Tensor& out);

/// d act(x)/dx * g for a unary op, given x, out = act(x) and g (grad_rules_elementwise.cpp).
Tensor unary_grad(UnaryOp op, const Tensor& x, const Tensor& out, const Tensor& g, double alpha);

/// The gradient before an activation fused into an op (linear, conv), from the op's saved
/// output `out` and its gradient `g`; `pre()` recomputes the pre-activation (gelu only).
template <class Pre>
Tensor grad_before_activation(Activation act, const Tensor& out, const Tensor& g, const Pre& pre) {
  switch (act) {
    case Activation::Relu:
      return binary(BinaryOp::ReluGrad, g, out);
    case Activation::Sigmoid:
      return unary_grad(UnaryOp::Sigmoid, out, out, g, 0.0);
    case Activation::Tanh:
      return unary_grad(UnaryOp::Tanh, out, out, g, 0.0);
    case Activation::Gelu:
      return unary_grad(UnaryOp::GeluExact, pre(), out, g, 0.0);
    default:
      return g;
  }
}
/// softmax_grad / log_softmax_grad (inputs y, g); `axis` is normalised.
void record_softmax_grad(bool log, const Tensor& y, const Tensor& g, int64_t axis,
                         const Tensor& out);

// Normalisation (grad_rules_nn.cpp): the forward's inputs as given (the tape's edges), the
// contiguous copy of x the backward reads, and the saved statistics.
void record_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                      const Tensor& seed, const Tensor& out, const Tensor& lse, bool causal,
                      double scale, double rate, bool reference);
void record_layer_norm(const Tensor& x, const Tensor& x_contiguous, const Tensor& gamma,
                       const Tensor& beta, const Tensor& mean, const Tensor& rstd,
                       const Tensor& out);

// batch_norm (grad_rules_norm.cpp): the inputs as given, the contiguous x, the saved float64
// statistics and the normalised axis.
void record_batch_norm(const Tensor& x, const Tensor& x_contiguous, const Tensor& mask,
                       const Tensor& gamma, const Tensor& beta, const Tensor& mean,
                       const Tensor& invstd, int64_t axis, bool training, const Tensor& out);

// group_norm and unit_norm (grad_rules_norm.cpp), as record_batch_norm.
void record_group_norm(const Tensor& x, const Tensor& x_contiguous, const Tensor& gamma,
                       const Tensor& beta, const Tensor& mean, const Tensor& rstd, int64_t groups,
                       int64_t axis, const Tensor& out);
void record_unit_norm(const Tensor& x, const Tensor& x_contiguous, const Tensor& inv,
                      const Tensor& cube, const Tensor& out);

/// Sums `g` over broadcast dimensions so that it has `shape` (the reverse of broadcasting).
Tensor sum_to_shape(const Tensor& g, const Shape& shape);

}  // namespace corten::autograd

namespace corten::autograd {

// Views (grad_rules_shape.cpp).
void record_reshape(const Tensor& x, const Tensor& out);  // reshape, expand_dims, squeeze
void record_transpose(const Tensor& x, const std::vector<int64_t>& perm, const Tensor& out);
void record_broadcast_to(const Tensor& x, const Tensor& out);
void record_identity(const Tensor& x, const Tensor& out);

// Data movement (grad_rules_shape.cpp). Axes are normalised by the entry points.
void record_index(const Tensor& x, const std::vector<IndexItem>& items, const Tensor& out);
void record_index_grad(const Tensor& grad, const std::vector<IndexItem>& items,
                       const Tensor& out);
void record_concat(const std::vector<Tensor>& xs, int64_t axis, const Tensor& out);
void record_stack(const std::vector<Tensor>& xs, int64_t axis, const Tensor& out);
void record_split(const Tensor& x, int64_t axis, const std::vector<Tensor>& outs);
void record_unstack(const Tensor& x, int64_t axis, const std::vector<Tensor>& outs);
void record_tile(const Tensor& x, const std::vector<int64_t>& multiples, const Tensor& out);
void record_gather(const Tensor& params, const Tensor& indices, int64_t axis, int64_t batch_dims,
                   const Tensor& out);
void record_gather_grad(const Tensor& grad, const Tensor& indices, int64_t axis,
                        int64_t batch_dims, const Tensor& out);
void record_pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& paddings,
                PadMode mode, const Tensor& out);
void record_pad_grad(const Tensor& grad, const std::vector<std::pair<int64_t, int64_t>>& paddings,
                     PadMode mode, const Tensor& out);
/// fill(shape, value): the gradient of the 0-d value is the sum of the output gradient.
void record_fill(const Tensor& value, const Tensor& out);

// Random (grad_rules_nn.cpp). `noise_shape` is the resolved mask shape.
void record_dropout(const Tensor& x, double rate, const Shape& noise_shape, PhiloxSeed seed,
                    const Tensor& out);
void record_dropout(const Tensor& x, double rate, const Shape& noise_shape, const Tensor& seed,
                    const Tensor& out);

// Convolutions (grad_rules_conv.cpp).
void record_conv(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvOptions& options,
                 Activation act, const Tensor& out);
void record_conv_transpose(const Tensor& x, const Tensor& w, const Tensor& bias,
                           const ConvOptions& options, Activation act, const Tensor& out);
// Sliding-window ops (grad_rules_pooling.cpp): the forward's arguments as given.
void record_pool(bool is_max, const Tensor& x, const Tensor& x_contiguous,
                 const std::vector<int64_t>& pool_size, const std::vector<int64_t>& strides,
                 const std::string& padding, bool channels_first, const Tensor& out);
void record_depthwise_conv(const Tensor& x, const Tensor& w, const Tensor& bias,
                           const std::vector<int64_t>& strides,
                           const std::vector<int64_t>& dilations, const std::string& padding,
                           bool channels_first, const Tensor& out);
void record_resize(const Tensor& x, const std::vector<int64_t>& input_size,
                   const std::string& method, bool align_corners, bool half_pixel_centers,
                   bool channels_first, const Tensor& out);

// matmul_activation_grad (grad_rules_gemm_fusion.cpp): records a node whose backward raises.
void record_matmul_activation_grad(const Tensor& a, const Tensor& b, const Tensor& out,
                                   const Tensor& result);

// image_transform (grad_rules_image.cpp): the gradient of the images; `transforms` as the
// kernel read them (contiguous), `input_size` the images' height and width.
void record_image_transform(const Tensor& images, const Tensor& transforms,
                            const std::vector<int64_t>& input_size,
                            const std::string& interpolation, const std::string& fill_mode,
                            const Tensor& out);

}  // namespace corten::autograd
