#pragma once
/// Element types. float32 is the default for floating data, int32 for Python integers (as in
/// TensorFlow). String elements are variable-length byte strings (Note [String tensors] in
/// corten/strings.h); they live on the host and only the string ops and the data-movement ops
/// (views, gather, concat, tile, copies) take them.

#include <corten/errors.h>

#include <cstddef>
#include <cstdint>

namespace corten {

enum class DType : uint8_t { Bool = 0, Int32 = 1, Int64 = 2, Float32 = 3, Float64 = 4, String = 5 };
/// The dtypes with arithmetic kernels (the rows of the kernel tables): all but String.
constexpr int kNumDTypes = 5;

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
  }
  return 0;
}
/// The TensorFlow name: "bool", "int32", "int64", "float32", "float64", "string".
const char* dtype_name(DType t);
constexpr bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }
constexpr bool is_integral(DType t) { return t == DType::Int32 || t == DType::Int64; }

/// Compile-time mapping between C++ element types and DType.
template <typename T> struct dtype_of;
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::Int32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };

template <typename T> struct TypeTag { using type = T; };

// Note [DType dispatch]
// visit_dtype(t, fn) calls fn(TypeTag<T>{}) with the C++ type of `t`; fn is usually a generic
// lambda `[&](auto tag) { using T = typename decltype(tag)::type; ... }`. The variants restrict
// the set of types that are instantiated (keeping compile time and binary size down) and throw
// TypeError naming `op` for the others.
template <typename F>
decltype(auto) visit_dtype(DType t, const char* op, F&& fn) {
  switch (t) {
    case DType::Bool: return fn(TypeTag<bool>{});
    case DType::Int32: return fn(TypeTag<int32_t>{});
    case DType::Int64: return fn(TypeTag<int64_t>{});
    case DType::Float32: return fn(TypeTag<float>{});
    case DType::Float64: return fn(TypeTag<double>{});
    case DType::String:
      break;
  }
  throw TypeError(detail::str_cat(op, ": dtype ", dtype_name(t), " is not supported"));
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
