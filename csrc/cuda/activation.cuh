#pragma once
// The fused activations of the GEMM and convolution epilogues on the device, with the
// elementwise kernels' functors (what the CPU's activation_row and activation_grad_row run), so
// an epilogue gives the unfused ops' results.

#include "cpu/matmul.h"
#include "cuda/common.cuh"
#include "cuda/elementwise_functors.cuh"

namespace corten::cuda {

// act(v) with the elementwise kernels' functors (what the CPU's activation_row runs).
template <class T>
__device__ __forceinline__ T activate(Activation act, T v) {
  using namespace functors;  // NOLINT(google-build-using-namespace)
  switch (act) {
    case Activation::Relu:
      return ReluF::f(v, T(0));
    case Activation::Sigmoid:
      return SigmoidF::f(v, T(0));
    case Activation::Tanh:
      return TanhF::f(v, T(0));
    case Activation::Gelu:
      return GeluExactF::f(v, T(0));
    default:
      return v;
  }
}

// c * act'(y), op by op as activation_grad_row (Note [Activation-derivative epilogue]).
template <class T>
__device__ __forceinline__ T activate_grad(Activation act, T c, T y) {
  using namespace functors;  // NOLINT(google-build-using-namespace)
  if (act == Activation::Relu) return ReluGradF::f(c, y);
  T t;
  if (act == Activation::Sigmoid) {
    t = SubtractF::f(T(1), y);
    t = MultiplyF::f(y, t);
  } else {  // Tanh
    t = MultiplyF::f(y, y);
    t = SubtractF::f(T(1), t);
  }
  return MultiplyF::f(c, t);
}

}  // namespace corten::cuda
