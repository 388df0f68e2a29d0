#pragma once
// Test-only stand-in for <cuda_runtime.h>: lets the kernel sources of csrc/cuda/*.cu compile as
// C++17 with the host compiler and run on the CPU, so that CI checks them against the CPU
// kernels on a machine without a GPU. It is not a CPU backend and is never shipped: only the
// test targets put this directory on the include path (before the CUDA toolkit's).
//
// Note [CUDA test shim]
// - A launch runs the grid's blocks one after another; a block's threads are std::threads, one
//   per CUDA thread, taken from a pool that grows to the largest block launched (creating
//   threads per launch cost more than the tests themselves). blockIdx, threadIdx, blockDim and
//   gridDim are thread_local.
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

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

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

/// A reusable barrier whose participants can leave (std::barrier::arrive_and_drop in C++20).
class Barrier {
 public:
  void reset(unsigned expected) {
    std::lock_guard<std::mutex> lock(mu_);
    expected_ = expected;
    arrived_ = 0;
  }
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mu_);
    const uint64_t gen = gen_;
    if (++arrived_ >= expected_) {
      release();
    } else {
      cv_.wait(lock, [&] { return gen_ != gen; });
    }
  }
  void arrive_and_drop() {
    std::lock_guard<std::mutex> lock(mu_);
    --expected_;
    if (arrived_ > 0 && arrived_ >= expected_) release();
  }

 private:
  void release() {
    arrived_ = 0;
    ++gen_;
    cv_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable cv_;
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
inline thread_local unsigned t_linear = 0;  // linear thread id in the block

/// The block's dynamic shared memory (CORTEN_DYNAMIC_SHARED).
template <class T>
T* dynamic_shared() {
  return reinterpret_cast<T*>(t_block->dynamic_shared.data());
}

inline unsigned lane_id() { return t_linear % 32; }
inline Warp& my_warp() { return *t_block->warps[t_linear / 32]; }

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

/// Worker threads kept between launches; run(n, fn) calls fn(0..n-1) on n of them and waits.
class ThreadPool {
 public:
  static ThreadPool& instance() {
    static ThreadPool pool;
    return pool;
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void run(unsigned n, const std::function<void(unsigned)>& fn) {
    std::unique_lock<std::mutex> lock(mu_);
    while (threads_.size() < n) {
      const unsigned i = static_cast<unsigned>(threads_.size());
      // The thread has seen the generations before this launch, whenever it first runs.
      threads_.emplace_back([this, i, seen = generation_] { work(i, seen); });
    }
    job_ = &fn;
    active_ = n;
    remaining_ = n;
    ++generation_;
    work_cv_.notify_all();
    done_cv_.wait(lock, [&] { return remaining_ == 0; });
    job_ = nullptr;
  }

 private:
  void work(unsigned i, uint64_t seen) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      work_cv_.wait(lock, [&] { return stop_ || (generation_ != seen && i < active_); });
      if (stop_) return;
      seen = generation_;
      const std::function<void(unsigned)>* job = job_;
      lock.unlock();
      (*job)(i);
      lock.lock();
      if (--remaining_ == 0) done_cv_.notify_one();
    }
  }
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::vector<std::thread> threads_;
  const std::function<void(unsigned)>* job_ = nullptr;
  unsigned active_ = 0, remaining_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

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
  auto reset = [&] {
    state.block_barrier.reset(nthreads);
    for (auto& w : state.warps) w->barrier.reset(w->size);
  };
  reset();
  Barrier block_end;
  block_end.reset(nthreads);
  std::mutex error_mu;
  std::exception_ptr error;
  const uint64_t nblocks = static_cast<uint64_t>(grid.x) * grid.y * grid.z;
  const std::function<void(unsigned)> body = [&](unsigned t) {
    t_block = &state;
    t_linear = t;
    threadIdx = dim3(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
    blockDim = block;
    gridDim = grid;
    for (uint64_t b = 0; b < nblocks; ++b) {
      blockIdx =
          dim3(static_cast<unsigned>(b % grid.x), static_cast<unsigned>((b / grid.x) % grid.y),
               static_cast<unsigned>(b / (static_cast<uint64_t>(grid.x) * grid.y)));
      try {
        kernel(args...);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!error) error = std::current_exception();
      }
      // This thread has returned: the block's and the warp's barriers stop counting it.
      state.block_barrier.arrive_and_drop();
      my_warp().barrier.arrive_and_drop();
      if (b + 1 == nblocks) break;  // the pool's run() waits for the last block
      block_end.arrive_and_wait();
      if (t == 0) reset();
      block_end.arrive_and_wait();  // the next block starts with fresh barriers
    }
    t_block = nullptr;
  };
  ThreadPool::instance().run(nthreads, body);
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
