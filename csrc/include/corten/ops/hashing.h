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

/// sorted_lookup(x (int32/int64), keys (1-D int64, sorted ascending without repeats)): int64
/// of x's shape, the position of each value in keys or -1 (the vocabulary lookup of
/// IntegerLookup). Sortedness is the caller's promise: unsorted keys give unspecified
/// positions. Not differentiable. `reference` runs the linear-scan reference kernel (tests).
Tensor sorted_lookup(const Tensor& x, const Tensor& keys, bool reference = false);

/// bincount(x (int32/int64, rank 1 or 2), depth >= 0): per row of x (the whole of a 1-D x), how
/// often each value in [0, depth) occurs, or the sum of `weights` (x's shape, of `dtype`) at
/// those positions; other values are skipped. Shape (depth,) or (rows, depth), of `dtype`
/// (float32/float64/int32/int64). With `binary`, 1 where the count is non-zero (no weights).
/// The sums run in input order on every device. Not differentiable. `reference` runs the
/// kernel on one thread (tests).
Tensor bincount(const Tensor& x, int64_t depth, const Tensor& weights, bool binary, DType dtype,
                bool reference = false);

}  // namespace corten
