#include "cpu/creation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "cpu/convert.h"
#include "cpu/loops.h"

namespace corten::cpu {

void range(DType dtype, int64_t n, double start, double delta, void* out) {
  visit_numeric(dtype, "range", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* o = static_cast<T*>(out);
    parallel_for(0, n, kGrainCheap, [&](int64_t begin, int64_t end) {
      if constexpr (std::is_integral_v<T>) {
        // Unsigned arithmetic wraps instead of overflowing; the results lie in [start, limit).
        const auto s = static_cast<uint64_t>(static_cast<int64_t>(start));
        const auto d = static_cast<uint64_t>(static_cast<int64_t>(delta));
        for (int64_t i = begin; i < end; ++i) {
          o[i] = static_cast<T>(static_cast<int64_t>(s + static_cast<uint64_t>(i) * d));
        }
      } else {
        for (int64_t i = begin; i < end; ++i) o[i] = static_cast<T>(start + static_cast<double>(i) * delta);
      }
    });
  });
}

void eye(DType dtype, int64_t batch, int64_t rows, int64_t cols, void* out) {
  visit_dtype(dtype, "eye", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* o = static_cast<T*>(out);
    const int64_t per = rows * cols;
    const int64_t diag = std::min(rows, cols);
    parallel_for(0, batch, std::max<int64_t>(1, kGrainCheap / std::max<int64_t>(per, 1)),
                 [&](int64_t begin, int64_t end) {
                   for (int64_t b = begin; b < end; ++b) {
                     T* m = o + b * per;
                     std::fill(m, m + per, T(0));
                     for (int64_t i = 0; i < diag; ++i) m[i * cols + i] = T(1);
                   }
                 });
  });
}

void one_hot(DType index_dtype, DType dtype, const void* indices, int64_t outer, int64_t depth,
             int64_t inner, double on, double off, void* out) {
  visit_dtype(dtype, "one_hot", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T on_v = convert<T>(on), off_v = convert<T>(off);
    T* o = static_cast<T*>(out);
    auto run = [&](const auto* idx) {
      const int64_t per = depth * inner;
      parallel_for(0, outer, std::max<int64_t>(1, kGrainCheap / std::max<int64_t>(per, 1)),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t a = begin; a < end; ++a) {
                       T* m = o + a * per;
                       std::fill(m, m + per, off_v);
                       for (int64_t i = 0; i < inner; ++i) {
                         const auto v = static_cast<int64_t>(idx[a * inner + i]);
                         if (v >= 0 && v < depth) m[v * inner + i] = on_v;
                       }
                     }
                   });
    };
    if (index_dtype == DType::Int32) {
      run(static_cast<const int32_t*>(indices));
    } else {
      run(static_cast<const int64_t*>(indices));
    }
  });
}

}  // namespace corten::cpu
