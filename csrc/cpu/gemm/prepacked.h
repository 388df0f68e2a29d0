#pragma once
// A GEMM right-hand side packed once and multiplied many times (the recurrent kernels of the
// fused RNN sequence, Note [Recurrent kernel] in cpu/rnn.cpp): the micro-kernel is called
// directly, with no per-call packing of B and no driver or thread-pool overhead.

#include <cstddef>
#include <cstdint>

#include "cpu/gemm/ukernel.h"

namespace corten::cpu::gemm {

// The micro-kernel PackedB uses for about m_hint rows of A per product (0: the main kernel):
// on AVX-512 the 8-row kernel when 8-row panels pad m_hint less than 6-row ones.
template <class T>
Ukernel<T> packed_kernel(int64_t m_hint);

template <class T>
class PackedB {
 public:
  // Packs b (k x n, element (p, j) at b[p * rs + j * cs]) into NR-column panels of the
  // current ISA's micro-kernel for about m_hint rows of A per product (0: the main kernel),
  // each panel the full k deep.
  PackedB(int64_t k, int64_t n, const T* b, int64_t rs, int64_t cs, int64_t m_hint = 0);
  // Allocates the panels only: pack() fills them (panel ranges may be packed in parallel).
  PackedB(int64_t k, int64_t n, int64_t m_hint);
  // Packs panels [s0, s1) of b (k x n, element (p, j) at b[p * rs + j * cs]).
  void pack(const T* b, int64_t rs, int64_t cs, int64_t s0, int64_t s1);

  int64_t k() const { return k_; }
  int64_t n() const { return n_; }
  int nr() const { return uk_.nr; }
  int mr() const { return uk_.mr; }
  // Number of NR-column panels (the unit of column work).
  int64_t panels() const { return (n_ + uk_.nr - 1) / uk_.nr; }
  // Panel s: k() rows of NR columns (row p at panel(s) + p * NR), zero past column n().
  const T* panel(int64_t s) const { return data_ + s * k_ * uk_.nr; }

  // c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0) + sum_p a[i * lda + p] * B[p, j]
  // for i < m and the columns of panels [s0, s1). A is row-major (a k-long row per i); each
  // C element is one micro-kernel sum over the whole k, whatever the panel range, so results
  // do not depend on how the panels are split between threads.
  void multiply(int64_t m, const T* a, int64_t lda, int64_t s0, int64_t s1, T* c, int64_t ldc,
                bool accumulate) const;

 private:
  Ukernel<T> uk_;
  int64_t k_, n_;
  T* data_;  // panels() panels of k x NR, from the caching allocator
  size_t bytes_;

 public:
  ~PackedB();
  PackedB(const PackedB&) = delete;
  PackedB& operator=(const PackedB&) = delete;
};

}  // namespace corten::cpu::gemm
