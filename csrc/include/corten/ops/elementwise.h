#pragma once
/// Elementwise ops with numpy broadcasting. Binary ops require equal dtypes (TypeError
/// otherwise, as in TensorFlow); comparisons and logical ops return bool. Integer division
/// and modulo by zero give 0 rather than trapping.

#include <corten/ops/elementwise_ops.h>
#include <corten/tensor.h>

#include <cstdint>

namespace corten {

/// The op's Python-facing name, e.g. "add", "leaky_relu".
const char* unary_op_name(UnaryOp op);
const char* binary_op_name(BinaryOp op);

/// Applies `op`; `alpha` is the parameter of leaky_relu and elu (ignored by the others).
Tensor unary(UnaryOp op, const Tensor& x, double alpha = 0.0);
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);

inline Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Add, a, b); }
inline Tensor subtract(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Subtract, a, b); }
inline Tensor multiply(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Multiply, a, b); }
/// True division; integer inputs give float64 (TensorFlow's truediv).
inline Tensor divide(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Divide, a, b); }
/// a / b, and 0 where b == 0 (even when a is NaN or infinite): tf.math.divide_no_nan.
inline Tensor divide_no_nan(const Tensor& a, const Tensor& b) {
  return binary(BinaryOp::DivideNoNan, a, b);
}
inline Tensor maximum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Maximum, a, b); }
inline Tensor minimum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Minimum, a, b); }
inline Tensor negative(const Tensor& x) { return unary(UnaryOp::Negative, x); }
inline Tensor exp(const Tensor& x) { return unary(UnaryOp::Exp, x); }
inline Tensor log(const Tensor& x) { return unary(UnaryOp::Log, x); }
inline Tensor tanh(const Tensor& x) { return unary(UnaryOp::Tanh, x); }
inline Tensor sigmoid(const Tensor& x) { return unary(UnaryOp::Sigmoid, x); }
inline Tensor relu(const Tensor& x) { return unary(UnaryOp::Relu, x); }

/// Elementwise select: cond ? x : y, all three broadcast together; cond must be bool.
Tensor where(const Tensor& cond, const Tensor& x, const Tensor& y);
/// min(max(x, lo), hi) with broadcasting; lo and hi have x's dtype.
Tensor clip_by_value(const Tensor& x, const Tensor& lo, const Tensor& hi);
/// Converts to `dtype`. Float to integer truncates toward zero, saturates at the integer range
/// and maps NaN to 0; anything to bool is `!= 0`.
Tensor cast(const Tensor& x, DType dtype);
/// Copies `src` into `dst` (same shape and dtype; `dst` may be a strided view). In place.
void copy_(const Tensor& dst, const Tensor& src);

}  // namespace corten
