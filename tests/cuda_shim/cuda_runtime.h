#pragma once
// Test-only stand-in for <cuda_runtime.h>: lets the kernel sources of csrc/cuda/*.cu compile as
// C++17 with the host compiler and run on the CPU, so that CI checks them against the CPU
// kernels on a machine without a GPU. It is not a CPU backend and is never shipped: only the
// test targets put this directory on the include path (before the CUDA toolkit's).
//
// Note [CUDA test shim]
// - A launch runs the grid's blocks one after another on the launching host thread; a block's
//   CUDA threads are fibers (ucontext), switched only where a thread waits at a barrier, a
//   shuffle or a vote. One fiber runs the block's threads one after another until one waits;
//   the next thread then starts on another fiber, and once all have started the waiting ones
//   resume in turn. (OS threads per CUDA thread, woken at every barrier, made a case take
//   seconds on 2 cores.) A round in which no waiting thread can move is a deadlock, reported
//   as an error naming the kernel. threadIdx is restored whenever a fiber resumes; blockIdx,
//   blockDim and gridDim are the block's.
// - __shared__ is `static`: one copy per kernel instantiation, which is per block because the
//   blocks of a launch run in turn and launches do not overlap (one host thread launches).
//   Dynamic shared memory is declared with CORTEN_DYNAMIC_SHARED (csrc/cuda/launch.h): here one
//   16-byte aligned buffer of the launch's shared_bytes, reused by its blocks in turn.
// - __syncthreads() is a barrier of the block's threads that have not returned (as on Volta and
//   later, a returned thread no longer counts). Warps are the groups of 32 consecutive linear
//   thread ids; shuffles and votes are a barrier of the warp's live lanes around an exchange
//   through per-warp slots. The mask argument is not checked: every live lane of the warp must
//   take part, as the kernels of csrc/cuda/ do. Reading a lane outside the width or one that has
//   returned gives the caller's own value (undefined in CUDA).
// - Atomics are the host compiler's __atomic builtins (floating point through compare-and-swap).
// - Exceptions thrown by a kernel thread are rethrown by the launch.

#include <corten/errors.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define CORTEN_SHIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORTEN_SHIM_ASAN 1
#endif
#endif
#ifndef CORTEN_SHIM_ASAN
#define CORTEN_SHIM_ASAN 0
#endif
#if CORTEN_SHIM_ASAN
#include <dlfcn.h>
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#define CORTEN_CUDA_SHIM 1

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __shared__ static
#define __launch_bounds__(...)

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
};

inline thread_local dim3 threadIdx{0, 0, 0};
inline thread_local dim3 blockIdx{0, 0, 0};
inline thread_local dim3 blockDim{1, 1, 1};
inline thread_local dim3 gridDim{1, 1, 1};
constexpr int warpSize = 32;

enum cudaError_t { cudaSuccess = 0, cudaErrorInvalidConfiguration = 9 };
using cudaStream_t = struct CUstream_st*;
inline const char* cudaGetErrorString(cudaError_t e) {
  return e == cudaSuccess ? "no error" : "invalid configuration argument";
}
inline cudaError_t cudaGetLastError() { return cudaSuccess; }

