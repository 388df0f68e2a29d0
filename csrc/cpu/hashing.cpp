#include "cpu/hashing.h"

#include <corten/errors.h>

#include <string>
#include <type_traits>

#include "cpu/hash_math.h"
#include "cpu/loops.h"

namespace corten::cpu {
namespace {

// Formatting and hashing take some 50-100 ns an element: split into chunks far smaller than
// the elementwise grain.
constexpr int64_t kHashGrain = 2048;

template <class T>
void hash_range(const T* x, int64_t begin, int64_t end, uint64_t buckets, bool strong, uint64_t k0,
                uint64_t k1, int64_t* out) {
  for (int64_t i = begin; i < end; ++i) {
    out[i] = hashing::int_bucket(static_cast<int64_t>(x[i]), buckets, strong, k0, k1);
  }
}

template <class Run>
void visit_index(DType dtype, Run&& run) {
  if (dtype == DType::Int32) {
    run(static_cast<const int32_t*>(nullptr));
  } else if (dtype == DType::Int64) {
    run(static_cast<const int64_t*>(nullptr));
  } else {
    throw TypeError(std::string("hash_bucket: no kernel for dtype ") + dtype_name(dtype));
  }
}

}  // namespace

void hash_bucket(DType dtype, const void* x, int64_t n, int64_t num_buckets, bool strong,
                 uint64_t k0, uint64_t k1, int64_t* out) {
  visit_index(dtype, [&](const auto* tag) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(tag)>>;
    const T* xs = static_cast<const T*>(x);
    // Each element is hashed on its own: the result does not depend on the split.
    parallel_for(0, n, kHashGrain, [&](int64_t begin, int64_t end) {
      hash_range(xs, begin, end, static_cast<uint64_t>(num_buckets), strong, k0, k1, out);
    });
  });
}

void hash_bucket_ref(DType dtype, const void* x, int64_t n, int64_t num_buckets, bool strong,
                     uint64_t k0, uint64_t k1, int64_t* out) {
  visit_index(dtype, [&](const auto* tag) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(tag)>>;
    hash_range(static_cast<const T*>(x), 0, n, static_cast<uint64_t>(num_buckets), strong, k0, k1,
               out);
  });
}

void sorted_lookup(DType dtype, const void* x, int64_t n, const int64_t* keys, int64_t num_keys,
                   int64_t* out) {
  visit_index(dtype, [&](const auto* tag) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(tag)>>;
    const T* xs = static_cast<const T*>(x);
    parallel_for(0, n, kHashGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        out[i] = hashing::sorted_position(static_cast<int64_t>(xs[i]), keys, num_keys);
      }
    });
  });
}

void sorted_lookup_ref(DType dtype, const void* x, int64_t n, const int64_t* keys, int64_t num_keys,
                       int64_t* out) {
  visit_index(dtype, [&](const auto* tag) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(tag)>>;
    const T* xs = static_cast<const T*>(x);
    for (int64_t i = 0; i < n; ++i) {
      out[i] = -1;
      for (int64_t k = 0; k < num_keys; ++k) {
        if (keys[k] == static_cast<int64_t>(xs[i])) {
          out[i] = k;
          break;
        }
      }
    }
  });
}

}  // namespace corten::cpu
