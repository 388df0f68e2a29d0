#pragma once
/// The intra-op thread pool. One pool per process; kernels split work with parallel_for.
/// Each thread takes the chunks of its own contiguous share of a job first, so the same
/// chunk runs on the same thread from call to call while no thread falls behind.
/// Between jobs, idle workers (and a caller waiting for them) poll for up to 200 us before
/// sleeping, yielding the core on every poll after the first 5 us; CORTEN_SPIN_US sets that
/// time (0: sleep at once).

#include <cstdint>
#include <functional>

namespace corten {

/// Runs fn(chunk_begin, chunk_end) over [begin, end) split in chunks of at least `grain`
/// iterations, on the pool's threads and the caller's. Runs inline when the range is at most
/// `grain`, when one thread is configured, or when called from inside another parallel_for.
/// The first exception thrown by fn is rethrown in the caller after all chunks finish.
void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn);
/// Runs fn(i, i + 1) for every i in [0, n) on the pool's threads and the caller's, each index
/// its own chunk: thread t first takes the indices of its own contiguous share, the t-th of
/// get_num_threads(), then any left in the others' shares. The same index runs on the same
/// thread from call to call unless a thread falls behind, which keeps the data an index
/// touches in one core's caches across calls. Inline when n <= 1, with one thread, or inside
/// another parallel_for. Exceptions as parallel_for.
void parallel_items(int64_t n, const std::function<void(int64_t, int64_t)>& fn);
/// Threads used by parallel_for (the caller included). Default: the CPU count, or
/// CORTEN_NUM_THREADS when set.
int get_num_threads();
/// Sets the thread count (>= 1; 0 restores the default). Throws ValueError for negative values.
void set_num_threads(int n);

}  // namespace corten
