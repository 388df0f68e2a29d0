// matmul_activation_grad (ops/matmul_activation_grad.cpp) computes a gradient; no rule
// differentiates it again: a gradient through it raises instead of silently being None.

#include <corten/errors.h>

#include "autograd/grad_rules.h"

namespace corten::autograd {

void record_matmul_activation_grad(const Tensor& a, const Tensor& b, const Tensor& out,
                                   const Tensor& result) {
  record("matmul_activation_grad", {a, b, out}, {result}, [&]() -> BackwardFn {
    return [](const std::vector<Tensor>&) -> std::vector<Tensor> {
      throw NotImplementedError(
          "matmul_activation_grad: no gradient is defined for this op (it computes a first-order "
          "gradient); differentiate matmul and the activation's gradient ops instead");
    };
  });
}

}  // namespace corten::autograd
