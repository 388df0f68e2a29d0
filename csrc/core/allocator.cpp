// The one place in the library that calls the system allocator.
#include <corten/allocator.h>
#include <corten/errors.h>

#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define CORTEN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORTEN_ASAN 1
#endif
#endif
#ifdef CORTEN_ASAN
#include <sanitizer/asan_interface.h>
#endif

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace corten {
namespace {

constexpr size_t kAlignment = 64;

// Note [Allocator poisoning]
// Under AddressSanitizer the cache would hide use-after-free (a freed block stays mapped) and
// overflows into a block's size-class slack. So cached blocks are poisoned whole, and live blocks
// have their slack (from the requested size to the size class) poisoned.
#ifdef CORTEN_ASAN
void poison(void* p, size_t n) { ASAN_POISON_MEMORY_REGION(p, n); }
void unpoison(void* p, size_t n) { ASAN_UNPOISON_MEMORY_REGION(p, n); }
#else
void poison(void*, size_t) {}
void unpoison(void*, size_t) {}
#endif
// Makes the first `nbytes` of a `cls`-byte block addressable and the rest poisoned.
void mark_live(void* p, size_t nbytes, size_t cls) {
  unpoison(p, nbytes);
  poison(static_cast<char*>(p) + nbytes, cls - nbytes);
}

// Size classes: multiples of 64 up to 4 KiB, then four classes per power of two (at most 25%
// slack), so blocks freed by one training step serve the next.
size_t size_class(size_t nbytes) {
  if (nbytes <= 4096) return std::max<size_t>(kAlignment, (nbytes + kAlignment - 1) & ~(kAlignment - 1));
  size_t p = 4096;
  while (p < nbytes / 2 + 1 && p < (size_t{1} << 62)) p <<= 1;  // p <= nbytes < 2p
  const size_t q = p / 4;
  return (nbytes + q - 1) / q * q;
}

// Index of a size class in the free lists: 64 classes of 64 bytes up to 4 KiB, then four per
// power of two (a class c > 4 KiB with 2^e < c <= 2^(e+1) is a multiple of 2^(e-2)).
constexpr size_t kNumBins = 64 + 4 * 51;
size_t bin_of(size_t cls) {
  if (cls <= 4096) return cls / kAlignment - 1;
  const size_t e = 63 - static_cast<size_t>(__builtin_clzll(cls - 1));
  return 64 + (e - 12) * 4 + (((cls - 1) >> (e - 2)) - 4);
}

// Inverse of bin_of: the size class of free list `b`.
size_t bin_size(size_t b) {
  if (b < 64) return (b + 1) * kAlignment;
  const size_t e = (b - 64) / 4 + 12, j = (b - 64) % 4 + 4;
  return (j + 1) << (e - 2);
}

// sysconf(_SC_PHYS_PAGES) is a sysinfo() system call: read it once, not per allocation.
size_t physical_memory_bytes() {
  static const size_t bytes = [] {
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return size_t{1} << 62;
    return static_cast<size_t>(pages) * static_cast<size_t>(page);
  }();
  return bytes;
}

// Note [Allocator lock]
// Every tensor allocation and free takes this lock once, for a few dozen instructions (a free
// list push or pop and the statistics), so a test-and-test-and-set spin lock is cheaper than a
// mutex (bench: per-op overhead, `add 64x64`); it yields while another thread holds it.
class SpinLock {
 public:
  void lock() noexcept {
    while (flag_.exchange(true, std::memory_order_acquire)) {
      while (flag_.load(std::memory_order_relaxed)) std::this_thread::yield();
    }
  }
  void unlock() noexcept { flag_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> flag_{false};
};

class CachingAllocator {
 public:
  void* allocate(size_t nbytes, const char* op) {
    if (nbytes > physical_memory_bytes()) {
      throw MemoryError(detail::str_cat(op, ": cannot allocate ", nbytes,
                                        " bytes: more than this machine's physical memory (",
                                        physical_memory_bytes(), " bytes)"));
    }
    const size_t cls = size_class(nbytes);
    {
      std::lock_guard<SpinLock> lock(mu_);
      ++num_allocs_;
      std::vector<void*>& bin = free_[bin_of(cls)];
      if (!bin.empty()) {
        void* p = bin.back();
        bin.pop_back();
        cached_ -= static_cast<int64_t>(cls);
        note_live(static_cast<int64_t>(cls));
        mark_live(p, nbytes, cls);
        return p;
      }
      ++num_system_allocs_;
    }
    void* p = std::aligned_alloc(kAlignment, cls);
    if (!p) {
      empty_cache();
      p = std::aligned_alloc(kAlignment, cls);
    }
    if (!p) {
      throw MemoryError(detail::str_cat(op, ": out of memory allocating ", nbytes, " bytes"));
    }
    mark_live(p, nbytes, cls);
    std::lock_guard<SpinLock> lock(mu_);
    note_live(static_cast<int64_t>(cls));
    return p;
  }

  void release(void* p, size_t nbytes) noexcept {
    // Note [Freed-buffer poisoning]: in the debug mode every freed buffer is filled with
    // all-one bytes (NaN for floats, -1 for integers) before it can be reused, so that code
    // still reading a buffer it no longer owns (a plan releasing a value too early, an op
    // keeping a raw pointer) computes NaN instead of plausible numbers. ASan builds catch the
    // same reads as use-after-free; this mode finds them in the release build the tests use.
    if (poison_freed_.load(std::memory_order_relaxed)) std::memset(p, 0xFF, nbytes);
    const size_t cls = size_class(nbytes);
    std::unique_lock<SpinLock> lock(mu_);
    live_ -= static_cast<int64_t>(cls);
    if (cached_ + static_cast<int64_t>(cls) <= cache_limit_) {
      poison(p, cls);  // before another thread can take it from the cache
      try {
        free_[bin_of(cls)].push_back(p);
        cached_ += static_cast<int64_t>(cls);
        return;
      } catch (...) {  // bookkeeping failed: give the block back instead
      }
    }
    lock.unlock();
    unpoison(p, cls);
    std::free(p);
  }

  void empty_cache() noexcept {
    std::array<std::vector<void*>, kNumBins> blocks;
    {
      std::lock_guard<SpinLock> lock(mu_);
      blocks.swap(free_);
      cached_ = 0;
    }
    for (size_t b = 0; b < kNumBins; ++b) {
      for (void* p : blocks[b]) {
        unpoison(p, bin_size(b));
        std::free(p);
      }
    }
  }

  void set_poison_freed(bool on) { poison_freed_.store(on); }
  bool poison_freed() const { return poison_freed_.load(); }

  AllocatorStats stats() {
    std::lock_guard<SpinLock> lock(mu_);
    return {live_, peak_, cached_, num_allocs_, num_system_allocs_};
  }
  void reset_peak() {
    std::lock_guard<SpinLock> lock(mu_);
    peak_ = live_;
  }
  void set_cache_limit(int64_t bytes) {
    {
      std::lock_guard<SpinLock> lock(mu_);
      cache_limit_ = bytes;
    }
    empty_cache();
  }

 private:
  void note_live(int64_t n) {
    live_ += n;
    if (live_ > peak_) peak_ = live_;
  }
  SpinLock mu_;
  std::array<std::vector<void*>, kNumBins> free_;
  int64_t live_ = 0, peak_ = 0, cached_ = 0, num_allocs_ = 0, num_system_allocs_ = 0;
  int64_t cache_limit_ = int64_t{1} << 30;
  std::atomic<bool> poison_freed_{false};
};

// Leaked on purpose: tensors held by static objects of an embedding application may be freed
// after this translation unit's statics are destroyed.
CachingAllocator& allocator() {
  static CachingAllocator* a = new CachingAllocator();
  return *a;
}

}  // namespace

void* cpu_allocate(size_t nbytes, const char* op) { return allocator().allocate(nbytes, op); }
void cpu_free(void* ptr, size_t nbytes) noexcept {
  if (ptr) allocator().release(ptr, nbytes);
}
AllocatorStats allocator_stats() { return allocator().stats(); }
void allocator_reset_peak() { allocator().reset_peak(); }
void allocator_empty_cache() { allocator().empty_cache(); }
void allocator_set_poison_freed(bool enabled) { allocator().set_poison_freed(enabled); }
bool allocator_poison_freed() { return allocator().poison_freed(); }
void allocator_set_cache_limit(int64_t bytes) {
  CORTEN_CHECK_VALUE(bytes >= 0, "allocator_set_cache_limit: bytes must be >= 0; got ", bytes);
  allocator().set_cache_limit(bytes);
}

size_t allocator_size_class(size_t nbytes) noexcept { return size_class(nbytes); }

}  // namespace corten
