#pragma once
/// Collectives across processes through MPI (Note [MPI at run time] in csrc/distributed/mpi.cpp):
/// the data-parallel strategies all-reduce gradients and broadcast initial weights with these.
///
///     corten::dist::init("/venv/lib/libmpi_abi.so.1");   // once, from every rank
///     corten::dist::all_reduce(grad, corten::dist::ReduceOp::Sum);

#include <corten/tensor.h>

#include <string>

namespace corten::dist {

enum class ReduceOp : uint8_t { Sum, Max, Min, kCount };

/// Loads the MPI library at `library` (one with MPI 5's standard ABI, as MPICH 4.3 and later
/// ship in libmpi_abi.so) and initialises MPI for this process. Later calls do nothing.
/// ValueError when the library cannot be loaded or lacks a function corten calls.
void init(const std::string& library);
/// Whether init has run (and finalize has not).
bool initialized();
/// Finalises MPI (at exit); a no-op when init never ran.
void finalize();
/// This process's rank and the number of processes (0 and 1 before init).
int rank();
int size();
/// Returns op over every rank's `x` (same dtype and shape on every rank): float32, float64,
/// int32 or int64 on the CPU. Traced as a node that never folds or moves, so a compiled step
/// communicates on each replay. ValueError for MPI errors, naming the call.
Tensor all_reduce(const Tensor& x, ReduceOp op);
/// Writes rank `root`'s value of `x` into `x` on every rank (in place).
void broadcast_(const Tensor& x, int root);
/// Returns when every rank has called it.
void barrier();

}  // namespace corten::dist
