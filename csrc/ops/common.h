#pragma once
// Helpers shared by the op entry points (argument checks that every op family needs).

#include <corten/errors.h>
#include <corten/tensor.h>

#include <initializer_list>
#include <utility>

namespace corten::detail {

inline void check_defined(const Tensor& t, const char* op, const char* arg = "x") {
  CORTEN_CHECK_VALUE(t.defined(), op, ": argument '", arg, "' is an undefined tensor");
}

// Note [Half-precision compute]
// float16 and bfloat16 have no arithmetic kernels besides the CPU's bfloat16 GEMM (matmul and
// linear, Note [bfloat16 GEMM] in cpu/gemm/gemm_bf16.h) and its bfloat16 sum (reduce_sum: the
// values of the float32 sum of the widened input, rounded once, without that float32 copy;
// a convolution's bias gradient is one). The other ops that take them
// (elementwise, float16 products, reductions, softmax, the cross-entropies, attention, and the
// backward of gather and pad)
// compute in float32 and round their result once, as
// PyTorch's CPU kernels do for float16: the values are those of a kernel that accumulates in
// float32. The casts and the float32 op are ops of their own, recorded as such by the
// gradient tape and by traced plans.
inline bool any_half(std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts) {
    if (t->defined() && is_half_precision(t->dtype())) return true;
  }
  return false;
}
/// Whether a product of bfloat16 operands like `t` runs the bfloat16 GEMM itself (CPU and
/// meta tensors; Note [bfloat16 GEMM] in cpu/gemm/gemm_bf16.h) rather than in float32.
inline bool bfloat16_gemm(const Tensor& t) {
  return t.dtype() == DType::BFloat16 && t.device() != Device::CUDA;
}
/// `t` in float32 when it is a 16-bit float, else `t`.
Tensor widen_half(const Tensor& t);
/// A float32 result `t` rounded to `dtype` when that is a 16-bit float, else `t`.
Tensor narrow_half(const Tensor& t, DType dtype);

// Note [Meta propagation]
// An op with any meta operand runs as shape inference only and returns a meta tensor, so
// symbolic inputs (meta) combine freely with concrete weights and constants (cpu).
//
// Note [Mixed devices]
// Concrete operands of one op must live on the same device (type and ordinal): ops run where
// their inputs are and never copy behind the caller's back, as PyTorch does. The error is a
// ValueError naming the op and both devices in TensorFlow's full names. The one exception is a
// 0-d cpu operand of an elementwise op (a Python scalar or a scalar constant): it is copied to
// the other operand's device (align_scalar_operand), as TensorFlow copies small host constants.
inline bool on_different_devices(const Tensor& a, const Tensor& b) {
  return !a.is_meta() && !b.is_meta() &&
         (a.device() != b.device() || a.device_index() != b.device_index());
}

/// Throws the ValueError of Note [Mixed devices].
[[noreturn]] void throw_mixed_devices(const Tensor& a, const Tensor& b, const char* op);

inline void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  if (on_different_devices(a, b)) throw_mixed_devices(a, b, op);
}

/// `a` and `b` with a 0-d cpu operand copied to the other's device; the mixed-device error
/// when neither is one. Call only when on_different_devices(a, b).
std::pair<Tensor, Tensor> align_scalar_operand(const Tensor& a, const Tensor& b, const char* op);

/// The device of an op's result: meta if any operand is meta, else the operands' common one.
inline Device result_device(const Tensor& a, const Tensor& b) {
  return (a.is_meta() || b.is_meta()) ? Device::Meta : a.device();
}

inline void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  CORTEN_CHECK_TYPE(a.dtype() == b.dtype(), op, ": operands must have the same dtype; got ",
                    dtype_name(a.dtype()), " and ", dtype_name(b.dtype()),
                    " (use cast to convert one of them)");
}

}  // namespace corten::detail
