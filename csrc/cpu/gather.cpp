#include "cpu/gather.h"

#include <algorithm>
#include <cstring>

#include "cpu/loops.h"
#include "cpu/scratch.h"

namespace corten::cpu {
namespace {

template <typename I>
BadIndex first_bad(const I* idx, int64_t count, int64_t n) {
  for (int64_t k = 0; k < count; ++k) {
    const int64_t v = static_cast<int64_t>(idx[k]);
    if (v < 0 || v >= n) return BadIndex{k, v};
  }
  return BadIndex{};
}

template <typename I>
void gather_rows(size_t itemsize, const char* params, int64_t batch, int64_t outer, int64_t n,
                 int64_t inner, const I* idx, int64_t num_indices, char* out) {
  const size_t row_bytes = static_cast<size_t>(inner) * itemsize;
  const int64_t rows = batch * outer * num_indices;
  const int64_t grain = std::max<int64_t>(1, kGrainCheap / std::max<int64_t>(inner, 1));
  auto source = [&](int64_t r) {
    const int64_t i = r % num_indices;
    const int64_t bo = r / num_indices;  // b * outer + o
    const int64_t b = bo / outer;
    const int64_t src_row = bo * n + static_cast<int64_t>(idx[b * num_indices + i]);
    return params + src_row * static_cast<int64_t>(row_bytes);
  };
  parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
    const char* src = source(begin);
    for (int64_t r = begin; r < end; ++r) {
      // The next row's lines requested while this one is copied: rows at random places (a
      // shuffled batch, an embedding lookup) each start with a cache miss that the hardware
      // prefetchers cannot foresee (64 rows of 784 floats at 1 thread: 11.4 -> 10.3 us).
      const char* next = r + 1 < end ? source(r + 1) : nullptr;
      if (next) {
        for (size_t off = 0; off < row_bytes; off += 64) __builtin_prefetch(next + off);
      }
      std::memcpy(out + r * static_cast<int64_t>(row_bytes), src, row_bytes);
      src = next;
    }
  });
}

// Columns of a row handled by one task: rows of a few columns split over (b, o) only, long rows
// (the embedding case, batch * outer == 1) also over column blocks.
constexpr int64_t kColumnBlock = 1024;

// Destination-row parts of a one-task scatter (below).
constexpr int64_t kRowParts = 8;

// The scatter of one index list into one (n, inner) matrix, with its rows cut into kRowParts
// parts, one task each (an embedding's gradient: one (b, o) and a short row give the loop
// below a single task). The indices are first sorted by part, stably, so every row still takes
// its additions in index order and on one thread: the sums do not depend on the thread count.
template <typename T, typename I>
void scatter_add_by_row_parts(const T* grad, int64_t n, int64_t inner, const I* idx,
                              int64_t num_indices, T* dparams) {
  auto part_of = [&](int64_t i) { return static_cast<int64_t>(idx[i]) * kRowParts / n; };
  const Scratch<int64_t> order(num_indices, "gather_grad");
  int64_t start[kRowParts + 1] = {};
  for (int64_t i = 0; i < num_indices; ++i) ++start[part_of(i) + 1];
  for (int64_t p = 0; p < kRowParts; ++p) start[p + 1] += start[p];
  int64_t next[kRowParts];
  std::copy(start, start + kRowParts, next);
  for (int64_t i = 0; i < num_indices; ++i) order.data()[next[part_of(i)]++] = i;
  parallel_items(kRowParts, [&](int64_t p, int64_t) {
    for (int64_t k = start[p]; k < start[p + 1]; ++k) {
      const int64_t i = order.data()[k];
      T* d = dparams + static_cast<int64_t>(idx[i]) * inner;
      const T* s = grad + i * inner;
      for (int64_t c = 0; c < inner; ++c) d[c] += s[c];
    }
  });
}

template <typename T, typename I>
void scatter_add_rows(const T* grad, int64_t batch, int64_t outer, int64_t n, int64_t inner,
                      const I* idx, int64_t num_indices, T* dparams) {
  if (batch * outer == 1 && inner <= kColumnBlock && n >= kRowParts && get_num_threads() > 1 &&
      num_indices * inner >= kGrainCheap) {
    scatter_add_by_row_parts(grad, n, inner, idx, num_indices, dparams);
    return;
  }
  const int64_t blocks = (inner + kColumnBlock - 1) / kColumnBlock;
  const int64_t tasks = batch * outer * blocks;
  const int64_t work = num_indices * std::min(inner, kColumnBlock);
  const int64_t grain = std::max<int64_t>(1, kGrainCheap / std::max<int64_t>(work, 1));
  parallel_for(0, tasks, grain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t bo = t / blocks;  // b * outer + o
      const int64_t c0 = (t % blocks) * kColumnBlock;
      const int64_t c1 = std::min(inner, c0 + kColumnBlock);
      const I* row_idx = idx + (bo / outer) * num_indices;
      T* dst = dparams + bo * n * inner;
      const T* src = grad + bo * num_indices * inner;
      for (int64_t i = 0; i < num_indices; ++i) {
        T* d = dst + static_cast<int64_t>(row_idx[i]) * inner;
        const T* s = src + i * inner;
        for (int64_t c = c0; c < c1; ++c) d[c] += s[c];
      }
    }
  });
}

}  // namespace

BadIndex gather(size_t itemsize, DType index_dtype, const void* params, int64_t batch,
                int64_t outer, int64_t n, int64_t inner, const void* indices, int64_t num_indices,
                void* out) {
  auto run = [&](auto* idx) {
    BadIndex bad = first_bad(idx, batch * num_indices, n);
    if (bad.position >= 0) return bad;
    if (batch * outer * num_indices * inner == 0) return bad;
    gather_rows(itemsize, static_cast<const char*>(params), batch, outer, n, inner, idx,
                num_indices, static_cast<char*>(out));
    return bad;
  };
  if (index_dtype == DType::Int32) return run(static_cast<const int32_t*>(indices));
  return run(static_cast<const int64_t*>(indices));
}

BadIndex gather_backward(DType dtype, DType index_dtype, const void* grad, int64_t batch,
                         int64_t outer, int64_t n, int64_t inner, const void* indices,
                         int64_t num_indices, void* dparams) {
  auto run = [&](auto* idx) {
    BadIndex bad = first_bad(idx, batch * num_indices, n);
    if (bad.position >= 0) return bad;
    if (batch * outer * num_indices * inner == 0) return bad;
    visit_floating(dtype, "gather_grad", [&](auto tag) {
      using T = typename decltype(tag)::type;
      scatter_add_rows(static_cast<const T*>(grad), batch, outer, n, inner, idx, num_indices,
                       static_cast<T*>(dparams));
    });
    return bad;
  };
  if (index_dtype == DType::Int32) return run(static_cast<const int32_t*>(indices));
  return run(static_cast<const int64_t*>(indices));
}

}  // namespace corten::cpu
