#pragma once
/// Matrix products.

#include <corten/tensor.h>

#include <cstdint>
#include <string>

namespace corten {

/// a @ b for rank >= 2 inputs with broadcast batch dimensions (numpy matmul rules), optionally
/// transposing the last two axes of either operand. Rank-1 operands are not accepted (use
/// expand_dims). ValueError names both shapes when inner dimensions differ.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false,
              bool transpose_b = false);

/// Activations fused into linear(), with their Keras names: the one list Python reads
/// (`corten._C.linear_activations()`) to decide which Dense activations take the fused path.
/// Gelu is the exact (erf) form, as Keras' default.
#define CORTEN_LINEAR_ACTIVATIONS(X) \
  X(Identity, "linear") X(Relu, "relu") X(Sigmoid, "sigmoid") X(Tanh, "tanh") X(Gelu, "gelu")

#define CORTEN_ACTIVATION_ENUM_(Name, py) Name,
enum class Activation : uint8_t { CORTEN_LINEAR_ACTIVATIONS(CORTEN_ACTIVATION_ENUM_) kCount };
#undef CORTEN_ACTIVATION_ENUM_

/// The Keras name of `act` ("linear" for Identity).
const char* activation_name(Activation act);
/// The activation named `name` ("identity" is accepted for "linear"); ValueError names the
/// accepted names otherwise.
Activation activation_from_name(const std::string& name);

/// The Dense layer's forward: act(x @ w + bias) for x (..., K), w (K, N), bias (N,) or an
/// undefined tensor for none; returns (..., N). float32 and float64 only; all operands share
/// one dtype. Bias and activation are applied in the GEMM's write-back, while the output tile
/// is in cache. ValueError names the shapes when they do not fit.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias = Tensor(),
              Activation act = Activation::Identity);

/// matmul(a, b, transpose_a, transpose_b) multiplied by the derivative of `act` (relu, sigmoid
/// or tanh) evaluated from `out`, that activation's output, of the product's shape: the
/// gradient before a Dense layer's activation, from the next layer's gx, in one pass (relu:
/// out > 0 ? p : 0; sigmoid: p * (out * (1 - out)); tanh: p * (1 - out * out), with p the
/// product). Bit for bit the result of matmul followed by relu_grad, or by those multiplies and
/// subtracts. Rank-2 float32 or float64 operands of one dtype; ValueError names the shapes when
/// they do not fit. Not differentiable: a gradient through it raises.
Tensor matmul_activation_grad(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b,
                              Activation act, const Tensor& out);

}  // namespace corten
