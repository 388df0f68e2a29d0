#pragma once
/// Hashing of integer values into buckets, as TensorFlow's string hash ops do on their decimal
/// strings (Note [TensorFlow-compatible hashing] in csrc/cpu/hash_math.h).

#include <corten/tensor.h>

#include <cstdint>

namespace corten {

/// hash_bucket(x (int32/int64), num_buckets >= 1): int64 buckets of x's shape,
/// Fingerprint64(str(x)) % num_buckets (tf.strings.to_hash_bucket_fast(tf.as_string(x))), or
/// with `strong` SipHash-2-4(key=(k0, k1), str(x)) % num_buckets (to_hash_bucket_strong).
/// Not differentiable. `reference` runs the single-threaded reference kernel (tests).
Tensor hash_bucket(const Tensor& x, int64_t num_buckets, bool strong = false, uint64_t k0 = 0,
                   uint64_t k1 = 0, bool reference = false);

}  // namespace corten
