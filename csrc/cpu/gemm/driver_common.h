#pragma once
// Pieces shared by the GEMM drivers (gemm.cpp, gemm_bf16.cpp): the work-item loop of Note
// [GEMM threading] and the distinct matrices of a broadcast batch; their packing scratch is
// cpu/scratch.h's.

#include <corten/parallel.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/scratch.h"

namespace corten::cpu::gemm {

// Products below this many flops run on the calling thread: handing work to the pool (and the
// operands' cache lines to another core) costs more than it saves, even with the pool's
// workers spinning (bench/bench_gemm.py, 64x64 . 64x64 at 2 threads: 4.4 us inline, 5.1 us
// split at 2^18).
constexpr int64_t kParallelFlops = int64_t{1} << 21;

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Runs fn(item) for item in [0, n) on all threads, each taking the items of its own share
// first, then any left (Note [GEMM threading], Note [Chunk affinity] in parallel.cpp).
template <class F>
void run_items(int64_t n, bool parallel, const F& fn) {
  if (n <= 0) return;
  if (!parallel || n == 1) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  parallel_items(n, [&](int64_t i, int64_t) { fn(i); });
}

// The distinct matrices of a batch (values of off[0..batch)) and, per batch, the index of its
// matrix. Broadcast batches repeat offsets; the common cases (one matrix, all equal, all
// distinct) allocate nothing, which matters for small products.
class BatchMatrices {
 public:
  BatchMatrices(int64_t batch, const int64_t* off) : off_(off) {
    bool all_equal = true;
    for (int64_t i = 1; i < batch && all_equal; ++i) all_equal = off[i] == off[0];
    if (all_equal) {
      count_ = 1;
      return;
    }
    bool increasing = true;
    for (int64_t i = 1; i < batch && increasing; ++i) increasing = off[i] > off[i - 1];
    if (increasing) {
      count_ = batch;
      identity_ = true;
      return;
    }
    uniq_.assign(off, off + batch);
    std::sort(uniq_.begin(), uniq_.end());
    uniq_.erase(std::unique(uniq_.begin(), uniq_.end()), uniq_.end());
    index_.resize(static_cast<size_t>(batch));
    for (int64_t i = 0; i < batch; ++i) {
      const auto at = std::lower_bound(uniq_.begin(), uniq_.end(), off[i]);
      index_[i] = static_cast<int32_t>(at - uniq_.begin());
    }
    count_ = static_cast<int64_t>(uniq_.size());
  }
  int64_t count() const { return count_; }
  // Offset of distinct matrix u.
  int64_t offset(int64_t u) const { return uniq_.empty() ? off_[u] : uniq_[u]; }
  // Index of batch bi's matrix.
  int64_t index(int64_t bi) const {
    if (count_ == 1) return 0;
    return identity_ ? bi : index_[bi];
  }

 private:
  const int64_t* off_;
  int64_t count_ = 0;
  bool identity_ = false;
  std::vector<int64_t> uniq_;
  std::vector<int32_t> index_;
};

}  // namespace corten::cpu::gemm
