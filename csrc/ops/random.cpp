#include <corten/ops.h>
#include <corten/trace.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "autograd/grad_rules.h"
#include "cpu/philox.h"
#include "ops/common.h"
#include "ops/kernels.h"
#include "ops/op_attrs.h"

namespace corten {

namespace {

void check_shape(const Shape& shape, const char* op) {
  CORTEN_CHECK_VALUE(static_cast<int64_t>(shape.size()) <= kMaxRank, op, ": shape has rank ",
                     shape.size(), "; at most ", kMaxRank, " dimensions are supported");
  for (int64_t d : shape) {
    CORTEN_CHECK_VALUE(d >= 0, op,
                       ": shape must be fully defined with non-negative dimensions; got shape=",
                       show(shape));
  }
}

void check_floating(DType dtype, const char* op) {
  CORTEN_CHECK_TYPE(is_floating(dtype), op, ": dtype must be float32 or float64; got ",
                    dtype_name(dtype));
}

void check_normal_params(double mean, double stddev, const char* op) {
  CORTEN_CHECK_VALUE(std::isfinite(mean), op, ": mean must be finite; got mean=", mean);
  CORTEN_CHECK_VALUE(std::isfinite(stddev), op, ": stddev must be finite; got stddev=", stddev);
}

}  // namespace

Tensor random_normal(const Shape& shape, double mean, double stddev, DType dtype,
                     PhiloxSeed seed) {
  trace::OpRecord rec;
  check_floating(dtype, "random_normal");
  check_shape(shape, "random_normal");
  check_normal_params(mean, stddev, "random_normal");
  Tensor out = Tensor::empty(shape, dtype, Device::CPU, "random_normal");
  kernels::random_normal(out.device())(dtype, out.raw_data(), out.numel(), mean, stddev, seed.key, seed.offset);
  rec.record(
      "random_normal", {}, {out},
      [](const trace::Tensors& in, const auto& shape, const auto& mean, const auto& stddev,
         const auto& dtype,
         const auto& seed) { return random_normal(shape, mean, stddev, dtype, seed); },
      shape, mean, stddev, dtype, seed);
  return out;
}

Tensor truncated_normal(const Shape& shape, double mean, double stddev, DType dtype,
                        PhiloxSeed seed) {
  trace::OpRecord rec;
  check_floating(dtype, "truncated_normal");
  check_shape(shape, "truncated_normal");
  check_normal_params(mean, stddev, "truncated_normal");
  Tensor out = Tensor::empty(shape, dtype, Device::CPU, "truncated_normal");
  kernels::truncated_normal(out.device())(dtype, out.raw_data(), out.numel(), mean, stddev, seed.key, seed.offset);
  rec.record(
      "truncated_normal", {}, {out},
      [](const trace::Tensors& in, const auto& shape, const auto& mean, const auto& stddev,
         const auto& dtype,
         const auto& seed) { return truncated_normal(shape, mean, stddev, dtype, seed); },
      shape, mean, stddev, dtype, seed);
  return out;
}

Tensor random_uniform(const Shape& shape, double minval, double maxval, DType dtype,
                      PhiloxSeed seed) {
  trace::OpRecord rec;
  if (is_integral(dtype)) {
    // 2^63 is exactly representable; anything below it and integral converts exactly.
    constexpr double kLimit = 9223372036854775808.0;
    for (auto [name, v] : {std::pair{"minval", minval}, std::pair{"maxval", maxval}}) {
      CORTEN_CHECK_VALUE(std::isfinite(v) && v == std::trunc(v) && v >= -kLimit && v < kLimit,
                         "random_uniform: ", name, " must be an integer for dtype ",
                         dtype_name(dtype), "; got ", name, "=", v);
    }
    return random_uniform_int(shape, static_cast<int64_t>(minval), static_cast<int64_t>(maxval),
                              dtype, seed);
  }
  CORTEN_CHECK_TYPE(is_floating(dtype),
                    "random_uniform: dtype must be float32, float64, int32 or int64; got ",
                    dtype_name(dtype));
  check_shape(shape, "random_uniform");
  CORTEN_CHECK_VALUE(std::isfinite(minval) && std::isfinite(maxval) &&
                         std::isfinite(maxval - minval),
                     "random_uniform: minval, maxval and maxval - minval must be finite; got "
                     "minval=", minval, ", maxval=", maxval);
  Tensor out = Tensor::empty(shape, dtype, Device::CPU, "random_uniform");
  kernels::random_uniform(out.device())(dtype, out.raw_data(), out.numel(), minval, maxval, seed.key, seed.offset);
  rec.record(
      "random_uniform", {}, {out},
      [](const trace::Tensors& in, const auto& shape, const auto& minval, const auto& maxval,
         const auto& dtype,
         const auto& seed) { return random_uniform(shape, minval, maxval, dtype, seed); },
      shape, minval, maxval, dtype, seed);
  return out;
}

Tensor random_uniform_int(const Shape& shape, int64_t minval, int64_t maxval, DType dtype,
                          PhiloxSeed seed) {
  trace::OpRecord rec;
  CORTEN_CHECK_TYPE(is_integral(dtype),
                    "random_uniform: integer bounds need dtype int32 or int64; got ",
                    dtype_name(dtype));
  check_shape(shape, "random_uniform");
  if (dtype == DType::Int32) {
    constexpr int64_t lo = std::numeric_limits<int32_t>::min();
    constexpr int64_t hi = std::numeric_limits<int32_t>::max();
    CORTEN_CHECK_VALUE(minval >= lo && minval <= hi && maxval >= lo && maxval <= hi,
                       "random_uniform: minval and maxval must fit in int32; got minval=", minval,
                       ", maxval=", maxval);
  }
  CORTEN_CHECK_VALUE(minval < maxval,
                     "random_uniform: minval must be less than maxval for integer dtypes; got "
                     "minval=", minval, ", maxval=", maxval);
  Tensor out = Tensor::empty(shape, dtype, Device::CPU, "random_uniform");
  kernels::random_uniform_int(out.device())(dtype, out.raw_data(), out.numel(), minval, maxval, seed.key,
                          seed.offset);
  rec.record(
      "random_uniform_int", {}, {out},
      [](const trace::Tensors& in, const auto& shape, const auto& minval, const auto& maxval,
         const auto& dtype,
         const auto& seed) { return random_uniform_int(shape, minval, maxval, dtype, seed); },
      shape, minval, maxval, dtype, seed);
  return out;
}

Tensor random_permutation(int64_t n, PhiloxSeed seed) {
  trace::OpRecord rec;
  CORTEN_CHECK_VALUE(n >= 0, "random_permutation: n must be non-negative; got ", n);
  check_shape(Shape{n}, "random_permutation");
  // An order of host-side indices, always made on the CPU (as the string ops' results are), so
  // the kernel is called directly rather than through a device table.
  Tensor out = Tensor::empty({n}, DType::Int64, Device::CPU, "random_permutation");
  cpu::random_permutation(out.data<int64_t>(), n, seed.key, seed.offset);
  rec.record(
      "random_permutation", {}, {out},
      [](const trace::Tensors&, int64_t size, const PhiloxSeed& s) {
        return random_permutation(size, s);
      },
      n, seed);
  return out;
}

namespace {

// bfloat16 on the CPU, whose dropout kernel reads and writes it directly (the same values as
// through float32: the product is float32 arithmetic, rounded once).
bool native_bfloat16(const Tensor& x) {
  return x.dtype() == DType::BFloat16 && x.device() == Device::CPU;
}

// Dropout without autograd: the output and the resolved noise shape.
Tensor dropout_impl(const Tensor& x, double rate, const std::optional<Shape>& noise_shape,
                    PhiloxSeed seed, Shape* resolved) {
  detail::check_defined(x, "dropout");
  CORTEN_CHECK_TYPE(is_floating(x.dtype()) || native_bfloat16(x),
                    "dropout: x must be a floating tensor (float32 or float64); got dtype ",
                    dtype_name(x.dtype()));
  CORTEN_CHECK_VALUE(rate >= 0.0 && rate < 1.0, "dropout: rate must be in [0, 1); got ", rate);
  Shape ns = noise_shape ? *noise_shape : x.shape();
  CORTEN_CHECK_VALUE(static_cast<int64_t>(ns.size()) <= x.ndim(), "dropout: noise_shape ",
                     show(ns), " has more dimensions than x.shape ", show(x.shape()));
  const size_t lead = x.shape().size() - ns.size();
  for (size_t d = 0; d < ns.size(); ++d) {
    if (ns[d] == kUnknownDim && ns.size() == x.shape().size()) ns[d] = x.shape()[d];
    CORTEN_CHECK_VALUE(ns[d] == 1 || ns[d] == x.shape()[lead + d], "dropout: noise_shape ",
                       show(*noise_shape), " is not broadcastable to x.shape ", show(x.shape()),
                       " (each dimension must be 1 or equal to x's)");
  }
  if (x.is_meta()) return Tensor::empty(x.shape(), x.dtype(), Device::Meta, "dropout");
  Tensor out;
  if (rate == 0.0) {
    out = clone(x);
  } else {
    out = Tensor::empty(x.shape(), x.dtype(), x.device(), "dropout");
    if (out.numel() > 0) {
      Tensor mask = Tensor::empty(ns, DType::Bool, x.device(), "dropout");
      kernels::dropout_mask(mask.device())(mask.data<bool>(), mask.numel(), rate, seed.key, seed.offset);
      kernels::dropout_apply(out.device())(x.dtype(), x.shape(), x.raw_data(), x.strides(), mask.data<bool>(),
                         broadcast_strides(ns, mask.strides(), x.shape()), out.raw_data(),
                         1.0 / (1.0 - rate));
    }
  }
  *resolved = ns;
  return out;
}

PhiloxSeed seed_of(const Tensor& seed) {
  detail::check_defined(seed, "dropout", "seed");
  CORTEN_CHECK_VALUE(seed.dtype() == DType::Int64 && seed.numel() == 2 && !seed.is_meta() &&
                         seed.device() == Device::CPU,
                     "dropout: seed must be an int64 tensor of 2 values [key, offset] on the "
                     "cpu; got ",
                     dtype_name(seed.dtype()), " of shape ", show(seed.shape()));
  const Tensor c = seed.contiguous();
  PhiloxSeed out;
  std::memcpy(&out.key, c.data<int64_t>(), sizeof(uint64_t));
  std::memcpy(&out.offset, c.data<int64_t>() + 1, sizeof(uint64_t));
  return out;
}

}  // namespace

Tensor dropout(const Tensor& x, double rate, const std::optional<Shape>& noise_shape,
               PhiloxSeed seed) {
  // Note [Half-precision compute]; bfloat16 on the CPU is dropped in place (native_bfloat16).
  if (x.defined() && is_half_precision(x.dtype()) && !native_bfloat16(x)) {
    return detail::narrow_half(dropout(detail::widen_half(x), rate, noise_shape, seed), x.dtype());
  }
  // Called with an offset computed by the caller: a plan would replay that offset.
  trace::not_traceable("dropout");
  Shape ns;
  Tensor out = dropout_impl(x, rate, noise_shape, seed, &ns);
  if (!out.is_meta() && autograd::is_recording()) autograd::record_dropout(x, rate, ns, seed, out);
  return out;
}

Tensor dropout(const Tensor& x, double rate, const std::optional<Shape>& noise_shape,
               const Tensor& seed) {
  // Note [Half-precision compute]; bfloat16 on the CPU is dropped in place (native_bfloat16).
  if (x.defined() && is_half_precision(x.dtype()) && !native_bfloat16(x)) {
    return detail::narrow_half(dropout(detail::widen_half(x), rate, noise_shape, seed), x.dtype());
  }
  trace::OpRecord rec;
  Shape ns;
  Tensor out = dropout_impl(x, rate, noise_shape, seed_of(seed), &ns);
  if (out.is_meta()) return out;
  if (autograd::is_recording()) autograd::record_dropout(x, rate, ns, seed, out);
  rec.record(
      "dropout", {x, seed}, {out},
      [](const trace::Tensors& in, const auto& rate, const auto& noise_shape) {
        return dropout(in[0], rate, noise_shape, in[1]);
      },
      rate, noise_shape);
  return out;
}

Tensor philox_seed_tensor(PhiloxSeed seed) {
  Tensor out = Tensor::empty({2}, DType::Int64, Device::CPU, "philox_seed");
  std::memcpy(out.data<int64_t>(), &seed.key, sizeof(uint64_t));
  std::memcpy(out.data<int64_t>() + 1, &seed.offset, sizeof(uint64_t));
  return out;
}

uint64_t philox_counters_used(int64_t numel) { return cpu::philox_counters_used(numel); }

std::array<uint32_t, 4> philox4x32(const std::array<uint32_t, 4>& counter,
                                   const std::array<uint32_t, 2>& key) {
  const cpu::Philox4x32Block r = cpu::philox4x32_10(
      cpu::Philox4x32Block{{counter[0], counter[1], counter[2], counter[3]}}, key[0], key[1]);
  return {r.v[0], r.v[1], r.v[2], r.v[3]};
}

}  // namespace corten
