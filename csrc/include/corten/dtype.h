#pragma once
/// Element types. float32 is the default for floating data, int32 for Python integers (as in
/// TensorFlow). float16 and bfloat16 are storage types for now (Note [Half conversions] in
/// corten/half.h): they are cast, copied, viewed, saved and exchanged (numpy, DLPack), and the
/// arithmetic kernels take them after a cast to float32. String elements are variable-length
/// byte strings (Note [String tensors] in corten/strings.h); they live on the host and only the
/// string ops and the data-movement ops (views, gather, concat, tile, copies) take them.

#include <corten/errors.h>
#include <corten/half.h>

#include <cstddef>
#include <cstdint>
#include <utility>

namespace corten {

enum class DType : uint8_t {
  Bool = 0,
  Int32 = 1,
  Int64 = 2,
  Float32 = 3,
  Float64 = 4,
  String = 5,
  Float16 = 6,
  BFloat16 = 7
};
/// The dtypes with arithmetic kernels (the rows of the kernel tables): the first five.
constexpr int kNumDTypes = 5;
/// The largest enumerator: the values read from files are checked against it.
constexpr DType kLastDType = DType::BFloat16;

/// Bytes per element.
constexpr size_t itemsize(DType t) {
  switch (t) {
    case DType::Bool: return 1;
    case DType::Int32: return 4;
    case DType::Int64: return 8;
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::String:
      return 16;  // a StringRef: pointer and length
    case DType::Float16:
    case DType::BFloat16:
      return 2;
  }
  return 0;
}
/// The TensorFlow name: "bool", "int32", "int64", "float32", "float64", "string", "float16",
/// "bfloat16".
const char* dtype_name(DType t);
/// The floating dtypes with arithmetic kernels: float32 and float64.
constexpr bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }
/// The 16-bit floating storage types.
constexpr bool is_half_precision(DType t) { return t == DType::Float16 || t == DType::BFloat16; }
/// Every floating dtype (TensorFlow's DType.is_floating): the ones gradients flow through.
constexpr bool is_floating_point(DType t) { return is_floating(t) || is_half_precision(t); }
constexpr bool is_integral(DType t) { return t == DType::Int32 || t == DType::Int64; }

/// Compile-time mapping between C++ element types and DType.
template <typename T> struct dtype_of;
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::Int32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };
template <>
struct dtype_of<float16> {
  static constexpr DType value = DType::Float16;
};
template <>
struct dtype_of<bfloat16> {
  static constexpr DType value = DType::BFloat16;
};

template <typename T> struct TypeTag { using type = T; };

// Note [DType dispatch]
// visit_dtype(t, fn) calls fn(TypeTag<T>{}) with the C++ type of `t`; fn is usually a generic
// lambda `[&](auto tag) { using T = typename decltype(tag)::type; ... }`. The variants restrict
// the set of types that are instantiated (keeping compile time and binary size down) and throw
// TypeError naming `op` for the others. visit_dtype takes the dtypes with arithmetic kernels;
// visit_storage adds the 16-bit floats, for the kernels that only convert or move elements.
template <typename F>
decltype(auto) visit_dtype(DType t, const char* op, F&& fn) {
  switch (t) {
    case DType::Bool: return fn(TypeTag<bool>{});
    case DType::Int32: return fn(TypeTag<int32_t>{});
    case DType::Int64: return fn(TypeTag<int64_t>{});
    case DType::Float32: return fn(TypeTag<float>{});
    case DType::Float64: return fn(TypeTag<double>{});
    case DType::String:
    case DType::Float16:
    case DType::BFloat16:
      break;
  }
  if (is_half_precision(t)) {
    throw TypeError(detail::str_cat(op, ": dtype ", dtype_name(t),
                                    " has no kernel here; cast it to float32 first"));
  }
  throw TypeError(detail::str_cat(op, ": dtype ", dtype_name(t), " is not supported"));
}
template <typename F>
decltype(auto) visit_storage(DType t, const char* op, F&& fn) {
  switch (t) {
    case DType::Float16:
      return fn(TypeTag<float16>{});
    case DType::BFloat16:
      return fn(TypeTag<bfloat16>{});
    default:
      return visit_dtype(t, op, std::forward<F>(fn));
  }
}
template <typename F>
decltype(auto) visit_numeric(DType t, const char* op, F&& fn) {
  switch (t) {
    case DType::Int32: return fn(TypeTag<int32_t>{});
    case DType::Int64: return fn(TypeTag<int64_t>{});
    case DType::Float32: return fn(TypeTag<float>{});
    case DType::Float64: return fn(TypeTag<double>{});
    default: break;
  }
  throw TypeError(detail::str_cat(op, ": dtype ", dtype_name(t), " is not supported"));
}
template <typename F>
decltype(auto) visit_floating(DType t, const char* op, F&& fn) {
  switch (t) {
    case DType::Float32: return fn(TypeTag<float>{});
    case DType::Float64: return fn(TypeTag<double>{});
    default: break;
  }
  throw TypeError(detail::str_cat(op, ": expected a floating dtype (float32 or float64); got ",
                                  dtype_name(t)));
}

}  // namespace corten
