#include "cpu/hashing.h"

#include <corten/errors.h>

#include <algorithm>
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

void bincount(DType index_dtype, DType dtype, const void* x, const void* weights, int64_t rows,
              int64_t k, int64_t depth, bool binary, void* out) {
  visit_numeric(dtype, "bincount", [&](auto tag) {
    using T = typename decltype(tag)::type;
    visit_index(index_dtype, [&](const auto* itag) {
      using I = std::remove_cv_t<std::remove_pointer_t<decltype(itag)>>;
      const I* xs = static_cast<const I*>(x);
      const T* ws = static_cast<const T*>(weights);
      T* o = static_cast<T*>(out);
      // Rows are independent and each is summed in order: the split changes nothing.
      const int64_t grain = std::max<int64_t>(1, kGrainCheap / std::max<int64_t>(k + depth, 1));
      parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          hashing::bincount_row(xs + r * k, ws != nullptr ? ws + r * k : nullptr, k, depth, binary,
                                o + r * depth);
        }
      });
    });
  });
}

void bincount_ref(DType index_dtype, DType dtype, const void* x, const void* weights, int64_t rows,
                  int64_t k, int64_t depth, bool binary, void* out) {
  visit_numeric(dtype, "bincount", [&](auto tag) {
    using T = typename decltype(tag)::type;
    visit_index(index_dtype, [&](const auto* itag) {
      using I = std::remove_cv_t<std::remove_pointer_t<decltype(itag)>>;
      const I* xs = static_cast<const I*>(x);
      const T* ws = static_cast<const T*>(weights);
      T* o = static_cast<T*>(out);
      for (int64_t i = 0; i < rows * depth; ++i) o[i] = T(0);
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < k; ++j) {
          const auto v = static_cast<int64_t>(xs[r * k + j]);
          if (v < 0 || v >= depth) continue;
          T& slot = o[r * depth + v];
          slot = binary ? T(1) : slot + (ws != nullptr ? ws[r * k + j] : T(1));
        }
      }
    });
  });
}

}  // namespace corten::cpu