// Memory calls of the kernel families (reading a flag or a sum back, clearing an accumulator):
// host memory is the device's here, and a stream is the launching host thread.
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4
};
inline cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                                   cudaStream_t = nullptr) {
  return cudaMemcpy(dst, src, bytes, kind);
}
inline cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t = nullptr) {
  if (bytes) std::memset(dst, value, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }

namespace cuda_shim {

/// The fibers that run a launch's CUDA threads on the launching host thread (Note [CUDA test
/// shim]). A fiber runs the block's not yet started threads one after another until one waits
/// at a barrier; the scheduler then starts the next thread on another fiber, and resumes the
/// waiting fibers in turn once every thread has started.
class Scheduler {
 public:
  static Scheduler& instance() {
    static thread_local Scheduler s;
    return s;
  }
  ~Scheduler() {
    for (Fiber& f : fibers_) munmap(f.memory, kStackBytes + kGuardBytes);
  }

  /// Runs `thread(t)` for t in [0, nthreads) as the threads of one block; returns when all have
  /// returned. Throws corten::Error naming `kernel` when waiting threads can never continue.
  void run_block(const char* kernel, unsigned nthreads,
                 const std::function<void(unsigned)>& thread);

  /// Called by a waiting thread: lets the other threads of the block run.
  void yield() {
    Fiber& self = fibers_[current_];
    const dim3 index = threadIdx;  // the other threads set it while this one waits
    self.state = State::Waiting;
    switch_to(self, main_, main_stack_bottom_, main_stack_size_);
    threadIdx = index;
  }
  /// Something happened that may let a waiting thread continue (a barrier arrival or release).
  void progress() { ++progress_; }
  unsigned thread_id() const { return fibers_[current_].thread; }

 private:
  static constexpr size_t kStackBytes = 512 * 1024;
  static constexpr size_t kGuardBytes = 4096;  // an overflow faults instead of corrupting
  enum class State { Idle, Running, Waiting };
  struct Fiber {
    ucontext_t context;
    void* memory = nullptr;  // guard page, then the stack
    void* fake_stack = nullptr;
    State state = State::Idle;
    unsigned thread = 0;
  };

  Scheduler() = default;

  static void entry();
  void new_fiber();
  void init_context(Fiber& f);
  void switch_to(Fiber& from, ucontext_t& to, const void* to_bottom, size_t to_size);
  void enter(size_t i);

  std::deque<Fiber> fibers_;  // a saved context points into itself: fibers never move
  ucontext_t main_;
  const void* main_stack_bottom_ = nullptr;
  size_t main_stack_size_ = 0;
  size_t current_ = 0;
  unsigned next_thread_ = 0, nthreads_ = 0;
  uint64_t progress_ = 0;
  const std::function<void(unsigned)>* thread_fn_ = nullptr;
};

#if CORTEN_SHIM_ASAN
// AddressSanitizer's interceptor of swapcontext clears the shadow of the whole target stack at
// every switch (a system call that made the suite take minutes) and warns; the switches here
// are annotated instead (__sanitizer_*_switch_fiber), so they call libc's own swapcontext.
inline int shim_swapcontext(ucontext_t* from, const ucontext_t* to) {
  using Swap = int (*)(ucontext_t*, const ucontext_t*);
  static const Swap swap = [] {
    void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    void* sym = libc ? dlsym(libc, "swapcontext") : nullptr;
    return sym ? reinterpret_cast<Swap>(sym) : &::swapcontext;
  }();
  return swap(from, to);
}
#else
inline int shim_swapcontext(ucontext_t* from, const ucontext_t* to) {
  return swapcontext(from, to);
}
#endif

// AddressSanitizer must be told of each stack switch, or it reports the fibers' stacks as bad.
inline void Scheduler::switch_to(Fiber& from, ucontext_t& to, const void* to_bottom,
                                 size_t to_size) {
#if CORTEN_SHIM_ASAN
  __sanitizer_start_switch_fiber(&from.fake_stack, to_bottom, to_size);
#else
  (void)to_bottom;
  (void)to_size;
#endif
  shim_swapcontext(&from.context, &to);
#if CORTEN_SHIM_ASAN
  __sanitizer_finish_switch_fiber(from.fake_stack, nullptr, nullptr);
#endif
}

inline void Scheduler::enter(size_t i) {
  current_ = i;
  Fiber& f = fibers_[i];
  void* fake = nullptr;
#if CORTEN_SHIM_ASAN
  __sanitizer_start_switch_fiber(&fake, static_cast<char*>(f.memory) + kGuardBytes, kStackBytes);
#endif
  shim_swapcontext(&main_, &f.context);
#if CORTEN_SHIM_ASAN
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
  (void)fake;
}

inline void Scheduler::entry() {
  Scheduler& s = instance();
#if CORTEN_SHIM_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &s.main_stack_bottom_, &s.main_stack_size_);
#endif
  for (;;) {
    Fiber& f = s.fibers_[s.current_];
    // Run threads not yet started until one waits (yield() returns here later) or none is left.
    while (s.next_thread_ < s.nthreads_) {
      f.thread = s.next_thread_++;
      f.state = State::Running;
      (*s.thread_fn_)(f.thread);
      ++s.progress_;
    }
    f.state = State::Idle;
    s.switch_to(f, s.main_, s.main_stack_bottom_, s.main_stack_size_);
  }
}

inline void Scheduler::new_fiber() {
  Fiber f;
  f.memory = mmap(nullptr, kStackBytes + kGuardBytes, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (f.memory == MAP_FAILED) throw corten::Error("CUDA test shim: no memory for a fiber stack");
  mprotect(f.memory, kGuardBytes, PROT_NONE);
  fibers_.push_back(f);
  init_context(fibers_.back());
}

inline void Scheduler::init_context(Fiber& f) {
#if CORTEN_SHIM_ASAN
  // A stack abandoned by a deadlock keeps its frames' redzones poisoned.
  __asan_unpoison_memory_region(static_cast<char*>(f.memory) + kGuardBytes, kStackBytes);
#endif
  getcontext(&f.context);
  f.context.uc_stack.ss_sp = static_cast<char*>(f.memory) + kGuardBytes;
  f.context.uc_stack.ss_size = kStackBytes;
  f.context.uc_link = nullptr;
  makecontext(&f.context, &Scheduler::entry, 0);
  f.state = State::Idle;
}

inline void Scheduler::run_block(const char* kernel, unsigned nthreads,
                                 const std::function<void(unsigned)>& thread) {
  thread_fn_ = &thread;
  next_thread_ = 0;
  nthreads_ = nthreads;
  size_t used = 0;  // fibers [0, used) hold this block's threads
  for (;;) {
    if (next_thread_ < nthreads_) {
      if (used == fibers_.size()) new_fiber();
      enter(used++);
      continue;
    }
    // Every thread has started: resume the waiting ones until all have returned.
    const uint64_t before = progress_;
    bool waiting = false;
    for (size_t i = 0; i < used; ++i) {
      if (fibers_[i].state != State::Waiting) continue;
      enter(i);
      waiting = waiting || fibers_[i].state == State::Waiting;
    }
    if (!waiting) break;
    if (progress_ == before) {
      // No thread moved in a whole round: each waits for one that never arrives. Their stacks
      // are abandoned (the fibers start afresh) and the launch fails.
      unsigned stuck = 0;
      for (size_t i = 0; i < used; ++i) {
        if (fibers_[i].state != State::Waiting) continue;
        ++stuck;
        init_context(fibers_[i]);
      }
      throw corten::Error(std::string(kernel) + ": " + std::to_string(stuck) + " of " +
                          std::to_string(nthreads) +
                          " threads of a block wait at a barrier or warp operation that the "
                          "others never reach (CUDA test shim)");
    }
  }
}

/// A reusable barrier of the fibers of one block, whose participants can leave
/// (std::barrier::arrive_and_drop in C++20).
class Barrier {
 public:
  void reset(unsigned expected) {
    expected_ = expected;
    arrived_ = 0;
  }
  void arrive_and_wait() {
    const uint64_t gen = gen_;
    Scheduler::instance().progress();
    if (++arrived_ >= expected_) {
      release();
      return;
    }
    while (gen_ == gen) Scheduler::instance().yield();
  }
  void arrive_and_drop() {
    --expected_;
    if (arrived_ > 0 && arrived_ >= expected_) release();
  }

 private:
  void release() {
    arrived_ = 0;
    ++gen_;
    Scheduler::instance().progress();
  }
  unsigned expected_ = 0, arrived_ = 0;
  uint64_t gen_ = 0;
};

struct Warp {
  Barrier barrier;
  uint64_t slot[32] = {};
  unsigned size = 0;  // lanes of this warp in the block
};

/// The state of the block being run (one launch at a time).
struct BlockState {
  Barrier block_barrier;
  std::vector<std::unique_ptr<Warp>> warps;
  std::vector<std::max_align_t> dynamic_shared;  // the launch's shared_bytes
};

inline thread_local BlockState* t_block = nullptr;

/// The block's dynamic shared memory (CORTEN_DYNAMIC_SHARED).
template <class T>
T* dynamic_shared() {
  return reinterpret_cast<T*>(t_block->dynamic_shared.data());
}

inline unsigned linear_id() { return Scheduler::instance().thread_id(); }
inline unsigned lane_id() { return linear_id() % 32; }
inline Warp& my_warp() { return *t_block->warps[linear_id() / 32]; }

template <class T>
uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffle of a wide type");
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof(T));
  return b;
}
template <class T>
T from_bits(uint64_t b) {
  T v;
  std::memcpy(&v, &b, sizeof(T));
  return v;
}

/// Every live lane publishes `v`; returns the value of lane `src` (own value if src < 0).
template <class T>
T exchange(T v, int src) {
  Warp& w = my_warp();
  const unsigned lane = lane_id();
  w.slot[lane] = to_bits(v);
  w.barrier.arrive_and_wait();
  const T r = (src >= 0 && static_cast<unsigned>(src) < w.size) ? from_bits<T>(w.slot[src]) : v;
  w.barrier.arrive_and_wait();  // nobody overwrites a slot before every lane has read
  return r;
}

inline unsigned ballot(bool p) {
  Warp& w = my_warp();
  w.slot[lane_id()] = p ? 1 : 0;
  w.barrier.arrive_and_wait();
  unsigned mask = 0;
  for (unsigned l = 0; l < w.size; ++l) mask |= static_cast<unsigned>(w.slot[l] != 0) << l;
  w.barrier.arrive_and_wait();
  return mask;
}

template <class... Params>
void launch(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes,
            Params... args) {
  const unsigned nthreads = block.x * block.y * block.z;
  if (nthreads == 0 || nthreads > 1024 || block.z > 64 || shared_bytes > 227 * 1024) {
    throw corten::Error(std::string(name) + ": invalid launch configuration for the test shim");
  }
  BlockState state;
  state.dynamic_shared.resize((shared_bytes + sizeof(std::max_align_t) - 1) /
                              sizeof(std::max_align_t));
  const unsigned nwarps = (nthreads + 31) / 32;
  for (unsigned w = 0; w < nwarps; ++w) {
    state.warps.push_back(std::make_unique<Warp>());
    state.warps.back()->size = std::min(32u, nthreads - 32 * w);
  }
  std::exception_ptr error;
  // A thread's indices are set whenever its fiber runs, as the other fibers of the block share
  // the host thread's variables.
  const std::function<void(unsigned)> body = [&](unsigned t) {
    threadIdx = dim3(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
    try {
      kernel(args...);
    } catch (...) {
      if (!error) error = std::current_exception();
    }
    // This thread has returned: the block's and the warp's barriers stop counting it.
    state.block_barrier.arrive_and_drop();
    my_warp().barrier.arrive_and_drop();
  };
  Scheduler& scheduler = Scheduler::instance();
  t_block = &state;
  blockDim = block;
  gridDim = grid;
  const uint64_t nblocks = static_cast<uint64_t>(grid.x) * grid.y * grid.z;
  for (uint64_t b = 0; b < nblocks && !error; ++b) {
    blockIdx = dim3(static_cast<unsigned>(b % grid.x), static_cast<unsigned>((b / grid.x) % grid.y),
                    static_cast<unsigned>(b / (static_cast<uint64_t>(grid.x) * grid.y)));
    state.block_barrier.reset(nthreads);
    for (auto& w : state.warps) w->barrier.reset(w->size);
    try {
      scheduler.run_block(name, nthreads, body);
    } catch (...) {
      t_block = nullptr;
      throw;
    }
  }
  t_block = nullptr;
  if (error) std::rethrow_exception(error);
}

template <class T>
T atomic_fetch_add(T* p, T v) {
  if constexpr (std::is_integral_v<T>) {
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
  } else {
    using U = std::conditional_t<sizeof(T) == 8, uint64_t, uint32_t>;
    U* q = reinterpret_cast<U*>(p);
    U old = __atomic_load_n(q, __ATOMIC_SEQ_CST);
    for (;;) {
      T cur;
      std::memcpy(&cur, &old, sizeof(T));
      const T next = cur + v;
      U nb;
      std::memcpy(&nb, &next, sizeof(T));
      if (__atomic_compare_exchange_n(q, &old, nb, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        return cur;
      }
    }
  }
}

}  // namespace cuda_shim

inline void __syncthreads() { cuda_shim::t_block->block_barrier.arrive_and_wait(); }

template <class T>
T __shfl_sync(unsigned, T v, int src, int width = 32) {
  const int lane = static_cast<int>(cuda_shim::lane_id());
  return cuda_shim::exchange(v, (lane / width) * width + ((src % width) + width) % width);
}
template <class T>
T __shfl_down_sync(unsigned, T v, unsigned delta, int width = 32) {
  const int lane = static_cast<int>(cuda_shim::lane_id());
  const int src = lane + static_cast<int>(delta);
  return cuda_shim::exchange(v, src / width == lane / width ? src : -1);
}
template <class T>
T __shfl_up_sync(unsigned, T v, unsigned delta, int width = 32) {
  const int lane = static_cast<int>(cuda_shim::lane_id());
  const int src = lane - static_cast<int>(delta);
  return cuda_shim::exchange(v, src >= (lane / width) * width ? src : -1);
}
template <class T>
T __shfl_xor_sync(unsigned, T v, int lane_mask, int width = 32) {
  const int lane = static_cast<int>(cuda_shim::lane_id());
  const int src = lane ^ lane_mask;
  return cuda_shim::exchange(v, src / width == lane / width ? src : -1);
}
inline unsigned __ballot_sync(unsigned, int p) { return cuda_shim::ballot(p != 0); }
inline int __any_sync(unsigned, int p) { return cuda_shim::ballot(p != 0) != 0; }
inline int __all_sync(unsigned, int p) {
  const unsigned live = cuda_shim::my_warp().size;
  const unsigned full = live == 32 ? 0xffffffffu : ((1u << live) - 1);
  return cuda_shim::ballot(p != 0) == full;
}

inline int atomicAdd(int* p, int v) { return cuda_shim::atomic_fetch_add(p, v); }
inline unsigned atomicAdd(unsigned* p, unsigned v) { return cuda_shim::atomic_fetch_add(p, v); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
  return cuda_shim::atomic_fetch_add(p, v);
}
inline float atomicAdd(float* p, float v) { return cuda_shim::atomic_fetch_add(p, v); }
inline double atomicAdd(double* p, double v) { return cuda_shim::atomic_fetch_add(p, v); }
template <class T>
T atomicMax(T* p, T v) {
  static_assert(std::is_integral_v<T>, "atomicMax takes integers");
  T old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
  while (old < v &&
         !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
  }
  return old;
}
template <class T>
T atomicCAS(T* p, T compare, T v) {
  static_assert(std::is_integral_v<T>, "atomicCAS takes integers");
  __atomic_compare_exchange_n(p, &compare, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return compare;  // the old value: unchanged on success, the current one on failure
}
