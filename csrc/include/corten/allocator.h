#pragma once
/// The CPU caching allocator. Every tensor buffer is 64-byte aligned and comes from here; freed
/// blocks are kept in size classes and reused, up to a cache limit. Thread-safe.

#include <cstddef>
#include <cstdint>

namespace corten {

struct AllocatorStats {
  int64_t live_bytes;    ///< bytes held by live tensors (size-class rounded)
  int64_t peak_bytes;    ///< maximum of live_bytes since start or the last reset_peak
  int64_t cached_bytes;  ///< bytes held in the cache, free for reuse
  int64_t num_allocs;    ///< allocations served (from the cache or the system)
  int64_t num_system_allocs;  ///< allocations that went to the system allocator
};

/// Returns a block of at least `nbytes` bytes, 64-byte aligned. Throws MemoryError (naming `op`)
/// when the request cannot be satisfied; never returns null. `nbytes == 0` gives a valid pointer.
void* cpu_allocate(size_t nbytes, const char* op = "allocate");
/// Gives back a block obtained from cpu_allocate with the same `nbytes`.
void cpu_free(void* ptr, size_t nbytes) noexcept;
AllocatorStats allocator_stats();
void allocator_reset_peak();
/// Releases every cached block to the system.
void allocator_empty_cache();
/// Debug mode: fill every freed buffer with all-one bytes before reuse (Note [Freed-buffer
/// poisoning] in core/allocator.cpp).
void allocator_set_poison_freed(bool enabled);
bool allocator_poison_freed();
/// The block size that serves a request of `nbytes` (multiples of 64 up to 4 KiB, then four
/// classes per power of two). The device allocator of the CUDA build uses the same classes.
size_t allocator_size_class(size_t nbytes) noexcept;
/// Largest number of bytes the cache may hold (default 1 GiB).
void allocator_set_cache_limit(int64_t bytes);

}  // namespace corten
