#include <corten/denormals.h>
#include <corten/errors.h>
#include <corten/parallel.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace corten {
namespace {

thread_local bool tls_in_parallel = false;
constexpr int kMaxThreads = 1024;

int default_threads() {
  if (const char* env = std::getenv("CORTEN_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return std::min(n, kMaxThreads);
  }
  const unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

// Note [Pool spinning]
// Waking a thread asleep on a condition variable costs tens of microseconds here (a virtual
// machine halts an idle vCPU and the wake-up goes through the hypervisor): on 2 vCPUs a
// parallel_for of 2 x 20 us chunks took 55-87 us, an add of 64k floats 17 us on 2 threads
// against 7 on 1, and 2 threads ran a 64 x 784 . 784 x 64 GEMM slower than 1. A training step
// issues a parallel op every few tens of microseconds, so a worker that finishes a job polls
// for the next one for up to spin_micros() (200 us; CORTEN_SPIN_US, 0 to sleep at once)
// before sleeping, and the caller polls for its job's last chunks likewise. After the first
// polls the spinning thread yields between polls: the thread it waits for may have been woken
// on this very CPU, and another process gets the core at once. The caller notifies the
// condition variable only when a worker sleeps.
int64_t spin_micros() {
  static const int64_t us = [] {
    if (const char* env = std::getenv("CORTEN_SPIN_US")) return std::max<int64_t>(0, std::atoll(env));
    return int64_t{200};
  }();
  return us;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Polls `done()` for up to spin_micros(); true as soon as it holds. The first microseconds
// pause between polls, then each poll yields the core, so that a spinning thread gives way to
// any other runnable thread (another process on a loaded machine).
template <class Done>
bool spin_until(const Done& done) {
  const int64_t budget = spin_micros();
  if (budget == 0) return done();
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto yield_after = start + std::chrono::microseconds(std::min<int64_t>(budget, 5));
  const auto deadline = start + std::chrono::microseconds(budget);
  for (int i = 0;; ++i) {
    if (done()) return true;
    if ((i & 63) != 63) {
      cpu_relax();
      continue;
    }
    const auto now = Clock::now();
    if (now >= deadline) return done();
    if (now >= yield_after) std::this_thread::yield();
  }
}

// Note [Chunk affinity]
// A job's chunks are cut into one contiguous block per thread (the caller is thread 0, each
// worker has a fixed index), and each thread takes the chunks of its own block first, then
// those left in the other blocks. So the same chunk of the same op runs on the same thread in
// every call while no thread is held up: an optimizer update finds its slots, and a GEMM its
// half of the weights that the update just wrote, in the L2 of the core that touched them last,
// instead of fetching them from the other core's (on this 2-vCPU EPYC, Adam on 784x64
// parameters took 24.5 us at 2 threads against 18.5 at 1 when chunks went to whichever thread
// asked first). A thread delayed by another process still leaves its chunks to the others.
//
// One job at a time: parallel_for callers are serialised by job_mu_. Each block's next chunk
// is a ticket (job generation in the high 32 bits, next chunk in the low 32), so a worker that
// wakes late can never take a chunk of a job other than the one it snapshotted. Idle workers
// and the waiting caller spin briefly before sleeping (Note [Pool spinning]).
class ThreadPool {
 public:
  explicit ThreadPool(int threads) { resize(threads); }
  ~ThreadPool() { stop_workers(); }

  int num_threads() const { return num_threads_; }

  void resize(int threads) {
    std::lock_guard<std::mutex> job_lock(job_mu_);
    stop_workers();
    num_threads_ = threads;
    stop_.store(false);
    blocks_ = std::make_unique<Block[]>(static_cast<size_t>(threads));
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
  }

  void run(int64_t begin, int64_t end, int64_t chunk, int64_t nchunks,
           const std::function<void(int64_t, int64_t)>& fn) {
    std::lock_guard<std::mutex> job_lock(job_mu_);
    Job job;
    {
      std::lock_guard<std::mutex> lock(mu_);
      job = Job{&fn, begin, end, chunk, nchunks, generation_.load() + 1};
      job_ = job;
      remaining_.store(nchunks);
      error_ = nullptr;
      for (int w = 0; w < num_threads_; ++w)
        blocks_[w].ticket.store((job.generation << 32) | static_cast<uint64_t>(block_begin(job, w)));
      generation_.store(job.generation, std::memory_order_release);
    }
    if (sleepers_.load() > 0) cv_.notify_all();
    work(job, 0);
    if (!spin_until([this] { return remaining_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lock(mu_);
      done_cv_.wait(lock, [this] { return remaining_.load() == 0; });
    }
    std::lock_guard<std::mutex> lock(mu_);
    job_.fn = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  struct Job {
    const std::function<void(int64_t, int64_t)>* fn = nullptr;
    int64_t begin = 0, end = 0, chunk = 1, nchunks = 0;
    uint64_t generation = 0;
  };

  // Chunks [block_begin(w), block_begin(w + 1)) are thread w's own (Note [Chunk affinity]).
  int64_t block_begin(const Job& job, int w) const { return job.nchunks * w / num_threads_; }

  void work(const Job& job, int self) {
    const bool was_in_parallel = tls_in_parallel;
    tls_in_parallel = true;
    int64_t finished = 0;
    for (int k = 0; k < num_threads_; ++k) {
      const int w = (self + k) % num_threads_;
      const int64_t block_end = block_begin(job, w + 1);
      std::atomic<uint64_t>& ticket = blocks_[w].ticket;
      for (;;) {
        uint64_t t = ticket.load();
        if ((t >> 32) != (job.generation & 0xffffffffu)) break;
        const int64_t c = static_cast<int64_t>(t & 0xffffffffu);
        if (c >= block_end) break;
        if (!ticket.compare_exchange_weak(t, t + 1)) continue;
        const int64_t b = job.begin + c * job.chunk;
        const int64_t e = std::min(job.end, b + job.chunk);
        try {
          (*job.fn)(b, e);
        } catch (...) {
          std::lock_guard<std::mutex> lock(mu_);
          if (!error_) error_ = std::current_exception();
        }
        ++finished;
      }
    }
    tls_in_parallel = was_in_parallel;
    if (finished && remaining_.fetch_sub(finished) == finished) {
      // Under the lock: a caller that has just found remaining_ != 0 is either still before
      // its wait (and will see 0) or already waiting (and gets this notification).
      std::lock_guard<std::mutex> lock(mu_);
      done_cv_.notify_all();
    }
  }

  void worker_loop(int self) {
    FlushDenormals::set_for_thread();  // Note [Denormals]
    uint64_t seen = 0;
    for (;;) {
      const auto has_work = [&] {
        return stop_.load() || generation_.load(std::memory_order_acquire) != seen;
      };
      Job job;
      {
        if (!spin_until(has_work)) {
          std::unique_lock<std::mutex> lock(mu_);
          sleepers_.fetch_add(1);
          cv_.wait(lock, [&] { return stop_.load() || (generation_.load() != seen && job_.fn != nullptr); });
          sleepers_.fetch_sub(1);
        }
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_.load()) return;
        seen = generation_.load();
        job = job_;
      }
      if (job.fn != nullptr) work(job, self);
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_.store(true);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::mutex job_mu_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::vector<std::thread> workers_;
  int num_threads_ = 1;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> sleepers_{0};
  Job job_;
  std::atomic<int64_t> remaining_{0};
  struct alignas(64) Block {
    std::atomic<uint64_t> ticket{0};
  };
  std::unique_ptr<Block[]> blocks_;
  std::exception_ptr error_;
};

// Leaked on purpose: joining threads from a static destructor at process exit can deadlock.
ThreadPool& pool() {
  static ThreadPool* p = new ThreadPool(default_threads());
  return *p;
}

}  // namespace

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn) {
  if (end <= begin) return;
  const int64_t n = end - begin;
  grain = std::max<int64_t>(grain, 1);
  if (n <= grain || tls_in_parallel) {
    fn(begin, end);
    return;
  }
  ThreadPool& p = pool();
  const int threads = p.num_threads();
  if (threads <= 1) {
    fn(begin, end);
    return;
  }
  // A few chunks per thread so that threads finishing early can take more, and as many for
  // every thread: each starts with its own share (Note [Chunk affinity]), where 7 chunks on 2
  // threads would give one of them 4 (an optimizer update of 784 x 64 values, 8,192 a grain).
  const int64_t by_grain = (n + grain - 1) / grain;
  int64_t nchunks = std::min<int64_t>((by_grain + threads - 1) / threads * threads,
                                      int64_t{threads} * 4);
  const int64_t chunk = (n + nchunks - 1) / nchunks;
  nchunks = (n + chunk - 1) / chunk;
  p.run(begin, end, chunk, nchunks, fn);
}

void parallel_items(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  ThreadPool& p = pool();
  if (n == 1 || tls_in_parallel || p.num_threads() <= 1) {
    for (int64_t i = 0; i < n; ++i) fn(i, i + 1);
    return;
  }
  p.run(0, n, 1, n, fn);
}

int get_num_threads() { return pool().num_threads(); }

void set_num_threads(int n) {
  CORTEN_CHECK_VALUE(n >= 0 && n <= kMaxThreads, "set_num_threads: the thread count must be in [0, ",
                     kMaxThreads, "]; got ", n);
  const int target = n == 0 ? default_threads() : n;
  if (target != pool().num_threads()) pool().resize(target);
}

}  // namespace corten
