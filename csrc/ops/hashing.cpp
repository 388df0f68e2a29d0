#include "cpu/hashing.h"

#include <corten/ops/hashing.h>
#include <corten/strings.h>
#include <corten/trace.h>

#include "cpu/strings.h"
#include "ops/common.h"
#include "ops/kernels.h"

namespace corten {

Tensor hash_bucket(const Tensor& x, int64_t num_buckets, bool strong, uint64_t k0, uint64_t k1,
                   bool reference) {
  trace::OpRecord rec;
  detail::check_defined(x, "hash_bucket", "x");
  CORTEN_CHECK_TYPE(
      x.dtype() == DType::Int32 || x.dtype() == DType::Int64 || x.dtype() == DType::String,
      "hash_bucket: x must be int32, int64 or string; got ", dtype_name(x.dtype()), " of shape ",
      show(x.shape()));
  CORTEN_CHECK_VALUE(num_buckets >= 1, "hash_bucket: num_buckets must be >= 1; got ", num_buckets);
  Tensor out = Tensor::empty(x.shape(), DType::Int64, x.device(), "hash_bucket");
  if (x.is_meta()) return out;
  const Tensor src = x.contiguous();
  auto* dst = static_cast<int64_t*>(out.raw_data());
  if (x.dtype() == DType::String) {
    // Strings live on the host and hash their own bytes (Note [String tensors]).
    cpu::hash_bucket_strings(string_values(src), static_cast<uint64_t>(num_buckets), strong, k0, k1,
                             dst);
  } else if (reference) {
    CORTEN_CHECK_VALUE(x.device() == Device::CPU,
                       "hash_bucket: the reference kernel runs on the CPU only; got device ",
                       device_name(x.device()));
    cpu::hash_bucket_ref(x.dtype(), src.raw_data(), x.numel(), num_buckets, strong, k0, k1, dst);
  } else {
    kernels::hash_bucket(out.device())(x.dtype(), src.raw_data(), x.numel(), num_buckets, strong,
                                       k0, k1, dst);
  }
  rec.record(
      "hash_bucket", {x}, {out},
      [](const trace::Tensors& in, const auto& num_buckets, const auto& strong, const auto& k0,
         const auto& k1, const auto& reference) {
        return hash_bucket(in[0], num_buckets, strong, k0, k1, reference);
      },
      num_buckets, strong, k0, k1, reference);
  return out;
}

Tensor sorted_lookup(const Tensor& x, const Tensor& keys, bool reference) {
  trace::OpRecord rec;
  detail::check_defined(x, "sorted_lookup", "x");
  detail::check_defined(keys, "sorted_lookup", "keys");
  const bool strings = x.dtype() == DType::String;
  CORTEN_CHECK_TYPE(x.dtype() == DType::Int32 || x.dtype() == DType::Int64 || strings,
                    "sorted_lookup: x must be int32, int64 or string; got ", dtype_name(x.dtype()),
                    " of shape ", show(x.shape()));
  CORTEN_CHECK_TYPE(keys.dtype() == (strings ? DType::String : DType::Int64),
                    "sorted_lookup: keys must be ", strings ? "string" : "int64", " for ",
                    dtype_name(x.dtype()), " x; got ", dtype_name(keys.dtype()));
  CORTEN_CHECK_VALUE(keys.ndim() == 1, "sorted_lookup: keys must be 1-D; got shape ",
                     show(keys.shape()));
  CORTEN_CHECK_VALUE(keys.device() == x.device() || x.is_meta() || keys.is_meta(),
                     "sorted_lookup: x and keys must be on the same device; got ",
                     device_name(x.device()), " and ", device_name(keys.device()));
  Tensor out = Tensor::empty(x.shape(), DType::Int64, x.device(), "sorted_lookup");
  if (x.is_meta() || keys.is_meta()) return out;
  const Tensor src = x.contiguous();
  const Tensor table = keys.contiguous();
  const auto* k = static_cast<const int64_t*>(table.raw_data());
  auto* dst = static_cast<int64_t*>(out.raw_data());
  if (strings) {
    cpu::sorted_lookup_strings(string_values(src), string_values(table), dst);
  } else if (reference) {
    CORTEN_CHECK_VALUE(x.device() == Device::CPU,
                       "sorted_lookup: the reference kernel runs on the CPU only; got device ",
                       device_name(x.device()));
    cpu::sorted_lookup_ref(x.dtype(), src.raw_data(), x.numel(), k, keys.numel(), dst);
  } else {
    kernels::sorted_lookup(out.device())(x.dtype(), src.raw_data(), x.numel(), k, keys.numel(),
                                         dst);
  }
  rec.record(
      "sorted_lookup", {x, keys}, {out},
      [](const trace::Tensors& in, const auto& reference) {
        return sorted_lookup(in[0], in[1], reference);
      },
      reference);
  return out;
}

Tensor bincount(const Tensor& x, int64_t depth, const Tensor& weights, bool binary, DType dtype,
                bool reference) {
  trace::OpRecord rec;
  detail::check_defined(x, "bincount", "x");
  CORTEN_CHECK_TYPE(x.dtype() == DType::Int32 || x.dtype() == DType::Int64,
                    "bincount: x must be int32 or int64; got ", dtype_name(x.dtype()), " of shape ",
                    show(x.shape()));
  CORTEN_CHECK_TYPE(dtype != DType::Bool, "bincount: dtype must be numeric; got bool");
  CORTEN_CHECK_VALUE(x.ndim() == 1 || x.ndim() == 2,
                     "bincount: x must have rank 1 or 2; got shape ", show(x.shape()));
  CORTEN_CHECK_VALUE(depth >= 0, "bincount: depth must be >= 0; got ", depth);
  const bool weighted = weights.defined();
  if (weighted) {
    CORTEN_CHECK_VALUE(!binary, "bincount: weights cannot be used with binary outputs");
    CORTEN_CHECK_VALUE(weights.shape() == x.shape(), "bincount: weights must have x's shape ",
                       show(x.shape()), "; got ", show(weights.shape()));
    CORTEN_CHECK_TYPE(weights.dtype() == dtype, "bincount: weights must have dtype ",
                      dtype_name(dtype), "; got ", dtype_name(weights.dtype()));
    CORTEN_CHECK_VALUE(weights.device() == x.device() || x.is_meta() || weights.is_meta(),
                       "bincount: x and weights must be on the same device; got ",
                       device_name(x.device()), " and ", device_name(weights.device()));
  }
  const bool batched = x.ndim() == 2;
  const int64_t rows = batched ? x.dim(0) : 1;
  const int64_t k = batched ? x.dim(1) : x.dim(0);
  const Shape shape = batched ? Shape{rows, depth} : Shape{depth};
  Tensor out = Tensor::empty(shape, dtype, x.device(), "bincount");
  if (x.is_meta() || (weighted && weights.is_meta())) return out;
  const Tensor src = x.contiguous();
  const Tensor w = weighted ? weights.contiguous() : Tensor();
  const void* wp = weighted ? w.raw_data() : nullptr;
  if (reference) {
    CORTEN_CHECK_VALUE(x.device() == Device::CPU,
                       "bincount: the reference kernel runs on the CPU only; got device ",
                       device_name(x.device()));
    cpu::bincount_ref(x.dtype(), dtype, src.raw_data(), wp, rows, k, depth, binary, out.raw_data());
  } else {
    kernels::bincount(out.device())(x.dtype(), dtype, src.raw_data(), wp, rows, k, depth, binary,
                                    out.raw_data());
  }
  if (weighted) {
    rec.record(
        "bincount", {x, weights}, {out},
        [](const trace::Tensors& in, const auto& depth, const auto& binary, const auto& dtype,
           const auto& reference) {
          return bincount(in[0], depth, in[1], binary, dtype, reference);
        },
        depth, binary, dtype, reference);
  } else {
    rec.record(
        "bincount", {x}, {out},
        [](const trace::Tensors& in, const auto& depth, const auto& binary, const auto& dtype,
           const auto& reference) {
          return bincount(in[0], depth, Tensor(), binary, dtype, reference);
        },
        depth, binary, dtype, reference);
  }
  return out;
}

}  // namespace corten
