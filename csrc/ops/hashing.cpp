#include "cpu/hashing.h"

#include <corten/ops/hashing.h>
#include <corten/trace.h>

#include "ops/common.h"
#include "ops/kernels.h"

namespace corten {

Tensor hash_bucket(const Tensor& x, int64_t num_buckets, bool strong, uint64_t k0, uint64_t k1,
                   bool reference) {
  trace::OpRecord rec;
  detail::check_defined(x, "hash_bucket", "x");
  CORTEN_CHECK_TYPE(x.dtype() == DType::Int32 || x.dtype() == DType::Int64,
                    "hash_bucket: x must be int32 or int64; got ", dtype_name(x.dtype()),
                    " of shape ", show(x.shape()));
  CORTEN_CHECK_VALUE(num_buckets >= 1, "hash_bucket: num_buckets must be >= 1; got ", num_buckets);
  Tensor out = Tensor::empty(x.shape(), DType::Int64, x.device(), "hash_bucket");
  if (x.is_meta()) return out;
  const Tensor src = x.contiguous();
  auto* dst = static_cast<int64_t*>(out.raw_data());
  if (reference) {
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
  CORTEN_CHECK_TYPE(x.dtype() == DType::Int32 || x.dtype() == DType::Int64,
                    "sorted_lookup: x must be int32 or int64; got ", dtype_name(x.dtype()),
                    " of shape ", show(x.shape()));
  CORTEN_CHECK_TYPE(keys.dtype() == DType::Int64, "sorted_lookup: keys must be int64; got ",
                    dtype_name(keys.dtype()));
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
  if (reference) {
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

}  // namespace corten
