#pragma once
/// Collectives across processes through MPI (Note [MPI at run time] in csrc/distributed/mpi.cpp):
/// the data-parallel strategies all-reduce gradients and broadcast initial weights with these.
///
///     corten::dist::init("/venv/lib/libmpi_abi.so.1");   // once, from every rank
///     corten::dist::all_reduce(grad, corten::dist::ReduceOp::Sum);
///
/// Every collective waits at most timeout() seconds for the other ranks (Note [Dead ranks]);
/// then it throws, and the job is aborted when the process exits.

#include <corten/autograd.h>
#include <corten/tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace corten::dist {

enum class ReduceOp : uint8_t { Sum, Max, Min, kCount };

/// Loads the MPI library at `library` (one with MPI 5's standard ABI, as MPICH 4.3 and later
/// ship in libmpi_abi.so) and initialises MPI for this process. Later calls do nothing.
/// ValueError when the library cannot be loaded or lacks a function corten calls.
void init(const std::string& library);
/// Whether init has run (and finalize has not).
bool initialized();
/// Finalises MPI (at exit); a no-op when init never ran. After a collective timed out it
/// aborts the whole job instead, so that a rank that hangs does not outlive the others.
void finalize();
/// This process's rank and the number of processes (0 and 1 before init).
int rank();
int size();

/// How long a collective waits for every rank to join it before it fails, in seconds
/// (<= 0: forever). The default is 300.
void set_timeout(double seconds);
double timeout();

/// Returns op over every rank's `x` (same dtype and shape on every rank): float32, float64,
/// int32 or int64 on the CPU. Traced as a node that never folds or moves, so a compiled step
/// communicates on each replay. ValueError for MPI errors, naming the call; Error when the
/// other ranks do not join within timeout(), naming the ranks that did not.
Tensor all_reduce(const Tensor& x, ReduceOp op);
/// Starts all_reduce of the concatenation of `parts` (flattened, one dtype) and returns at
/// once: the result is a 1-D tensor that must not be read until all_reduce_wait returns it.
/// Every rank starts the same sequence of collectives.
Tensor all_reduce_start(const std::vector<Tensor>& parts, ReduceOp op);
/// Waits for the all_reduce_start that returned `packed` and returns it, reduced.
Tensor all_reduce_wait(const Tensor& packed);
/// Lets started collectives progress (MPI moves data only inside its calls).
void poll();

/// What this process has communicated since init: collectives started, bytes they reduced or
/// broadcast, and the seconds spent waiting for them to complete (communication not hidden
/// behind compute).
struct Stats {
  int64_t collectives = 0;
  int64_t bytes = 0;
  double wait_seconds = 0.0;
};
Stats stats();
/// Writes rank `root`'s value of `x` into `x` on every rank (in place).
void broadcast_(const Tensor& x, int root);
/// Returns when every rank has called it.
void barrier();

/// Sums gradients over the ranks while the backward pass is still running, as DDP does: the
/// sources are cut into buckets of about `bytes_per_pack` bytes in reverse order (the order
/// the backward pass finishes them), and each bucket's all-reduce starts as soon as its last
/// gradient is final. Pass it to Tape::gradient, then call finish().
class GradientReducer final : public autograd::GradientObserver {
 public:
  /// bytes_per_pack <= 0 means the default, 25 MiB.
  GradientReducer(const std::vector<Tensor>& sources, int64_t bytes_per_pack);
  ~GradientReducer() override;
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  void ready(size_t source, const Tensor& grad) override;
  void step() override;
  /// The local gradients handed to ready(), by source (undefined where none).
  const std::vector<Tensor>& local() const;
  /// Each source's gradient summed over the ranks (undefined where the local one is): waits
  /// for every bucket. Call once, after Tape::gradient returned.
  std::vector<Tensor> finish();
  /// The number of buckets.
  size_t num_buckets() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace corten::dist
