// matmul_activation_grad: a Dense backward's matmul with the derivative of the layer's
// activation fused into the GEMM's write-back (Note [Activation-derivative epilogue] in
// cpu/gemm/gemm.cpp).

#include <corten/errors.h>
#include <corten/ops.h>
#include <corten/trace.h>

#include "autograd/grad_rules.h"
#include "ops/common.h"
#include "ops/kernels.h"

namespace corten {

Tensor matmul_activation_grad(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b,
                              Activation act, const Tensor& out) {
  trace::OpRecord rec;
  constexpr const char* kOp = "matmul_activation_grad";
  detail::check_defined(a, kOp, "a");
  detail::check_defined(b, kOp, "b");
  detail::check_defined(out, kOp, "out");
  detail::check_same_dtype(a, b, kOp);
  detail::check_same_dtype(a, out, kOp);
  detail::check_same_device(a, b, kOp);
  detail::check_same_device(a, out, kOp);
  CORTEN_CHECK_TYPE(is_floating(a.dtype()), kOp, ": expected float32 or float64 operands; got ",
                    dtype_name(a.dtype()));
  CORTEN_CHECK_VALUE(
      act == Activation::Relu || act == Activation::Sigmoid || act == Activation::Tanh, kOp,
      ": activation must be 'relu', 'sigmoid' or 'tanh'; got '", activation_name(act), "'");
  CORTEN_CHECK_VALUE(a.ndim() == 2 && b.ndim() == 2, kOp,
                     ": a and b must have rank 2; got a.shape=", show(a.shape()),
                     ", b.shape=", show(b.shape()));
  const int64_t m = transpose_a ? a.dim(1) : a.dim(0);
  const int64_t ka = transpose_a ? a.dim(0) : a.dim(1);
  const int64_t kb = transpose_b ? b.dim(1) : b.dim(0);
  const int64_t n = transpose_b ? b.dim(0) : b.dim(1);
  CORTEN_CHECK_VALUE(
      ka == kb || ka == kUnknownDim || kb == kUnknownDim, kOp, ": the inner dimensions differ (",
      ka, " vs ", kb, "); got a.shape=", show(a.shape()), ", b.shape=", show(b.shape()),
      transpose_a ? " with transpose_a" : "", transpose_b ? " with transpose_b" : "");
  const Shape out_shape{m, n};
  bool fits = out.ndim() == 2;
  for (int64_t d = 0; d < 2 && fits; ++d) {
    fits = out.dim(d) == out_shape[static_cast<size_t>(d)] || out.dim(d) == kUnknownDim ||
           out_shape[static_cast<size_t>(d)] == kUnknownDim;
  }
  CORTEN_CHECK_VALUE(fits, kOp, ": out must have the product's shape ", show(out_shape),
                     "; got out.shape=", show(out.shape()), " for a.shape=", show(a.shape()),
                     ", b.shape=", show(b.shape()));
  const bool meta = a.is_meta() || b.is_meta() || out.is_meta();
  Tensor result = Tensor::empty(out_shape, a.dtype(), meta ? Device::Meta : a.device(), kOp);
  if (meta) return result;
  if (result.numel() != 0) {
    const Tensor aux = out.contiguous();
    kernels::matmul_activation_grad(result.device())(
        a.dtype(), m, n, ka, a.raw_data(), transpose_a ? a.strides()[1] : a.strides()[0],
        transpose_a ? a.strides()[0] : a.strides()[1], b.raw_data(),
        transpose_b ? b.strides()[1] : b.strides()[0],
        transpose_b ? b.strides()[0] : b.strides()[1], result.raw_data(), aux.raw_data(), act);
  }
  if (autograd::is_recording()) autograd::record_matmul_activation_grad(a, b, out, result);
  rec.record(
      kOp, {a, b, out}, {result},
      [](const trace::Tensors& in, const auto& transpose_a, const auto& transpose_b,
         const auto& act) {
        return matmul_activation_grad(in[0], in[1], transpose_a, transpose_b, act, in[2]);
      },
      transpose_a, transpose_b, act);
  return result;
}

}  // namespace corten
