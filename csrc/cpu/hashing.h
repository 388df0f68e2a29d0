#pragma once
// CPU kernels of the hash_bucket op (Note [TensorFlow-compatible hashing] in cpu/hash_math.h).
// Callers have validated every argument.

#include <corten/dtype.h>

#include <cstdint>

namespace corten::cpu {

/// x: (n,) int32/int64, contiguous; out: (n,) int64 = hash(decimal string of x) % num_buckets
/// (num_buckets >= 1): FarmHash Fingerprint64, or with `strong` SipHash-2-4 keyed (k0, k1).
void hash_bucket(DType dtype, const void* x, int64_t n, int64_t num_buckets, bool strong,
                 uint64_t k0, uint64_t k1, int64_t* out);
/// The same, one element after another on the calling thread (the reference of the tests).
void hash_bucket_ref(DType dtype, const void* x, int64_t n, int64_t num_buckets, bool strong,
                     uint64_t k0, uint64_t k1, int64_t* out);

/// x: (n,) int32/int64, contiguous; keys: (num_keys,) int64 sorted ascending without
/// repeats; out: (n,) int64 = the position of x[i] in keys, or -1 when it is absent (a binary
/// search; unsorted keys give unspecified positions, never out-of-bounds reads).
void sorted_lookup(DType dtype, const void* x, int64_t n, const int64_t* keys, int64_t num_keys,
                   int64_t* out);
/// The same by a linear scan of the keys, on the calling thread (the reference of the tests).
void sorted_lookup_ref(DType dtype, const void* x, int64_t n, const int64_t* keys, int64_t num_keys,
                       int64_t* out);

/// x: (rows, k) int32/int64, contiguous; weights: (rows, k) of `dtype` or null; out:
/// (rows, depth) of `dtype` (float32/float64/int32/int64): out[r, v] = the number (or the
/// weights' sum, in order of j) of j with x[r, j] == v; values outside [0, depth) are skipped.
/// With `binary`, 1 where that count is non-zero (weights unused).
void bincount(DType index_dtype, DType dtype, const void* x, const void* weights, int64_t rows,
              int64_t k, int64_t depth, bool binary, void* out);
/// The same as a plain double loop on the calling thread (the reference of the tests).
void bincount_ref(DType index_dtype, DType dtype, const void* x, const void* weights, int64_t rows,
                  int64_t k, int64_t depth, bool binary, void* out);

}  // namespace corten::cpu
